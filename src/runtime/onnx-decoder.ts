/**
 * The decoder graph (model/onnx/decoder-graph.ts) running on onnxruntime-web, with its KV cache.
 *
 * It mirrors `DecoderModel.forward` with a `KeyValueCache`: the first call is the prefill, every later
 * call appends its tokens to the cache, `reset` starts over. The past keys and values stay in
 * onnxruntime tensors between calls (on the GPU under WebGPU), held in `TensorSlots` so a replaced
 * past is disposed; the real/pad mask of the cached slots is kept beside them.
 *
 * Outputs come back as the attention library's `Tensor`s, so they compare directly with the
 * TypeScript reference and feed the visualiser.
 *
 * Shape legend: B batch, T new tokens, S = past + T slots, V vocabulary, nh query heads,
 * nkv key/value heads, hs head size.
 */

import type { NextTokenReport } from "./next-token-losses";
import * as ort from "onnxruntime-web";
import type { KeyValue } from "../attention/kv-cache";
import type { TokenMask } from "../attention/left-padding";
import { Tensor } from "../attention/tensor";
import type { DecoderConfig } from "../model/config";
import { prepareGraphStep, type FeedTensor } from "../model/onnx/graph-inputs";
import { encodeDecoderGraph, GraphNames, type DecoderGraphOptions } from "../model/onnx/decoder-graph";
import type { DecoderWeights } from "../model/weights";
import { type Backend, ModelRuntime, type RuntimeSettings } from "./model-runtime";
import { TensorSlots } from "./tensor-slots";

export interface OnnxDecoderStep {
  /** (B, T, V). */
  logits: Tensor;
  /** Per layer, softmax weights (B, nh, T, S); empty for the fused variant or when not fetched. */
  attentions: Tensor[];
  /** Per layer, keys and values of all S slots (B, nkv, S, hs), when asked for. */
  presentKeyValues: KeyValue[];
  /** RoPE positions of the new tokens, (B, T). */
  positions: number[][];
  /** Real (1) / pad (0) for every key slot, (B, S). */
  keyMask: number[][];
  /** Wall-clock time of the runtime call, in milliseconds. */
  milliseconds: number;
  /** Per layer, the hidden states (B, T, C) that entered it; only when asked (`LayeredDecoder`'s keepLayerInputs). */
  layerInputs?: Float32Array[];
  /** Each token's next-token loss and the model's guesses there; only when asked (`LayeredDecoder`'s nextToken). */
  nextToken?: NextTokenReport;
  /** The last layer's output (B, T, C), before the final norm; only when asked (`LayeredDecoder`'s keepFinalHidden). */
  finalHidden?: Tensor;
}

/** Which rows get logits: every new token's, only each sequence's last, or none (maps only). */
export type LogitRows = "all" | "last" | "none";

export interface OnnxDecoderCall {
  /** Default "all": logits (B, T, V). "last": (B, 1, V). "none": (B, 0, V). */
  logits?: LogitRows;
  /** (B, T): 1 real, 0 left padding; default all real. */
  attentionMask?: TokenMask;
  /** Copy the attention maps out of the runtime (default true for the primitive graph). */
  fetchAttentions?: boolean;
  /** Copy the present keys and values out as well (default false: they stay in the runtime). */
  fetchPresent?: boolean;
}

/** A cache given from outside: what `compute` starts from and `restore` puts back. */
export interface OnnxDecoderPast {
  /** Per layer, keys and values (B, nkv, P, hs). */
  keyValues: readonly KeyValue[];
  /** Real (1) / pad (0) for each of the P cached slots, (B, P). */
  keyMask: TokenMask;
}

export interface OnnxDecoderComputeCall extends OnnxDecoderCall {
  /** The past to start from; without it the run starts from an empty cache (a full recompute). */
  past?: OnnxDecoderPast;
}

export class OnnxDecoder {
  private readonly past = new TensorSlots();
  private pastTokenMask: number[][] = [];

  private constructor(
    readonly config: DecoderConfig,
    readonly runtime: ModelRuntime,
    readonly hasAttentionOutputs: boolean,
  ) {}

