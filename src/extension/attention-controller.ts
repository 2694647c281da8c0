/**
 * What the commands do, and how the editor and the panel follow each other.
 *
 *   Show Attention   the selection (or the current line) -> tokens with document ranges
 *                    (selection-tokens.ts) -> `showAttention` to the panel -> log and status bar
 *   Select Model     a quick pick of the bundled models; shows the current text again with the pick
 *   editor cursor    moves onto a shown token -> `focusToken` to the panel
 *   panel            `tokenFocused` -> that token's attention drawn in the editor (editor-highlights.ts)
 *   settings         backend / colour scale -> `settingsChanged`; default model -> used from now on
 *
 * The link between the panel and the editor (document ranges of the tokens) holds only while the
 * document is unchanged: an edit, or closing it, drops the highlights and the cursor tracking until
 * the next Show Attention. After a window reload the restored panel links to its document again
 * when the document still holds the saved text at the saved offset (revivePanel).
 */

import { posix, resolve } from "node:path";
import * as vscode from "vscode";

import type { TextTokenizer } from "../model/tokenizer";
import type { DecodeAction, DecodeStepSummary, LensMode, ModelDescriptor, PanelState, TokenInfo, WebviewToHostMessage } from "../protocol";
import { assertNever } from "../protocol";
import { AttentionPanel, type AttentionComputedMessage, type ComparisonComputedMessage, type PanelRunOutcome, type ShowAttentionFields } from "./attention-panel";
import { COMMANDS } from "./contributions";
import { EditorHighlights } from "./editor-highlights";
import { localResourceRootsOf, ModelCatalog, ModelCatalogError, toModelDescriptor, type CatalogModel } from "./model-catalog";
import { catalogSources, chooseModelFolder, pickModel, RememberedFolders } from "./model-picker";
import { budgetBytesOf, planRunMemory, RunMemoryError } from "./model-memory";
import { parsePanelState, savedTextInDocument } from "./panel-state";
import { RunProgress } from "./run-progress";
import { formatMilliseconds, RunStatusBar } from "./run-status-bar";
import { batchOfText } from "./batch-lines";
import { parseStagesChoice } from "./stages-choice";
import { LearningHost } from "./learning-host";
import type { LearningReport, LearningRequest, StagesChoice } from "../protocol";
import {
  chooseText,
  SELECT_TEXT_ADVICE,
  tokenIndexAtOffset,
  tokensOfText,
  type OffsetRange,
  type SelectionTokenizer,
  type SelectionTokens,
} from "./selection-tokens";
import { readSettings, SETTINGS_SECTION, tokenBudget, viewSettingsOf, type ExtensionSettings } from "./settings";

/**
 * What Show Attention resolves to: the panel's `attentionComputed` message without its type, and
 * what the host did to the text before sending it: `truncation` when the selection was cut to the
 * token limit (the tokens kept and the selection's whole count), `usedCurrentLine` when nothing was
 * selected and the line under the cursor was shown instead.
 */
export type AttentionSummary = Omit<AttentionComputedMessage, "type"> & Pick<ShowAttentionFields, "truncation" | "usedCurrentLine">;

/** What Compare Models resolves to: the panel's `comparisonComputed` message without its type. */
export type ComparisonSummary = Omit<ComparisonComputedMessage, "type">;

/**
 * What Step Through Decoding and the decode controls resolve to: the decoding's state after the
 * action (`step`), or why it stopped or refused (`stopped`: the context is full, a failure).
 */
export interface DecodeReport {
  requestId: number;
  step?: DecodeStepSummary;
  stopped?: string;
}

const DECODE_ACTIONS: readonly DecodeAction[] = ["step", "back", "reset", "play", "pause"];

/** How a text is sent to the panel besides its model: the mode to open in, and compare mode's model B. */
interface SendOptions {
  mode?: LensMode;
  compareWith?: string;
  /** Called with the request id as soon as the request is sent. */
  onStarted?: (requestId: number) => void;
  /** Stages and batch modes: the example's choices, the batch's lines. */
  learning?: LearningRequest;
}

/** A run sent to the panel: how it ended, and what of the text was sent (see AttentionSummary). */
interface SentRun extends Pick<ShowAttentionFields, "truncation" | "usedCurrentLine"> {
  outcome: PanelRunOutcome;
}

function summaryOf(run: SentRun): AttentionSummary | undefined {
  if (run.outcome.kind !== "computed") return undefined;
  const { type: _type, ...summary } = run.outcome.result;
  return {
    ...summary,
    ...(run.truncation ? { truncation: run.truncation } : {}),
    ...(run.usedCurrentLine ? { usedCurrentLine: true } : {}),
  };
}

/** A text to run the model on, and where it came from. */
interface TextToShow {
  /** As in the document (its own line endings), before any cut to the token budget. */
  rawText: string;
  /** Its document offset (0 without a document). */
  documentStart: number;
  /** The document it is part of, at the version the offsets belong to; absent when there is none (a restored panel whose document changed). */
  document?: { uri: string; version: number; name: string };
  /** The title line, when there is no document to compute it from. */
  source: string;
  usedCurrentLine: boolean;
}

