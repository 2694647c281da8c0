/**
 * The state of the Attention Lens panel and what changes it: host messages, loading and running the
 * model, and the person's focus (hover, lock, keyboard, selected layer and head). Components read
 * its fields (Svelte 5 runes: they redraw when a field changes) and call its methods.
 *
 * One request at a time: every `showAttention` carries a `requestId`; a newer one supersedes the
 * older, whose results are dropped at the next step (a load still finishes and stays cached). The
 * prefill runs in the decoder cache's queue: one decoder (and its KV cache) serves every request
 * for its model, and onnxruntime-web cannot run two sessions at once.
 *
 * Focus: the query token whose attention is shown is the locked token if there is one, else the
 * one under the mouse (or the keyboard cursor) in the head view or the token view, else the one at
 * the editor's cursor. Whenever it, the lock or the selected head changes, the host hears
 * `tokenFocused` with that token's weights.
 */

import type {
  BackendSetting,
  ColorScale,
  HeadSelection,
  HostToWebviewMessage,
  LensMode,
  ModelDescriptor,
  PanelState,
  RunStage,
  TokenInfo,
} from "../src/protocol";
import { assertNever } from "../src/protocol";
import type { Backend } from "../src/runtime/model-runtime";
import { AttentionMapsBuilder, withExactLayer, headMap, mapRows, meanOfHeads, queryRow, type AttentionMaps } from "./attention/attention-maps";
import type { Cell } from "./heatmap/layout";
import { CompareSession } from "./compare/compare-session.svelte";
import { DecodeState } from "./decode/decode-state.svelte";
import { BatchState } from "./batch/batch-state.svelte";
import { ReferenceModels } from "./stages/reference-model";
import { StagesState } from "./stages/stages-state.svelte";
import type { HostConnection } from "./host-connection";
import { DEFAULT_MODE, isLensMode } from "./modes";
import { DecoderCache, ModelFilesCache, nextFrame, type ProgressReporter } from "./runtime/model-loading";
import { HostFileReads } from "./runtime/host-file-reads";
import { signalWhen, type LayeredDecoder } from "../src/runtime/layered-decoder";

type ShowAttention = Extract<HostToWebviewMessage, { type: "showAttention" }>;

/** A finished run: what the views draw. */
export interface RunResult {
  requestId: number;
  model: ModelDescriptor;
  /** The backend the setting asked for, and the one that ran. */
  requestedBackend: BackendSetting;
  backend: Backend;
  fallbackReason?: string;
  milliseconds: number;
  text: string;
  source: string;
  tokens: TokenInfo[];
  truncation?: ShowAttention["truncation"];
  usedCurrentLine: boolean;
  /** The document the text came from and its offset there (saved with the state; see PanelState). */
  documentUri?: string;
  documentStart?: number;
  maps: AttentionMaps;
}

export interface RunStatus {
  requestId: number;
  stage: RunStage;
  message: string;
  /** 0..1 while a file downloads. */
  fraction?: number;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Progress messages to the host: at most one per this many ms within a stage. */
const PROGRESS_INTERVAL_MS = 150;

export class LensSession {
  /** The latest showAttention. */
  request = $state.raw<ShowAttention | null>(null);
  /** Every bundled model, for the picker. */
  models = $state.raw<ModelDescriptor[]>([]);
  /** What the current request is doing; null when idle. */
  status = $state.raw<RunStatus | null>(null);
  /** The current request's failure, for the error banner. */
  error = $state.raw<string | null>(null);
  /** The last finished run (kept on screen while a newer one loads). */
  result = $state.raw<RunResult | null>(null);

  selection = $state.raw<HeadSelection>({ layer: 0, head: 0 });
  /** The head-view cell under the mouse or the keyboard cursor. */
  pointer = $state.raw<Cell | null>(null);
  /** The token under the mouse in the token view. */
  hoveredToken = $state.raw<number | null>(null);
  lockedToken = $state.raw<number | null>(null);
  /** The token at the editor's cursor (focusToken). */
  editorToken = $state.raw<number | null>(null);
  colorScale = $state.raw<ColorScale>("linear");
  /** Which tab the panel shows (webview/modes.ts). */
  mode = $state.raw<LensMode>(DEFAULT_MODE);

