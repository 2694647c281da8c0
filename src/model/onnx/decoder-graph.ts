/**
 * Builds an ONNX model of the Llama-style decoder from a config and its weights, in TypeScript:
 * no Python, no export step. The graph computes what `DecoderModel.forward` computes, and makes every
 * attention map and every key/value tensor a plain graph output, because the visualiser shows them.
 *
 * Inputs (names as in Hugging Face ONNX exports):
 *   input_ids                 int64 (B, T)            the new tokens
 *   attention_mask            int64 (B, S)            1 real / 0 left padding, for past + new slots
 *   position_ids              int64 (B, T)            RoPE positions of the new tokens (pads skipped)
 *   past_key_values.N.key     float (B, nkv, P, hs)   cached keys of layer N; P = 0 for a prefill
 *   past_key_values.N.value   float (B, nkv, P, hs)
 * Outputs:
 *   logits                    float (B, T, V)
 *   attentions.N              float (B, nh, T, S)     softmax weights of layer N (primitive variant only)
 *   present.N.key             float (B, nkv, S, hs)   past + new keys: the next step's past
 *   present.N.value           float (B, nkv, S, hs)
 *
 * So one graph serves the prefill (P = 0) and one-token cached decoding (T = 1, P = tokens so far).
 *
 * Two attention variants:
 *   "primitive"  MatMul, Mul, Add mask, Softmax, Concat for the cache, Expand for the GQA heads:
 *                correct on node CPU, wasm and WebGPU, and exposes the attention maps.
 *   "fused"      the standard ONNX `Attention` operator (opset 23) where maps are not needed: the
 *                fast path to compare against.
 *
 * Shape legend: B batch, T new tokens, P past slots, S = P + T, C model width, V vocabulary,
 * nh query heads, nkv key/value heads, g = nh / nkv, hs head size, I MLP width.
 */

import { RotaryEmbedding } from "../../attention/rotary-embedding";
import { transposeLastTwo } from "../../attention/tensor-operations";
import type { Tensor } from "../../attention/tensor";
import type { DecoderConfig } from "../config";
import type { DecoderLayerWeights, DecoderWeights } from "../weights";
import { ElementType, GraphBuilder } from "./graph-builder";
import { DataType, encodeModel, type ModelSpec, type ValueInfoSpec } from "./onnx-proto";

export type AttentionVariant = "primitive" | "fused";

export interface DecoderGraphOptions {
  /** "primitive" (default) exposes attention maps; "fused" uses ONNX Attention-23 and does not. */
  attention?: AttentionVariant;
  /** Emit the `attentions.N` outputs (primitive variant only; default true). */
  outputAttentions?: boolean;
  /** Recorded in the model's metadata. */
  modelName?: string;
}

/** Names of the graph's inputs and outputs, by layer. */
export const GraphNames = {
  inputIds: "input_ids",
  attentionMask: "attention_mask",
  positionIds: "position_ids",
  logits: "logits",
  pastKey: (layer: number) => `past_key_values.${layer}.key`,
  pastValue: (layer: number) => `past_key_values.${layer}.value`,
  presentKey: (layer: number) => `present.${layer}.key`,
  presentValue: (layer: number) => `present.${layer}.value`,
  attentions: (layer: number) => `attentions.${layer}`,
} as const;

/** Values every layer shares: the additive mask, which rows see nothing, and RoPE's cos/sin. */
interface SharedValues {
  /** (B, 1, T, S): 0 where a query may look, -inf where not. */
  additiveMask: string;
  /** (B, 1, T, 1): true for a query row that can see no key at all (a left pad); primitive variant only. */
  rowSeesNothing: string | undefined;
  /** (B, 1, T, hs) each. */
  cosine: string;
  sine: string;
}