/** What the panel shows now. */
interface Shown extends TextToShow {
  requestId: number;
  modelId: string;
  tokens: TokenInfo[];
  documentRanges: OffsetRange[];
  /** The last token index sent with `focusToken` (null: the cursor was off the text). */
  lastFocusSent: number | null | undefined;
  /** The last `tokenFocused`, to draw it again when the colour scale changes. */
  lastFocus?: Extract<WebviewToHostMessage, { type: "tokenFocused" }>;
}

export class AttentionController implements vscode.Disposable {
  private readonly catalog: ModelCatalog;
  /** Stages and batch modes: the batch's lines, "show me the code", waiting for their reports. */
  private readonly learning: LearningHost;
  private readonly highlights = new EditorHighlights();
  private readonly statusBar = new RunStatusBar(COMMANDS.revealPanel);
  private readonly runProgress = new RunProgress();
  private panel: AttentionPanel | undefined;
  private shown: Shown | undefined;
  /** Picked in this window (Select Model or the panel's picker); else the defaultModel setting. */
  private pickedModelId: string | undefined;
  /** Counts Show Attention calls, so a slower earlier call never overtakes a later one. */
  private commandGeneration = 0;
  private readonly reportedSettingProblems = new Set<string>();
  /** Who waits for decode mode's next report, by request id (Step Through Decoding, decode controls). */
  private decodeWaiters: { requestId: number; settle: (report: DecodeReport | undefined) => void }[] = [];
  private readonly reportedModelProblems = new Set<string>();

