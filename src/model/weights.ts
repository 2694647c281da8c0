/**
 * The weights of a Llama-family decoder, named as in Hugging Face checkpoints:
 *
 *   model.embed_tokens.weight                        (V, C)
 *   model.layers.N.input_layernorm.weight            (C)
 *   model.layers.N.self_attn.q_proj.weight           (nh * hs, C)
 *   model.layers.N.self_attn.k_proj.weight           (nkv * hs, C)
 *   model.layers.N.self_attn.v_proj.weight           (nkv * hs, C)
 *   model.layers.N.self_attn.o_proj.weight           (C, nh * hs)
 *   model.layers.N.post_attention_layernorm.weight   (C)
 *   model.layers.N.mlp.gate_proj.weight              (I, C)
 *   model.layers.N.mlp.up_proj.weight                (I, C)
 *   model.layers.N.mlp.down_proj.weight              (C, I)
 *   model.norm.weight                                (C)
 *   lm_head.weight                                   (V, C)   absent when tie_word_embeddings
 */

import type { MultiHeadAttentionWeights } from "../attention/multi-head-attention";
import { seededRandom } from "../attention/seeded-random";
import { formatShape, Tensor } from "../attention/tensor";
import type { DecoderConfig } from "./config";

export class WeightsError extends Error {
  override name = "WeightsError";
}

export interface MlpWeights {
  gate: Tensor;
  up: Tensor;
  down: Tensor;
}

export interface DecoderLayerWeights {
  inputNorm: Tensor;
  attention: MultiHeadAttentionWeights;
  postAttentionNorm: Tensor;
  mlp: MlpWeights;
}

export interface DecoderWeights {
  embedTokens: Tensor;
  layers: DecoderLayerWeights[];
  finalNorm: Tensor;
  /** The output head; the same tensor as `embedTokens` when the embeddings are tied. */
  lmHead: Tensor;
}

/** Every weight a checkpoint of this config holds, with its expected shape. */
export function expectedWeightShapes(config: DecoderConfig): Map<string, number[]> {
  const { hiddenSize: C, numAttentionHeads: nh, numKeyValueHeads: nkv, headDim: hs, intermediateSize: I, vocabSize: V } = config;
  const shapes = new Map<string, number[]>();
  shapes.set("model.embed_tokens.weight", [V, C]);
  for (let layer = 0; layer < config.numHiddenLayers; layer++) {
    const prefix = `model.layers.${layer}`;
    shapes.set(`${prefix}.input_layernorm.weight`, [C]);
    shapes.set(`${prefix}.self_attn.q_proj.weight`, [nh * hs, C]);
    shapes.set(`${prefix}.self_attn.k_proj.weight`, [nkv * hs, C]);
    shapes.set(`${prefix}.self_attn.v_proj.weight`, [nkv * hs, C]);
    shapes.set(`${prefix}.self_attn.o_proj.weight`, [C, nh * hs]);
    shapes.set(`${prefix}.post_attention_layernorm.weight`, [C]);
    shapes.set(`${prefix}.mlp.gate_proj.weight`, [I, C]);
    shapes.set(`${prefix}.mlp.up_proj.weight`, [I, C]);
    shapes.set(`${prefix}.mlp.down_proj.weight`, [C, I]);
  }
  shapes.set("model.norm.weight", [C]);
  if (!config.tieWordEmbeddings) shapes.set("lm_head.weight", [V, C]);
  return shapes;
}

