/**
 * What each family calls its tensors in a checkpoint, with their shapes there, and where each one
 * goes in the decoder's weights (weights.ts). One table per family:
 *
 *   Llama, Mistral, Qwen2, Qwen3                      GPT-2 (Conv1D: stored (in, out))
 *   model.embed_tokens.weight        (V, C)           transformer.wte.weight          (V, C)
 *                                                     transformer.wpe.weight          (P, C)
 *   model.layers.N.input_layernorm.weight            transformer.h.N.ln_1.weight / .bias
 *   model.layers.N.self_attn.q_proj.weight (+ .bias)  transformer.h.N.attn.c_attn.weight (C, 3C) / .bias:
 *   model.layers.N.self_attn.k_proj.weight (+ .bias)    q, k and v side by side
 *   model.layers.N.self_attn.v_proj.weight (+ .bias)
 *   model.layers.N.self_attn.o_proj.weight (+ .bias)  transformer.h.N.attn.c_proj.weight (C, C) / .bias
 *   model.layers.N.self_attn.q_norm.weight (hs)       (Qwen3 only; k_norm likewise)
 *   model.layers.N.post_attention_layernorm.weight    transformer.h.N.ln_2.weight / .bias
 *   model.layers.N.mlp.gate_proj.weight    (I, C)
 *   model.layers.N.mlp.up_proj.weight      (I, C)     transformer.h.N.mlp.c_fc.weight (C, I) / .bias
 *   model.layers.N.mlp.down_proj.weight    (C, I)     transformer.h.N.mlp.c_proj.weight (I, C) / .bias
 *   model.norm.weight                                 transformer.ln_f.weight / .bias
 *   lm_head.weight                   (V, C)           (always tied to wte)
 */

import type { DecoderConfig } from "./config";
import type { DecoderAttentionWeights, DecoderLayerWeights, MlpWeights } from "./weights";

/** Where a checkpoint tensor goes in `DecoderWeights`. */
export type TensorTarget =
  | { kind: "model"; field: "embedTokens" | "positionEmbeddings" | "finalNorm" | "finalNormBias" | "lmHead" }
  | { kind: "layer"; layer: number; field: keyof Pick<DecoderLayerWeights, "inputNorm" | "inputNormBias" | "postAttentionNorm" | "postAttentionNormBias"> }
  | { kind: "attention"; layer: number; field: keyof DecoderAttentionWeights }
  /** `transposed`: the file stores (in, out) (GPT-2's Conv1D). */
  | { kind: "mlp"; layer: number; field: keyof MlpWeights; transposed: boolean }
  /** GPT-2's c_attn: q, k and v fused into one (C, 3C) Conv1D weight or (3C) bias. */
  | { kind: "fused-attention"; layer: number; part: "weight" | "bias" }
  /** GPT-2's attn.c_proj weight, stored (in, out). */
  | { kind: "attention-output"; layer: number };

export interface CheckpointTensor {
  /** The name in the checkpoint. */
  name: string;
  /** Its shape in the checkpoint. */
  shape: number[];
  /** "norm" for a norm's gain (initialised at 1), "bias" and "matrix" otherwise. */
  role: "matrix" | "bias" | "norm";
  target: TensorTarget;
}

/** GPT-2 checkpoints may hold its causal mask as buffers: no weights, skipped when loading. */
export const GPT2_UNUSED_BUFFERS = [".attn.bias", ".attn.masked_bias"] as const;

/** Every tensor of a checkpoint of this config, in the family's names; `prefix` only for GPT-2 ("transformer." by default). */
export function checkpointTensorLayout(config: DecoderConfig, prefix?: string): CheckpointTensor[] {
  return config.family === "gpt2" ? gpt2Layout(config, prefix ?? "transformer.") : llamaLayout(config);
}