  /** The query token whose attention is shown, or null (the views then show the last token). */
  focusedToken = $derived(this.lockedToken ?? this.pointer?.row ?? this.hoveredToken ?? this.editorToken ?? null);

  /** The (T, T) map of the selected head (or the mean of the layer's heads). */
  selectedMap = $derived(this.result ? this.mapOf(this.result.maps, this.selection) : null);

  /** Loaded models; its queue runs every onnxruntime call of the page, one at a time. */
  /** Maps kept coarser than float32: what computes a layer of the run on screen again, exactly. */
  private exactSource:
    | { requestId: number; decoder: LayeredDecoder; layerInputs: Float32Array[]; keyMask: number[][]; positions: number[][]; kept: AttentionMaps }
    | undefined;
  /** A person's weight files, read through the host in pieces. */
  private readonly hostReads = new HostFileReads((message) => this.host.post(message));
  private readonly decoders = new DecoderCache(undefined, new ModelFilesCache(this.hostReads));
  /** Compare mode: two models on the request's tokens (compare/compare-session.svelte.ts). */
  readonly compare = new CompareSession({
    request: () => this.request,
    isCurrent: (requestId) => this.isCurrent(requestId),
    post: (message) => this.host.post(message),
    decoders: this.decoders,
    saveState: () => this.saveState(),
  });
  /** Decode mode: the request's tokens as a prompt, decoded step by step (decode/decode-state.svelte.ts). */
  readonly decode = new DecodeState({
    request: () => this.request,
    isCurrent: (requestId) => this.isCurrent(requestId),
    post: (message) => this.host.post(message),
    decoders: this.decoders,
  });
  /** The TypeScript reference models, for the stages and batch modes (every stage traced). */
  private readonly referenceModels = new ReferenceModels(this.decoders.files);
  /** Stages mode: one layer, head and query, stage by stage (stages/stages-state.svelte.ts). */
  readonly stages = new StagesState({
    request: () => this.request,
    isCurrent: (requestId) => this.isCurrent(requestId),
    post: (message) => this.host.post(message),
    models: this.referenceModels,
  });
  /** Batch mode: the selected lines as a left-padded batch, with its masks (batch/batch-state.svelte.ts). */
  readonly batch = new BatchState({
    request: () => this.request,
    isCurrent: (requestId) => this.isCurrent(requestId),
    post: (message) => this.host.post(message),
    models: this.referenceModels,
  });
  private readonly cancelled = new Set<number>();
  private readonly meanMaps = new WeakMap<AttentionMaps, Map<number, Float32Array>>();
  private savedState: PanelState | undefined;
  /** A focusToken that arrived before its request's result. */
  private pendingEditorToken: number | null = null;
  private lastAnnounced = "";
  private lastProgressPost = { key: "", at: 0 };

  constructor(private readonly host: HostConnection) {
    this.savedState = host.savedState();
    if (isLensMode(this.savedState?.mode)) this.mode = this.savedState.mode;
    this.compare.restore(this.savedState?.compareWith);
  }

  // -------------------------------------------------------------------------------------------
  // Host messages

