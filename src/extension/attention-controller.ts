/**
 * What the commands do: each reads the text it works on, picks the model, and sends one request to
 * the panel in its mode, then resolves to what the panel reported (for tests and scripts).
 *
 *   Show Attention            the selection (or the current line) -> tokens with document ranges
 *                             (selection-tokens.ts) -> `showAttention` in the Attention mode
 *   Compare Models            the same in compare mode, with model B (model-choice.ts)
 *   Convert to GQA...         compare mode with model B = the model, its K/V heads grouped (conversion-choice.ts)
 *   Step Through Decoding     the same in decode mode; the decode controls act on it
 *   Stages / Batch and Masks  the same in those modes (a batch: every line one sequence)
 *   Select Model, Open Model Folder...   the current model (model-choice.ts); shows the text again
 *
 * Every command that runs goes through `runCommand` (the editor's text, the current model, errors
 * as messages) and `sendText` (tokens, the memory plan, the panel, the log and the progress). The
 * panel's messages are routed in `onPanelMessage`; the editor side is editor-link.ts, a restored
 * panel panel-restore.ts, and waiting for the panel's reports is the panel's `awaitReport`.
 */

import * as vscode from "vscode";

import type { TextTokenizer } from "../model/tokenizer";
import type {
  DecodeAction,
  LearningReport,
  LensMode,
  ModelDescriptor,
  Observation,
  ObservationRequest,
  RunSummary,
  StagesChoice,
  WebviewToHostMessage,
} from "../protocol";
import { assertNever } from "../protocol";
import { AttentionPanel, type PanelReports, type ShowAttentionFields } from "./attention-panel";
import { batchOfText } from "./batch-lines";
import { CommandMessages, CommandWarning } from "./command-messages";
import { COMMANDS } from "./contributions";
import { parseConversionArgument, pickConversion } from "./conversion-choice";
import { convertedModelId, modelConversions, parseConvertedModelId } from "../converted-model";
import { conversionProblem, describeConversion } from "../model/key-value-conversion";
import { EditorLink, openDocument } from "./editor-link";
import { describeRun, describeSource, textOfActiveEditor, type TextToShow } from "./editor-text";
import { ExportHost } from "./export-host";
import { LearningHost } from "./learning-host";
import { ModelCatalogError, type CatalogModel } from "./model-catalog";
import { ModelChoice } from "./model-choice";
import { budgetBytesOf, modelBMemoryFits, planComparisonMemory, planRunMemory, RunMemoryError, type ComparedModelB } from "./model-memory";
import { restoredRun } from "./panel-restore";
import { parsePanelState } from "./panel-state";
import { RunProgress } from "./run-progress";
import type { RunOutcome } from "./request-tracker";
import { logPanelMessage, logRunOutcome } from "./panel-log";
import { RunStatusBar } from "./run-status-bar";
import { SELECT_TEXT_ADVICE, tokensOfText, type SelectionTokenizer } from "./selection-tokens";
import { SETTINGS_SECTION, tokenBudget, viewSettingsOf, type ExtensionSettings } from "./settings";
import { parseStagesChoice } from "./stages-choice";
import type { AttentionSummary, ComparisonResult, DecodeReport } from "./command-results";

export type { AttentionSummary, ComparisonResult, DecodeReport } from "./command-results";

const DECODE_ACTIONS: readonly DecodeAction[] = ["step", "back", "reset", "play", "pause"];

/** What a command works with once it runs: the text, the settings, the model and its tokenizer. */
interface CommandRun {
  text: TextToShow;
  settings: ExtensionSettings;
  model: CatalogModel;
  tokenizer: TextTokenizer;
}

/** How a text is sent besides its model: the mode (absent: the panel stays in its mode), compare mode's model B, a stages example's choices. */
interface SendOptions {
  mode?: LensMode;
  compareWith?: string;
  stages?: StagesChoice;
}

/** A request sent to the panel, and how its run ended. */
interface SentRun {
  requestId: number;
  outcome: RunOutcome<RunSummary>;
  fields: Pick<ShowAttentionFields, "truncation" | "usedCurrentLine">;
}

