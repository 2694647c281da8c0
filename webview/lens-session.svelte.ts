/**
 * The Attention Lens panel's state: the latest request, the mode (tab) on screen, and one state
 * object per mode that does that mode's work (attention/attention-state.svelte.ts,
 * compare/compare-session.svelte.ts, decode/decode-state.svelte.ts, stages/stages-state.svelte.ts,
 * batch/batch-state.svelte.ts). It routes the host's messages to them, owns what they share (the
 * page's loaded models and their one run queue, the reference models, the colour scale) and saves
 * the panel state. App.svelte reads its fields (Svelte 5 runes) and hands each mode's view its state.
 *
 * One request at a time: every `showAttention` carries a `requestId`; a newer one supersedes the
 * older, and a `cancel` from the host stops it. Each mode asks `isCurrent` before it shows a result.
 */

import { observe } from "./test-hook";
import { COLOR_SCALES } from "../src/color-scale";
import type { ColorScale, HostToWebviewMessage, LensMode, ModelDescriptor, WebviewToHostMessage } from "../src/protocol";
import { assertNever } from "../src/protocol";
import { AttentionState } from "./attention/attention-state.svelte";
import { CompareSession } from "./compare/compare-session.svelte";
import { DecodeState } from "./decode/decode-state.svelte";
import { BatchState } from "./batch/batch-state.svelte";
import { ReferenceModels } from "./reference-model/reference-model";
import { StagesState } from "./stages/stages-state.svelte";
import { ViewExporter } from "./export/view-exporter";
import type { HostConnection } from "./host-connection";
import { DEFAULT_MODE, isLensMode } from "./modes";
import { DecoderCache, ModelFilesCache } from "./runtime/model-loading";
import { HostFileReads } from "./runtime/host-file-reads";

type ShowAttention = Extract<HostToWebviewMessage, { type: "showAttention" }>;

export class LensSession {
  /** The latest showAttention. */
  request = $state.raw<ShowAttention | null>(null);
  /** Every bundled model, for the picker. */
  models = $state.raw<ModelDescriptor[]>([]);
  colorScale = $state.raw<ColorScale>("linear");
  /** The colour scale picked in the panel (it outlasts new runs until the setting changes), or null. */
  private chosenColorScale: ColorScale | null = null;
  /** Which tab the panel shows (webview/modes.ts). */
  mode = $state.raw<LensMode>(DEFAULT_MODE);

  /** What every mode's state asks the panel: the latest request, whether a request is still current, and the host. */
  private readonly modeContext = {
    request: () => this.request,
    isCurrent: (requestId: number) => this.isCurrent(requestId),
    post: (message: WebviewToHostMessage) => this.host.post(message),
  };
  /** A person's weight files, read through the host in pieces. */
  private readonly hostReads = new HostFileReads((message) => this.host.post(message));
  /** Loaded models; its queue runs every onnxruntime call of the page, one at a time. */
  private readonly decoders = new DecoderCache(undefined, new ModelFilesCache(this.hostReads));
  /** Attention mode: every head of the request's model, and the person's focus (attention/attention-state.svelte.ts). */
  readonly attention = new AttentionState({ ...this.modeContext, decoders: this.decoders, saveState: () => this.saveState() });
  /** Compare mode: two models on the request's tokens (compare/compare-session.svelte.ts). */
  readonly compare = new CompareSession({ ...this.modeContext, decoders: this.decoders, saveState: () => this.saveState() });
  /** Decode mode: the request's tokens as a prompt, decoded step by step (decode/decode-state.svelte.ts). */
  readonly decode = new DecodeState({ ...this.modeContext, decoders: this.decoders });
  /** The TypeScript reference models, for the stages and batch modes (every stage traced). */
  private readonly referenceModels = new ReferenceModels(this.decoders.files);
  /** Stages mode: one layer, head and query, stage by stage (stages/stages-state.svelte.ts). */
  readonly stages = new StagesState({ ...this.modeContext, models: this.referenceModels });
  /** Batch mode: the selected lines as a left-padded batch, with its masks (batch/batch-state.svelte.ts). */
  readonly batch = new BatchState({ ...this.modeContext, models: this.referenceModels });
  /** The views' pictures (PNG, SVG, the clipboard) and the run's maps, for the export buttons and commands (export/view-exporter.ts). */
  readonly exporter = new ViewExporter({
    mode: () => this.mode,
    scale: () => this.colorScale,
    attention: () => this.attention,
    compare: () => this.compare,
    decode: () => this.decode,
    post: (message) => this.host.post(message),
  });
  private readonly cancelled = new Set<number>();