function llamaLayout(config: DecoderConfig): CheckpointTensor[] {
  const { hiddenSize: C, numAttentionHeads: nh, numKeyValueHeads: nkv, headDim: hs, intermediateSize: I, vocabSize: V } = config;
  const tensors: CheckpointTensor[] = [{ name: "model.embed_tokens.weight", shape: [V, C], role: "matrix", target: { kind: "model", field: "embedTokens" } }];
  for (let layer = 0; layer < config.numHiddenLayers; layer++) {
    const at = `model.layers.${layer}`;
    const attention = (name: string, shape: number[], role: CheckpointTensor["role"], field: keyof DecoderAttentionWeights) =>
      tensors.push({ name: `${at}.self_attn.${name}`, shape, role, target: { kind: "attention", layer, field } });
    const mlp = (name: string, shape: number[], role: CheckpointTensor["role"], field: keyof MlpWeights) =>
      tensors.push({ name: `${at}.mlp.${name}`, shape, role, target: { kind: "mlp", layer, field, transposed: false } });

    tensors.push({ name: `${at}.input_layernorm.weight`, shape: [C], role: "norm", target: { kind: "layer", layer, field: "inputNorm" } });
    attention("q_proj.weight", [nh * hs, C], "matrix", "query");
    attention("k_proj.weight", [nkv * hs, C], "matrix", "key");
    attention("v_proj.weight", [nkv * hs, C], "matrix", "value");
    attention("o_proj.weight", [C, nh * hs], "matrix", "output");
    if (config.queryKeyValueBias) {
      attention("q_proj.bias", [nh * hs], "bias", "queryBias");
      attention("k_proj.bias", [nkv * hs], "bias", "keyBias");
      attention("v_proj.bias", [nkv * hs], "bias", "valueBias");
    }
    if (config.outputBias) attention("o_proj.bias", [C], "bias", "outputBias");
    if (config.queryKeyNorm) {
      attention("q_norm.weight", [hs], "norm", "queryNorm");
      attention("k_norm.weight", [hs], "norm", "keyNorm");
    }
    tensors.push({ name: `${at}.post_attention_layernorm.weight`, shape: [C], role: "norm", target: { kind: "layer", layer, field: "postAttentionNorm" } });
    mlp("gate_proj.weight", [I, C], "matrix", "gate");
    mlp("up_proj.weight", [I, C], "matrix", "up");
    mlp("down_proj.weight", [C, I], "matrix", "down");
    if (config.mlpBias) {
      mlp("gate_proj.bias", [I], "bias", "gateBias");
      mlp("up_proj.bias", [I], "bias", "upBias");
      mlp("down_proj.bias", [C], "bias", "downBias");
    }
  }
  tensors.push({ name: "model.norm.weight", shape: [C], role: "norm", target: { kind: "model", field: "finalNorm" } });
  if (!config.tieWordEmbeddings) tensors.push({ name: "lm_head.weight", shape: [V, C], role: "matrix", target: { kind: "model", field: "lmHead" } });
  return tensors;
}

function gpt2Layout(config: DecoderConfig, prefix: string): CheckpointTensor[] {
  const { hiddenSize: C, intermediateSize: I, vocabSize: V, maxPositionEmbeddings: P } = config;
  const width = config.numAttentionHeads * config.headDim;
  const tensors: CheckpointTensor[] = [
    { name: `${prefix}wte.weight`, shape: [V, C], role: "matrix", target: { kind: "model", field: "embedTokens" } },
    { name: `${prefix}wpe.weight`, shape: [P, C], role: "matrix", target: { kind: "model", field: "positionEmbeddings" } },
  ];
  for (let layer = 0; layer < config.numHiddenLayers; layer++) {
    const at = `${prefix}h.${layer}`;
    tensors.push(
      { name: `${at}.ln_1.weight`, shape: [C], role: "norm", target: { kind: "layer", layer, field: "inputNorm" } },
      { name: `${at}.ln_1.bias`, shape: [C], role: "bias", target: { kind: "layer", layer, field: "inputNormBias" } },
      { name: `${at}.attn.c_attn.weight`, shape: [C, 3 * width], role: "matrix", target: { kind: "fused-attention", layer, part: "weight" } },
      { name: `${at}.attn.c_attn.bias`, shape: [3 * width], role: "bias", target: { kind: "fused-attention", layer, part: "bias" } },
      { name: `${at}.attn.c_proj.weight`, shape: [width, C], role: "matrix", target: { kind: "attention-output", layer } },
      { name: `${at}.attn.c_proj.bias`, shape: [C], role: "bias", target: { kind: "attention", layer, field: "outputBias" } },
      { name: `${at}.ln_2.weight`, shape: [C], role: "norm", target: { kind: "layer", layer, field: "postAttentionNorm" } },
      { name: `${at}.ln_2.bias`, shape: [C], role: "bias", target: { kind: "layer", layer, field: "postAttentionNormBias" } },
      { name: `${at}.mlp.c_fc.weight`, shape: [C, I], role: "matrix", target: { kind: "mlp", layer, field: "up", transposed: true } },
      { name: `${at}.mlp.c_fc.bias`, shape: [I], role: "bias", target: { kind: "mlp", layer, field: "upBias", transposed: false } },
      { name: `${at}.mlp.c_proj.weight`, shape: [I, C], role: "matrix", target: { kind: "mlp", layer, field: "down", transposed: true } },
      { name: `${at}.mlp.c_proj.bias`, shape: [C], role: "bias", target: { kind: "mlp", layer, field: "downBias", transposed: false } },
    );
  }
  tensors.push(
    { name: `${prefix}ln_f.weight`, shape: [C], role: "norm", target: { kind: "model", field: "finalNorm" } },
    { name: `${prefix}ln_f.bias`, shape: [C], role: "bias", target: { kind: "model", field: "finalNormBias" } },
  );
  if (!config.tieWordEmbeddings) tensors.push({ name: "lm_head.weight", shape: [V, C], role: "matrix", target: { kind: "model", field: "lmHead" } });
  return tensors;
}
