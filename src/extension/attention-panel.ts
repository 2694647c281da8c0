/**
 * The Attention Lens panel: one webview beside the editor, and the typed messages to and from it.
 *
 * The panel knows the protocol's plumbing, not what the messages mean to the editor:
 *
 *   - the page (webview-html.ts) with a fresh nonce, and the files it may load (dist/, media/);
 *   - the handshake: the webview says `ready` once per page load. Until then `showAttention` is held
 *     back; on every `ready` the newest one is sent (again);
 *   - the page is kept while the panel is hidden behind another editor (`retainContextWhenHidden`):
 *     a model of a billion parameters takes seconds to load and its maps a run to compute, and the
 *     person expects the panel as they left it (mode, head, lock, sort order). What it holds is
 *     bounded by attentionLens.memoryBudgetMB, and closing the panel frees it;
 *   - request ids and reports (request-tracker.ts, one counter for every panel of the extension
 *     host, so a new panel never reuses an id): each `showAttention` supersedes the one before
 *     (`cancel` is sent for it); messages for any request but the newest are dropped here;
 *     `awaitReport` is the one way to wait for what the page reports (the run, the comparison, a
 *     decoding step, the stages or batch report), and it always settles: computed, failed,
 *     superseded, or cancelled when the person cancels or the panel closes.
 *
 * Everything else goes to the `AttentionPanelListener` (attention-controller.ts).
 */

import { existsSync } from "node:fs";
import * as vscode from "vscode";

import {
  assertNever,
  type ComparisonSummary,
  type DecodeAction,
  type DecodeStepSummary,
  type ExportFormat,
  type ExportView,
  type HostToWebviewMessage,
  type LearningReport,
  type ModelDescriptor,
  type Observation,
  type ObservationRequest,
  type PanelReport,
  type RunSummary,
  type ViewSettings,
  type WebviewToHostMessage,
} from "../protocol";
import { localResourceRootsOf, toModelDescriptor, type CatalogModel } from "./catalog-model";
import { PANEL_VIEW_TYPE } from "./contributions";
import { ModelFileReader } from "./model-file-reads";
import { RequestTracker, type RunOutcome, type StartedRequest } from "./request-tracker";
import { buildWebviewHtml, createNonce } from "./webview-html";

export type ShowAttentionMessage = Extract<HostToWebviewMessage, { type: "showAttention" }>;

/** What the page reports on a request, by kind (`awaitReport`; the protocol's `PanelReport`). */
export interface PanelReports {
  /** The request's run: the maps are on screen. */
  run: RunSummary;
  /** Compare mode compared the two models. */
  comparison: ComparisonSummary;
  /** Decode mode's decoding changed (`step`: the prefill, a step, back, reset) or stopped (`stopped`: why). */
  decode: { step?: DecodeStepSummary; stopped?: string };
  /** Stages or batch mode computed what it shows, or says why it could not. */
  learning: LearningReport;
  /** The test hook's answer (test-hook.ts). */
  observation: Observation;
}

/** What `showAttention` needs from the caller: the message without the fields the panel fills in. */
export type ShowAttentionFields = Omit<ShowAttentionMessage, "type" | "requestId" | "wasmPaths">;

/** Where the panel logs (a `vscode.LogOutputChannel` is one). */
export type PanelLog = Pick<vscode.LogOutputChannel, "debug" | "info" | "warn" | "error">;

export interface AttentionPanelListener {
  /** A message for the newest request, or one that belongs to no request; never a stale one. */
  onMessage(message: WebviewToHostMessage): void;
  /** The panel closed (pending requests have been cancelled already). */
  onDidDispose(): void;
}

/** How long a visible panel may take to say `ready` before the log says something is wrong. */
const READY_WARNING_MS = 30_000;

export class AttentionPanel implements vscode.Disposable {
  /** The webview type, also in package.json ("onWebviewPanel:attentionLens.panel"). */
  static readonly viewType = PANEL_VIEW_TYPE;

  /** A new panel beside the active editor, without taking the focus from it. */
  static create(extensionUri: vscode.Uri, listener: AttentionPanelListener, log: PanelLog): AttentionPanel {
    const panel = vscode.window.createWebviewPanel(
      AttentionPanel.viewType,
      "Attention Lens",
      { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true },
      // The page stays while hidden: see the top of this file.
      { ...webviewOptions(extensionUri), retainContextWhenHidden: true },
    );
    return new AttentionPanel(panel, extensionUri, listener, log);
  }

