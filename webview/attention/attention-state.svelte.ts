/**
 * Attention mode's state: the request's tokens through the request's model, every head's (T, T) map
 * on screen, and the person's focus (hover, lock, keyboard, selected layer and head). The attention
 * views (AttentionView.svelte and the views in it) read its fields (Svelte 5 runes: they redraw when
 * a field changes) and call its methods.
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

import type { NextTokenReport } from "../../src/runtime/next-token-losses";
import type { Tensor } from "../../src/attention/tensor";
import type { AttentionWeighting, BackendSetting, HeadSelection, HostToWebviewMessage, ModelDescriptor, PanelState, RunStage, RunSummary, TokenInfo, WebviewToHostMessage } from "../../src/protocol";
import type { Backend } from "../../src/runtime/model-runtime";
import { signalWhen, type LayeredDecoder } from "../../src/runtime/layered-decoder";
import type { Cell } from "../heatmap/layout";
import { DecoderCache, nextFrame, type ProgressReporter } from "../runtime/model-loading";
import { AttentionMapsBuilder, withExactLayer, headMap, meanOfHeads, queryRow, type AttentionMaps } from "./attention-maps";
import { PreviousTokenScores, type FirstHead } from "./first-head";
import { LinesState } from "./lines-state.svelte";
import { LayerPreview } from "./layer-preview.svelte";
import { parseAttentionWeighting, RunWeightings, weightingTitle } from "./attention-weighting";
import { DEFAULT_HEAD_METRIC_VIEW, parseHeadMetricView, type HeadMetricView } from "../components/head-metric-order";

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
  /** The head a panel opens on for this run (first-head.ts), and why. */
  firstHead: FirstHead;
  /** Each token's next-token loss and the model's guesses there (absent for a single token). */
  nextToken?: NextTokenReport;
  /** The value-weighted maps and the rollout of this run, computed when a view first asks (attention-weighting.ts). */
  weightings: RunWeightings;
}

export interface RunStatus {
  requestId: number;
  stage: RunStage;
  message: string;
  /** 0..1 while a file downloads. */
  fraction?: number;
}

/** What the attention state needs from the panel's session. */
export interface AttentionContext {
  /** The latest showAttention. */
  request(): ShowAttention | null;
  /** Whether `requestId` is the newest request and not cancelled. */
  isCurrent(requestId: number): boolean;
  post(message: WebviewToHostMessage): void;
  /** The page's decoders and their one run queue. */
  readonly decoders: DecoderCache;
  /** The selection or the lock changed, or a run came: save the panel state. */
  saveState(): void;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Progress messages to the host: at most one per this many ms within a stage. */
const PROGRESS_INTERVAL_MS = 150;

export class AttentionState {
  /** What the current request is doing; null when idle. */
  status = $state.raw<RunStatus | null>(null);
  /** The latest finished layer while a run goes on (layer-preview.svelte.ts). */
  readonly preview = new LayerPreview();
  /** The current request's failure, for the error banner. */
  error = $state.raw<string | null>(null);
  /** The last finished run (kept on screen while a newer one loads). */
  result = $state.raw<RunResult | null>(null);

  selection = $state.raw<HeadSelection>({ layer: 0, head: 0 });
  /** The request whose next-token losses are being scored (its maps are on screen), or null. */
  scoring = $state.raw<number | null>(null);
  /** The lines view's heads and threshold. */
  readonly lines = new LinesState();
  /** Whether the person picked the selected head (kept across runs); until then each run opens on its first head. */
  selectionChosen = $state.raw(false);
  /** The overview's sort and filter by a head metric. */
  metricView = $state.raw<HeadMetricView>(DEFAULT_HEAD_METRIC_VIEW);
  /** What the overview, the head view and the token view draw: the weights, value-weighted, or rollout (attention-weighting.ts). */
  weighting = $state.raw<AttentionWeighting>("attention");
  /** The head-view cell under the mouse or the keyboard cursor. */
  pointer = $state.raw<Cell | null>(null);
  /** The token under the mouse in the token view. */
  hoveredToken = $state.raw<number | null>(null);
  lockedToken = $state.raw<number | null>(null);
  /** The token at the editor's cursor (focusToken). */
  editorToken = $state.raw<number | null>(null);

  /** The query token whose attention is shown, or null (the views then show the last token). */
  focusedToken = $derived(this.lockedToken ?? this.pointer?.row ?? this.hoveredToken ?? this.editorToken ?? null);