  handle(message: HostToWebviewMessage): void {
    switch (message.type) {
      case "showAttention":
        this.show(message);
        break;
      case "focusToken":
        if (message.requestId === this.result?.requestId) {
          this.editorToken = this.validToken(message.tokenIndex);
          this.announceFocus();
        } else if (message.requestId === this.request?.requestId) {
          this.pendingEditorToken = message.tokenIndex; // the run is still going: apply it to its result
        }
        break;
      case "settingsChanged": {
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
        if (this.status?.requestId === message.requestId) this.status = null;
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
      default:
        assertNever(message);
    }
  }

  private show(request: ShowAttention): void {
    this.request = request;
    this.exactSource = undefined; // the layer inputs of the run before
    this.models = request.models;
    this.colorScale = request.settings.colorScale;
    this.error = null;
    this.editorToken = null;
    this.pendingEditorToken = null;
    this.cancelled.delete(request.requestId);
    this.status = { requestId: request.requestId, stage: "loading-model", message: `Preparing ${request.model.label}` };
    if (request.mode) this.mode = request.mode;
    void this.process(request);
    this.compare.onRequest(request, this.mode === "compare");
    this.decode.onRequest(request, this.mode === "decode");
    this.stages.onRequest(request, this.mode === "stages");
    this.batch.onRequest(request, this.mode === "batch");
  }

  private isCurrent(requestId: number): boolean {
    return this.request?.requestId === requestId && !this.cancelled.has(requestId);
  }

  private reporterFor(requestId: number): ProgressReporter {
    return (stage, message, fraction) => {
      if (!this.isCurrent(requestId)) return;
      this.status = { requestId, stage, message, ...(fraction !== undefined ? { fraction } : {}) };
      const now = performance.now();
      const key = `${requestId}:${stage}`;
      if (key === this.lastProgressPost.key && now - this.lastProgressPost.at < PROGRESS_INTERVAL_MS) return;
      this.lastProgressPost = { key, at: now };
      this.host.post({ type: "progress", requestId, stage, message });
    };
  }

  private log(level: "info" | "warn" | "error", message: string): void {
    this.host.post({ type: "log", level, message });
  }

  /** Loads the model (or takes it from the cache), runs the prefill, shows and announces the result. */
  private async process(request: ShowAttention): Promise<void> {
    const { requestId, model, tokens } = request;
    const report = this.reporterFor(requestId);
    try {
      if (tokens.length === 0) {
        throw new Error("There are no tokens to show: select some text (or put the cursor on a line that is not empty) and run Attention Lens again.");
      }
      if (tokens.length > model.maxTokens) {
        throw new Error(
          `${tokens.length} tokens do not fit ${model.label}'s context of ${model.maxTokens}; select less text (the extension should cut the selection to ${model.maxTokens} tokens).`,
        );
      }
      report("loading-model", this.decoders.has(model, request.settings.backend) ? `Using ${model.label}` : `Loading ${model.label}`);
      const decoder = await this.decoders.get(
        model,
        {
          backend: request.settings.backend,
          wasmPaths: request.wasmPaths,
          log: (line) => this.log("info", `${model.id}: ${line}`),
        },
        report,
      );
      if (!this.isCurrent(requestId)) return;

      const { step, maps, milliseconds } = await this.decoders.queue.run(async () => {
        if (!this.isCurrent(requestId)) return { step: undefined, maps: undefined, milliseconds: 0 };
        const running = `Running ${model.id} on ${tokens.length} tokens (${decoder.backend})`;
        report("running", running);
        await nextFrame();
        const started = performance.now();
        // Each layer's maps are kept at the precision the host chose for the memory budget as they come.
        const layerMaps = new AttentionMapsBuilder(decoder.config.numKeyValueHeads, request.mapPrecision ?? "float32");
        // A prefill (nothing cached before these tokens); a newer request stops it at the next layer.
        const coarse = (request.mapPrecision ?? "float32") !== "float32";
        const output = await decoder.compute([tokens.map((token) => token.id)], {
          logits: "none",
          keepLayerInputs: coarse,
          onAttention: (layer, weights) => layerMaps.add(layer, weights),
          signal: signalWhen(() => !this.isCurrent(requestId)),
          onLayer: (done, layers) => report("running", `${running}: layer ${Math.min(done + 1, layers)} of ${layers}`),
        });
        let kept = layerMaps.finish();
        if (coarse && output.layerInputs) {
          // Coarser maps: the layer on screen exact, computed again from the hidden states that entered it.
          this.exactSource = { requestId, decoder, layerInputs: output.layerInputs, keyMask: output.keyMask, positions: output.positions, kept };
          const layer = this.selection.layer < kept.layers ? this.selection.layer : 0;
          const exact = await decoder.layerAttention(layer, output.layerInputs[layer], output.keyMask, output.positions);
          kept = withExactLayer(kept, layer, exact.data);
        }
        return { step: output, maps: kept, milliseconds: performance.now() - started };
      });
      if (!step || !maps || !this.isCurrent(requestId)) return;

      const result: RunResult = {
        requestId,
        model,
        requestedBackend: request.settings.backend,
        backend: decoder.backend,
        ...(decoder.fallbackReason !== undefined ? { fallbackReason: decoder.fallbackReason } : {}),
        milliseconds,
        text: request.text,
        source: request.source,
        tokens,
        ...(request.truncation ? { truncation: request.truncation } : {}),
        usedCurrentLine: request.usedCurrentLine ?? false,
        ...(request.documentUri !== undefined && request.documentStart !== undefined
          ? { documentUri: request.documentUri, documentStart: request.documentStart }
          : {}),
        maps,
      };
      this.showResult(result);
      report("done", `${model.id} ran on ${result.backend} in ${milliseconds.toFixed(0)} ms`);
      this.status = null;
      this.host.post({
        type: "attentionComputed",
        requestId,
        modelId: model.id,
        backend: result.backend,
        ...(result.fallbackReason !== undefined ? { fallbackReason: result.fallbackReason } : {}),
        milliseconds,
        layers: maps.layers,
        heads: maps.heads,
        tokens: maps.tokens,
        mapPrecision: maps.precision,
        firstHeadWeights: mapRows(headMap(maps, 0, 0), maps.tokens),
      });
      if (result.fallbackReason) this.log("warn", `${model.id} runs on ${result.backend}: ${result.fallbackReason}`);
      // A lock kept from the run before, or the editor's cursor: tell the host what it focuses now.
      if (this.focusedToken !== null) this.announceFocus();
    } catch (error) {
      if (!this.isCurrent(requestId)) return;
      this.fail(requestId, messageOf(error));
    }
  }

  private fail(requestId: number, message: string): void {
    this.status = null;
    this.error = message;
    this.result = null; // the maps of an earlier selection would read as this one's
    this.host.post({ type: "error", requestId, message });
    this.log("error", message);
  }

  /** Puts a run on screen, keeping the selection and lock where they still make sense. */
  private showResult(result: RunResult): void {
    const previous = this.result;
    const { maps } = result;
    const saved = this.savedState;
    this.savedState = undefined;
    let selection = this.selection;
    let locked = previous && previous.text === result.text && previous.tokens.length === result.tokens.length ? this.lockedToken : null;
    if (saved && saved.modelId === result.model.id && saved.text === result.text) {
      selection = saved.selection;
      locked = saved.lockedToken;
    }
    const validHead = selection.head === "mean" || (Number.isInteger(selection.head) && selection.head >= 0 && selection.head < maps.heads);
    if (!(selection.layer >= 0 && selection.layer < maps.layers) || !validHead) selection = { layer: 0, head: 0 };

    this.result = result;
    this.selection = selection;
    if (maps.exactLayer !== undefined && selection.layer !== maps.exactLayer) void this.computeLayerExactly(selection.layer);
    this.lockedToken = locked !== null && locked >= 0 && locked < maps.tokens ? locked : null;
    this.pointer = null;
    this.hoveredToken = null;
    this.editorToken = this.validToken(this.pendingEditorToken);
    this.pendingEditorToken = null;
    this.lastAnnounced = "";
    this.saveState();
  }

  // -------------------------------------------------------------------------------------------
  // What the person does in the panel

  /** Shows another layer/head. */
  select(selection: HeadSelection): void {
    const maps = this.result?.maps;
    if (!maps) return;
    if (!(selection.layer >= 0 && selection.layer < maps.layers)) return;
    if (selection.head !== "mean" && !(selection.head >= 0 && selection.head < maps.heads)) return;
    if (selection.layer === this.selection.layer && selection.head === this.selection.head) return;
    this.selection = { layer: selection.layer, head: selection.head };
    if (maps.exactLayer !== undefined && selection.layer !== maps.exactLayer) void this.computeLayerExactly(selection.layer);
    this.announceFocus();
    this.saveState();
  }

  /**
   * Maps kept coarser than float32 (the memory budget): computes layer `layer` again from the hidden
   * states that entered it (one layer's work) and shows it exact; the layer exact before goes back
   * to the kept precision.
   */
  private async computeLayerExactly(layer: number): Promise<void> {
    const source = this.exactSource;
    if (!source || source.requestId !== this.result?.requestId) return;
    try {
      const exact = await this.decoders.queue.run(() => source.decoder.layerAttention(layer, source.layerInputs[layer], source.keyMask, source.positions));
      const result = this.result;
      if (!result || result.requestId !== source.requestId || this.selection.layer !== layer) return;
      this.result = { ...result, maps: withExactLayer(source.kept, layer, exact.data) };
    } catch (error) {
      this.log("warn", `could not compute layer ${layer} exactly (${messageOf(error)}); it shows the maps as kept`);
    }
  }

  /** The mouse or keyboard cursor is on a head-view cell (null: it left the map). */
  pointAt(cell: Cell | null): void {
    if (cell?.row === this.pointer?.row && cell?.col === this.pointer?.col) return;
    this.pointer = cell;
    this.announceFocus();
  }

  /** The mouse is on a token of the token view (null: it left). */
  hoverToken(token: number | null): void {
    if (token === this.hoveredToken) return;
    this.hoveredToken = token;
    this.announceFocus();
  }

  /** Locks `token` as the query, or unlocks it when it is the locked one. */
  toggleLock(token: number): void {
    this.lockedToken = this.lockedToken === token ? null : this.validToken(token);
    this.announceFocus();
    this.saveState();
  }

  unlock(): void {
    if (this.lockedToken === null) return;
    this.lockedToken = null;
    this.announceFocus();
    this.saveState();
  }

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

  setColorScale(scale: ColorScale): void {
    this.colorScale = scale;
  }

  /** Asks the host for another model (it re-tokenizes and sends showAttention). */
  selectModel(modelId: string): void {
    if (modelId !== this.request?.model.id) this.host.post({ type: "selectModel", modelId });
  }

  // -------------------------------------------------------------------------------------------
  // Maps

  /** The (T, T) map of a head or, for "mean", the mean over the layer's heads (computed once). */
  mapOf(maps: AttentionMaps, selection: HeadSelection): Float32Array {
    if (selection.head !== "mean") return headMap(maps, selection.layer, selection.head);
    let means = this.meanMaps.get(maps);
    if (!means) this.meanMaps.set(maps, (means = new Map()));
    let mean = means.get(selection.layer);
    if (!mean) means.set(selection.layer, (mean = meanOfHeads(maps, selection.layer)));
    return mean;
  }

  private validToken(token: number | null): number | null {
    const tokens = this.result?.maps.tokens ?? 0;
    return token !== null && Number.isInteger(token) && token >= 0 && token < tokens ? token : null;
  }

  /** Tells the host the focused token and its weights, when something about them changed. */
  private announceFocus(): void {
    const result = this.result;
    if (!result) return;
    const token = this.focusedToken;
    const locked = this.lockedToken !== null;
    const selection = this.selection;
    const key = `${result.requestId}|${token}|${locked}|${selection.layer}|${selection.head}`;
    if (key === this.lastAnnounced) return;
    this.lastAnnounced = key;
    const map = this.mapOf(result.maps, selection);
    this.host.post({
      type: "tokenFocused",
      requestId: result.requestId,
      tokenIndex: token,
      locked,
      selection: { layer: selection.layer, head: selection.head },
      weights: token === null ? [] : queryRow(map, result.maps.tokens, token),
    });
  }

  private saveState(): void {
    const result = this.result;
    if (!result) return;
    this.host.saveState({
      modelId: result.model.id,
      text: result.text,
      source: result.source,
      selection: { layer: this.selection.layer, head: this.selection.head },
      lockedToken: this.lockedToken,
      mode: this.mode,
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