/** Builds the ONNX model (as a spec; `encodeDecoderGraph` gives the bytes). */
export function buildDecoderGraph(config: DecoderConfig, weights: DecoderWeights, options: DecoderGraphOptions = {}): ModelSpec {
  const variant = options.attention ?? "primitive";
  const outputAttentions = variant === "primitive" && (options.outputAttentions ?? true);
  const graph = new GraphBuilder();
  const shared = buildSharedValues(graph, config, variant);

  let hidden = graph.op("Gather", [graph.weight("model.embed_tokens.weight", weights.embedTokens), GraphNames.inputIds], {
    name: "embed_tokens",
    attributes: { axis: 0 },
  }); // (B, T) -> (B, T, C)

  weights.layers.forEach((layerWeights, layer) => {
    hidden = buildDecoderLayer(graph, config, layerWeights, layer, hidden, shared, variant, outputAttentions);
  });

  const normalized = buildRmsNorm(graph, hidden, weights.finalNorm, config.normEpsilon, "model.norm"); // (B, T, C)
  graph.op("MatMul", [normalized, graph.weight("lm_head.weight^T", transposeLastTwo(weights.lmHead))], {
    name: "lm_head",
    outputNames: [GraphNames.logits],
  }); // (B, T, C) x (C, V) -> (B, T, V)

  const { numAttentionHeads: nh, numKeyValueHeads: nkv, headDim: hs, vocabSize: V } = config;
  const inputs: ValueInfoSpec[] = [
    { name: GraphNames.inputIds, elementType: DataType.INT64, shape: ["batch", "sequence"] },
    { name: GraphNames.attentionMask, elementType: DataType.INT64, shape: ["batch", "total_sequence"] },
    { name: GraphNames.positionIds, elementType: DataType.INT64, shape: ["batch", "sequence"] },
  ];
  const outputs: ValueInfoSpec[] = [{ name: GraphNames.logits, elementType: DataType.FLOAT, shape: ["batch", "sequence", V] }];
  for (let layer = 0; layer < config.numHiddenLayers; layer++) {
    inputs.push(
      { name: GraphNames.pastKey(layer), elementType: DataType.FLOAT, shape: ["batch", nkv, "past_sequence", hs] },
      { name: GraphNames.pastValue(layer), elementType: DataType.FLOAT, shape: ["batch", nkv, "past_sequence", hs] },
    );
    if (outputAttentions) {
      outputs.push({ name: GraphNames.attentions(layer), elementType: DataType.FLOAT, shape: ["batch", nh, "sequence", "total_sequence"] });
    }
    outputs.push(
      { name: GraphNames.presentKey(layer), elementType: DataType.FLOAT, shape: ["batch", nkv, "total_sequence", hs] },
      { name: GraphNames.presentValue(layer), elementType: DataType.FLOAT, shape: ["batch", nkv, "total_sequence", hs] },
    );
  }

  return {
    irVersion: variant === "fused" ? 11 : 10,
    opsetImports: [{ domain: "", version: variant === "fused" ? 23 : 21 }],
    producerName: "attention-lens",
    producerVersion: "1",
    docString: `Llama-style decoder, ${config.numHiddenLayers} layers, nh=${nh}, nkv=${nkv}, hs=${hs}, ${variant} attention`,
    metadata: {
      attention_variant: variant,
      num_attention_heads: String(nh),
      num_key_value_heads: String(nkv),
      ...(options.modelName ? { model_name: options.modelName } : {}),
    },
    graph: { name: "llama_decoder", nodes: graph.nodes, initializers: graph.initializers, inputs, outputs },
  };
}

/** The model as ONNX bytes, ready for an inference session. */
export function encodeDecoderGraph(config: DecoderConfig, weights: DecoderWeights, options: DecoderGraphOptions = {}): Uint8Array {
  return encodeModel(buildDecoderGraph(config, weights, options));
}

/**
 * Built once per graph and shared by every layer:
 *   causal:   key slot j is hidden from query row i when j > (S - T) + i   (row i is slot S - T + i)
 *   padding:  key slot j is hidden when attention_mask[b, j] = 0
 *   RoPE:     cos and sin of position x theta^(-2i / hs), duplicated to hs features as [angles, angles]
 */