  /**
   * The (T, T) map the head view and the token view draw: the selected head's (or the layer's mean)
   * in the chosen weighting; for rollout, the selected layer's, whatever the head.
   */
  selectedMap = $derived(this.result ? this.shownMapOf(this.result, this.selection, this.weighting) : null);
  /** Value-weighted: the selected map's raw ‖a·vW_O‖ before the rows are turned into shares (for the read-out); else null. */
  selectedRawMap = $derived(
    this.result && this.weighting === "value-weighted" ? this.result.weightings.valueWeighted(this.result.maps, this.selection) : null,
  );
  /** The head view's heading: layer, head and weighting. */
  selectedTitle = $derived(weightingTitle(this.weighting, this.selection, this.result?.maps.heads ?? 0));

  /** Maps kept coarser than float32: what computes a layer of the run on screen again, exactly. */
  private exactSource:
    | { requestId: number; decoder: LayeredDecoder; layerInputs: Float32Array[]; keyMask: number[][]; positions: number[][]; kept: AttentionMaps }
    | undefined;
  private readonly meanMaps = new WeakMap<AttentionMaps, Map<number, Float32Array>>();
  /** The panel state saved before the page was reloaded: its selection and lock come back with the first matching run. */
  private savedState: PanelState | undefined;
  /** A focusToken that arrived before its request's result. */
  private pendingEditorToken: number | null = null;
  private lastAnnounced = "";
  private lastProgressPost = { key: "", at: 0 };

  constructor(private readonly context: AttentionContext) {}

  /** Restores the selection and the lock from a saved panel state (for the run of the same model and text), and the overview's sort. */
  restore(saved: PanelState | undefined): void {
    this.savedState = saved;
    this.metricView = parseHeadMetricView(saved?.headMetricViews?.attention) ?? DEFAULT_HEAD_METRIC_VIEW;
    this.weighting = parseAttentionWeighting(saved?.attentionWeighting) ?? "attention";
  }

  setMetricView(view: HeadMetricView): void {
    this.metricView = view;
    this.context.saveState();
  }

  /** The person picked a weighting: the views redraw from the run on screen (nothing runs again). */
  setWeighting(weighting: AttentionWeighting): void {
    if (weighting === this.weighting) return;
    this.weighting = weighting;
    this.context.saveState();
  }

  /** A new request arrived: forgets the run before's focus and runs the request's model. */
  onRequest(request: ShowAttention): void {
    this.exactSource = undefined; // the layer inputs of the run before
    this.error = null;
    this.editorToken = null;
    this.pendingEditorToken = null;
    this.status = { requestId: request.requestId, stage: "loading-model", message: `Preparing ${request.model.label}` };
    void this.process(request);
  }

  /** The host cancelled `requestId`: its progress line goes. */
  cancel(requestId: number): void {
    if (this.status?.requestId === requestId) this.status = null;
  }

  /** The editor's cursor is on token `tokenIndex` of request `requestId`. */
  focusEditorToken(requestId: number, tokenIndex: number | null): void {
    if (requestId === this.result?.requestId) {
      this.editorToken = this.validToken(tokenIndex);
      this.announceFocus();
    } else if (requestId === this.context.request()?.requestId) {
      this.pendingEditorToken = tokenIndex; // the run is still going: apply it to its result
    }
  }

  private reporterFor(requestId: number): ProgressReporter {
    return (stage, message, fraction) => {
      if (!this.context.isCurrent(requestId)) return;
      this.status = { requestId, stage, message, ...(fraction !== undefined ? { fraction } : {}) };
      const now = performance.now();
      const key = `${requestId}:${stage}`;
      if (key === this.lastProgressPost.key && now - this.lastProgressPost.at < PROGRESS_INTERVAL_MS) return;
      this.lastProgressPost = { key, at: now };
      this.context.post({ type: "progress", requestId, stage, message });
    };
  }

  private log(level: "info" | "warn" | "error", message: string): void {
    this.context.post({ type: "log", level, message });
  }

