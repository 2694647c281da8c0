/**
 * Compare mode's state: the request's tokens through model A (the request's model) and model B,
 * both on this page's onnxruntime-web, and what the compare views draw.
 *
 * The host sends the tokens once (tokenized with A's tokenizer) and lists in `comparableModels` the
 * models whose tokenizer.json is identical to A's: only those may run on the same token ids, so B
 * is always one of them. Both models load through the page's one `DecoderCache`, whose queue runs
 * every onnxruntime call of the page one at a time (the attention mode's prefill included).
 *
 * A comparison runs when compare mode is shown and the request or model B changes. A newer
 * comparison supersedes an older one (its results are dropped at the next step), and so does a
 * newer request or a `cancel` from the host. When done, the host hears the comparison report.
 *
 * The host plans the memory of each model B beside A (`modelBMemory`, src/extension/model-memory.ts):
 * by default B is one that fits, and a B that does not fit is not run (its reason is the error).
 *
 * B's heads are paired with A's by index or by best match (head-alignment.ts): both pairings are
 * computed from the two runs, so switching redraws without running a model, and the host hears the
 * report again with the pairing shown.
 */

import { DEFAULT_HEAD_METRIC_VIEW, parseHeadMetricView, type HeadMetricView } from "../components/head-metric-order";
import type { ComparisonSummary, ComparedModelSummary, HeadAlignment, HostToWebviewMessage, ModelBMemoryFit, ModelDescriptor, WebviewToHostMessage } from "../../src/protocol";
import type { Backend } from "../../src/runtime/model-runtime";
import { AttentionMapsBuilder, type AttentionMaps } from "../attention/attention-maps";
import { DecoderCache, nextFrame } from "../runtime/model-loading";
import { signalWhen } from "../../src/runtime/layered-decoder";
import { defaultModelB } from "./default-model-b";
import { modelConversions } from "../../src/converted-model";
import { headEntropies, keyValueMemory, type KeyValueMemory } from "./comparison";
import { alignedDifference, alignHeads, headPairsOf, type AlignedDifference, type LayerHeadAlignment } from "./head-alignment";

type ShowAttention = Extract<HostToWebviewMessage, { type: "showAttention" }>;

/** What the compare session needs from the panel's session. */
export interface CompareContext {
  /** The latest showAttention. */
  request(): ShowAttention | null;
  /** Whether `requestId` is the newest request and not cancelled. */
  isCurrent(requestId: number): boolean;
  post(message: WebviewToHostMessage): void;
  /** The page's decoders and their one run queue. */
  readonly decoders: DecoderCache;
  /** Compare mode's model B changed: save the panel state. */
  saveState(): void;
}

/** One model's side of a comparison. */
export interface ComparedModel {
  model: ModelDescriptor;
  backend: Backend;
  milliseconds: number;
  maps: AttentionMaps;
  memory: KeyValueMemory;
  /** entropies[layer][head], nats. */
  entropies: number[][];
  /** Mean next-token loss on the tokens, nats per token (absent for a single token). */
  meanLoss?: number;
}

/**
 * A finished comparison: both models' runs, and (from AlignedDifference) |A - B| with the heads paired
 * as `alignment` says: `difference`, `headDifferences` and `layers` compare head h of A with head
 * `headOfB[layer][h]` of B. Another alignment makes a new result from the same runs.
 */
export interface ComparisonResult extends AlignedDifference {
  requestId: number;
  tokens: ShowAttention["tokens"];
  a: ComparedModel;
  b: ComparedModel;
  /** Per layer, the best-match pairing of the heads, and the mean |A - B| by index and by best match. */
  alignments: LayerHeadAlignment[];
}