  /** The folders (besides the extension's) the page may read: those of the models it was sent. */
  private modelFolders: string[] = [];

  /**
   * The models the page may load, as it sees them: their folders become readable (a person's
   * model folders, a hub cache repository) and their weight files readable through the host
   * (model-file-reads.ts). Only widens: what was allowed before stays allowed.
   */
  offerModels(models: readonly CatalogModel[]): ModelDescriptor[] {
    this.allowModelFolders(models.filter((model) => model.source !== "bundled").flatMap(localResourceRootsOf));
    const descriptors = models.map((model) => toModelDescriptor(model, (path) => this.asWebviewUri(path)));
    for (const descriptor of descriptors) this.fileReader.allow(descriptor.weightFiles ?? []);
    return descriptors;
  }

  private allowModelFolders(folders: readonly string[]): void {
    const added = folders.filter((folder) => !this.modelFolders.includes(folder));
    if (added.length === 0) return;
    this.modelFolders = [...this.modelFolders, ...added];
    this.panel.webview.options = webviewOptions(this.extensionUri, this.modelFolders);
  }

  /** A panel VS Code restored after a reload (WebviewPanelSerializer). */
  static revive(panel: vscode.WebviewPanel, extensionUri: vscode.Uri, listener: AttentionPanelListener, log: PanelLog): AttentionPanel {
    return new AttentionPanel(panel, extensionUri, listener, log);
  }

  private readonly tracker = new RequestTracker<PanelReports>();
  private readonly fileReader = new ModelFileReader();
  private readonly disposables: vscode.Disposable[] = [];
  /** The webview's page has said `ready` and has not been unloaded since. */
  private ready = false;
  private disposed = false;
  /** The newest `showAttention`, sent again on every `ready`. */
  private lastShow: ShowAttentionMessage | undefined;
  private readyTimer: ReturnType<typeof setTimeout> | undefined;
  /** Why the page cannot start (dist/webview.js missing), if it cannot. */
  private readonly missingScript: string | undefined;

  private constructor(
    private readonly panel: vscode.WebviewPanel,
    private readonly extensionUri: vscode.Uri,
    private readonly listener: AttentionPanelListener,
    private readonly log: PanelLog,
  ) {
    panel.webview.options = webviewOptions(extensionUri);
    panel.iconPath = vscode.Uri.joinPath(extensionUri, "media", "icon.png");

    const script = vscode.Uri.joinPath(extensionUri, "dist", "webview.js");
    const style = vscode.Uri.joinPath(extensionUri, "dist", "webview.css");
    if (!existsSync(script.fsPath)) {
      this.missingScript =
        `The panel cannot start: ${script.fsPath} is missing. ` +
        "Reinstall the Attention Lens extension; when developing it, run `npm run build` first.";
      log.error(this.missingScript);
      void vscode.window.showErrorMessage(this.missingScript);
    }
    panel.webview.html = buildWebviewHtml({
      cspSource: panel.webview.cspSource,
      nonce: createNonce(),
      scriptUri: panel.webview.asWebviewUri(script).toString(),
      ...(existsSync(style.fsPath) ? { styleUri: panel.webview.asWebviewUri(style).toString() } : {}),
      title: "Attention Lens",
    });

    this.disposables.push(
      panel.onDidDispose(() => this.onPanelDisposed()),
      panel.webview.onDidReceiveMessage((message: unknown) => this.receive(message)),
      panel.onDidChangeViewState(() => this.armReadyWarning()),
    );
    this.armReadyWarning();
  }

  /** The id of the newest request, undefined before the first. */
  get currentRequestId(): number | undefined {
    return this.tracker.current;
  }

  get visible(): boolean {
    return !this.disposed && this.panel.visible;
  }

  /** Brings the panel to the front; with `preserveFocus` the editor keeps the keyboard. */
  reveal(preserveFocus: boolean): void {
    if (!this.disposed) this.panel.reveal(undefined, preserveFocus);
  }

  /** A file of the extension as a URI the webview may load (it must lie under dist/ or media/). */
  asWebviewUri(filePath: string): string {
    return this.panel.webview.asWebviewUri(vscode.Uri.file(filePath)).toString();
  }