  /** The folders "Open Model Folder..." opened, kept across windows. */
  private readonly remembered: RememberedFolders;
  private readonly bundledModelsFolder: string;

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly log: vscode.LogOutputChannel,
    globalState: vscode.Memento,
  ) {
    this.remembered = new RememberedFolders(globalState);
    this.bundledModelsFolder = vscode.Uri.joinPath(extensionUri, "media", "models").fsPath;
    this.catalog = new ModelCatalog({ bundledModelsFolder: this.bundledModelsFolder });
    this.learning = new LearningHost(extensionUri, log);
  }

  // -------------------------------------------------------------------------------------------
  // Commands

  /**
   * Attention Lens: Show Attention. For tests and scripts, resolves once the panel answers: to the
   * summary of what was computed, or to undefined when nothing was computed (nothing to show, a
   * broken model, a failed, superseded or cancelled run): the reason was shown and logged. It
   * never rejects. `mode`: open the panel in that mode (the walkthrough); absent: the Attention mode,
   * whatever mode the panel was in (a batch or a comparison on screen would not be of this text).
   */
  async showAttention(mode: LensMode = "attention"): Promise<AttentionSummary | undefined> {
    const generation = ++this.commandGeneration;
    const text = this.textOfActiveEditor("Attention Lens shows the text of an editor");
    if (!text) return undefined;
    try {
      const prepared = await this.currentModel(generation);
      if (!prepared) return undefined;
      const { settings, model, tokenizer } = prepared;
      return summaryOf(await this.sendText(text, model, tokenizer, settings, { mode }));
    } catch (error) {
      this.reportError(error);
      return undefined;
    }
  }

  /**
   * Attention Lens: Compare Models. Shows the selection (or the current line) in the panel's compare
   * mode: model A is the current model (Select Model, else attentionLens.defaultModel), model B the
   * attentionLens.compareWith setting (empty: MHA, or GQA when A is MHA). Tests and keybindings may
   * pass both ids as arguments. Both models must exist, differ, and share a tokenizer; otherwise the
   * reason is shown. Resolves to the comparison's summary, or undefined when nothing was compared.
   */
  async compareModels(modelAId?: unknown, modelBId?: unknown): Promise<ComparisonSummary | undefined> {
    const generation = ++this.commandGeneration;
    const text = this.textOfActiveEditor("Compare Models compares two models on the text of an editor");
    if (!text) return undefined;
    try {
      const settings = this.readSettings();
      if (modelAId !== undefined && typeof modelAId !== "string") throw new ModelCatalogError(`Compare Models takes model ids as its arguments, not ${JSON.stringify(modelAId)}.`);
      if (modelBId !== undefined && typeof modelBId !== "string") throw new ModelCatalogError(`Compare Models takes model ids as its arguments, not ${JSON.stringify(modelBId)}.`);
      const modelA = typeof modelAId === "string" ? (await this.refreshCatalog(), this.catalog.require(modelAId, "Compare Models")) : await this.resolveModel(settings);
      const modelB = this.resolveModelB(modelA, modelBId ?? settings.compareWith, modelBId !== undefined ? "Compare Models" : `${SETTINGS_SECTION}.compareWith`);
      if (!modelB) return undefined;
      this.catalog.requireSameTokenizer(modelA, modelB);
      const tokenizer = await this.catalog.tokenizer(modelA);
      if (generation !== this.commandGeneration) return undefined;
      this.log.info(`compare: ${modelA.id} (A) with ${modelB.id} (B)`);
      const outcome = await this.sendAndAwait(text, modelA, tokenizer, settings, { mode: "compare", compareWith: modelB.id }, (requestId) =>
        this.panel?.awaitComparison(requestId),
      );
      if (outcome?.kind !== "computed") return undefined;
      const { type: _type, ...summary } = outcome.result;
      return summary;
    } catch (error) {
      this.reportError(error);
      return undefined;
    }
  }

  /**
   * Attention Lens: Step Through Decoding. Opens the panel in decode mode on the selection (or the
   * current line) as the prompt, with the current model. Resolves, once the prompt's prefill is
   * done, to the decoding's first state (index 0), or to undefined when nothing ran (the reason was
   * shown). Never rejects.
   */
  async stepThroughDecoding(): Promise<DecodeReport | undefined> {
    const generation = ++this.commandGeneration;
    const text = this.textOfActiveEditor("Step Through Decoding continues the text of an editor");
    if (!text) return undefined;
    try {
      const prepared = await this.currentModel(generation);
      if (!prepared) return undefined;
      const { settings, model, tokenizer } = prepared;
      this.log.info(`decode: ${model.id}, the selection as prompt`);
      return await this.sendAndAwait(text, model, tokenizer, settings, { mode: "decode" }, (requestId) => this.awaitDecode(requestId));
    } catch (error) {
      this.reportError(error);
      return undefined;
    }
  }

  /**
   * Attention Lens: Show Attention Stages ("stages") and Show Batch and Masks ("batch"): the
   * selection (or the current line) in that mode; for "batch" every selected line becomes one
   * sequence of a left-padded batch. `argument` preselects layer, head, query, key and dropout (the
   * walkthrough's examples, a keybinding's args; checked by stages-choice.ts). Resolves to the panel's report, or undefined when nothing ran (the
   * reason was shown; a batch that cannot be built resolves to its error). Never rejects.
   */
  async showLearningMode(mode: "stages" | "batch", argument?: unknown): Promise<LearningReport | undefined> {
    const parsed = parseStagesChoice(argument);
    if ("error" in parsed) {
      this.warnUser(parsed.error);
      return { mode, error: parsed.error };
    }
    const choice: StagesChoice | undefined = argument === undefined ? undefined : parsed;
    const generation = ++this.commandGeneration;
    const what = mode === "stages" ? "Show Attention Stages" : "Show Batch and Masks";
    const text = this.textOfActiveEditor(`${what} works on the text of an editor`);
    if (!text) return undefined;
    try {
      const prepared = await this.currentModel(generation);
      if (!prepared) return undefined;
      const { settings, model, tokenizer } = prepared;
      const learning: LearningRequest = {};
      if (choice) learning.stages = choice;
      if (mode === "batch") {
        const firstLine = text.firstLine;
        const batch = batchOfText(tokenizer, text.rawText, firstLine, tokenBudget(settings.maxTokens, model.config.maxPositionEmbeddings));
        if ("error" in batch) {
          this.warnUser(batch.error);
          return { mode, error: batch.error };
        }
        learning.batch = batch;
      }
      this.log.info(`${mode}: ${model.id}`);
      return await this.sendAndAwait(text, model, tokenizer, settings, { mode, learning }, (requestId) => this.learning.awaitReport(requestId));
    } catch (error) {
      this.reportError(error);
      return undefined;
    }
  }

  /**
   * Decode mode's controls as a command (for keybindings and tests): "step", "back", "reset",
   * "play" or "pause" on the decoding the panel shows. Resolves to the decoding's next report (for
   * "play": its first step), or to undefined when no decoding is open.
   */
  async decodeControl(action?: unknown): Promise<DecodeReport | undefined> {
    if (typeof action !== "string" || !DECODE_ACTIONS.includes(action as DecodeAction)) {
      this.warnUser(`Attention Lens's decode control takes one of ${DECODE_ACTIONS.join(", ")}, not ${JSON.stringify(action)}.`);
      return undefined;
    }
    const requestId = this.shown?.requestId;
    if (!this.panel || requestId === undefined) {
      this.warnUser(`No decoding is open. Select a prompt and run "Attention Lens: Step Through Decoding" first.`);
      return undefined;
    }
    const report = this.awaitDecode(requestId);
    if (!this.panel.sendDecodeControl(action as DecodeAction)) {
      this.settleDecode(requestId, undefined);
      return undefined;
    }
    return report;
  }

  /** The next decode report of request `requestId`; waiters of older requests end with undefined. */
  private awaitDecode(requestId: number): Promise<DecodeReport | undefined> {
    for (const waiter of this.decodeWaiters.filter((candidate) => candidate.requestId !== requestId)) waiter.settle(undefined);
    this.decodeWaiters = this.decodeWaiters.filter((candidate) => candidate.requestId === requestId);
    return new Promise((settle) => this.decodeWaiters.push({ requestId, settle }));
  }

  private settleDecode(requestId: number | undefined, report: DecodeReport | undefined): void {
    const waiters = this.decodeWaiters.filter((candidate) => requestId === undefined || candidate.requestId === requestId);
    this.decodeWaiters = this.decodeWaiters.filter((candidate) => !waiters.includes(candidate));
    for (const waiter of waiters) waiter.settle(report);
  }

  /**
   * Compare mode's model B for `modelA`: `requested` ("" lets this choose: MHA, or GQA when A is MHA,
   * or any other model). Undefined (with a warning) when B would be A itself.
   */
  private resolveModelB(modelA: CatalogModel, requested: string, from: string): CatalogModel | undefined {
    if (requested !== "") {
      const modelB = this.catalog.require(requested, from);
      if (modelB.id === modelA.id) {
        this.warnUser(
          `Compare Models needs two different models, but model A and model B (from ${from}) are both "${modelA.id}". ` +
            `Pick another model B in ${SETTINGS_SECTION}.compareWith (or leave it empty), or another model A with "Attention Lens: Select Model".`,
        );
        return undefined;
      }
      return modelB;
    }
    const others = this.catalog.models.filter((model) => model.id !== modelA.id);
    const isMha = (model: CatalogModel) => model.config.numKeyValueHeads === model.config.numAttentionHeads;
    const modelB = isMha(modelA)
      ? ([...others].sort((x, y) => y.config.numKeyValueHeads - x.config.numKeyValueHeads).find((model) => !isMha(model)) ?? others[0])
      : (others.find(isMha) ?? others[0]);
    if (!modelB) throw new ModelCatalogError(`Compare Models needs a second model, and "${modelA.id}" is the only usable one in ${this.catalog.describeSources()}.`);
    return modelB;
  }

  /**
   * Attention Lens: Select Model. With a model id as argument (from a test or a keybinding's
   * "args") no picker is shown. Resolves with the chosen id, or undefined when dismissed.
   */
  async selectModel(modelId?: unknown): Promise<string | undefined> {
    try {
      await this.refreshCatalog();
      let id: string;
      if (typeof modelId === "string") {
        id = modelId;
      } else {
        const current = this.currentModelId(this.readSettings());
        if (this.catalog.models.length === 0) this.catalog.require(current); // throws the "no usable model" error
        const picked = await pickModel(this.catalog, current, budgetBytesOf(this.readSettings().memoryBudgetMB));
        if (!picked) return undefined;
        if (picked.kind === "open-folder") return await this.openModelFolder();
        if (picked.kind === "problem") throw new ModelCatalogError(picked.problem.message);
        id = picked.id;
      }
      await this.switchModel(id, typeof modelId === "string" ? "the command's argument" : "Select Model");
      return id;
    } catch (error) {
      this.reportError(error);
      return undefined;
    }
  }

  /**
   * Attention Lens: Open Model Folder...: a folder picker (or the folder as argument, from a test or a
   * keybinding) for a Hugging Face model folder. A usable folder is remembered and becomes the current
   * model; otherwise the reason is shown. Resolves with the model's id, or undefined.
   */
  async openModelFolder(folderArgument?: unknown): Promise<string | undefined> {
    try {
      if (folderArgument !== undefined && typeof folderArgument !== "string") {
        throw new ModelCatalogError(`Open Model Folder takes a folder path as its argument, not ${JSON.stringify(folderArgument)}.`);
      }
      const chosen = folderArgument ?? (await chooseModelFolder());
      if (chosen === undefined) return undefined;
      const folder = resolve(chosen);
      const inspected = await this.inspectFolder(folder);
      if (typeof inspected === "string") throw new ModelCatalogError(inspected);
      await this.remembered.remember(folder);
      await this.switchModel(inspected.id, "Open Model Folder");
      return inspected.id;
    } catch (error) {
      this.reportError(error);
      return undefined;
    }
  }

  /** The usable model in `folder` (scanned as if it were remembered), or why there is none. */
  private async inspectFolder(folder: string): Promise<CatalogModel | string> {
    const settings = this.readSettings();
    const sources = catalogSources(this.bundledModelsFolder, settings, this.remembered);
    this.catalog.setSources({ ...sources, rememberedFolders: [folder, ...(sources.rememberedFolders ?? [])] });
    await this.catalog.refresh();
    const model = this.catalog.models.find((candidate) => candidate.folder === folder || candidate.resourceRoots.includes(folder));
    if (model) return model;
    const problems = this.catalog.problems.filter((problem) => problem.folder === folder || problem.folder.startsWith(`${folder}/`));
    if (problems.length > 0) return problems.map((problem) => problem.message).join(" ");
    return `${folder} holds no model Attention Lens can read: a model folder has config.json, model.safetensors (or model.safetensors.index.json with its shards) and tokenizer.json.`;
  }

  /** Brings the panel to the front (the status bar item's click). */
  revealPanel(): void {
    if (this.panel) this.panel.reveal(false);
    else void vscode.window.showInformationMessage(`The Attention Lens panel is not open. ${SELECT_TEXT_ADVICE}`);
  }

  // -------------------------------------------------------------------------------------------
  // The panel

  /**
   * VS Code restores a panel after a reload, with the state its page saved. Returns at once: the
   * model runs afterwards (VS Code waits for this promise before it finishes restoring the panel).
   */
  async revivePanel(webviewPanel: vscode.WebviewPanel, state: unknown): Promise<void> {
    if (this.panel) {
      webviewPanel.dispose(); // one panel at a time
      return;
    }
    this.panel = AttentionPanel.revive(webviewPanel, this.extensionUri, this.panelListener(), this.log);
    const saved = parsePanelState(state);
    if (!saved) {
      this.log.info("restored the panel without a saved text; it waits for Show Attention");
      return;
    }
    void this.showSavedText(saved).catch((error: unknown) => this.reportError(error));
  }

  /**
   * Runs the saved text again, in the saved mode (and model B), linked to its document as after a
   * Show Attention when the document still holds that text at the saved offset; otherwise unlinked,
   * and the log says why. A command started meanwhile wins.
   */
  private async showSavedText(saved: PanelState): Promise<void> {
    const generation = ++this.commandGeneration;
    const settings = this.readSettings();
    await this.refreshCatalog();
    const model = this.catalog.find(saved.modelId) ?? this.catalog.require(this.currentModelId(settings));
    const tokenizer = await this.catalog.tokenizer(model);
    const found = await this.savedDocument(saved);
    if (generation !== this.commandGeneration) return;
    const text: TextToShow & { firstLine: number } =
      "document" in found
        ? {
            rawText: found.rawText,
            documentStart: found.start,
            document: { uri: found.document.uri.toString(), version: found.document.version, name: found.name },
            source: saved.source,
            usedCurrentLine: false,
            firstLine: found.document.positionAt(found.start).line + 1,
          }
        : { rawText: saved.text, documentStart: 0, source: saved.source, usedCurrentLine: false, firstLine: 1 };
    const mode = saved.mode ?? "attention";
    const link = "document" in found ? "the editor follows it again" : `the editor does not follow it until the next Show Attention: ${found.why}`;
    this.log.info(`restored the panel: ${saved.source} with ${model.id} in ${mode} mode; ${link}`);

    const options: SendOptions = { mode };
    const modelB = saved.compareWith;
    if (modelB !== undefined && modelB !== model.id && this.catalog.modelsSharingTokenizer(model).some((candidate) => candidate.id === modelB)) {
      options.compareWith = modelB;
    }
    if (mode === "batch") {
      // Batch mode draws the lines the host sends; a restored panel needs them as much as a new one.
      options.learning = { batch: batchOfText(tokenizer, text.rawText, text.firstLine, tokenBudget(settings.maxTokens, model.config.maxPositionEmbeddings)) };
    }
    await this.sendText(text, model, tokenizer, settings, options);
  }

  /**
   * The saved text's document, opened, with the text as it is there (its own line endings), when it
   * still holds the saved text at the saved offset; otherwise why not, in words for the log.
   */
  private async savedDocument(saved: PanelState): Promise<{ document: vscode.TextDocument; name: string; start: number; rawText: string } | { why: string }> {
    if (saved.documentUri === undefined || saved.documentStart === undefined) {
      return { why: "the saved panel names no document (its text was in no open document, or an older version saved it)" };
    }
    let uri: vscode.Uri;
    try {
      uri = vscode.Uri.parse(saved.documentUri, true);
    } catch (error) {
      return { why: `the saved document ${saved.documentUri} is not a valid URI (${error instanceof Error ? error.message : String(error)})` };
    }
    const name = posix.basename(uri.path) || saved.documentUri;
    let document: vscode.TextDocument;
    try {
      document = await vscode.workspace.openTextDocument(uri);
    } catch (error) {
      return { why: `${name} cannot be opened (${error instanceof Error ? error.message : String(error)}); it was moved or deleted perhaps` };
    }
    const rawText = savedTextInDocument(document.getText(), saved.documentStart, saved.text);
    if (rawText === undefined) {
      return { why: `${name} no longer holds the shown text at offset ${saved.documentStart}; it was changed since the panel was saved` };
    }
    return { document, name, start: saved.documentStart, rawText };
  }

  private panelListener() {
    return {
      onMessage: (message: WebviewToHostMessage) => this.onPanelMessage(message),
      onDidDispose: () => this.onPanelDisposed(),
    };
  }

  private onPanelMessage(message: WebviewToHostMessage): void {
    switch (message.type) {
      case "ready":
        this.log.debug("the panel's page is ready");
        break;
      case "readModelFile":
        break; // the panel answers it (model-file-reads.ts)
      case "progress":
        this.log.debug(`#${message.requestId} ${message.stage}: ${message.message}`);
        this.runProgress.report(message.requestId, message.message);
        break;
      case "attentionComputed":
        this.statusBar.finished(message);
        break;
      case "comparisonComputed": {
        const [a, b] = message.models;
        this.log.info(
          `#${message.requestId} compared ${a.modelId} with ${b.modelId} on ${a.tokens} tokens: KV cache ${a.kvBytes} vs ${b.kvBytes} bytes ` +
            `(B/A ${message.kvBytesRatio.toFixed(3)}), mean |A - B| per layer ${message.meanDifferenceByLayer.map((value) => value.toFixed(4)).join(", ")}`,
        );
        break;
      }
      case "comparisonFailed":
        this.log.error(`#${message.requestId} comparison failed: ${message.message}`);
        void vscode.window.showErrorMessage(`Attention Lens could not compare the models: ${message.message}`);
        break;
      case "tokenFocused":
        this.drawFocus(message);
        break;
      case "decodeStepComputed": {
        const { type: _type, requestId, ...step } = message;
        const check = step.logitsMaxDifference !== undefined ? `, recompute max |difference| logits ${step.logitsMaxDifference.toExponential(2)}, attention ${(step.attentionMaxDifference ?? 0).toExponential(2)}` : "";
        this.log.info(`#${requestId} decode ${step.action}: step ${step.index}, ${step.cacheLength} cached tokens, KV cache ${step.cacheBytes} bytes${check}`);
        this.settleDecode(requestId, { requestId, step });
        break;
      }
      case "decodeStopped":
        this.log.info(`#${message.requestId} decode stopped: ${message.message}`);
        this.settleDecode(message.requestId, { requestId: message.requestId, stopped: message.message });
        break;
      case "selectModel":
        void this.switchModel(message.modelId, "the panel").catch((error: unknown) => this.reportError(error));
        break;
      case "error":
        // An error of a request ends it: logOutcome logs it and updates the status bar.
        if (message.requestId === null) this.log.error(`panel: ${message.message}`);
        void vscode.window.showErrorMessage(message.message);
        break;
      case "log":
        this.log[message.level](`panel: ${message.message}`);
        break;
      case "learningComputed":
        this.learning.onReport(message.requestId, message.report);
        break;
      case "openSource":
        void this.learning.openSource(message.anchor);
        break;
      default:
        assertNever(message, "message from the panel");
    }
  }

  private onPanelDisposed(): void {
    this.learning.cancelAll();
    this.settleDecode(undefined, undefined);
    this.panel = undefined;
    this.shown = undefined;
    this.highlights.clear();
    this.statusBar.hide();
  }

  // -------------------------------------------------------------------------------------------
  // Events from VS Code (registered in extension.ts)

  onConfigurationChanged(event: vscode.ConfigurationChangeEvent): void {
    if (!event.affectsConfiguration(SETTINGS_SECTION)) return;
    const settings = this.readSettings();
    const changed = (key: keyof ExtensionSettings) => event.affectsConfiguration(`${SETTINGS_SECTION}.${key}`);
    if (changed("backend") || changed("colorScale")) {
      this.log.info(`settings: backend ${settings.backend}, colour scale ${settings.colorScale}`);
      this.panel?.sendSettings(viewSettingsOf(settings));
    }
    if (changed("colorScale") && this.shown?.lastFocus) this.drawFocus(this.shown.lastFocus);
    if (changed("defaultModel")) {
      this.pickedModelId = undefined;
      this.log.info(`settings: the next runs use ${settings.defaultModel}`);
    }
    if (changed("maxTokens")) this.log.info(`settings: at most ${settings.maxTokens} tokens from the next run on`);
  }

  /** The cursor moved: tell the panel which shown token it is on. */
  onSelectionChanged(event: vscode.TextEditorSelectionChangeEvent): void {
    const shown = this.shown;
    const document = event.textEditor.document;
    if (!this.panel || !shown?.document || !this.isShownDocument(document)) return;
    const tokenIndex = tokenIndexAtOffset(shown.documentRanges, document.offsetAt(event.selections[0].active));
    if (tokenIndex === shown.lastFocusSent) return;
    shown.lastFocusSent = tokenIndex;
    this.panel.focusToken(tokenIndex);
  }

  onDocumentChanged(event: vscode.TextDocumentChangeEvent): void {
    if (event.contentChanges.length > 0 && this.shown?.document?.uri === event.document.uri.toString()) {
      this.unlinkDocument("it was edited");
    }
  }

  onDocumentClosed(document: vscode.TextDocument): void {
    if (this.shown?.document?.uri === document.uri.toString()) this.unlinkDocument("it was closed");
  }

  onVisibleEditorsChanged(): void {
    this.highlights.apply();
  }

  dispose(): void {
    this.panel?.release(); // cancels what is still running; VS Code keeps the panel for the next start
    this.panel = undefined;
    this.highlights.dispose();
    this.statusBar.dispose();
    this.runProgress.dispose();
  }

  // -------------------------------------------------------------------------------------------
  // Running

  /**
   * The text a command works on, read when it runs: the active editor's primary selection, or the
   * line under the cursor when nothing is selected. Undefined, with a warning, when there is no
   * editor (`noEditor` says what needs one) or nothing to show.
   */
  private textOfActiveEditor(noEditor: string): (TextToShow & { firstLine: number }) | undefined {
    const editor = vscode.window.activeTextEditor;
    if (!editor) {
      this.warnUser(`${noEditor}, and no editor is active. Open a file, then: ${SELECT_TEXT_ADVICE}`);
      return undefined;
    }
    const document = editor.document;
    if (editor.selections.length > 1) this.log.info(`${editor.selections.length} selections; showing the primary one`);
    const documentText = document.getText();
    const chosen = chooseText(documentText, document.offsetAt(editor.selection.start), document.offsetAt(editor.selection.end));
    if (chosen.kind === "nothing") {
      this.warnUser(chosen.message);
      return undefined;
    }
    return {
      rawText: documentText.slice(chosen.start, chosen.end),
      documentStart: chosen.start,
      document: { uri: document.uri.toString(), version: document.version, name: posix.basename(document.uri.path) || document.uri.toString() },
      source: "",
      usedCurrentLine: chosen.usedCurrentLine,
      firstLine: document.positionAt(chosen.start).line + 1,
    };
  }

  /**
   * The settings, the current model and its tokenizer for a command started as `generation`;
   * undefined when a newer command started meanwhile (it wins).
   */
  private async currentModel(generation: number): Promise<{ settings: ExtensionSettings; model: CatalogModel; tokenizer: TextTokenizer } | undefined> {
    const settings = this.readSettings();
    const model = await this.resolveModel(settings);
    const tokenizer = await this.catalog.tokenizer(model);
    return generation === this.commandGeneration ? { settings, model, tokenizer } : undefined;
  }

  /**
   * `sendText` for the modes whose command resolves to a later report of the panel (the comparison,
   * the decoding's prefill, the stages or batch report): `awaitReport` starts waiting for it as soon
   * as the request is sent. Undefined when the run was superseded or cancelled.
   */
  private async sendAndAwait<Report>(
    text: TextToShow,
    model: CatalogModel,
    tokenizer: SelectionTokenizer,
    settings: ExtensionSettings,
    options: SendOptions,
    awaitReport: (requestId: number) => Promise<Report> | undefined,
  ): Promise<Report | undefined> {
    let report: Promise<Report> | undefined;
    const { outcome } = await this.sendText(text, model, tokenizer, settings, { ...options, onStarted: (requestId) => (report = awaitReport(requestId)) });
    if (!report || outcome.kind === "superseded" || outcome.kind === "cancelled") return undefined;
    return await report;
  }

  /** `sendText` with the model's tokenizer. */
  private async showText(text: TextToShow, model: CatalogModel, settings: ExtensionSettings): Promise<SentRun> {
    return this.sendText(text, model, await this.catalog.tokenizer(model), settings);
  }

  /** Tokenizes `text` for `model` and sends it to the panel (opened if needed); logs the outcome. */
  private async sendText(
    text: TextToShow,
    model: CatalogModel,
    tokenizer: SelectionTokenizer,
    settings: ExtensionSettings,
    options: SendOptions = {},
  ): Promise<SentRun> {
    const budget = tokenBudget(settings.maxTokens, model.config.maxPositionEmbeddings);
    const tokens = tokensOfText(text.rawText, tokenizer, budget, text.documentStart);
    // Before anything loads: weights, runtime, KV cache and maps against attentionLens.memoryBudgetMB.
    const memory = planRunMemory(model.config, tokens.tokens.length, budgetBytesOf(settings.memoryBudgetMB));
    if (!memory.fits) throw new RunMemoryError(`${model.name}: ${memory.reason}`);
    this.log.info(`${model.id}: ${memory.reason}`);
    const document = text.document ? this.openDocument(text.document.uri, text.document.version) : undefined;
    const source = document && text.document ? describeSource(text.document.name, document, tokens) : text.source;

    if (!this.panel) this.panel = AttentionPanel.create(this.extensionUri, this.panelListener(), this.log);
    else this.panel.reveal(true);
    const panel = this.panel;
    this.highlights.clear();

    panel.allowModelFolders(this.catalog.models.filter((candidate) => candidate.source !== "bundled").flatMap(localResourceRootsOf));
    const descriptors = this.catalog.models.map((candidate) => toModelDescriptor(candidate, (path) => panel.asWebviewUri(path)));
    for (const candidate of descriptors) panel.allowWeightFiles(candidate.weightFiles ?? []);
    const descriptor = descriptors.find((candidate) => candidate.id === model.id) as ModelDescriptor;
    const sent: Omit<SentRun, "outcome"> = {
      ...(tokens.truncation ? { truncation: { keptTokens: tokens.truncation.keptTokens, totalTokens: tokens.truncation.totalTokens, totalIsEstimate: tokens.truncation.totalIsEstimate } } : {}),
      ...(text.usedCurrentLine ? { usedCurrentLine: true } : {}),
    };
    const started = panel.showAttention({
      model: descriptor,
      models: descriptors,
      text: tokens.text,
      source,
      tokens: tokens.tokens,
      ...sent,
      settings: viewSettingsOf(settings),
      mapPrecision: memory.mapPrecision ?? "uint8",
      ...(options.mode ? { mode: options.mode } : {}),
      ...(options.compareWith ? { compareWith: options.compareWith } : {}),
      comparableModels: this.catalog.modelsSharingTokenizer(model).map((candidate) => candidate.id),
      ...(options.learning ? { learning: options.learning } : {}),
      ...(document && text.document ? { documentUri: text.document.uri, documentStart: tokens.documentStart } : {}),
    });
    options.onStarted?.(started.requestId);
    this.shown = {
      ...text,
      ...(document ? {} : { document: undefined }),
      source,
      requestId: started.requestId,
      modelId: model.id,
      tokens: tokens.tokens,
      documentRanges: tokens.documentRanges,
      lastFocusSent: undefined,
      lastFocus: undefined,
    };

    const startedAt = Date.now();
    this.log.info(`#${started.requestId} ${model.id}: ${describeRun(tokens, text.usedCurrentLine)} from ${source}; backend setting ${settings.backend}`);
    this.statusBar.running(model.label, tokens.tokens.length);
    this.runProgress.track(started.requestId, `${model.name} on ${tokens.tokens.length} tokens`, started.outcome, () =>
      panel.cancel(started.requestId, "cancelled from the progress notification"),
    );
    const outcome = await started.outcome;
    this.logOutcome(outcome, Date.now() - startedAt);
    return { ...sent, outcome };
  }

  private logOutcome(outcome: PanelRunOutcome, hostMilliseconds: number): void {
    const id = `#${outcome.requestId}`;
    switch (outcome.kind) {
      case "computed": {
        const { result } = outcome;
        const fallback = result.fallbackReason ? ` (fell back: ${result.fallbackReason})` : "";
        this.log.info(
          `${id} done: ${result.modelId}, ${result.tokens} tokens, ${result.layers} layers × ${result.heads} heads on ` +
            `${result.backend}${fallback} in ${formatMilliseconds(result.milliseconds)} (${formatMilliseconds(hostMilliseconds)} from the request)`,
        );
        break;
      }
      case "failed":
        this.log.error(`${id} failed after ${formatMilliseconds(hostMilliseconds)}: ${outcome.message}`);
        this.statusBar.failed(outcome.message);
        break;
      case "superseded":
        this.log.info(`${id} superseded by #${outcome.by}`);
        break;
      case "cancelled":
        this.log.info(`${id} cancelled: ${outcome.reason}`);
        break;
      default:
        assertNever(outcome, "run outcome");
    }
  }

  /** Makes `modelId` the current model, and shows the current text with it. */
  private async switchModel(modelId: string, from: string): Promise<void> {
    await this.refreshCatalog();
    const model = this.catalog.require(modelId, from);
    this.pickedModelId = model.id;
    this.log.info(`model: ${model.id} (picked in ${from})`);
    const shown = this.shown;
    if (this.panel && shown && shown.modelId !== model.id) {
      await this.showText(shown, model, this.readSettings());
    } else if (!this.panel) {
      vscode.window.setStatusBarMessage(`Attention Lens: the next run uses ${model.label}`, 4000);
    }
  }

  private currentModelId(settings: ExtensionSettings): string {
    return this.pickedModelId ?? settings.defaultModel;
  }

  private async resolveModel(settings: ExtensionSettings): Promise<CatalogModel> {
    await this.refreshCatalog();
    return this.catalog.require(this.currentModelId(settings), this.pickedModelId ? "Select Model" : "attentionLens.defaultModel");
  }

  // -------------------------------------------------------------------------------------------
  // The editor side

  private drawFocus(message: Extract<WebviewToHostMessage, { type: "tokenFocused" }>): void {
    const shown = this.shown;
    if (!shown || shown.requestId !== message.requestId) return;
    shown.lastFocus = message;
    const document = shown.document ? this.openDocument(shown.document.uri, shown.document.version) : undefined;
    if (message.tokenIndex === null || !document) {
      this.highlights.clear();
      return;
    }
    this.highlights.show({
      document,
      documentRanges: shown.documentRanges,
      tokens: shown.tokens,
      focusedIndex: message.tokenIndex,
      weights: message.weights,
      colorScale: this.readSettings().colorScale,
      selection: message.selection,
    });
  }

  /** The open document with this URI, if it is still at `version`. */
  private openDocument(uri: string, version: number): vscode.TextDocument | undefined {
    return vscode.workspace.textDocuments.find((document) => document.uri.toString() === uri && document.version === version);
  }

  private isShownDocument(document: vscode.TextDocument): boolean {
    const link = this.shown?.document;
    return link !== undefined && link.uri === document.uri.toString() && link.version === document.version;
  }

  private unlinkDocument(why: string): void {
    if (!this.shown?.document) return;
    this.log.info(`${this.shown.document.name}: ${why}, so the editor no longer follows the panel until the next Show Attention`);
    this.shown = { ...this.shown, document: undefined };
    this.highlights.clear();
  }

  // -------------------------------------------------------------------------------------------
  // Settings and errors

  private readSettings(): ExtensionSettings {
    const configuration = vscode.workspace.getConfiguration(SETTINGS_SECTION);
    const { settings, problems } = readSettings((key) => configuration.get(key));
    for (const problem of problems) {
      if (this.reportedSettingProblems.has(problem)) continue;
      this.reportedSettingProblems.add(problem);
      this.warnUser(problem);
    }
    return settings;
  }

  /** Scans every model source again, with the current settings and remembered folders. */
  private async refreshCatalog(): Promise<void> {
    this.catalog.setSources(catalogSources(this.bundledModelsFolder, this.readSettings(), this.remembered));
    await this.catalog.refresh();
    this.logModelProblems();
  }

  /** Logs each broken model folder once (the catalog is scanned again on every run). */
  private logModelProblems(): void {
    for (const problem of this.catalog.problems) {
      if (this.reportedModelProblems.has(problem.message)) continue;
      this.reportedModelProblems.add(problem.message);
      this.log.warn(problem.message);
    }
  }

  /** Something the person can fix (the message says how): a warning, and a line in the log. */
  private warnUser(message: string): void {
    this.log.warn(message);
    void vscode.window.showWarningMessage(message);
  }

  private reportError(error: unknown): void {
    if (error instanceof ModelCatalogError || error instanceof RunMemoryError) {
      this.log.error(error.message);
      void vscode.window.showErrorMessage(error.message);
      return;
    }
    const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
    this.log.error(`unexpected error: ${detail}`);
    void vscode.window.showErrorMessage(
      `Attention Lens failed: ${error instanceof Error ? error.message : String(error)}. The "Attention Lens" output has the details; please report it.`,
    );
  }
}

/** "main.ts:12-18" (1-based lines of the shown text), "main.ts:12" for one line. */
function describeSource(name: string, document: vscode.TextDocument, tokens: SelectionTokens): string {
  const first = document.positionAt(tokens.documentStart).line + 1;
  const end = document.positionAt(tokens.documentEnd);
  // A text that ends with its line break ends on the line before.
  const last = Math.max(first, end.character === 0 && tokens.documentEnd > tokens.documentStart ? end.line : end.line + 1);
  return first === last ? `${name}:${first}` : `${name}:${first}-${last}`;
}

/** "120 tokens", "512 of about 34000 tokens (cut to the limit)", "+ the current line". */
function describeRun(tokens: SelectionTokens, usedCurrentLine: boolean): string {
  const truncation = tokens.truncation;
  const count = truncation
    ? `${truncation.keptTokens} of ${truncation.totalIsEstimate ? "about " : ""}${truncation.totalTokens} tokens (cut to the token limit)`
    : `${tokens.tokens.length} tokens`;
  return usedCurrentLine ? `${count} of the line under the cursor` : count;
}