  /** Builds the graph for these weights and loads it on the backend the settings choose. */
  static async create(
    config: DecoderConfig,
    weights: DecoderWeights,
    runtimeSettings: RuntimeSettings,
    graphOptions: DecoderGraphOptions = {},
  ): Promise<OnnxDecoder> {
    const runtime = await ModelRuntime.create(encodeDecoderGraph(config, weights, graphOptions), runtimeSettings);
    return new OnnxDecoder(config, runtime, runtime.outputNames.includes(GraphNames.attentions(0)));
  }

  /** Which backend runs the graph. */
  get backend(): Backend {
    return this.runtime.backend;
  }

  /** Slots in the cache. */
  get length(): number {
    return this.pastTokenMask[0]?.length ?? 0;
  }

  /** Runs T new tokens after whatever is cached, and caches them. */
  async forward(inputIds: readonly (readonly number[])[], call: OnnxDecoderCall = {}): Promise<OnnxDecoderStep> {
    const layers = this.config.numHiddenLayers;
    const pastShapes =
      this.length > 0
        ? Array.from({ length: 2 * layers }, (_, index) =>
            this.past.require(index % 2 === 0 ? GraphNames.pastKey(index >> 1) : GraphNames.pastValue(index >> 1)).dims,
          )
        : undefined;
    const prepared = prepareGraphStep(this.config, {
      inputIds,
      attentionMask: call.attentionMask,
      pastTokenMask: this.length > 0 ? this.pastTokenMask : undefined,
      pastShapes,
    });
    const feeds: Record<string, ort.Tensor> = {};
    for (const [name, feed] of Object.entries(prepared.feeds)) feeds[name] = toOrtTensor(feed);
    for (const name of this.past.names) feeds[name] = this.past.require(name);

    const started = performance.now();
    const outputs = await this.runtime.run(feeds);
    const milliseconds = performance.now() - started;

    // The presents become the next step's pasts; the pasts they replace are disposed.
    const fetchPresent = call.fetchPresent ?? false;
    const presentKeyValues: KeyValue[] = [];
    for (let layer = 0; layer < layers; layer++) {
      const key = outputs[GraphNames.presentKey(layer)];
      const value = outputs[GraphNames.presentValue(layer)];
      if (fetchPresent) presentKeyValues.push({ key: await toTensor(key), value: await toTensor(value) });
      this.past.replace(GraphNames.pastKey(layer), key);
      this.past.replace(GraphNames.pastValue(layer), value);
    }
    for (const feed of Object.keys(prepared.feeds)) feeds[feed].dispose();
    this.pastTokenMask = prepared.keyMask;

    return this.finishStep(outputs, call, presentKeyValues, prepared.positions, prepared.keyMask, milliseconds);
  }

  /**
   * Runs T new tokens WITHOUT touching this decoder's own cache: after `call.past` when given (a
   * cached step whose cache the caller keeps, as a library Tensor on the CPU), else from an empty
   * cache (a full recompute). The presents are returned when `fetchPresent` is set, then freed.
   */
  async compute(inputIds: readonly (readonly number[])[], call: OnnxDecoderComputeCall = {}): Promise<OnnxDecoderStep> {
    const layers = this.config.numHiddenLayers;
    const past = call.past && (call.past.keyMask[0]?.length ?? 0) > 0 ? call.past : undefined;
    if (past && past.keyValues.length !== layers) {
      throw new RangeError(`OnnxDecoder.compute: the past holds ${past.keyValues.length} layers but the model has ${layers}`);
    }
    const prepared = prepareGraphStep(this.config, {
      inputIds,
      attentionMask: call.attentionMask,
      pastTokenMask: past?.keyMask,
      pastShapes: past?.keyValues.flatMap(({ key, value }) => [key.shape, value.shape]),
    });
    const feeds: Record<string, ort.Tensor> = {};
    for (const [name, feed] of Object.entries(prepared.feeds)) feeds[name] = toOrtTensor(feed);
    past?.keyValues.forEach(({ key, value }, layer) => {
      feeds[GraphNames.pastKey(layer)] = fromTensor(key);
      feeds[GraphNames.pastValue(layer)] = fromTensor(value);
    });

    const started = performance.now();
    const outputs = await this.runtime.run(feeds);
    const milliseconds = performance.now() - started;

    const presentKeyValues: KeyValue[] = [];
    for (let layer = 0; layer < layers; layer++) {
      const key = outputs[GraphNames.presentKey(layer)];
      const value = outputs[GraphNames.presentValue(layer)];
      if (call.fetchPresent ?? false) presentKeyValues.push({ key: await toTensor(key), value: await toTensor(value) });
      key.dispose();
      value.dispose();
    }
    for (const tensor of Object.values(feeds)) tensor.dispose();
    return this.finishStep(outputs, call, presentKeyValues, prepared.positions, prepared.keyMask, milliseconds);
  }

