/**
 * The self-attention block of one decoder layer in the ONNX graph, for every family:
 *
 *   q, k, v = x W_q^T (+ b_q), x W_k^T (+ b_k), x W_v^T (+ b_v)   biases: Llama attention_bias, Qwen2, GPT-2
 *   split heads                                                  (B, T, h * hs) -> (B, h, T, hs)
 *   q, k = rmsNorm(q), rmsNorm(k) over hs                        Qwen3's q_norm / k_norm, before RoPE
 *   q, k = rope(q), rope(k)                                      RoPE families; GPT-2 has learned positions
 *   present = [past; new] keys and values                        the KV cache, a plain graph output
 *   weights = softmax(q k^T / sqrt(hs) + mask)                   mask: causal, padding, sliding window
 *   context = weights v, heads merged, then x W_o^T (+ b_o)
 *
 * Two variants of the attention itself:
 *   "primitive"  MatMul, Mul, Add mask, Softmax, Concat for the cache, Expand for the GQA heads:
 *                correct on node CPU, wasm and WebGPU, and exposes the softmax weights.
 *   "fused"      the standard ONNX `Attention` operator (opset 23), which takes the same mask (so
 *                sliding windows too), repeats the K/V heads itself and appends to the past.
 *
 * Shape legend: B batch, T new tokens, P past slots, S = P + T, C model width, nh query heads,
 * nkv key/value heads, g = nh / nkv, hs head size.
 */

import type { DecoderConfig } from "../config";
import type { DecoderAttentionWeights } from "../weights";
import type { GraphBuilder } from "./graph-builder";
import { buildLinear } from "./graph-linear";
import type { AttentionMask } from "./graph-masks";
import { GraphNames } from "./graph-names";
import { buildRmsNorm } from "./graph-norms";
import { buildRotary, type RotaryTables } from "./graph-positions";

export type AttentionVariant = "primitive" | "fused";

/** What one layer's attention needs besides its weights. */
export interface AttentionContext {
  config: DecoderConfig;
  layer: number;
  /** This layer's mask (by its sliding window). */
  mask: AttentionMask;
  /** RoPE's cos and sin; undefined for learned positions. */
  rotary: RotaryTables | undefined;
  variant: AttentionVariant;
  /** Name the softmax weights `attentions.N` (primitive variant only). */
  outputAttentions: boolean;
}

/** (B, T, C) normalised hidden states -> (B, T, C) attention output, before the residual add. */
export function buildSelfAttention(graph: GraphBuilder, x: string, weights: DecoderAttentionWeights, context: AttentionContext): string {
  const { config, layer } = context;
  const { numAttentionHeads: nh, numKeyValueHeads: nkv, headDim: hs } = config;
  const name = `model.layers.${layer}.self_attn`;

  let query = buildSplitHeads(graph, buildLinear(graph, x, weights.query, weights.queryBias, `${name}.q_proj`), nh, hs, `${name}/query`); // (B, nh, T, hs)
  let key = buildSplitHeads(graph, buildLinear(graph, x, weights.key, weights.keyBias, `${name}.k_proj`), nkv, hs, `${name}/key`); // (B, nkv, T, hs)
  const value = buildSplitHeads(graph, buildLinear(graph, x, weights.value, weights.valueBias, `${name}.v_proj`), nkv, hs, `${name}/value`); // (B, nkv, T, hs)

  if (config.queryKeyNorm) {
    if (!weights.queryNorm || !weights.keyNorm) {
      throw new Error(`${name}: the config asks for q_norm and k_norm (Qwen3) but the weights lack them; load the weights with the config they belong to`);
    }
    query = buildRmsNorm(graph, query, weights.queryNorm, config.normEpsilon, `${name}.q_norm`); // (B, nh, T, hs)
    key = buildRmsNorm(graph, key, weights.keyNorm, config.normEpsilon, `${name}.k_norm`); // (B, nkv, T, hs)
  }
  if (context.rotary) {
    query = buildRotary(graph, query, context.rotary, hs, `${name}/query`); // (B, nh, T, hs)
    key = buildRotary(graph, key, context.rotary, hs, `${name}/key`); // (B, nkv, T, hs)
  }

  const attended =
    context.variant === "primitive"
      ? buildPrimitiveAttention(graph, query, key, value, context, name)
      : buildFusedAttention(graph, query, key, value, context, name); // (B, nh, T, hs)

  const merged = graph.op(
    "Reshape",
    [graph.op("Transpose", [attended], { name: `${name}/tokens_first`, attributes: { perm: [0, 2, 1, 3] } }), graph.int64s([0, 0, nh * hs])],
    { name: `${name}/merge_heads` },
  ); // (B, nh, T, hs) -> (B, T, nh, hs) -> (B, T, nh * hs)
  return buildLinear(graph, merged, weights.output, weights.outputBias, `${name}.o_proj`); // (B, T, nh * hs) -> (B, T, C)
}

