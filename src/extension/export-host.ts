/**
 * The exports, host side: the panel draws a view as PNG or SVG, or sends the run's maps; this file
 * asks where to save (VS Code's save dialog, in the workspace folder, with the page's suggested
 * name), writes the file with `vscode.workspace.fs`, and says so with Reveal and Open.
 *
 *   an export button in a view  ->  page: `export` (no id)            ->  save dialog -> write
 *   Attention Lens: Export ...  ->  `requestExport` (id) -> page: `export` (the same id)
 *                                                          ->  save dialog (or the command's file) -> write
 *
 * The commands take an optional argument, for keybindings, scripts and tests: a file (a Uri, an
 * absolute path, or a path relative to the workspace folder) to write without a dialog, or
 * `{ target?, view? }` (view: one of EXPORT_VIEWS; absent: the main view of the mode on screen).
 * They resolve to the Uri written, or undefined when nothing was written (no panel, nothing on
 * screen, the dialog cancelled: each but the last with a message saying what to do).
 */

import { homedir } from "node:os";
import { isAbsolute } from "node:path";
import * as vscode from "vscode";

import { EXPORT_VIEWS, type ExportFormat, type ExportView, type PanelExport, type WebviewToHostMessage } from "../protocol";
import type { CatalogModel } from "./catalog-model";
import type { CommandMessages } from "./command-messages";
import { MapsExportError, panelMapsDocument } from "./maps-export";

/** The panel as the exports need it (attention-panel.ts). */
export interface ExportPanel {
  /** Asks the page for an export; false when the page is not listening yet. */
  requestExport(exportId: number, format: ExportFormat, view?: ExportView): boolean;
}

type ExportMessage = Extract<WebviewToHostMessage, { type: "export" }>;

/** How long an export command waits for the page (a large PNG takes a few seconds to encode). */
const ANSWER_TIMEOUT_MS = 120_000;

const SAVE_FILTERS: Record<ExportFormat, Record<string, string[]>> = {
  png: { "PNG image": ["png"] },
  svg: { "SVG image": ["svg"] },
  "maps-json": { "Attention maps (JSON)": ["json"] },
};

const FORMAT_NAMES: Record<ExportFormat, string> = { png: "PNG", svg: "SVG", "maps-json": "attention maps JSON" };

/** "812 B", "45.2 KB", "3.1 MB". */
function formatBytes(bytes: number): string {
  if (bytes >= 1e6) return `${(bytes / 1e6).toFixed(1)} MB`;
  if (bytes >= 1e3) return `${(bytes / 1e3).toFixed(1)} KB`;
  return `${bytes} B`;
}