  constructor(private readonly host: HostConnection) {
    const saved = host.savedState();
    if (isLensMode(saved?.mode)) this.mode = saved.mode;
    this.compare.restore(saved?.compareWith, saved?.headMetricViews?.compare, saved?.headAlignment);
    this.attention.restore(saved);
    if (saved?.colorScale !== undefined && COLOR_SCALES.includes(saved.colorScale)) this.chosenColorScale = saved.colorScale;
  }

  // -------------------------------------------------------------------------------------------
  // Host messages

  handle(message: HostToWebviewMessage): void {
    switch (message.type) {
      case "showAttention":
        this.show(message);
        break;
      case "focusToken":
        this.attention.focusEditorToken(message.requestId, message.tokenIndex);
        break;
      case "settingsChanged": {
        this.chosenColorScale = null; // the setting changed: it wins over the panel's own choice
        this.colorScale = message.settings.colorScale;
        const request = this.request;
        if (request && request.settings.backend !== message.settings.backend) {
          this.show({ ...request, settings: message.settings });
        } else if (request) {
          this.request = { ...request, settings: message.settings };
        }
        break;
      }
      case "cancel":
        this.cancelled.add(message.requestId);
        this.attention.cancel(message.requestId);
        this.compare.cancel(message.requestId);
        this.decode.cancel(message.requestId);
        this.stages.cancel(message.requestId);
        this.batch.cancel(message.requestId);
        break;
      case "decodeControl":
        if (message.requestId === this.request?.requestId) this.decode.control(message.action);
        break;
      case "modelFileBytes":
        this.hostReads.receive(message);
        break;
      case "observe":
        if (message.requestId === this.request?.requestId) {
          this.host.post({ type: "observed", requestId: message.requestId, observation: observe(message.request, this) });
        }
        break;
      case "requestExport":
        void this.exporter.answer(message);
        break;
      default:
        assertNever(message);
    }
  }

  private show(request: ShowAttention): void {
    this.request = request;
    this.models = request.models;
    this.colorScale = this.chosenColorScale ?? request.settings.colorScale;
    this.cancelled.delete(request.requestId);
    if (request.mode) this.mode = request.mode;
    this.attention.onRequest(request);
    this.compare.onRequest(request, this.mode === "compare");
    this.decode.onRequest(request, this.mode === "decode");
    this.stages.onRequest(request, this.mode === "stages");
    this.batch.onRequest(request, this.mode === "batch");
  }

  private isCurrent(requestId: number): boolean {
    return this.request?.requestId === requestId && !this.cancelled.has(requestId);
  }

  // -------------------------------------------------------------------------------------------
  // What the person does in the panel

  /** Shows another mode (tab); a mode with work to do starts it. */
  setMode(mode: LensMode): void {
    if (mode === this.mode || !isLensMode(mode)) return;
    this.mode = mode;
    if (mode === "compare") this.compare.run();
    if (mode === "stages") this.stages.run();
    if (mode === "batch") this.batch.run();
    if (mode === "decode") this.decode.run();
    else this.decode.control("pause");
    this.saveState();
  }

  /** The person picked a colour scale in the panel: it stays for later runs, until the setting changes. */
  setColorScale(scale: ColorScale): void {
    this.colorScale = scale;
    this.chosenColorScale = scale;
    this.saveState();
  }

  /** Asks the host for another model (it re-tokenizes and sends showAttention). */
  selectModel(modelId: string): void {
    if (modelId !== this.request?.model.id) this.host.post({ type: "selectModel", modelId });
  }

  /** Saves what the panel shows (the run's text, the selection, the lock, the mode, model B), to come back after a reload. */
  private saveState(): void {
    const { result, selection, lockedToken } = this.attention;
    if (!result) return;
    this.host.saveState({
      modelId: result.model.id,
      text: result.text,
      source: result.source,
      selection: { layer: selection.layer, head: selection.head },
      selectionChosen: this.attention.selectionChosen,
      lockedToken,
      mode: this.mode,
      ...(this.chosenColorScale !== null ? { colorScale: this.chosenColorScale } : {}),
      headMetricViews: { attention: this.attention.metricView, compare: this.compare.metricView },
      ...(this.attention.weighting !== "attention" ? { attentionWeighting: this.attention.weighting } : {}),
      ...(this.compare.alignment !== "index" ? { headAlignment: this.compare.alignment } : {}),
      ...(this.compare.chosenModelB !== null ? { compareWith: this.compare.chosenModelB } : {}),
      ...(result.documentUri !== undefined && result.documentStart !== undefined
        ? { documentUri: result.documentUri, documentStart: result.documentStart }
        : {}),
    });
  }

  /** Releases every loaded model. */
  dispose(): Promise<void> {
    this.decode.dispose();
    return this.decoders.clear();
  }
}