/** (B, T, heads * hs) -> (B, heads, T, hs). */
function buildSplitHeads(graph: GraphBuilder, x: string, heads: number, headDim: number, name: string): string {
  const split = graph.op("Reshape", [x, graph.int64s([0, 0, heads, headDim])], { name: `${name}/split` }); // (B, T, heads, hs)
  return graph.op("Transpose", [split], { name: `${name}/heads_first`, attributes: { perm: [0, 2, 1, 3] } }); // (B, heads, T, hs)
}

/** Repeat each K/V head g times, next to itself: (B, nkv, S, hs) -> (B, nh, S, hs), [K0, K0, K1, K1]. */
function buildExpandKeyValueHeads(graph: GraphBuilder, x: string, config: DecoderConfig, name: string): string {
  const groupSize = config.numAttentionHeads / config.numKeyValueHeads;
  if (groupSize === 1) return x;
  const withGroupAxis = graph.op("Unsqueeze", [x, graph.int64s([2])], { name: `${name}/group_axis` }); // (B, nkv, 1, S, hs)
  const repeated = graph.op("Expand", [withGroupAxis, graph.int64s([1, 1, groupSize, 1, 1])], { name: `${name}/repeat` }); // (B, nkv, g, S, hs)
  return graph.op("Reshape", [repeated, graph.int64s([0, config.numAttentionHeads, -1, config.headDim])], {
    name: `${name}/merge_groups`,
  }); // (B, nh, S, hs)
}

/** softmax(q k^T / sqrt(hs) + mask) v with primitive operators; the weights may be a graph output. */
function buildPrimitiveAttention(graph: GraphBuilder, query: string, key: string, value: string, context: AttentionContext, name: string): string {
  const { config, layer, mask } = context;
  // The KV cache: past slots first, then the new ones. These are the next step's past.
  const presentKey = graph.op("Concat", [GraphNames.pastKey(layer), key], {
    name: `${name}/cache_key`,
    attributes: { axis: 2 },
    outputNames: [GraphNames.presentKey(layer)],
  }); // (B, nkv, P, hs) ++ (B, nkv, T, hs) -> (B, nkv, S, hs)
  const presentValue = graph.op("Concat", [GraphNames.pastValue(layer), value], {
    name: `${name}/cache_value`,
    attributes: { axis: 2 },
    outputNames: [GraphNames.presentValue(layer)],
  }); // (B, nkv, S, hs)
  const expandedKey = buildExpandKeyValueHeads(graph, presentKey, config, `${name}/key`); // (B, nh, S, hs)
  const expandedValue = buildExpandKeyValueHeads(graph, presentValue, config, `${name}/value`); // (B, nh, S, hs)

  const keyTransposed = graph.op("Transpose", [expandedKey], { name: `${name}/key_transposed`, attributes: { perm: [0, 1, 3, 2] } }); // (B, nh, hs, S)
  const rawScores = graph.op("MatMul", [query, keyTransposed], { name: `${name}/raw_scores` }); // (B, nh, T, hs) x (B, nh, hs, S) -> (B, nh, T, S)
  const scaledScores = graph.op("Mul", [rawScores, graph.floats([1 / Math.sqrt(config.headDim)])], { name: `${name}/scaled_scores` }); // (B, nh, T, S)
  const maskedScores = graph.op("Add", [scaledScores, mask.additive], { name: `${name}/masked_scores` }); // (B, nh, T, S) + (B, 1, T, S)
  const softmax = graph.op("Softmax", [maskedScores], { name: `${name}/softmax`, attributes: { axis: -1 } }); // (B, nh, T, S)
  // A row that sees no key is 0/0 = NaN after softmax; like the library, it attends to nothing.
  if (!mask.rowSeesNothing) throw new Error(`${name}: the primitive attention needs the mask's rowSeesNothing; build the masks for the primitive variant`);
  const attentionWeights = graph.op("Where", [mask.rowSeesNothing, graph.floats([0]), softmax], {
    name: `${name}/weights`,
    outputNames: context.outputAttentions ? [GraphNames.attentions(layer)] : undefined,
  }); // (B, 1, T, 1) ? 0 : (B, nh, T, S) -> (B, nh, T, S)
  return graph.op("MatMul", [attentionWeights, expandedValue], { name: `${name}/context` }); // (B, nh, T, S) x (B, nh, S, hs) -> (B, nh, T, hs)
}

/** ONNX Attention-23: takes K/V with nkv heads (it repeats them itself), the mask and the past. */
function buildFusedAttention(graph: GraphBuilder, query: string, key: string, value: string, context: AttentionContext, name: string): string {
  const { config, layer, mask } = context;
  const [output] = graph.opOutputs("Attention", [query, key, value, mask.additive, GraphNames.pastKey(layer), GraphNames.pastValue(layer)], {
    name: `${name}/attention`,
    attributes: { scale: { float: 1 / Math.sqrt(config.headDim) } },
    outputNames: [`${name}/attention:0`, GraphNames.presentKey(layer), GraphNames.presentValue(layer)],
  }); // (B, nh, T, hs), present (B, nkv, S, hs) x 2
  return output; // (B, nh, T, hs)
}