  /** Loads the model (or takes it from the cache), runs the prefill, shows and announces the result. */
  private async process(request: ShowAttention): Promise<void> {
    const { requestId, model, tokens } = request;
    const decoders = this.context.decoders;
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
      report("loading-model", decoders.has(model, request.settings.backend) ? `Using ${model.label}` : `Loading ${model.label}`);
      const decoder = await decoders.get(
        model,
        {
          backend: request.settings.backend,
          wasmPaths: request.wasmPaths,
          log: (line) => this.log("info", `${model.id}: ${line}`),
        },
        report,
      );
      if (!this.context.isCurrent(requestId)) return;

      // Each layer's values (1, nkv, T, hs), for value-weighted attention: half the KV cache the memory plan counts.
      const values: Float32Array[] = [];
      const { step, maps, firstHead, milliseconds } = await decoders.queue.run(async () => {
        if (!this.context.isCurrent(requestId)) return { step: undefined, maps: undefined, firstHead: undefined, milliseconds: 0 };
        const running = `Running ${model.id} on ${tokens.length} tokens (${decoder.backend})`;
        report("running", running);
        this.preview.start(requestId);
        await nextFrame();
        const started = performance.now();
        // Each layer's maps are kept at the precision the host chose for the memory budget as they come.
        const layerMaps = new AttentionMapsBuilder(decoder.config.numKeyValueHeads, request.mapPrecision ?? "float32");
        // Scored from each layer's float32 weights as they come, before they are stored coarser.
        const previousToken = new PreviousTokenScores(decoder.config.numAttentionHeads, tokens.length);
        // A prefill (nothing cached before these tokens); a newer request stops it at the next layer.
        const coarse = (request.mapPrecision ?? "float32") !== "float32";
        const output = await decoder.compute([tokens.map((token) => token.id)], {
          logits: "none",
          keepLayerInputs: coarse,
          // The losses are scored after the maps are on screen (scoreText), from the last layer's output.
          keepFinalHidden: tokens.length > 1,
          onAttention: (layer, weights) => {
            previousToken.add(layer, weights.data);
            layerMaps.add(layer, weights);
            this.preview.observe(layer, weights);
          },
          onValues: (layer, layerValues) => {
            if (layer === values.length) values.push(layerValues.data);
          },
          signal: signalWhen(() => !this.context.isCurrent(requestId)),
          onLayer: (done, layers) => {
            report("running", `${running}: layer ${Math.min(done + 1, layers)} of ${layers}`);
            // The maps fill in: the layer just done on screen, while the next ones run.
            return done < layers ? this.preview.layerDone(layers) : undefined;
          },
        });
        let kept = layerMaps.finish();
        const firstHead = previousToken.choose();
        if (coarse && output.layerInputs) {
          // Coarser maps: the layer on screen exact, computed again from the hidden states that entered it.
          this.exactSource = { requestId, decoder, layerInputs: output.layerInputs, keyMask: output.keyMask, positions: output.positions, kept };
          const wanted = this.selectionChosen ? this.selection.layer : firstHead.layer;
          const layer = wanted < kept.layers ? wanted : 0;
          const exact = await decoder.layerAttention(layer, output.layerInputs[layer], output.keyMask, output.positions);
          kept = withExactLayer(kept, layer, exact.data);
        }
        return { step: output, maps: kept, firstHead, milliseconds: performance.now() - started };
      });
      if (!step || !maps || !firstHead || !this.context.isCurrent(requestId)) return;
      const { config } = decoder;
      const weightings = new RunWeightings(
        values.length === maps.layers
          ? { values, outputWeights: decoder.weights.layers.map((layer) => layer.attention.output), keyValueHeads: config.numKeyValueHeads, headDim: config.headDim }
          : undefined,
      );

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
        firstHead,
        weightings,
      };
      this.showResult(result);
      this.preview.clear(requestId);
      report("done", `${model.id} ran on ${result.backend} in ${milliseconds.toFixed(0)} ms`);
      this.status = null;
      // The maps are on screen; now how well the model knows the text (about a third of the prefill's time again).
      const nextToken = step.finalHidden ? await this.scoreText(requestId, decoder, step.finalHidden, tokens) : undefined;
      if (!this.context.isCurrent(requestId)) return;
      if (nextToken && this.result?.requestId === requestId) this.result = { ...this.result, nextToken };
      const summary: RunSummary = {
        modelId: model.id,
        backend: result.backend,
        ...(result.fallbackReason !== undefined ? { fallbackReason: result.fallbackReason } : {}),
        milliseconds,
        layers: maps.layers,
        heads: maps.heads,
        tokens: maps.tokens,
        mapPrecision: maps.precision,
        ...(nextToken ? { meanLoss: nextToken.meanLoss } : {}),
      };
      this.context.post({ type: "report", requestId, report: { kind: "run", summary } });
      if (result.fallbackReason) this.log("warn", `${model.id} runs on ${result.backend}: ${result.fallbackReason}`);
      // A lock kept from the run before, or the editor's cursor: tell the host what it focuses now.
      if (this.focusedToken !== null) this.announceFocus();
    } catch (error) {
      if (!this.context.isCurrent(requestId)) return;
      this.fail(requestId, messageOf(error));
    } finally {
      this.preview.clear(requestId);
    }
  }

  /**
   * Every token's next-token loss and the model's guesses, from the run's last hidden states, as a
   * step of its own in the page's queue: the maps are already on screen. Undefined when a newer
   * request came meanwhile, or when scoring failed (said in the log; the maps stay).
   */
  private async scoreText(requestId: number, decoder: LayeredDecoder, finalHidden: Tensor, tokens: readonly TokenInfo[]): Promise<NextTokenReport | undefined> {
    this.scoring = requestId;
    try {
      return await this.context.decoders.queue.run(async () => {
        if (!this.context.isCurrent(requestId)) return undefined;
        await nextFrame();
        return decoder.scoreNextTokens(finalHidden, [tokens.map((token) => token.id)], 5);
      });
    } catch (error) {
      this.log("warn", `could not score the text's next-token losses: ${messageOf(error)}`);
      return undefined;
    } finally {
      if (this.scoring === requestId) this.scoring = null;
    }
  }

  private fail(requestId: number, message: string): void {
    this.status = null;
    this.error = message;
    this.result = null; // the maps of an earlier selection would read as this one's
    this.context.post({ type: "report", requestId, report: { kind: "failed", of: "run", message } });
    this.log("error", message);
  }

  /**
   * Puts a run on screen, keeping the selection and lock where they still make sense: a head the
   * person picked stays picked; until they pick one, each run opens on its first head (first-head.ts).
   */
  private showResult(result: RunResult): void {
    const previous = this.result;
    const { maps } = result;
    const saved = this.savedState;
    this.savedState = undefined;
    let selection = this.selectionChosen ? this.selection : { layer: result.firstHead.layer, head: result.firstHead.head };
    let locked = previous && previous.text === result.text && previous.tokens.length === result.tokens.length ? this.lockedToken : null;
    if (saved && saved.modelId === result.model.id && saved.text === result.text) {
      selection = saved.selection;
      locked = saved.lockedToken;
      this.selectionChosen = saved.selectionChosen ?? true;
    }
    const validHead = selection.head === "mean" || (Number.isInteger(selection.head) && selection.head >= 0 && selection.head < maps.heads);
    if (!(selection.layer >= 0 && selection.layer < maps.layers) || !validHead) selection = { layer: result.firstHead.layer, head: result.firstHead.head };

    this.result = result;
    this.selection = selection;
    if (maps.exactLayer !== undefined && selection.layer !== maps.exactLayer) void this.computeLayerExactly(selection.layer);
    this.lockedToken = locked !== null && locked >= 0 && locked < maps.tokens ? locked : null;
    this.pointer = null;
    this.hoveredToken = null;
    this.editorToken = this.validToken(this.pendingEditorToken);
    this.pendingEditorToken = null;
    this.lastAnnounced = "";
    this.context.saveState();
  }

  // -------------------------------------------------------------------------------------------
  // What the person does in the views

  /** Shows another layer/head. */
  select(selection: HeadSelection): void {
    const maps = this.result?.maps;
    if (!maps) return;
    if (!(selection.layer >= 0 && selection.layer < maps.layers)) return;
    if (selection.head !== "mean" && !(selection.head >= 0 && selection.head < maps.heads)) return;
    if (selection.layer === this.selection.layer && selection.head === this.selection.head) return;
    this.selection = { layer: selection.layer, head: selection.head };
    this.selectionChosen = true;
    if (maps.exactLayer !== undefined && selection.layer !== maps.exactLayer) void this.computeLayerExactly(selection.layer);
    this.announceFocus();
    this.context.saveState();
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
      const exact = await this.context.decoders.queue.run(() => source.decoder.layerAttention(layer, source.layerInputs[layer], source.keyMask, source.positions));
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
    this.context.saveState();
  }

  unlock(): void {
    if (this.lockedToken === null) return;
    this.lockedToken = null;
    this.announceFocus();
    this.context.saveState();
  }

  // -------------------------------------------------------------------------------------------
  // Maps

  /** The (T, T) map `weighting` draws for `selection` (see `selectedMap`). */
  shownMapOf(result: RunResult, selection: HeadSelection, weighting: AttentionWeighting): Float32Array {
    if (weighting === "attention" || (weighting === "value-weighted" && !result.weightings.hasValues)) return this.mapOf(result.maps, selection);
    return result.weightings.shownMap(result.maps, weighting, selection);
  }

  /** The (T, T) attention weights of a head or, for "mean", the mean over the layer's heads (computed once). */
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
    this.context.post({
      type: "tokenFocused",
      requestId: result.requestId,
      tokenIndex: token,
      locked,
      selection: { layer: selection.layer, head: selection.head },
      weights: token === null ? [] : queryRow(map, result.maps.tokens, token),
    });
  }
}
