/**
 * A decoder of real size on onnxruntime-web, run layer by layer: the layer graph of
 * model/onnx/layer-graph.ts is loaded once per distinct sliding window, and each run feeds it one
 * layer's weights after the other, then runs the output head (output-head.ts) on the rows whose
 * logits are wanted, or scores every token's next-token loss.
 *
 *   ids -> embed (TypeScript) -> layer 0 -> layer 1 -> ... -> layer L-1 -> head (rows asked for)
 *
 * Memory holds the weights once, as the checkpoint's tensors (JavaScript), plus what one layer needs
 * inside the runtime; no protobuf holds them, so there is no 2 GB limit and a tied output head is
 * the embedding matrix itself. Between layers a run reports progress (`onLayer`) and stops when its
 * `signal` is aborted (`RunCancelledError`), so a cancelled or superseded run ends at the next layer.
 *
 * It is stateless: `compute(ids, { past })` runs after a cache the caller keeps (a decoding session
 * keeps one per step) or from nothing; what `OnnxDecoder.compute` (one graph holding every weight)
 * returns, step for step. Outputs are the attention library's `Tensor`s.
 *
 * Shape legend: B batch, T new tokens, P past slots, S = P + T, C model width, V vocabulary,
 * nh query heads, nkv key/value heads, hs head size, N rows with logits.
 */

import * as ort from "onnxruntime-web";
import type { KeyValue } from "../attention/kv-cache";
import { RotaryEmbedding } from "../attention/rotary-embedding";
import { Tensor } from "../attention/tensor";
import type { DecoderConfig } from "../model/config";
import { checkWeightsFitConfig } from "../model/onnx/decoder-graph";
import type { AttentionVariant } from "../model/onnx/graph-attention";
import { prepareGraphStep } from "../model/onnx/graph-inputs";
import { GraphNames } from "../model/onnx/graph-names";
import { buildLayerGraph, buildOutputHeadGraph, LayerGraphNames, layerWeightInputs } from "../model/onnx/layer-graph";
import { copyRowsAsFloat32 } from "../model/half-tensor";
import type { DecoderWeights } from "../model/weights";
import { type Backend, backendOrder, ModelRuntime, type RuntimeSettings } from "./model-runtime";
import { probeWebGpu } from "./webgpu-probe";
import { headFeedsOf, OutputHead } from "./output-head";
import { feedsDecode, feedsOf, fromTensor, toTensor } from "./ort-tensors";
import { HEAD_SLICE_ROWS } from "./weight-placement";
import type { NextTokenReport } from "./next-token-losses";
import { pastKeyMask, type OnnxDecoderComputeCall, type OnnxDecoderStep } from "./onnx-decoder";
import { RuntimeKeyValues } from "./runtime-key-values";

/**
 * Whether float16 weights go to the graphs as float16 (Cast there): yes on wasm, and on WebGPU when
 * the adapter has "shader-f16"; without it WebGPU cannot Cast float16 (a validation error, and wrong
 * numbers with no exception), so they are decoded to float32 one layer at a time, at every run.
 */
export function halfWeightInputsFor(settings: RuntimeSettings): boolean {
  const probe = settings.webGpuProbe;
  const webGpuFirst = settings.choice !== "wasm" && probe !== undefined && backendOrder(settings.choice, probe, settings).order[0] === "webgpu";
  return !webGpuFirst || probe?.shaderF16 === true;
}

/** A run stopped by its signal, between two layers. Nothing of it is kept. */
export class RunCancelledError extends Error {
  override name = "RunCancelledError";
}

/** A signal for `LayeredDecoderCall.signal` read from a condition: aborted once `stopped()` is true. */
export function signalWhen(stopped: () => boolean): { readonly aborted: boolean } {
  return {
    get aborted() {
      return stopped();
    },
  };
}