export interface CompareStatus {
  requestId: number;
  message: string;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export class CompareSession {
  /** The model B the person (or the host) chose; null: the default for the request's model. */
  chosenModelB = $state.raw<string | null>(null);
  /** The difference overview's sort and filter by a head metric (kept here, so that a failed comparison or a tab switch does not reset it). */
  metricView = $state.raw<HeadMetricView>(DEFAULT_HEAD_METRIC_VIEW);
  /** How B's heads are paired with A's: by index, or by best match per layer (head-alignment.ts). */
  alignment = $state.raw<HeadAlignment>("index");
  status = $state.raw<CompareStatus | null>(null);
  error = $state.raw<string | null>(null);
  /** The last finished comparison (kept on screen while a newer one runs). */
  result = $state.raw<ComparisonResult | null>(null);
  /** The pair of heads shown large, or the mean of the layer's heads. */
  selection = $state.raw<{ layer: number; head: number | "mean" }>({ layer: 0, head: 0 });

  /** Counts comparisons: only the newest one's results are kept. */
  private generation = 0;
  /** Request id and model B of the comparison running or on screen, so the same one is not run twice. */
  private lastKey = "";

  constructor(private readonly context: CompareContext) {}

  /**
   * The models B may be: the comparable models other than A, then A with its key/value heads
   * grouped (src/converted-model.ts), which always runs on A's tokens.
   */
  candidates(request: ShowAttention | null = this.context.request()): ModelDescriptor[] {
    if (!request) return [];
    const comparable = new Set(request.comparableModels ?? [request.model.id]);
    const others = request.models.filter((model) => model.id !== request.model.id && comparable.has(model.id));
    return [...others, ...modelConversions(request.model)];
  }

  /**
   * Model B of the request: the chosen one if it may run on its tokens, else the default, among the
   * models that fit the memory budget beside A when any does.
   */
  modelB(request: ShowAttention | null = this.context.request()): ModelDescriptor | undefined {
    if (!request) return undefined;
    const candidates = this.candidates(request);
    const chosen = candidates.find((model) => model.id === (this.chosenModelB ?? request.compareWith ?? null));
    if (chosen) return chosen;
    // By default another model; A's own conversion only when no other model shares its tokenizer.
    const byDefault = (among: ModelDescriptor[]) =>
      defaultModelB(request.model, among.filter((model) => !model.conversion)) ?? among.find((model) => model.conversion?.method === "mean");
    return byDefault(candidates.filter((model) => memoryFitOf(request, model.id)?.fits !== false)) ?? byDefault(candidates);
  }

  /** Restores model B, the metric view and the heads' alignment from a saved panel state. */
  restore(modelB: string | undefined, metricView?: unknown, alignment?: unknown): void {
    this.metricView = parseHeadMetricView(metricView) ?? DEFAULT_HEAD_METRIC_VIEW;
    if (modelB) this.chosenModelB = modelB;
    this.alignment = alignment === "bestMatch" ? "bestMatch" : "index";
  }

  /**
   * Pairs the heads another way: the result on screen is redrawn from the same runs (no model runs
   * again), and the host hears the comparison report again, with this alignment.
   */
  setAlignment(alignment: HeadAlignment): void {
    if (alignment === this.alignment) return;
    this.alignment = alignment;
    this.context.saveState();
    const result = this.result;
    if (!result) return;
    this.result = { ...result, ...alignedDifference(result.a.maps, result.b.maps, alignment, result.alignments) };
    if (this.status === null && this.error === null && this.context.isCurrent(result.requestId)) this.report(this.result);
  }
  setMetricView(view: HeadMetricView): void {
    this.metricView = view;
    this.context.saveState();
  }


  /** A new request arrived: its `compareWith`, if any, chooses B. Runs when `active`. */
  onRequest(request: ShowAttention, active: boolean): void {
    if (request.compareWith) this.chosenModelB = request.compareWith;
    if (active) this.run();
  }

  /** The person picked model B in the panel. */
  chooseModelB(modelId: string): void {
    if (modelId === this.chosenModelB) return;
    this.chosenModelB = modelId;
    this.context.saveState();
    this.run();
  }

  /** Shows another pair of heads (or a layer's mean). */
  select(selection: { layer: number; head: number | "mean" }): void {
    const result = this.result;
    if (!result) return;
    if (!(selection.layer >= 0 && selection.layer < result.difference.layers)) return;
    if (selection.head !== "mean" && !(selection.head >= 0 && selection.head < result.difference.heads)) return;
    this.selection = { layer: selection.layer, head: selection.head };
  }

  /** The host cancelled a request: stop showing progress for it (the run drops its results). */
  cancel(requestId: number): void {
    if (this.status?.requestId === requestId) this.status = null;
    if (this.lastKey.startsWith(`${requestId}|`)) this.lastKey = "";
  }

  /** Runs the comparison of the current request with model B, unless it is running or shown. */
  run(): void {
    const request = this.context.request();
    if (!request) return;
    const b = this.modelB(request);
    const key = `${request.requestId}|${b?.id ?? ""}|${request.settings.backend}`;
    if (key === this.lastKey && (this.status !== null || this.result?.requestId === request.requestId)) return;
    this.lastKey = key;
    const generation = ++this.generation;
    this.error = null;
    this.status = { requestId: request.requestId, message: `Comparing ${request.model.id} with ${b?.id ?? "…"}` };
    void this.compare(request, b, generation);
  }

  private isLive(generation: number, requestId: number): boolean {
    return generation === this.generation && this.context.isCurrent(requestId);
  }

  private async compare(request: ShowAttention, b: ModelDescriptor | undefined, generation: number): Promise<void> {
    const { requestId, model: a, tokens } = request;
    try {
      if (!b) throw new Error(this.noModelBMessage(request));
      // Before anything loads: the host's plan of both models against attentionLens.memoryBudgetMB.
      const memory = memoryFitOf(request, b.id);
      if (memory && !memory.fits) throw new Error(`${b.label}: ${memory.reason}`);
      if (tokens.length === 0) throw new Error("There are no tokens to compare: select some text and run Attention Lens again.");
      for (const model of [a, b]) {
        if (tokens.length > model.maxTokens) {
          throw new Error(`${tokens.length} tokens do not fit ${model.label}'s context of ${model.maxTokens}; select less text.`);
        }
      }
      if (a.numLayers !== b.numLayers || a.numHeads !== b.numHeads) {
        throw new Error(
          `${a.id} has ${a.numLayers} layers × ${a.numHeads} query heads and ${b.id} ${b.numLayers} × ${b.numHeads}: ` +
            "heads are compared by layer and index, so pick a model B with the same numbers.",
        );
      }
      const sideA = await this.runModel(request, a, generation);
      if (!sideA) return;
      const sideB = await this.runModel(request, b, generation);
      if (!sideB || !this.isLive(generation, requestId)) return;

      const alignments = alignHeads(sideA.maps, sideB.maps);
      const result: ComparisonResult = {
        requestId,
        tokens,
        a: sideA,
        b: sideB,
        alignments,
        ...alignedDifference(sideA.maps, sideB.maps, this.alignment, alignments),
      };
      const validLayer = this.selection.layer < result.difference.layers;
      const validHead = this.selection.head === "mean" || this.selection.head < result.difference.heads;
      if (!validLayer || !validHead) this.selection = { layer: 0, head: 0 };
      this.result = result;
      this.status = null;
      this.report(result);
    } catch (error) {
      if (!this.isLive(generation, requestId)) return;
      const message = messageOf(error);
      this.status = null;
      this.error = message;
      this.result = null; // a comparison of other tokens or models would read as this one
      this.lastKey = ""; // the same pair may be tried again
      this.context.post({ type: "report", requestId, report: { kind: "failed", of: "comparison", message } });
      this.context.post({ type: "log", level: "error", message: `compare: ${message}` });
    }
  }

  /** Tells the host what the panel shows of `result`: the comparison report, and a line for the log. */
  private report(result: ComparisonResult): void {
    const { requestId, a, b } = result;
    const summary: ComparisonSummary = {
      models: [summaryOf(a), summaryOf(b)],
      meanDifferenceByLayer: result.layers.map((layer) => layer.meanDifference),
      headAlignment: result.alignment,
      headPairs: headPairsOf(result),
      meanDifferenceByIndex: result.alignments.map((layer) => layer.meanByIndex),
      meanDifferenceByBestMatch: result.alignments.map((layer) => layer.meanByBestMatch),
      kvBytesRatio: b.memory.bytes / a.memory.bytes,
    };
    this.context.post({ type: "report", requestId, report: { kind: "comparison", summary } });
    this.context.post({
      type: "log",
      level: "info",
      message:
        `compared ${a.model.id} with ${b.model.id} on ${result.tokens.length} tokens, heads paired ${result.alignment === "index" ? "by index" : "by best match"}: ` +
        `mean |A - B| per layer ${result.layers.map((layer) => layer.meanDifference.toFixed(4)).join(", ")}`,
    });
  }

  /** Loads `model` (or takes it from the cache) and runs the prefill with its present keys and values. */
  private async runModel(request: ShowAttention, model: ModelDescriptor, generation: number): Promise<ComparedModel | undefined> {
    const { requestId, tokens } = request;
    const setStatus = (message: string) => {
      if (this.isLive(generation, requestId)) this.status = { requestId, message };
    };
    setStatus(`Loading ${model.label}`);
    let decoder;
    try {
      decoder = await this.context.decoders.get(
        model,
        {
          backend: request.settings.backend,
          wasmPaths: request.wasmPaths,
          log: (line) => this.context.post({ type: "log", level: "info", message: `${model.id}: ${line}` }),
        },
        (_stage, message) => setStatus(`${model.id}: ${message}`),
      );
    } catch (error) {
      throw new Error(`${model.id} could not be loaded: ${messageOf(error)}`);
    }
    if (!this.isLive(generation, requestId)) return undefined;

    const output = await this.context.decoders.queue.run(async () => {
      if (!this.isLive(generation, requestId)) return undefined;
      const running = `Running ${model.id} on ${tokens.length} tokens (${decoder.backend})`;
      setStatus(running);
      await nextFrame();
      const started = performance.now();
      const maps = new AttentionMapsBuilder(decoder.config.numKeyValueHeads, request.mapPrecision ?? "float32");
      // A prefill (nothing cached before these tokens); a newer request stops it at the next layer.
      // With each token's next-token loss: how much worse a converted (or another) model knows the text.
      const step = await decoder.compute([tokens.map((token) => token.id)], {
        fetchPresent: true,
        logits: "none",
        ...(tokens.length > 1 ? { nextToken: { top: 1 } } : {}),
        onAttention: (layer, weights) => maps.add(layer, weights),
        signal: signalWhen(() => !this.isLive(generation, requestId)),
        onLayer: (done, layers) => setStatus(`${running}: layer ${Math.min(done + 1, layers)} of ${layers}`),
      });
      return { step, maps: maps.finish(), milliseconds: performance.now() - started };
    });
    if (!output || !this.isLive(generation, requestId)) return undefined;
    return {
      model,
      backend: decoder.backend,
      milliseconds: output.milliseconds,
      maps: output.maps,
      memory: keyValueMemory(output.step.presentKeyValues),
      entropies: headEntropies(output.maps),
      ...(output.step.nextToken ? { meanLoss: output.step.nextToken.meanLoss } : {}),
    };
  }

  private noModelBMessage(request: ShowAttention): string {
    const others = request.models.filter((model) => model.id !== request.model.id);
    if (others.length === 0) return `Only ${request.model.id} is bundled: there is no second model to compare it with.`;
    return (
      `None of the other models (${others.map((model) => model.id).join(", ")}) shares ${request.model.id}'s tokenizer, ` +
      "so none can run on the same tokens; a comparison needs models with identical tokenizer.json files."
    );
  }
}

/** Whether model B `modelId` fits the memory budget beside the request's model A, as the host planned it; undefined when it did not say. */
function memoryFitOf(request: ShowAttention, modelId: string): ModelBMemoryFit | undefined {
  return request.modelBMemory?.find((fit) => fit.modelId === modelId);
}

function summaryOf(side: ComparedModel): ComparedModelSummary {
  return {
    modelId: side.model.id,
    backend: side.backend,
    milliseconds: side.milliseconds,
    layers: side.maps.layers,
    heads: side.maps.heads,
    keyValueHeads: side.maps.keyValueHeads,
    tokens: side.maps.tokens,
    kvBytes: side.memory.bytes,
    kvBytesPerToken: side.memory.bytesPerToken,
    ...(side.meanLoss !== undefined ? { meanLoss: side.meanLoss } : {}),
  };
}