  /**
   * Asks the webview to run the model on these tokens. Supersedes the previous request (and sends
   * `cancel` for it when it was still running). The returned outcome always settles.
   */
  showAttention(fields: ShowAttentionFields): StartedRequest<RunSummary> {
    const started = this.tracker.start();
    if (started.supersededId !== undefined) {
      this.log.debug(`request #${started.supersededId} superseded by #${started.requestId}`);
      this.post({ type: "cancel", requestId: started.supersededId });
    }
    const wasmPaths = this.asWebviewUri(vscode.Uri.joinPath(this.extensionUri, "dist", "ort").fsPath) + "/";
    const message: ShowAttentionMessage = { type: "showAttention", requestId: started.requestId, ...fields, wasmPaths };
    this.lastShow = message;
    if (this.disposed) this.tracker.cancelAll("the panel was closed");
    else if (this.missingScript) this.tracker.fail(started.requestId, "run", this.missingScript);
    else this.post(message); // held back until `ready` when the page is not up yet
    if (!this.disposed) this.panel.title = `Attention: ${fields.source}`;
    return started;
  }

  /**
   * Stops request `requestId` (the person cancelled it): the page stops its run at the next layer
   * and the request ends as cancelled. False when it is no longer running.
   */
  cancel(requestId: number, reason: string): boolean {
    if (!this.tracker.cancel(requestId, reason)) return false;
    this.post({ type: "cancel", requestId });
    return true;
  }

  /**
   * The page's next report of `kind` on request `requestId` (a comparison, a decoding step, the
   * stages or batch report; the run's own is `showAttention`'s outcome). Settles when the page
   * reports it or says it cannot, when a newer request supersedes it, when the person cancels it or
   * when the panel closes. Never rejects.
   */
  awaitReport<Kind extends keyof PanelReports>(requestId: number, kind: Kind): Promise<RunOutcome<PanelReports[Kind]>> {
    if (this.disposed) return Promise.resolve({ kind: "cancelled", requestId, reason: "the panel was closed" });
    return this.tracker.wait(requestId, kind);
  }

  /** The test hook (test-hook.ts): what the page shows of the newest request. */
  observe(request: ObservationRequest): Promise<RunOutcome<Observation>> {
    const requestId = this.tracker.current;
    if (requestId === undefined || this.disposed) return Promise.resolve({ kind: "cancelled", requestId: requestId ?? 0, reason: "no request is shown" });
    const answer = this.tracker.wait(requestId, "observation");
    this.post({ type: "observe", requestId, request });
    return answer;
  }

  /** The editor cursor is on token `tokenIndex` of the newest request (null: off the text). */
  focusToken(tokenIndex: number | null): void {
    const requestId = this.tracker.current;
    if (requestId !== undefined) this.post({ type: "focusToken", requestId, tokenIndex });
  }

  /** Decode mode: `action` on the decoding of the newest request; false when there is none to send it to. */
  sendDecodeControl(action: DecodeAction): boolean {
    const requestId = this.tracker.current;
    if (requestId === undefined || this.disposed || !this.ready) return false;
    this.post({ type: "decodeControl", requestId, action });
    return true;
  }

  /** An export command (export-host.ts): asks the page for a view's picture or the maps; false when the page is not listening yet. */
  requestExport(exportId: number, format: ExportFormat, view?: ExportView): boolean {
    if (this.disposed || !this.ready) return false;
    this.post({ type: "requestExport", exportId, format, ...(view ? { view } : {}) });
    return true;
  }

  /** A view setting changed: tell the page, and send the new settings with any later reload. */
  sendSettings(settings: ViewSettings): void {
    if (this.lastShow) this.lastShow = { ...this.lastShow, settings };
    this.post({ type: "settingsChanged", settings });
  }

  /** Closes the panel; requests still waiting end as cancelled. */
  dispose(): void {
    if (!this.disposed) this.panel.dispose(); // fires onDidDispose -> onPanelDisposed
  }

  /**
   * The extension stops (deactivate): requests still waiting end as cancelled and the listeners go,
   * but the panel stays open, so that VS Code can save it and restore it with the serializer.
   */
  release(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.clearReadyWarning();
    this.tracker.cancelAll("the extension stopped");
    for (const disposable of this.disposables.splice(0)) disposable.dispose();
  }

  // -------------------------------------------------------------------------------------------

  /** Sends a message when the page listens; otherwise drops it (`showAttention` is re-sent on `ready`). */
  private post(message: HostToWebviewMessage): void {
    if (this.disposed || !this.ready) return;
    this.panel.webview.postMessage(message).then(
      (delivered) => {
        if (!delivered) this.log.debug(`the panel did not take the ${message.type} message (it is reloading)`);
      },
      (error: unknown) => this.log.warn(`could not send ${message.type} to the panel: ${String(error)}`),
    );
  }