export interface LayeredDecoderCall extends OnnxDecoderComputeCall {
  /** Stops the run before the next layer once `aborted` (an AbortSignal, or any such object); the run then rejects with `RunCancelledError`. */
  signal?: { readonly aborted: boolean };
  /**
   * Called after every layer (and once more after the head) with the layers done so far. A promise
   * it returns is awaited before the next layer: a page can paint what the layer gave.
   */
  onLayer?: (done: number, layers: number) => unknown;
  /** Receives each layer's attention maps (B, nh, T, S) as they come, instead of `attentions`. */
  onAttention?: (layer: number, weights: Tensor) => void;
  /**
   * Receives each layer's present values (B, nkv, S, hs) as they come (a copy; the keys stay in the
   * runtime): what value-weighted attention reads (src/attention/value-weighted-attention.ts).
   */
  onValues?: (layer: number, values: Tensor) => void;
  /**
   * Return the hidden states that entered each layer (`layerInputs`, L x (B, T, C) floats), so that
   * one layer's maps can be computed again exactly later (`layerAttention`) without running the
   * layers before it.
   */
  keepLayerInputs?: boolean;
  /**
   * Score how well the model knows the text (one sequence): each token after the first gets its
   * next-token loss, and each place the model's `top` guesses (next-token-losses.ts). The head runs
   * on every position, one vocabulary slice at a time, whatever `logits` asks for.
   */
  nextToken?: { top?: number };
  /**
   * Return the last layer's output (`finalHidden`, (B, T, C) floats), so that the next-token losses
   * can be scored later with `scoreNextTokens`: the panel shows the maps first and scores the text after.
   */
  keepFinalHidden?: boolean;
}

export interface LayeredDecoderOptions {
  /** "primitive" (default) exposes the attention maps; "fused" uses ONNX Attention-23. */
  attention?: AttentionVariant;
  /** "inputs" (default) or "initializers": see `LayerGraphOptions.weights`. */
  weights?: "inputs" | "initializers";
  /** Vocabulary rows of the head matrix fed per run, with weights as inputs (default HEAD_SLICE_ROWS). */
  headSliceRows?: number;
}

export class LayeredDecoder {
  private rotaryCosine: Float32Array = new Float32Array(0);
  private rotarySine: Float32Array = new Float32Array(0);
  private rotaryPositions = 0;
  private readonly rotary: RotaryEmbedding | undefined;

  private constructor(
    readonly config: DecoderConfig,
    /** The weights it runs (the checkpoint's tensors, shared, never copied). */
    readonly weights: DecoderWeights,
    /** Per layer, the runtime of its graph: one per distinct window (weights as inputs) or one per layer. */
    private readonly ofLayer: readonly ModelRuntime[],
    private readonly head: OutputHead,
    /**
     * Per layer, its weights as runtime inputs: views of the weights' own arrays, kept; or, where
     * float16 weights go in as float32 (WebGPU without shader-f16), undefined: decoded per run.
     */
    private readonly layerFeeds: (Record<string, ort.Tensor> | undefined)[],
    /** Whether float16 weights go in as float16 (Cast in the graph), or are decoded first. */
    private readonly halfWeightInputs: boolean,
    readonly hasAttentionOutputs: boolean,
  ) {
    this.rotary = config.positionEncoding === "rope" ? new RotaryEmbedding(config.headDim, config.ropeTheta, config.ropeScaling) : undefined;
  }

  /** Builds the layer graphs and the head graph, and loads them on the backend the settings choose. */
  static async create(
    config: DecoderConfig,
    weights: DecoderWeights,
    runtimeSettings: RuntimeSettings,
    options: LayeredDecoderOptions = {},
  ): Promise<LayeredDecoder> {
    checkWeightsFitConfig(config, weights);
    const variant = options.attention ?? "primitive";
    // One probe for every runtime, so that all of them take the same backend.
    const settings: RuntimeSettings = {
      ...runtimeSettings,
      webGpuProbe: runtimeSettings.choice === "wasm" ? runtimeSettings.webGpuProbe : (runtimeSettings.webGpuProbe ?? (await probeWebGpu())),
    };
    const created: ModelRuntime[] = [];
    try {
      const resident = options.weights === "initializers";
      const halfWeightInputs = halfWeightInputsFor(settings);
      if (!halfWeightInputs) settings.log?.("the WebGPU adapter lacks shader-f16: float16 weights are decoded to float32 one layer at a time, at every run");
      // With weights as inputs, layers with the same window share one graph; held weights need one each.
      const byKey = new Map<string, ModelRuntime>();
      const ofLayer: ModelRuntime[] = [];
      for (const [layer, window] of config.slidingWindows.entries()) {
        const key = resident ? `layer ${layer}` : `window ${window ?? "full"}`;
        let runtime = byKey.get(key);
        if (!runtime) {
          const graph = buildLayerGraph(config, window, weights.layers[layer], { attention: variant, weights: resident ? "initializers" : "inputs", halfWeightInputs });
          // Present keys and values stay on the GPU under WebGPU: a cache kept in the runtime (keepPresent) never leaves it.
          runtime = await ModelRuntime.create(graph.bytes, settings, { gpuOutputs: [GraphNames.presentKey(0), GraphNames.presentValue(0)] });
          created.push(runtime);
          byKey.set(key, runtime);
        }
        ofLayer.push(runtime);
      }
      const layerFeeds = weights.layers.map((layerWeights) => {
        if (resident) return {};
        const inputs = layerWeightInputs(config, layerWeights, { halfWeightInputs });
        return feedsDecode(inputs) ? undefined : feedsOf(inputs);
      });
      const headGraph = buildOutputHeadGraph(config, weights, { weights: options.weights, halfWeightInputs });
      const headRuntime = await ModelRuntime.create(headGraph.bytes, settings);
      created.push(headRuntime);
      const head = new OutputHead(headRuntime, headFeedsOf(headGraph.weights, config, options.headSliceRows ?? HEAD_SLICE_ROWS), config.vocabSize);
      return new LayeredDecoder(config, weights, ofLayer, head, layerFeeds, halfWeightInputs, variant === "primitive");
    } catch (error) {
      await Promise.all(created.map((runtime) => runtime.dispose()));
      throw error;
    }
  }

