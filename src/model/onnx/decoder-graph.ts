/**
 * Builds an ONNX model of a decoder LM (Llama, Mistral, Qwen2, Qwen3, GPT-2) from a config and its
 * weights, in TypeScript: no Python, no export step. The graph computes what transformers' eager
 * forward computes, and makes every attention map and every key/value tensor a plain graph output,
 * because the visualiser shows them.
 *
 * Inputs (names as in Hugging Face ONNX exports):
 *   input_ids                 int64 (B, T)            the new tokens
 *   attention_mask            int64 (B, S)            1 real / 0 left padding, for past + new slots
 *   position_ids              int64 (B, T)            positions of the new tokens (pads skipped)
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
 * One decoder layer, pre-norm, for every family (the parts each family adds are in the files named):
 *
 *   h = x + attention(norm(x))     graph-attention.ts: biases, q_norm/k_norm, RoPE, masks, the cache
 *   y = h + mlp(norm(h))           graph-mlp.ts: SwiGLU or GPT-2's GELU MLP, with biases
 *
 * norm is RMSNorm or LayerNorm (graph-norms.ts); positions are RoPE or learned (graph-positions.ts);
 * the masks, with each layer's sliding window, are built once (graph-masks.ts).
 *
 * Initializers are named as Llama's checkpoint parameters ("model.layers.N.self_attn.q_proj.weight^T")
 * for every family, GPT-2 included, so one graph reads the same in Netron whatever the family.
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

import { transposeLastTwo } from "../../attention/tensor-operations";
import type { DecoderConfig } from "../config";
import { float32Of } from "../half-tensor";
import type { DecoderLayerWeights, DecoderWeights } from "../weights";
import { buildSelfAttention, type AttentionContext, type AttentionVariant } from "./graph-attention";
import { GraphBuilder } from "./graph-builder";
import { buildAttentionMasks } from "./graph-masks";
import { buildMlp } from "./graph-mlp";
import { GraphNames } from "./graph-names";
import { buildNorm } from "./graph-norms";
import { buildLearnedPositions, buildRotaryTables } from "./graph-positions";
import { DataType, encodeModel, type ModelSpec, type ValueInfoSpec } from "./onnx-proto";

export type { AttentionVariant } from "./graph-attention";
export { GraphNames } from "./graph-names";

export interface DecoderGraphOptions {
  /** "primitive" (default) exposes attention maps; "fused" uses ONNX Attention-23 and does not. */
  attention?: AttentionVariant;
  /** Emit the `attentions.N` outputs (primitive variant only; default true). */
  outputAttentions?: boolean;
  /** Recorded in the model's metadata. */
  modelName?: string;
}

/** Builds the ONNX model (as a spec; `encodeDecoderGraph` gives the bytes). */
export function buildDecoderGraph(config: DecoderConfig, weights: DecoderWeights, options: DecoderGraphOptions = {}): ModelSpec {
  checkWeightsFitConfig(config, weights);
  const variant = options.attention ?? "primitive";
  const outputAttentions = variant === "primitive" && (options.outputAttentions ?? true);
  const graph = new GraphBuilder();
  const masks = buildAttentionMasks(graph, config, variant); // per layer, (B, 1, T, S)
  const rotary = config.positionEncoding === "rope" ? buildRotaryTables(graph, config) : undefined; // (B, 1, T, hs) each

  let hidden = graph.op("Gather", [graph.weight("model.embed_tokens.weight", weights.embedTokens), GraphNames.inputIds], {
    name: "embed_tokens",
    attributes: { axis: 0 },
  }); // (V, C)[(B, T)] -> (B, T, C)
  if (config.positionEncoding === "learned") {
    hidden = buildLearnedPositions(graph, hidden, weights.positionEmbeddings, "model.embed_positions"); // (B, T, C)
  }

  weights.layers.forEach((layerWeights, layer) => {
    hidden = buildDecoderLayer(graph, hidden, layerWeights, { config, layer, mask: masks[layer], rotary, variant, outputAttentions }); // (B, T, C)
  });

  const normalized = buildNorm(graph, config, hidden, weights.finalNorm, weights.finalNormBias, "model.norm"); // (B, T, C)
  graph.op("MatMul", [normalized, graph.weight("lm_head.weight^T", transposeLastTwo(float32Of(weights.lmHead)))], {
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

  const windows = config.slidingWindows.map((window) => window ?? "full").join(",");
  return {
    irVersion: variant === "fused" ? 11 : 10,
    opsetImports: [{ domain: "", version: variant === "fused" ? 23 : 21 }],
    producerName: "attention-lens",
    producerVersion: "1",
    docString: `${config.family} decoder, ${config.numHiddenLayers} layers, nh=${nh}, nkv=${nkv}, hs=${hs}, windows ${windows}, ${variant} attention`,
    metadata: {
      attention_variant: variant,
      model_family: config.family,
      num_attention_heads: String(nh),
      num_key_value_heads: String(nkv),
      ...(options.modelName ? { model_name: options.modelName } : {}),
    },
    graph: { name: `${config.family}_decoder`, nodes: graph.nodes, initializers: graph.initializers, inputs, outputs },
  };
}

/** The model as ONNX bytes, ready for an inference session. */
export function encodeDecoderGraph(config: DecoderConfig, weights: DecoderWeights, options: DecoderGraphOptions = {}): Uint8Array {
  return encodeModel(buildDecoderGraph(config, weights, options));
}

/** One pre-norm decoder layer: h = x + attention(norm(x)); y = h + mlp(norm(h)). */
export function buildDecoderLayer(graph: GraphBuilder, hidden: string, weights: DecoderLayerWeights, context: AttentionContext): string {
  const { config, layer } = context;
  const prefix = `model.layers.${layer}`;
  const attentionInput = buildNorm(graph, config, hidden, weights.inputNorm, weights.inputNormBias, `${prefix}.input_layernorm`); // (B, T, C)
  const attended = buildSelfAttention(graph, attentionInput, weights.attention, context); // (B, T, C)
  const afterAttention = graph.op("Add", [hidden, attended], { name: `${prefix}/residual_attention` }); // (B, T, C)

  const mlpInput = buildNorm(graph, config, afterAttention, weights.postAttentionNorm, weights.postAttentionNormBias, `${prefix}.post_attention_layernorm`); // (B, T, C)
  const mlpOutput = buildMlp(graph, config, mlpInput, weights.mlp, `${prefix}.mlp`); // (B, T, C)
  return graph.op("Add", [afterAttention, mlpOutput], { name: `${prefix}/residual_mlp` }); // (B, T, C)
}

/** The checks a mismatched config and weights would otherwise fail deep inside the runtime. */
export function checkWeightsFitConfig(config: DecoderConfig, weights: DecoderWeights): void {
  if (weights.layers.length !== config.numHiddenLayers) {
    throw new RangeError(
      `the weights have ${weights.layers.length} layers but the config has ${config.numHiddenLayers}; load the weights with the config.json they belong to`,
    );
  }
  if (config.numAttentionHeads % config.numKeyValueHeads !== 0) {
    throw new RangeError(`num_key_value_heads (${config.numKeyValueHeads}) must divide num_attention_heads (${config.numAttentionHeads}); check config.json`);
  }
}