  private receive(raw: unknown): void {
    if (typeof raw !== "object" || raw === null || typeof (raw as { type?: unknown }).type !== "string") {
      this.log.warn(`the panel sent something that is not a message: ${JSON.stringify(raw)?.slice(0, 200)}`);
      return;
    }
    const message = raw as WebviewToHostMessage;
    try {
      if (this.accept(message)) this.listener.onMessage(message);
    } catch (error) {
      this.log.error(`handling the panel's ${message.type} message failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    }
  }

  /** Does the bookkeeping of a message; false when it is stale and must not be acted on. */
  private accept(message: WebviewToHostMessage): boolean {
    switch (message.type) {
      case "readModelFile":
        void this.fileReader.read(message.path, message.offset, message.length).then(
          (bytes) => this.post({ type: "modelFileBytes", readId: message.readId, bytes }),
          (error: unknown) => this.post({ type: "modelFileBytes", readId: message.readId, error: error instanceof Error ? error.message : String(error) }),
        );
        return false; // the panel's own business
      case "ready":
        this.ready = true;
        this.clearReadyWarning();
        if (this.lastShow) this.post(this.lastShow);
        return true;
      case "report":
        return this.isCurrent(message.requestId, `${message.report.kind} report`) && this.settleReport(message.requestId, message.report);
      case "observed":
        return this.isCurrent(message.requestId, message.type) && this.tracker.report(message.requestId, "observation", message.observation);
      case "progress":
      case "tokenFocused":
        return this.isCurrent(message.requestId, message.type);
      case "selectModel":
      case "log":
      case "openSource":
      case "export": // a file to save, whichever request is on screen (export-host.ts)
        return true;
      default:
        return assertNever(message, "message from the panel");
    }
  }

  /** Hands a report to whoever waits for its kind. */
  private settleReport(requestId: number, report: PanelReport): boolean {
    switch (report.kind) {
      case "run":
        return this.tracker.report(requestId, "run", report.summary);
      case "comparison":
        return this.tracker.report(requestId, "comparison", report.summary);
      case "decodeStep":
        return this.tracker.report(requestId, "decode", { step: report.step });
      case "decodeStopped":
        return this.tracker.report(requestId, "decode", { stopped: report.message });
      case "learning":
        return this.tracker.report(requestId, "learning", report.report);
      case "failed":
        return this.tracker.fail(requestId, report.of, report.message);
      default:
        return assertNever(report, "report");
    }
  }

  private isCurrent(requestId: number, type: string): boolean {
    if (this.tracker.isCurrent(requestId)) return true;
    this.log.debug(`ignored ${type} for request #${requestId}; the current one is #${this.tracker.current ?? "none"}`);
    return false;
  }

  /** Logs a warning when a visible page does not say `ready` in time (a broken build, a CSP error). */
  private armReadyWarning(): void {
    this.clearReadyWarning();
    if (this.ready || this.disposed || !this.panel.visible || this.missingScript) return;
    this.readyTimer = setTimeout(() => {
      if (this.ready || this.disposed) return;
      this.log.warn(
        `The panel's script has not started after ${READY_WARNING_MS / 1000} s. ` +
          'Run "Developer: Open Webview Developer Tools" and look at its console for the error.',
      );
    }, READY_WARNING_MS);
  }

  private clearReadyWarning(): void {
    if (this.readyTimer !== undefined) clearTimeout(this.readyTimer);
    this.readyTimer = undefined;
  }

  private onPanelDisposed(): void {
    this.disposed = true;
    this.ready = false;
    this.clearReadyWarning();
    const cancelled = this.tracker.cancelAll("the panel was closed");
    if (cancelled.length > 0) this.log.info(`panel closed while request #${cancelled.join(", #")} was running; cancelled`);
    for (const disposable of this.disposables.splice(0)) disposable.dispose();
    this.listener.onDidDispose();
  }
}

/**
 * Scripts on; files only from dist/ (bundle, css, onnxruntime's wasm in dist/ort/), media/ (the
 * bundled models) and the folders of the person's own models that the panel was sent.
 */
function webviewOptions(extensionUri: vscode.Uri, modelFolders: readonly string[] = []): vscode.WebviewOptions {
  return {
    enableScripts: true,
    localResourceRoots: [
      vscode.Uri.joinPath(extensionUri, "dist"),
      vscode.Uri.joinPath(extensionUri, "media"),
      ...modelFolders.map((folder) => vscode.Uri.file(folder)),
    ],
  };
}