function buildSharedValues(graph: GraphBuilder, config: DecoderConfig, variant: AttentionVariant): SharedValues {
  const zero = graph.int64s([0], []);
  const one = graph.int64s([1], []);
  // T and S as scalars, read from the inputs' shapes.
  const newLength = graph.op("Gather", [graph.op("Shape", [GraphNames.inputIds], { name: "mask/shape_ids" }), one], {
    name: "mask/T",
    attributes: { axis: 0 },
  }); // ()
  const totalLength = graph.op("Gather", [graph.op("Shape", [GraphNames.attentionMask], { name: "mask/shape_mask" }), one], {
    name: "mask/S",
    attributes: { axis: 0 },
  }); // ()
  const pastLength = graph.op("Sub", [totalLength, newLength], { name: "mask/P" }); // ()
  const querySlots = graph.op("Add", [graph.op("Range", [zero, newLength, one], { name: "mask/query_index" }), pastLength], {
    name: "mask/query_slot",
  }); // (T): P, P + 1, ..., S - 1
  const keySlots = graph.op("Range", [zero, totalLength, one], { name: "mask/key_slot" }); // (S)
  const causalBlocked = graph.op(
    "Greater",
    [
      graph.op("Unsqueeze", [keySlots, graph.int64s([0])], { name: "mask/key_row" }), // (1, S)
      graph.op("Unsqueeze", [querySlots, graph.int64s([1])], { name: "mask/query_column" }), // (T, 1)
    ],
    { name: "mask/causal_blocked" },
  ); // (T, S): key after query
  const paddingBlocked = graph.op(
    "Unsqueeze",
    [graph.op("Equal", [GraphNames.attentionMask, graph.int64s([0], [])], { name: "mask/is_pad" }), graph.int64s([1, 2])],
    { name: "mask/padding_blocked" },
  ); // (B, S) -> (B, 1, 1, S)
  const blocked = graph.op("Or", [causalBlocked, paddingBlocked], { name: "mask/blocked" }); // (B, 1, T, S)
  const additiveMask = graph.op("Where", [blocked, graph.floats([-Infinity]), graph.floats([0])], { name: "mask/additive" }); // (B, 1, T, S)
  let rowSeesNothing: string | undefined;
  if (variant === "primitive") {
    const visible = graph.op("Cast", [graph.op("Not", [blocked], { name: "mask/visible" })], {
      name: "mask/visible_float",
      attributes: { to: ElementType.FLOAT },
    }); // (B, 1, T, S)
    const anyVisible = graph.op("ReduceMax", [visible, graph.int64s([-1])], { name: "mask/any_visible", attributes: { keepdims: 1 } }); // (B, 1, T, 1)
    rowSeesNothing = graph.op("Equal", [anyVisible, graph.floats([0])], { name: "mask/row_sees_nothing" }); // (B, 1, T, 1)
  }

  // RoPE: cos and sin tables for every position the model supports, computed here in float64 from
  // float32 angles (as the reference does) and looked up by position. Not computed in the graph:
  // WebGPU's sin/cos are only accurate to about 2^-11, which moved keys by ~1e-3.
  const rotary = new RotaryEmbedding(config.headDim, config.ropeTheta, config.ropeScaling);
  const tables = rotary.tables(config.maxPositionEmbeddings); // (positions, hs) each
  const headAxis = graph.int64s([1]);
  const cosine = graph.op(
    "Unsqueeze",
    [graph.op("Gather", [graph.weight("rope/cos_table", tables.cosine), GraphNames.positionIds], { name: "rope/cos_bt", attributes: { axis: 0 } }), headAxis],
    { name: "rope/cos" },
  ); // (B, T, hs) -> (B, 1, T, hs)
  const sine = graph.op(
    "Unsqueeze",
    [graph.op("Gather", [graph.weight("rope/sin_table", tables.sine), GraphNames.positionIds], { name: "rope/sin_bt", attributes: { axis: 0 } }), headAxis],
    { name: "rope/sin" },
  ); // (B, T, hs) -> (B, 1, T, hs)
  return { additiveMask, rowSeesNothing, cosine, sine };
}

/** RMSNorm: x / sqrt(mean(x^2) + eps) * weight, over the last axis. */
function buildRmsNorm(graph: GraphBuilder, x: string, weight: Tensor, epsilon: number, name: string): string {
  const meanSquare = graph.op("ReduceMean", [graph.op("Mul", [x, x], { name: `${name}/square` }), graph.int64s([-1])], {
    name: `${name}/mean_square`,
    attributes: { keepdims: 1 },
  }); // (B, T, 1)
  const inverseRms = graph.op(
    "Reciprocal",
    [graph.op("Sqrt", [graph.op("Add", [meanSquare, graph.floats([epsilon])], { name: `${name}/plus_eps` })], { name: `${name}/rms` })],
    { name: `${name}/inverse_rms` },
  ); // (B, T, 1)
  const scaled = graph.op("Mul", [x, inverseRms], { name: `${name}/normalized` }); // (B, T, C)
  return graph.op("Mul", [graph.weight(`${name}.weight`, weight), scaled], { name: `${name}/gain` }); // (B, T, C)
}