  /** Layer `layer`'s weights as runtime inputs: the kept views, or decoded now for this run. */
  private weightFeeds(layer: number): Record<string, ort.Tensor> {
    return this.layerFeeds[layer] ?? feedsOf(layerWeightInputs(this.config, this.weights.layers[layer], { halfWeightInputs: this.halfWeightInputs }));
  }

  /** Every runtime of the decoder, each once. */
  private get runtimes(): ModelRuntime[] {
    return [...new Set([...this.ofLayer, this.head.runtime])];
  }

  /** Which backend runs the layers ("wasm" when any of them fell back to it). */
  get backend(): Backend {
    return this.runtimes.every((runtime) => runtime.backend === "webgpu") ? "webgpu" : "wasm";
  }

  /** Why the layers do not run on the backend wanted first; undefined when they do. */
  get fallbackReason(): string | undefined {
    return this.runtimes.map((runtime) => runtime.fallbackReason).find((reason) => reason !== undefined);
  }

  /**
   * Runs T new tokens after `call.past` when given (a cache the caller keeps: the presents of an
   * earlier call, as library Tensors with `fetchPresent`, or kept in the runtime with `keepPresent`),
   * else from an empty cache (a prefill or a full recompute). The decoder keeps no state between calls.
   */
  async compute(inputIds: readonly (readonly number[])[], call: LayeredDecoderCall = {}): Promise<OnnxDecoderStep> {
    const layers = this.config.numHiddenLayers;
    const given = pastKeyMask(call.past)[0]?.length ? call.past : undefined;
    const givenLayers = given instanceof RuntimeKeyValues ? given.layerCount : given?.keyValues.length;
    if (given && givenLayers !== layers) {
      throw new RangeError(`LayeredDecoder.compute: the past holds ${givenLayers} layers but the model has ${layers}`);
    }
    // A past of library Tensors is copied in (and freed after); one kept in the runtime is fed as it is.
    const copied = given && !(given instanceof RuntimeKeyValues) ? given.keyValues.map(({ key, value }) => ({ key: fromTensor(key), value: fromTensor(value) })) : [];
    const past = given ? { keyValues: given instanceof RuntimeKeyValues ? Array.from({ length: layers }, (_, layer) => given.layer(layer)) : copied, keyMask: given.keyMask } : undefined;
    try {
      const { step, presents } = await this.run(inputIds, past, call);
      if (call.keepPresent) return { ...step, present: new RuntimeKeyValues(presents, step.keyMask) };
      for (const { key, value } of presents) {
        key.dispose();
        value.dispose();
      }
      return step;
    } finally {
      for (const { key, value } of copied) {
        key.dispose();
        value.dispose();
      }
    }
  }

  async dispose(): Promise<void> {
    await Promise.all(this.runtimes.map((runtime) => runtime.dispose()));
  }