  /**
   * Replaces this decoder's cache with `past` (copied into runtime tensors), so that the next
   * `forward` continues from it: stepping back in a decoding is `restore` of an earlier cache.
   */
  restore(past: OnnxDecoderPast): void {
    const layers = this.config.numHiddenLayers;
    const length = past.keyMask[0]?.length ?? 0;
    if (length === 0) {
      this.reset();
      return;
    }
    if (past.keyValues.length !== layers) {
      throw new RangeError(`OnnxDecoder.restore: the past holds ${past.keyValues.length} layers but the model has ${layers}`);
    }
    // Checks every shape against the model and the mask (a one-token step that is never run).
    prepareGraphStep(this.config, {
      inputIds: past.keyMask.map(() => [0]),
      pastTokenMask: past.keyMask,
      pastShapes: past.keyValues.flatMap(({ key, value }) => [key.shape, value.shape]),
    });
    past.keyValues.forEach(({ key, value }, layer) => {
      this.past.replace(GraphNames.pastKey(layer), fromTensor(key));
      this.past.replace(GraphNames.pastValue(layer), fromTensor(value));
    });
    this.pastTokenMask = past.keyMask.map((row) => [...row]);
  }

  /** Copies the attention maps and logits out of `outputs` and frees every output but the presents. */
  private async finishStep(
    outputs: Record<string, ort.Tensor>,
    call: OnnxDecoderCall,
    presentKeyValues: KeyValue[],
    positions: number[][],
    keyMask: number[][],
    milliseconds: number,
  ): Promise<OnnxDecoderStep> {
    const layers = this.config.numHiddenLayers;
    const attentions: Tensor[] = [];
    if (this.hasAttentionOutputs && (call.fetchAttentions ?? true)) {
      for (let layer = 0; layer < layers; layer++) attentions.push(await toTensor(outputs[GraphNames.attentions(layer)]));
    }
    const logits = logitRows(await toTensor(outputs[GraphNames.logits]), call.logits ?? "all");
    for (const [name, tensor] of Object.entries(outputs)) if (!name.startsWith("present.")) tensor.dispose();
    return { logits, attentions, presentKeyValues, positions, keyMask, milliseconds };
  }

  /** Empties the cache (and frees its tensors). */
  reset(): void {
    this.past.clear();
    this.pastTokenMask = [];
  }

  async dispose(): Promise<void> {
    this.reset();
    await this.runtime.dispose();
  }
}

/** (B, T, V) -> the rows asked for: all, (B, 1, V) or (B, 0, V). */
function logitRows(logits: Tensor, rows: LogitRows): Tensor {
  const [batchSize, length, vocabulary] = logits.shape;
  if (rows === "all") return logits;
  if (rows === "none") return new Tensor(new Float32Array(0), [batchSize, 0, vocabulary]);
  const last = new Float32Array(batchSize * vocabulary);
  for (let batch = 0; batch < batchSize; batch++) {
    last.set(logits.data.subarray((batch * length + length - 1) * vocabulary, (batch * length + length) * vocabulary), batch * vocabulary);
  }
  return new Tensor(last, [batchSize, 1, vocabulary]);
}

function toOrtTensor(feed: FeedTensor): ort.Tensor {
  return new ort.Tensor(feed.type, feed.data, feed.dims);
}

/** A library Tensor as an onnxruntime tensor over a COPY of its data (a run may not keep or move ours). */
function fromTensor(tensor: Tensor): ort.Tensor {
  return new ort.Tensor("float32", tensor.data.slice(), [...tensor.shape]);
}

/** Copies an onnxruntime tensor (on the CPU or the GPU) into a library Tensor. */
async function toTensor(tensor: ort.Tensor): Promise<Tensor> {
  const data = (await tensor.getData()) as Float32Array;
  return new Tensor(new Float32Array(data), tensor.dims);
}