/** A file named by a command's argument: a Uri, a URI string, an absolute path, or a path relative to the workspace folder. */
function targetUri(target: unknown): vscode.Uri | { error: string } {
  if (target instanceof vscode.Uri) return target;
  if (typeof target !== "string" || target.trim() === "") return { error: `a file to write (a Uri or a path), not ${JSON.stringify(target)}` };
  if (/^[a-z][\w+.-]+:\/\//i.test(target)) return vscode.Uri.parse(target, true);
  if (isAbsolute(target)) return vscode.Uri.file(target);
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
  return folder ? vscode.Uri.joinPath(folder, target) : { error: `an absolute path (no folder is open to resolve "${target}" against)` };
}

/** An export command's argument, checked: see the top of this file. */
export function parseExportArgument(argument: unknown): { target?: vscode.Uri; view?: ExportView } | { error: string } {
  if (argument === undefined || argument === null) return {};
  const usage = 'Attention Lens\'s export commands take a file to write (a Uri or a path) or { "target": file, "view": ' + EXPORT_VIEWS.map((view) => `"${view}"`).join(" | ") + " }";
  if (argument instanceof vscode.Uri || typeof argument === "string") {
    const target = targetUri(argument);
    return "error" in target ? { error: `${usage}; got ${target.error}.` } : { target };
  }
  if (typeof argument !== "object") return { error: `${usage}, not ${JSON.stringify(argument)}.` };
  const { target, view } = argument as { target?: unknown; view?: unknown };
  if (view !== undefined && !EXPORT_VIEWS.includes(view as ExportView)) return { error: `${usage}; "view" ${JSON.stringify(view)} is none of these.` };
  if (target === undefined) return view === undefined ? {} : { view: view as ExportView };
  const uri = targetUri(target);
  if ("error" in uri) return { error: `${usage}; "target" must be ${uri.error}.` };
  return { target: uri, ...(view !== undefined ? { view: view as ExportView } : {}) };
}

export class ExportHost {
  private nextExportId = 0;
  /** Export commands waiting for the page's answer, by export id. */
  private readonly pending = new Map<number, (exported: PanelExport | undefined) => void>();
  /** Where the last export was saved: the next dialog opens there. */
  private lastFolder: vscode.Uri | undefined;

  constructor(
    private readonly log: vscode.LogOutputChannel,
    private readonly messages: CommandMessages,
    private readonly panel: () => ExportPanel | undefined,
    private readonly findModel: (modelId: string) => CatalogModel | undefined,
  ) {}

  /** Attention Lens: Export View as PNG / as SVG, Export Attention Maps as JSON. */
  async exportFromCommand(format: ExportFormat, argument?: unknown): Promise<vscode.Uri | undefined> {
    const parsed = parseExportArgument(argument);
    if ("error" in parsed) {
      this.messages.warn(parsed.error);
      return undefined;
    }
    const panel = this.panel();
    if (!panel) {
      const what = format === "maps-json" ? "attention maps" : "view";
      this.messages.warn(`No Attention Lens panel is open, so there is no ${what} to export. Select some text, run "Attention Lens: Show Attention", then export.`);
      return undefined;
    }
    try {
      return await this.requestAndSave(panel, format, parsed);
    } catch (error) {
      this.messages.report(error);
      return undefined;
    }
  }

  private async requestAndSave(panel: ExportPanel, format: ExportFormat, parsed: { target?: vscode.Uri; view?: ExportView }): Promise<vscode.Uri | undefined> {
    const exportId = ++this.nextExportId;
    const answer = new Promise<PanelExport | undefined>((resolve) => this.pending.set(exportId, resolve));
    const timer = setTimeout(() => this.settle(exportId, undefined), ANSWER_TIMEOUT_MS);
    try {
      if (!panel.requestExport(exportId, format, parsed.view)) {
        this.settle(exportId, undefined);
        this.messages.warn("The Attention Lens panel is still loading. Export again once it shows the run.");
        return undefined;
      }
      const exported = await answer;
      if (!exported) {
        this.messages.warn("The Attention Lens panel did not send the export: it was closed, or is still busy. Try again once it shows the run.");
        return undefined;
      }
      return await this.save(exported, parsed.target);
    } finally {
      clearTimeout(timer);
    }
  }

  /** The page's `export`: the answer to a command, or a view's export button. */
  receive(message: ExportMessage): void {
    if (message.exportId === undefined) {
      this.save(message.export, undefined).catch((error: unknown) => this.messages.report(error));
    } else if (!this.settle(message.exportId, message.export)) {
      this.log.debug(`ignored the panel's export #${message.exportId}: no command waits for it any more`);
    }
  }

  /** The panel closed: export commands still waiting end without a file. */
  panelClosed(): void {
    for (const exportId of [...this.pending.keys()]) this.settle(exportId, undefined);
  }

  private settle(exportId: number, exported: PanelExport | undefined): boolean {
    const resolve = this.pending.get(exportId);
    if (!resolve) return false;
    this.pending.delete(exportId);
    resolve(exported);
    return true;
  }

  /** Asks where (unless `target` says), writes, announces. Resolves to the file written, or undefined. */
  private async save(exported: PanelExport, target: vscode.Uri | undefined): Promise<vscode.Uri | undefined> {
    if (exported.kind === "failed") {
      this.messages.warn(exported.message);
      return undefined;
    }
    const format: ExportFormat = exported.kind === "maps" ? "maps-json" : exported.format;
    let bytes: Uint8Array;
    try {
      bytes = exported.kind === "maps" ? this.mapsDocument(exported.maps) : exported.bytes;
    } catch (error) {
      if (!(error instanceof MapsExportError)) throw error;
      this.messages.warn(`Attention Lens cannot export the attention maps: ${error.message}.`);
      return undefined;
    }
    const uri =
      target ??
      (await vscode.window.showSaveDialog({
        defaultUri: this.defaultUri(exported.fileName),
        filters: SAVE_FILTERS[format],
        saveLabel: "Export",
        title: `Attention Lens: export as ${FORMAT_NAMES[format]}`,
      }));
    if (!uri) {
      this.log.info(`export of "${exported.fileName}" cancelled: nothing written`);
      return undefined;
    }
    try {
      await vscode.workspace.fs.writeFile(uri, bytes);
    } catch (error) {
      const message = `Attention Lens could not write ${uri.scheme === "file" ? uri.fsPath : uri.toString()}: ${error instanceof Error ? error.message : String(error)}. Choose another folder or name.`;
      this.log.error(message);
      void vscode.window.showErrorMessage(message);
      return undefined;
    }
    this.lastFolder = vscode.Uri.joinPath(uri, "..");
    const size = exported.kind === "image" ? `${exported.format === "png" ? `${exported.width * 2} × ${exported.height * 2} px, ` : ""}${formatBytes(bytes.length)}` : formatBytes(bytes.length);
    this.log.info(`exported ${exported.kind === "image" ? `the ${exported.view} view as ${exported.format.toUpperCase()}` : `the maps (${exported.maps.mapPrecision})`} to ${uri.toString(true)} (${size})`);
    void this.announce(uri, size);
    return uri;
  }

  /** The maps as the JSON of docs/maps-schema.md, the model described from its catalog entry. */
  private mapsDocument(maps: Extract<PanelExport, { kind: "maps" }>["maps"]): Uint8Array {
    const model = this.findModel(maps.modelId);
    if (!model) throw new MapsExportError(`the model ${maps.modelId} is no longer among the models Attention Lens knows (a folder removed?); run Show Attention again`);
    return panelMapsDocument(maps, model);
  }

  /** The file the save dialog proposes: `fileName` in the last export's folder, else the workspace folder, else the home folder. */
  private defaultUri(fileName: string): vscode.Uri {
    const folder = this.lastFolder ?? vscode.workspace.workspaceFolders?.[0]?.uri;
    return folder ? vscode.Uri.joinPath(folder, fileName) : vscode.Uri.file(`${homedir()}/${fileName}`);
  }

  /** "Exported …" with Reveal (in the Explorer when in the workspace, else the OS's file manager) and Open. */
  private async announce(uri: vscode.Uri, size: string): Promise<void> {
    const name = uri.path.split("/").pop() ?? uri.path;
    const choice = await vscode.window.showInformationMessage(`Attention Lens exported ${name} (${size}).`, "Reveal", "Open");
    if (choice === "Open") await vscode.commands.executeCommand("vscode.open", uri);
    else if (choice === "Reveal") await vscode.commands.executeCommand(vscode.workspace.getWorkspaceFolder(uri) ? "revealInExplorer" : "revealFileInOS", uri);
  }
}