  /** The run itself: embeddings, every layer, the head. Returns the presents (B, nkv, S, hs) per layer. */
  private async run(
    inputIds: readonly (readonly number[])[],
    past: { keyValues: readonly { key: ort.Tensor; value: ort.Tensor }[]; keyMask: readonly (readonly number[])[] } | undefined,
    call: LayeredDecoderCall,
  ): Promise<{ step: OnnxDecoderStep; presents: { key: ort.Tensor; value: ort.Tensor }[] }> {
    const { config } = this;
    const layers = config.numHiddenLayers;
    const prepared = prepareGraphStep(config, {
      inputIds,
      attentionMask: call.attentionMask,
      pastTokenMask: past?.keyMask.map((row) => [...row]),
      pastShapes: past?.keyValues.flatMap(({ key, value }) => [key.dims, value.dims]),
    });
    const batchSize = inputIds.length;
    const length = inputIds[0].length;
    const fetchAttentions = this.hasAttentionOutputs && (call.fetchAttentions ?? true);
    const cancelled = (): RunCancelledError => new RunCancelledError(`the run was cancelled before layer ${completed + 1} of ${layers}`);

    const attentionMask = new ort.Tensor("int64", prepared.feeds[GraphNames.attentionMask].data as BigInt64Array, prepared.feeds[GraphNames.attentionMask].dims);
    const rotary = this.rotaryFeeds(prepared.positions);
    const emptyPast = new ort.Tensor("float32", new Float32Array(0), [batchSize, config.numKeyValueHeads, 0, config.headDim]);
    let hidden: ort.Tensor = new ort.Tensor("float32", this.embed(inputIds, prepared.positions), [batchSize, length, config.hiddenSize]);

    const presents: { key: ort.Tensor; value: ort.Tensor }[] = [];
    const layerInputs: Float32Array[] = [];
    const attentions: Tensor[] = [];
    const presentKeyValues: KeyValue[] = [];
    let completed = 0;
    const started = performance.now();
    try {
      for (let layer = 0; layer < layers; layer++) {
        if (call.signal?.aborted) throw cancelled();
        if (call.keepLayerInputs) layerInputs.push((await hidden.getData()) as Float32Array); // a fresh array of its own, never written again
        const outputs = await this.ofLayer[layer].run({
          [LayerGraphNames.hiddenStates]: hidden,
          [GraphNames.attentionMask]: attentionMask,
          ...rotary,
          [GraphNames.pastKey(0)]: past?.keyValues[layer].key ?? emptyPast,
          [GraphNames.pastValue(0)]: past?.keyValues[layer].value ?? emptyPast,
          ...this.weightFeeds(layer),
        });
        hidden = outputs[LayerGraphNames.hiddenStatesOut];
        const key = outputs[GraphNames.presentKey(0)];
        const value = outputs[GraphNames.presentValue(0)];
        presents.push({ key, value });
        if (call.fetchPresent) presentKeyValues.push({ key: await toTensor(key, "copy"), value: await toTensor(value, "copy") });
        if (call.onValues) call.onValues(layer, await toTensor(value, "copy"));
        const weights = outputs[GraphNames.attentions(0)];
        if (weights && fetchAttentions) {
          const map = await toTensor(weights);
          if (call.onAttention) call.onAttention(layer, map);
          else attentions.push(map);
        } else weights?.dispose();
        completed = layer + 1;
        await call.onLayer?.(completed, layers);
      }
      if (call.signal?.aborted) throw cancelled();
      const logits = await this.head.logits(hidden, call.logits ?? "all");
      const nextToken = call.nextToken ? await this.head.nextTokenLosses(hidden, inputIds, call.nextToken.top ?? 5) : undefined;
      const finalHidden = call.keepFinalHidden ? await toTensor(hidden, "copy") : undefined;
      await call.onLayer?.(layers, layers);
      const milliseconds = performance.now() - started;
      return {
        step: {
          logits,
          attentions,
          presentKeyValues,
          positions: prepared.positions,
          keyMask: prepared.keyMask,
          milliseconds,
          ...(call.keepLayerInputs ? { layerInputs } : {}),
          ...(nextToken ? { nextToken } : {}),
          ...(finalHidden ? { finalHidden } : {}),
        },
        presents,
      };
    } catch (error) {
      for (const { key, value } of presents) {
        key.dispose();
        value.dispose();
      }
      throw error;
    }
  }

  /**
   * Every token's next-token loss and the model's top guesses, from the `finalHidden` (1, T, C) a
   * `keepFinalHidden` run returned for `inputIds`: what `compute`'s `nextToken` gives, as a step of its own.
   */
  async scoreNextTokens(finalHidden: Tensor, inputIds: readonly (readonly number[])[], top = 5): Promise<NextTokenReport> {
    return this.head.nextTokenLosses(fromTensor(finalHidden), inputIds, top);
  }