/** x W^T with W stored (out, in) as in PyTorch: the initializer holds W^T so MatMul applies directly. */
function buildLinear(graph: GraphBuilder, x: string, weight: Tensor, name: string): string {
  return graph.op("MatMul", [x, graph.weight(`${name}.weight^T`, transposeLastTwo(weight))], { name });
}

/** (B, T, heads * hs) -> (B, heads, T, hs). */
function buildSplitHeads(graph: GraphBuilder, x: string, heads: number, headDim: number, name: string): string {
  const split = graph.op("Reshape", [x, graph.int64s([0, 0, heads, headDim])], { name: `${name}/split` }); // (B, T, heads, hs)
  return graph.op("Transpose", [split], { name: `${name}/heads_first`, attributes: { perm: [0, 2, 1, 3] } }); // (B, heads, T, hs)
}

/** RoPE: x cos + rotate_half(x) sin, where rotate_half([a, b]) = [-b, a] over the two halves of hs. */
function buildRotary(graph: GraphBuilder, x: string, shared: SharedValues, headDim: number, name: string): string {
  const half = headDim / 2;
  const lastAxis = graph.int64s([3]);
  const first = graph.op("Slice", [x, graph.int64s([0]), graph.int64s([half]), lastAxis], { name: `${name}/first_half` }); // (B, h, T, hs/2)
  const second = graph.op("Slice", [x, graph.int64s([half]), graph.int64s([headDim]), lastAxis], { name: `${name}/second_half` }); // (B, h, T, hs/2)
  const rotated = graph.op("Concat", [graph.op("Neg", [second], { name: `${name}/neg_second` }), first], {
    name: `${name}/rotate_half`,
    attributes: { axis: -1 },
  }); // (B, h, T, hs)
  return graph.op(
    "Add",
    [
      graph.op("Mul", [x, shared.cosine], { name: `${name}/x_cos` }),
      graph.op("Mul", [rotated, shared.sine], { name: `${name}/rotated_sin` }),
    ],
    { name: `${name}/rotary` },
  ); // (B, h, T, hs)
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

function buildDecoderLayer(
  graph: GraphBuilder,
  config: DecoderConfig,
  weights: DecoderLayerWeights,
  layer: number,
  hidden: string,
  shared: SharedValues,
  variant: AttentionVariant,
  outputAttentions: boolean,
): string {
  const prefix = `model.layers.${layer}`;
  const { numAttentionHeads: nh, numKeyValueHeads: nkv, headDim: hs } = config;

  // Attention block: h = x + attention(rmsNorm(x)).
  const normalized = buildRmsNorm(graph, hidden, weights.inputNorm, config.normEpsilon, `${prefix}.input_layernorm`); // (B, T, C)
  const attention = `${prefix}.self_attn`;
  const query = buildRotary(graph, buildSplitHeads(graph, buildLinear(graph, normalized, weights.attention.query, `${attention}.q_proj`), nh, hs, `${attention}/query`), shared, hs, `${attention}/query`); // (B, nh, T, hs)
  const key = buildRotary(graph, buildSplitHeads(graph, buildLinear(graph, normalized, weights.attention.key, `${attention}.k_proj`), nkv, hs, `${attention}/key`), shared, hs, `${attention}/key`); // (B, nkv, T, hs)
  const value = buildSplitHeads(graph, buildLinear(graph, normalized, weights.attention.value, `${attention}.v_proj`), nkv, hs, `${attention}/value`); // (B, nkv, T, hs)

  let context: string; // (B, nh, T, hs)
  if (variant === "primitive") {
    // The KV cache: past slots first, then the new ones. These are the next step's past.
    const presentKey = graph.op("Concat", [GraphNames.pastKey(layer), key], {
      name: `${attention}/cache_key`,
      attributes: { axis: 2 },
      outputNames: [GraphNames.presentKey(layer)],
    }); // (B, nkv, S, hs)
    const presentValue = graph.op("Concat", [GraphNames.pastValue(layer), value], {
      name: `${attention}/cache_value`,
      attributes: { axis: 2 },
      outputNames: [GraphNames.presentValue(layer)],
    }); // (B, nkv, S, hs)
    const expandedKey = buildExpandKeyValueHeads(graph, presentKey, config, `${attention}/key`); // (B, nh, S, hs)
    const expandedValue = buildExpandKeyValueHeads(graph, presentValue, config, `${attention}/value`); // (B, nh, S, hs)

    const keyTransposed = graph.op("Transpose", [expandedKey], { name: `${attention}/key_transposed`, attributes: { perm: [0, 1, 3, 2] } }); // (B, nh, hs, S)
    const rawScores = graph.op("MatMul", [query, keyTransposed], { name: `${attention}/raw_scores` }); // (B, nh, T, S)
    const scaledScores = graph.op("Mul", [rawScores, graph.floats([1 / Math.sqrt(hs)])], { name: `${attention}/scaled_scores` }); // (B, nh, T, S)
    const maskedScores = graph.op("Add", [scaledScores, shared.additiveMask], { name: `${attention}/masked_scores` }); // (B, nh, T, S)
    const softmax = graph.op("Softmax", [maskedScores], { name: `${attention}/softmax`, attributes: { axis: -1 } }); // (B, nh, T, S)
    // A row that sees no key is 0/0 = NaN after softmax; like the library, it attends to nothing.
    const weightsName = outputAttentions ? [GraphNames.attentions(layer)] : undefined;
    const attentionWeights = graph.op("Where", [shared.rowSeesNothing!, graph.floats([0]), softmax], {
      name: `${attention}/weights`,
      outputNames: weightsName,
    }); // (B, nh, T, S)
    context = graph.op("MatMul", [attentionWeights, expandedValue], { name: `${attention}/context` }); // (B, nh, T, S) x (B, nh, S, hs) -> (B, nh, T, hs)
  } else {
    // ONNX Attention-23 takes K/V with nkv heads (it repeats them itself), the mask and the past.
    const [output] = graph.opOutputs("Attention", [query, key, value, shared.additiveMask, GraphNames.pastKey(layer), GraphNames.pastValue(layer)], {
      name: `${attention}/attention`,
      attributes: { scale: { float: 1 / Math.sqrt(hs) } },
      outputNames: [`${attention}/attention:0`, GraphNames.presentKey(layer), GraphNames.presentValue(layer)],
    });
    context = output; // (B, nh, T, hs)
  }

  const merged = graph.op(
    "Reshape",
    [graph.op("Transpose", [context], { name: `${attention}/tokens_first`, attributes: { perm: [0, 2, 1, 3] } }), graph.int64s([0, 0, nh * hs])],
    { name: `${attention}/merge_heads` },
  ); // (B, nh, T, hs) -> (B, T, nh, hs) -> (B, T, nh * hs)
  const attended = buildLinear(graph, merged, weights.attention.output, `${attention}.o_proj`); // (B, T, C)
  const afterAttention = graph.op("Add", [hidden, attended], { name: `${prefix}/residual_attention` }); // (B, T, C)

  // MLP block: y = h + down(silu(gate(rmsNorm(h))) * up(rmsNorm(h))).
  const mlpInput = buildRmsNorm(graph, afterAttention, weights.postAttentionNorm, config.normEpsilon, `${prefix}.post_attention_layernorm`); // (B, T, C)
  const gate = buildLinear(graph, mlpInput, weights.mlp.gate!, `${prefix}.mlp.gate_proj`); // (B, T, I)
  const up = buildLinear(graph, mlpInput, weights.mlp.up, `${prefix}.mlp.up_proj`); // (B, T, I)
  const silu = graph.op("Mul", [gate, graph.op("Sigmoid", [gate], { name: `${prefix}.mlp/sigmoid` })], { name: `${prefix}.mlp/silu` }); // (B, T, I)
  const gated = graph.op("Mul", [silu, up], { name: `${prefix}.mlp/gated` }); // (B, T, I)
  const down = buildLinear(graph, gated, weights.mlp.down, `${prefix}.mlp.down_proj`); // (B, T, C)
  return graph.op("Add", [afterAttention, down], { name: `${prefix}/residual_mlp` }); // (B, T, C)
}