export class AttentionController implements vscode.Disposable {
  private readonly messages: CommandMessages;
  private readonly models: ModelChoice;
  /** Stages and batch modes: logging their reports, "show me the code". */
  private readonly learning: LearningHost;
  /** The editor side of the shown text: the cursor and the highlights (its events registered in extension.ts). */
  readonly editor: EditorLink;
  /** Export View as PNG / SVG, Export Attention Maps as JSON and the panel's export buttons: the save dialog and the file (export-host.ts). */
  readonly exports: ExportHost;
  private readonly statusBar = new RunStatusBar(COMMANDS.revealPanel);
  private readonly runProgress = new RunProgress();
  private panel: AttentionPanel | undefined;
  /** What the panel shows now: the text, its model and its request. */
  private shown: { text: TextToShow; modelId: string; requestId: number } | undefined;
  /** Counts commands, so a slower earlier one never overtakes a later one. */
  private commandGeneration = 0;

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly log: vscode.LogOutputChannel,
    globalState: vscode.Memento,
  ) {
    this.messages = new CommandMessages(log);
    this.models = new ModelChoice(vscode.Uri.joinPath(extensionUri, "media", "models").fsPath, globalState, log);
    this.learning = new LearningHost(extensionUri, log);
    this.editor = new EditorLink(log, (tokenIndex) => this.panel?.focusToken(tokenIndex));
    this.exports = new ExportHost(log, this.messages, () => this.panel, (modelId) => this.models.catalog.find(modelId));
  }

  // -------------------------------------------------------------------------------------------
  // Commands: each resolves to what the panel reported, or undefined when nothing ran (the reason
  // was shown and logged). None rejects.

  /** Attention Lens: Show Attention. `mode`: the walkthrough may open another tab; else the Attention tab. */
  showAttention(mode: LensMode = "attention"): Promise<AttentionSummary | undefined> {
    return this.runCommand("Attention Lens shows the text of an editor", undefined, async (run) => {
      const sent = await this.sendText(run, { mode });
      if (sent.outcome.kind !== "computed") return undefined;
      return { requestId: sent.requestId, ...sent.outcome.result, ...sent.fields };
    });
  }

  /**
   * Attention Lens: Compare Models. Model A is the current model, or the first argument (which
   * becomes the current model, so Select Model marks what the panel shows); model B the second
   * argument, else attentionLens.compareWith, else a choice (model-choice.ts). Both must share a tokenizer.
   */
  compareModels(modelAId?: unknown, modelBId?: unknown): Promise<ComparisonResult | undefined> {
    for (const id of [modelAId, modelBId]) {
      if (id !== undefined && typeof id !== "string") {
        this.messages.report(new ModelCatalogError(`Compare Models takes model ids as its arguments, not ${JSON.stringify(id)}.`));
        return Promise.resolve(undefined);
      }
    }
    const modelA = typeof modelAId === "string" ? (settings: ExtensionSettings) => this.models.pick(modelAId, "Compare Models", settings) : undefined;
    return this.runCommand("Compare Models compares two models on the text of an editor", modelA, async (run) => {
      const from = modelBId !== undefined ? "Compare Models" : `${SETTINGS_SECTION}.compareWith`;
      const modelB = this.models.modelB(run.model, (modelBId as string | undefined) ?? run.settings.compareWith, from);
      this.models.catalog.requireSameTokenizer(run.model, modelB);
      this.log.info(`compare: ${run.model.id} (A) with ${modelB.id} (B)`);
      const outcome = await this.sendAndAwait(run, { mode: "compare", compareWith: modelB.id }, "comparison");
      return outcome?.kind === "computed" ? { requestId: outcome.requestId, ...outcome.result } : undefined;
    });
  }

  /**
   * Attention Lens: Convert to GQA... Compares the current model (A) with itself, its key/value heads
   * grouped without training (B): the groups and method from `argument` ({groups, method}) or two
   * quick picks (conversion-choice.ts). The panel converts the loaded weights itself.
   */
  convertHeads(argument?: unknown): Promise<ComparisonResult | undefined> {
    return this.runCommand("Convert to GQA compares a model with its heads grouped on the text of an editor", undefined, async (run) => {
      const parsed = argument === undefined ? await pickConversion(run.model.config, run.model.name) : parseConversionArgument(argument, run.model.config, run.model.name);
      if (parsed === undefined) return undefined;
      if ("error" in parsed) throw new CommandWarning(parsed.error);
      const compareWith = convertedModelId(run.model.id, parsed);
      this.log.info(`convert: ${run.model.id} (A) with its key/value heads grouped, ${compareWith} (B)`);
      const outcome = await this.sendAndAwait(run, { mode: "compare", compareWith }, "comparison");
      return outcome?.kind === "computed" ? { requestId: outcome.requestId, ...outcome.result } : undefined;
    });
  }

  /** Attention Lens: Step Through Decoding. Resolves, once the prompt's prefill is done, to the decoding's first state. */
  stepThroughDecoding(): Promise<DecodeReport | undefined> {
    return this.runCommand("Step Through Decoding continues the text of an editor", undefined, async (run) => {
      this.log.info(`decode: ${run.model.id}, the selection as prompt`);
      const outcome = await this.sendAndAwait(run, { mode: "decode" }, "decode");
      return outcome?.kind === "computed" ? { requestId: outcome.requestId, ...outcome.result } : undefined;
    });
  }

  /**
   * Attention Lens: Show Attention Stages ("stages") and Show Batch and Masks ("batch"). `argument`
   * preselects layer, head, query, key and dropout (the walkthrough's examples, a keybinding's args;
   * checked by stages-choice.ts). Lines that cannot form a batch are warned about, and the panel
   * says why too; the command then resolves to that error.
   */
  showLearningMode(mode: "stages" | "batch", argument?: unknown): Promise<LearningReport | undefined> {
    const parsed = parseStagesChoice(argument);
    if ("error" in parsed) {
      this.messages.warn(parsed.error);
      return Promise.resolve({ mode, error: parsed.error });
    }
    const what = mode === "stages" ? "Show Attention Stages" : "Show Batch and Masks";
    return this.runCommand(`${what} works on the text of an editor`, undefined, async (run) => {
      this.log.info(`${mode}: ${run.model.id}`);
      const outcome = await this.sendAndAwait(run, { mode, ...(argument !== undefined ? { stages: parsed } : {}) }, "learning");
      return outcome?.kind === "computed" ? outcome.result : undefined;
    });
  }

  /**
   * The decode controls as a command (keybindings and tests): "step", "back", "reset", "play" or
   * "pause" on the decoding the panel shows. Resolves to its next report (for "play": the first step).
   */
  async decodeControl(action?: unknown): Promise<DecodeReport | undefined> {
    if (typeof action !== "string" || !DECODE_ACTIONS.includes(action as DecodeAction)) {
      this.messages.warn(`Attention Lens's decode control takes one of ${DECODE_ACTIONS.join(", ")}, not ${JSON.stringify(action)}.`);
      return undefined;
    }
    const requestId = this.shown?.requestId;
    if (!this.panel || requestId === undefined) {
      this.messages.warn(`No decoding is open. Select a prompt and run "Attention Lens: Step Through Decoding" first.`);
      return undefined;
    }
    const report = this.panel.awaitReport(requestId, "decode");
    if (!this.panel.sendDecodeControl(action as DecodeAction)) return undefined;
    const outcome = await report;
    return outcome.kind === "computed" ? { requestId, ...outcome.result } : undefined;
  }

  /** Attention Lens: Select Model. With a model id as argument (a test, a keybinding's "args") no picker is shown. */
  async selectModel(modelId?: unknown): Promise<string | undefined> {
    try {
      const chosen = await this.models.choose(modelId, this.messages.settings());
      if (chosen) await this.switchModel(chosen.id, chosen.from);
      return chosen?.id;
    } catch (error) {
      this.messages.report(error);
      return undefined;
    }
  }

  /** Attention Lens: Open Model Folder...: a usable folder is remembered and becomes the current model. */
  async openModelFolder(folderArgument?: unknown): Promise<string | undefined> {
    try {
      const opened = await this.models.openFolder(folderArgument, this.messages.settings());
      if (opened) await this.switchModel(opened, "Open Model Folder");
      return opened;
    } catch (error) {
      this.messages.report(error);
      return undefined;
    }
  }

  /** Brings the panel to the front (the status bar item's click). */
  revealPanel(): void {
    if (this.panel) this.panel.reveal(false);
    else void vscode.window.showInformationMessage(`The Attention Lens panel is not open. ${SELECT_TEXT_ADVICE}`);
  }

  /**
   * VS Code restores a panel after a reload, with the state its page saved: the saved text runs
   * again in the saved mode (panel-restore.ts). Returns at once; a command started meanwhile wins.
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
    const generation = ++this.commandGeneration;
    try {
      const settings = this.messages.settings();
      const restored = await restoredRun(saved, this.models, settings);
      if (generation !== this.commandGeneration) return;
      this.log.info(restored.description);
      await this.sendText({ ...restored, settings }, restored.options);
    } catch (error) {
      this.messages.report(error);
    }
  }

  // -------------------------------------------------------------------------------------------
  // Running

  /**
   * The prologue every running command shares: the active editor's text, the settings, the model
   * (`modelOf`, else the current one) and its tokenizer; then `body`. Resolves to undefined when there
   * is nothing to show, when a newer command started meanwhile (it wins), or on an error (shown).
   */
  private async runCommand<Result>(
    noEditor: string,
    modelOf: ((settings: ExtensionSettings) => Promise<CatalogModel>) | undefined,
    body: (run: CommandRun) => Promise<Result | undefined>,
  ): Promise<Result | undefined> {
    const generation = ++this.commandGeneration;
    try {
      const text = textOfActiveEditor(noEditor);
      if ("warning" in text) throw new CommandWarning(text.warning);
      if ((vscode.window.activeTextEditor?.selections.length ?? 0) > 1) this.log.info("several selections; showing the primary one");
      const settings = this.messages.settings();
      const model = await (modelOf ?? ((current) => this.models.current(current)))(settings);
      const tokenizer = await this.models.tokenizer(model);
      if (generation !== this.commandGeneration) return undefined;
      return await body({ text, settings, model, tokenizer });
    } catch (error) {
      this.messages.report(error);
      return undefined;
    }
  }

  /** `sendText`, then the panel's report of `kind` on the request (superseded or cancelled: undefined). */
  private async sendAndAwait<Kind extends keyof PanelReports>(run: CommandRun, options: SendOptions, kind: Kind): Promise<RunOutcome<PanelReports[Kind]> | undefined> {
    let report: Promise<RunOutcome<PanelReports[Kind]>> | undefined;
    const sent = await this.sendText(run, options, (requestId) => (report = this.panel?.awaitReport(requestId, kind)));
    if (!report || sent.outcome.kind === "superseded" || sent.outcome.kind === "cancelled") return undefined;
    return await report;
  }

  /**
   * Tokenizes the text for the model, checks the run against the memory budget (with
   * `options.compareWith`: both models' run), and sends it to the panel (opened if needed) in
   * `options.mode`, with whether each model B the panel offers fits beside the model; logs the
   * outcome. `onStarted` gets the request id as soon as the request is sent.
   */
  private async sendText({ text, settings, model, tokenizer }: CommandRun, options: SendOptions, onStarted?: (requestId: number) => void): Promise<SentRun> {
    const budget = tokenBudget(settings.maxTokens, model.config.maxPositionEmbeddings);
    const tokens = tokensOfText(text.rawText, tokenizer as SelectionTokenizer, budget, text.documentStart);
    // Before anything loads: weights, runtime, KV cache and maps against attentionLens.memoryBudgetMB;
    // in compare mode model B's beside model A's (model-memory.ts, planComparisonMemory).
    const budgetBytes = budgetBytesOf(settings.memoryBudgetMB);
    const modelB = options.compareWith !== undefined ? this.comparedModelB(model, options.compareWith) : undefined;
    const memory = modelB
      ? planComparisonMemory(model, modelB.memory, tokens.tokens.length, budgetBytes)
      : planRunMemory(model, tokens.tokens.length, budgetBytes);
    if (!memory.fits) throw new RunMemoryError(`${modelB ? `${model.name} with ${modelB.name}` : model.name}: ${memory.reason}`);
    this.log.info(`${modelB ? `${model.id} with ${modelB.id}` : model.id}: ${memory.reason}`);
    const mapPrecision = memory.mapPrecision ?? "uint8";
    // Batch mode shows the text's lines, each a sequence: sent with every text, so the tab works whichever way it is opened.
    const batch = batchOfText(tokenizer, text.rawText, text.firstLine, budget);
    const document = text.document ? openDocument(text.document.uri, text.document.version) : undefined;
    const source = document && text.document ? describeSource(text.document.name, document, tokens) : text.source;

    if (!this.panel) this.panel = AttentionPanel.create(this.extensionUri, this.panelListener(), this.log);
    else this.panel.reveal(true);
    const panel = this.panel;
    const catalog = this.models.catalog;
    const descriptors = panel.offerModels(catalog.models);
    const descriptor = descriptors.find((candidate) => candidate.id === model.id) as ModelDescriptor;
    const comparable = catalog.modelsSharingTokenizer(model);
    // Each model B the panel offers beside this model (compare-session.svelte.ts, `candidates`): the
    // panel runs one picked there without asking the host, so it hears here which ones fit the budget.
    const modelBIds = [
      ...comparable.filter((candidate) => candidate.id !== model.id).map((candidate) => candidate.id),
      ...modelConversions(descriptor).map((candidate) => candidate.id),
    ];
    const modelBCandidates = modelBIds.flatMap((id) => {
      const candidate = this.comparedModelB(model, id);
      return candidate ? [{ modelId: id, model: candidate.memory }] : [];
    });
    const fields: SentRun["fields"] = {
      ...(tokens.truncation ? { truncation: { keptTokens: tokens.truncation.keptTokens, totalTokens: tokens.truncation.totalTokens, totalIsEstimate: tokens.truncation.totalIsEstimate } } : {}),
      ...(text.usedCurrentLine ? { usedCurrentLine: true } : {}),
    };
    const started = panel.showAttention({
      model: descriptor,
      models: descriptors,
      text: tokens.text,
      source,
      tokens: tokens.tokens,
      ...fields,
      settings: viewSettingsOf(settings),
      mapPrecision,
      ...(options.mode ? { mode: options.mode } : {}),
      ...(options.compareWith ? { compareWith: options.compareWith } : {}),
      comparableModels: comparable.map((candidate) => candidate.id),
      modelBMemory: modelBMemoryFits(model, modelBCandidates, tokens.tokens.length, budgetBytes, mapPrecision),
      learning: { batch, ...(options.stages ? { stages: options.stages } : {}) },
      ...(document && text.document ? { documentUri: text.document.uri, documentStart: tokens.documentStart } : {}),
    });
    onStarted?.(started.requestId);
    this.shown = { text: document ? text : { ...text, document: undefined }, modelId: model.id, requestId: started.requestId };
    this.editor.link(document && text.document ? { requestId: started.requestId, document: text.document, tokens: tokens.tokens, documentRanges: tokens.documentRanges } : undefined);

    const startedAt = Date.now();
    this.log.info(`#${started.requestId} ${model.id}: ${describeRun(tokens, text.usedCurrentLine)} from ${source}; backend setting ${settings.backend}`);
    this.statusBar.running(model.label, tokens.tokens.length);
    this.runProgress.track(started.requestId, `${model.name} on ${tokens.tokens.length} tokens`, started.outcome, () =>
      panel.cancel(started.requestId, "cancelled from the progress notification"),
    );
    const outcome = await started.outcome;
    logRunOutcome(this.log, outcome, Date.now() - startedAt);
    if (outcome.kind === "failed") this.statusBar.failed(outcome.message);
    return { requestId: started.requestId, outcome, fields };
  }

  /**
   * Model B of a comparison with `model`, as its memory plan needs it: a model of the catalog, or
   * `model` with its key/value heads grouped (`<id>::kv<g>-<method>`, converted-model.ts), whose config is
   * `model`'s with g key/value heads (as convertKeyValueHeads makes it). Undefined for an id the panel
   * does not offer beside `model`: the panel then picks B itself, among those `modelBMemory` says fit.
   */
  private comparedModelB(model: CatalogModel, modelBId: string): { id: string; name: string; memory: ComparedModelB } | undefined {
    const converted = parseConvertedModelId(modelBId);
    if (converted) {
      const { baseId, conversion } = converted;
      if (baseId !== model.id || conversionProblem(model.config, conversion) !== null) return undefined;
      const config = { ...model.config, numKeyValueHeads: conversion.groups };
      return { id: modelBId, name: `${model.name} → ${describeConversion(conversion)}`, memory: { config, convertedFromA: true, heldWeightBytes: model.heldWeightBytes } };
    }
    const other = this.models.catalog.find(modelBId);
    return other ? { id: other.id, name: other.name, memory: { config: other.config, convertedFromA: false, heldWeightBytes: other.heldWeightBytes } } : undefined;
  }

  /** Makes `modelId` the current model, and shows the current text with it. */
  private async switchModel(modelId: string, from: string): Promise<void> {
    const settings = this.messages.settings();
    const model = await this.models.pick(modelId, from, settings);
    const shown = this.shown;
    if (this.panel && shown && shown.modelId !== model.id) {
      await this.sendText({ text: shown.text, settings, model, tokenizer: await this.models.tokenizer(model) }, {});
    } else if (!this.panel) {
      vscode.window.setStatusBarMessage(`Attention Lens: the next run uses ${model.label}`, 4000);
    }
  }

  // -------------------------------------------------------------------------------------------
  // The panel's messages, and VS Code's events (registered in extension.ts)

  private panelListener() {
    return {
      onMessage: (message: WebviewToHostMessage) => this.onPanelMessage(message),
      onDidDispose: () => {
        this.panel = undefined;
        this.shown = undefined;
        this.exports.panelClosed();
        this.editor.unlink();
        this.statusBar.hide();
      },
    };
  }

  private onPanelMessage(message: WebviewToHostMessage): void {
    logPanelMessage(this.log, message);
    switch (message.type) {
      case "ready":
      case "readModelFile": // the panel answers it (model-file-reads.ts)
      case "observed": // the test hook's (test-hook.ts)
      case "log":
        break;
      case "progress":
        this.runProgress.report(message.requestId, message.message);
        break;
      case "report": {
        const { report } = message;
        if (report.kind === "run") this.statusBar.finished(report.summary);
        if (report.kind === "learning") this.learning.logReport(message.requestId, report.report);
        if (report.kind === "failed" && report.of === "run") void vscode.window.showErrorMessage(report.message);
        if (report.kind === "failed" && report.of === "comparison") void vscode.window.showErrorMessage(`Attention Lens could not compare the models: ${report.message}`);
        break;
      }
      case "tokenFocused":
        this.editor.drawFocus(message, this.messages.settings().colorScale);
        break;
      case "selectModel":
        void this.switchModel(message.modelId, "the panel").catch((error: unknown) => this.messages.report(error));
        break;
      case "openSource":
        void this.learning.openSource(message.anchor);
        break;
      case "export":
        this.exports.receive(message);
        break;
      default:
        assertNever(message, "message from the panel");
    }
  }

  /** The test hook (test-hook.ts): what the panel shows of its newest request. */
  observePanel(request: ObservationRequest): Promise<Observation | undefined> {
    return this.panel ? this.panel.observe(request).then((outcome) => (outcome.kind === "computed" ? outcome.result : undefined)) : Promise.resolve(undefined);
  }

  onConfigurationChanged(event: vscode.ConfigurationChangeEvent): void {
    if (!event.affectsConfiguration(SETTINGS_SECTION)) return;
    const settings = this.messages.settings();
    const changed = (key: keyof ExtensionSettings) => event.affectsConfiguration(`${SETTINGS_SECTION}.${key}`);
    if (changed("backend") || changed("colorScale")) {
      this.log.info(`settings: backend ${settings.backend}, colour scale ${settings.colorScale}`);
      this.panel?.sendSettings(viewSettingsOf(settings));
    }
    if (changed("colorScale")) this.editor.redraw(settings.colorScale);
    if (changed("defaultModel")) {
      this.models.forgetPick();
      this.log.info(`settings: the next runs use ${settings.defaultModel}`);
    }
    if (changed("maxTokens")) this.log.info(`settings: at most ${settings.maxTokens} tokens from the next run on`);
  }

  dispose(): void {
    this.panel?.release(); // cancels what is still running; VS Code keeps the panel for the next start
    this.panel = undefined;
    this.editor.dispose();
    this.statusBar.dispose();
    this.runProgress.dispose();
  }
}