  /**
   * The attention maps (B, nh, T, T) of layer `layer` of a prefill, computed again from the hidden
   * states that entered it (`layerInputs[layer]` of a `keepLayerInputs` run, (B, T, C)), with that
   * run's `keyMask` and `positions`: the same numbers the run gave, for one layer's cost.
   */
  async layerAttention(layer: number, input: Float32Array, keyMask: readonly (readonly number[])[], positions: readonly (readonly number[])[]): Promise<Tensor> {
    const { config } = this;
    if (!(Number.isInteger(layer) && layer >= 0 && layer < config.numHiddenLayers)) {
      throw new RangeError(`layer ${layer} does not exist; the model has layers 0..${config.numHiddenLayers - 1}`);
    }
    if (!this.hasAttentionOutputs) throw new Error("the fused attention graph returns no attention maps; create the decoder with the primitive variant");
    const batchSize = keyMask.length;
    const length = keyMask[0]?.length ?? 0;
    if (input.length !== batchSize * length * config.hiddenSize) {
      throw new RangeError(`the layer input holds ${input.length} numbers, not B x T x C = ${batchSize} x ${length} x ${config.hiddenSize}`);
    }
    const empty = new ort.Tensor("float32", new Float32Array(0), [batchSize, config.numKeyValueHeads, 0, config.headDim]);
    const outputs = await this.ofLayer[layer].run({
      [LayerGraphNames.hiddenStates]: new ort.Tensor("float32", input, [batchSize, length, config.hiddenSize]),
      [GraphNames.attentionMask]: new ort.Tensor("int64", BigInt64Array.from(keyMask.flat(), (value) => BigInt(value)), [batchSize, length]),
      ...this.rotaryFeeds(positions),
      [GraphNames.pastKey(0)]: empty,
      [GraphNames.pastValue(0)]: empty,
      ...this.weightFeeds(layer),
    });
    for (const [name, tensor] of Object.entries(outputs)) if (name !== GraphNames.attentions(0)) tensor.dispose();
    return toTensor(outputs[GraphNames.attentions(0)]);
  }

  /**
   * The input of layer 0: each token's row of the embedding matrix, plus its position's row of
   * GPT-2's learned position embeddings. (B, T) ids -> (B, T, C).
   */
  private embed(inputIds: readonly (readonly number[])[], positions: readonly (readonly number[])[]): Float32Array {
    const width = this.config.hiddenSize;
    const table = this.weights.embedTokens; // (V, C)
    const positionTable = this.config.positionEncoding === "learned" ? this.weights.positionEmbeddings : undefined; // (maxPositions, C)
    if (this.config.positionEncoding === "learned" && !positionTable) {
      throw new Error("the config asks for learned positions but the weights have no position embeddings (GPT-2's wpe); load the weights with the config they belong to");
    }
    const length = inputIds[0].length;
    const hidden = new Float32Array(inputIds.length * length * width);
    const positionRow = new Float32Array(width);
    inputIds.forEach((row, batch) =>
      row.forEach((id, token) => {
        const offset = (batch * length + token) * width;
        copyRowsAsFloat32(table, id, id + 1, hidden, offset);
        if (positionTable) {
          const position = positions[batch][token];
          copyRowsAsFloat32(positionTable, position, position + 1, positionRow, 0);
          for (let feature = 0; feature < width; feature++) hidden[offset + feature] += positionRow[feature];
        }
      }),
    );
    return hidden;
  }

  /** RoPE's cos and sin at the new tokens' positions, (B, 1, T, hs) each; {} for learned positions. */
  private rotaryFeeds(positions: readonly (readonly number[])[]): Record<string, ort.Tensor> {
    if (!this.rotary) return {};
    const headDim = this.config.headDim;
    const needed = Math.max(0, ...positions.flat()) + 1;
    if (needed > this.rotaryPositions) {
      // Tables for the positions used so far, grown by doubling up to the context: never the whole
      // context at once (131k positions x hs 128 would be 128 MiB).
      const count = Math.min(this.config.maxPositionEmbeddings, Math.max(256, 2 ** Math.ceil(Math.log2(needed))));
      const tables = this.rotary.tables(Math.max(count, needed));
      this.rotaryCosine = tables.cosine.data;
      this.rotarySine = tables.sine.data;
      this.rotaryPositions = tables.cosine.shape[0];
    }
    const length = positions[0].length;
    const cosine = new Float32Array(positions.length * length * headDim);
    const sine = new Float32Array(cosine.length);
    positions.forEach((row, batch) =>
      row.forEach((position, token) => {
        const offset = (batch * length + token) * headDim;
        cosine.set(this.rotaryCosine.subarray(position * headDim, (position + 1) * headDim), offset);
        sine.set(this.rotarySine.subarray(position * headDim, (position + 1) * headDim), offset);
      }),
    );
    const dims = [positions.length, 1, length, headDim];
    return { [LayerGraphNames.ropeCosine]: new ort.Tensor("float32", cosine, dims), [LayerGraphNames.ropeSine]: new ort.Tensor("float32", sine, dims) };
  }
}
