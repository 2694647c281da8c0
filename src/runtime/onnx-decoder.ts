/**
 * The decoder graph (model/onnx/decoder-graph.ts) running on onnxruntime-web: one graph holding
 * every weight, for the small models (the benchmarks, the command line's onnxruntime-node backend
 * and the tests; the panel runs runtime/layered-decoder.ts).
 *
 * It is stateless, like `LayeredDecoder`: `compute(ids, { past })` runs after a cache the caller
 * keeps, either library `Tensor`s (the presents of an earlier call, `fetchPresent`) or the
 * runtime's own tensors (`keepPresent`: runtime-key-values.ts, no copies between steps), or from
 * nothing (a prefill, or a full recompute).
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
import { RuntimeKeyValues } from "./runtime-key-values";

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
  /** The presents kept in the runtime, the next call's past; only when asked (`keepPresent`). The caller disposes it. */
  present?: RuntimeKeyValues;
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
  /** Copy the present keys and values out as library Tensors (`presentKeyValues`). Default false. */
  fetchPresent?: boolean;
  /** Keep the present keys and values in the runtime (`present`), to pass as the next call's past. Default false. */
  keepPresent?: boolean;
}

/** A cache given from outside as library Tensors: what `compute` starts from. */
export interface OnnxDecoderPast {
  /** Per layer, keys and values (B, nkv, P, hs). */
  keyValues: readonly KeyValue[];
  /** Real (1) / pad (0) for each of the P cached slots, (B, P). */
  keyMask: TokenMask;
}

export interface OnnxDecoderComputeCall extends OnnxDecoderCall {
  /**
   * The past to start from: library Tensors (copied in), or a cache kept in the runtime (fed as it
   * is, and left to the caller). Without it the run starts from an empty cache (a full recompute).
   */
  past?: OnnxDecoderPast | RuntimeKeyValues;
}

/** The past's slots, (B, P) real/pad; empty for none. */
export function pastKeyMask(past: OnnxDecoderPast | RuntimeKeyValues | undefined): readonly (readonly number[])[] {
  return past?.keyMask ?? [];
}

export class OnnxDecoder {
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
    const layers = Array.from({ length: config.numHiddenLayers }, (_, layer) => layer);
    const gpuOutputs = layers.flatMap((layer) => [GraphNames.presentKey(layer), GraphNames.presentValue(layer)]); // on the GPU under WebGPU
    const runtime = await ModelRuntime.create(encodeDecoderGraph(config, weights, graphOptions), runtimeSettings, { gpuOutputs });
    return new OnnxDecoder(config, runtime, runtime.outputNames.includes(GraphNames.attentions(0)));
  }

  /** Which backend runs the graph. */
  get backend(): Backend {
    return this.runtime.backend;
  }

  /**
   * Runs T new tokens after `call.past` when given, else from an empty cache (a prefill or a full
   * recompute). The presents come back as library Tensors (`fetchPresent`), kept in the runtime
   * (`keepPresent`), or are freed. The decoder keeps nothing between calls.
   */
  async compute(inputIds: readonly (readonly number[])[], call: OnnxDecoderComputeCall = {}): Promise<OnnxDecoderStep> {
    const layers = this.config.numHiddenLayers;
    const past = pastKeyMask(call.past)[0]?.length ? call.past : undefined;
    const pastLayers = past instanceof RuntimeKeyValues ? past.layerCount : past?.keyValues.length;
    if (past && pastLayers !== layers) {
      throw new RangeError(`OnnxDecoder.compute: the past holds ${pastLayers} layers but the model has ${layers}`);
    }
    const prepared = prepareGraphStep(this.config, {
      inputIds,
      attentionMask: call.attentionMask,
      pastTokenMask: past?.keyMask,
      pastShapes: past instanceof RuntimeKeyValues ? past.shapes : past?.keyValues.flatMap(({ key, value }) => [key.shape, value.shape]),
    });
    const feeds: Record<string, ort.Tensor> = {};
    for (const [name, feed] of Object.entries(prepared.feeds)) feeds[name] = toOrtTensor(feed);
    const owned = Object.values(feeds); // freed after the run; a runtime past stays the caller's
    for (let layer = 0; past && layer < layers; layer++) {
      const { key, value } = past instanceof RuntimeKeyValues ? past.layer(layer) : { key: fromTensor(past.keyValues[layer].key), value: fromTensor(past.keyValues[layer].value) };
      feeds[GraphNames.pastKey(layer)] = key;
      feeds[GraphNames.pastValue(layer)] = value;
      if (!(past instanceof RuntimeKeyValues)) owned.push(key, value);
    }

    const started = performance.now();
    const outputs = await this.runtime.run(feeds);
    const milliseconds = performance.now() - started;

    const presentKeyValues: KeyValue[] = [];
    const presents: { key: ort.Tensor; value: ort.Tensor }[] = [];
    for (let layer = 0; layer < layers; layer++) {
      const key = outputs[GraphNames.presentKey(layer)];
      const value = outputs[GraphNames.presentValue(layer)];
      if (call.fetchPresent ?? false) presentKeyValues.push({ key: await toTensor(key), value: await toTensor(value) });
      presents.push({ key, value });
    }
    for (const tensor of owned) tensor.dispose();
    const step = await this.finishStep(outputs, call, presentKeyValues, prepared.positions, prepared.keyMask, milliseconds);
    if (call.keepPresent) return { ...step, present: new RuntimeKeyValues(presents, prepared.keyMask) };
    for (const { key, value } of presents) {
      key.dispose();
      value.dispose();
    }
    return step;
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

  async dispose(): Promise<void> {
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