/** Picks the weights out of a checkpoint's tensors, checking that every one is there with its shape. */
export function decoderWeightsFromTensors(
  config: DecoderConfig,
  tensors: ReadonlyMap<string, Tensor>,
  source = "model.safetensors",
): DecoderWeights {
  const expected = expectedWeightShapes(config);
  const missing = [...expected.keys()].filter((name) => !tensors.has(name));
  if (missing.length > 0) {
    const listed = missing.slice(0, 5).join(", ") + (missing.length > 5 ? ` and ${missing.length - 5} more` : "");
    throw new WeightsError(`${source} lacks ${missing.length} weight(s) the config needs: ${listed}. Does config.json belong to this checkpoint?`);
  }
  for (const [name, shape] of expected) {
    const found = tensors.get(name)!.shape;
    if (formatShape(found) !== formatShape(shape)) {
      throw new WeightsError(`${source}: ${name} is ${formatShape(found)} but the config needs ${formatShape(shape)}`);
    }
  }
  const get = (name: string): Tensor => tensors.get(name)!;
  const embedTokens = get("model.embed_tokens.weight");
  return {
    embedTokens,
    layers: Array.from({ length: config.numHiddenLayers }, (_, layer) => {
      const prefix = `model.layers.${layer}`;
      return {
        inputNorm: get(`${prefix}.input_layernorm.weight`),
        attention: {
          query: get(`${prefix}.self_attn.q_proj.weight`),
          key: get(`${prefix}.self_attn.k_proj.weight`),
          value: get(`${prefix}.self_attn.v_proj.weight`),
          output: get(`${prefix}.self_attn.o_proj.weight`),
        },
        postAttentionNorm: get(`${prefix}.post_attention_layernorm.weight`),
        mlp: {
          gate: get(`${prefix}.mlp.gate_proj.weight`),
          up: get(`${prefix}.mlp.up_proj.weight`),
          down: get(`${prefix}.mlp.down_proj.weight`),
        },
      };
    }),
    finalNorm: get("model.norm.weight"),
    lmHead: config.tieWordEmbeddings ? embedTokens : get("lm_head.weight"),
  };
}

/** The inverse: Hugging Face names to tensors, ready for `writeSafetensors`. */
export function decoderWeightsToTensors(config: DecoderConfig, weights: DecoderWeights): Map<string, Tensor> {
  const tensors = new Map<string, Tensor>();
  tensors.set("model.embed_tokens.weight", weights.embedTokens);
  weights.layers.forEach((layer, index) => {
    const prefix = `model.layers.${index}`;
    tensors.set(`${prefix}.input_layernorm.weight`, layer.inputNorm);
    tensors.set(`${prefix}.self_attn.q_proj.weight`, layer.attention.query);
    tensors.set(`${prefix}.self_attn.k_proj.weight`, layer.attention.key);
    tensors.set(`${prefix}.self_attn.v_proj.weight`, layer.attention.value);
    tensors.set(`${prefix}.self_attn.o_proj.weight`, layer.attention.output);
    tensors.set(`${prefix}.post_attention_layernorm.weight`, layer.postAttentionNorm);
    tensors.set(`${prefix}.mlp.gate_proj.weight`, layer.mlp.gate);
    tensors.set(`${prefix}.mlp.up_proj.weight`, layer.mlp.up);
    tensors.set(`${prefix}.mlp.down_proj.weight`, layer.mlp.down);
  });
  tensors.set("model.norm.weight", weights.finalNorm);
  if (!config.tieWordEmbeddings) tensors.set("lm_head.weight", weights.lmHead);
  return tensors;
}

/** A seeded standard normal sample per call (Box-Muller). */
export function seededNormal(seed: number): () => number {
  const uniform = seededRandom(seed);
  return () => {
    const u = Math.max(uniform(), Number.MIN_VALUE);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * uniform());
  };
}

/**
 * Untrained weights for tests and demonstrations: normal(0, std) matrices, norm weights near 1
 * (`normJitter` moves them off 1 so a test notices a norm weight that is not applied).
 */
export function randomDecoderWeights(config: DecoderConfig, seed: number, std = 0.02, normJitter = 0): DecoderWeights {
  const normal = seededNormal(seed);
  const tensors = new Map<string, Tensor>();
  for (const [name, shape] of expectedWeightShapes(config)) {
    const isNorm = shape.length === 1;
    tensors.set(name, Tensor.fromFunction(shape, () => (isNorm ? 1 + normJitter * normal() : std * normal())));
  }
  return decoderWeightsFromTensors(config, tensors, "random weights");
}
