/**
 * A decoder of any supported family (Llama, Mistral, Qwen2, Qwen3, GPT-2), forward only, built on the
 * attention library:
 *
 *   token ids (B, T) -> embeddings (B, T, C) [+ learned positions] -> L x DecoderLayer -> norm
 *   -> lm_head -> logits (B, T, V)
 *
 * Positions enter in one of two ways (config.positionEncoding): RoPE rotates queries and keys inside
 * every layer (Llama, Mistral, Qwen), or a learned table adds `positionEmbeddings[position]` to every
 * token's embedding here (GPT-2). Either way the position of a token skips the left pads before it.
 * The final norm is RMSNorm or LayerNorm (normalization.ts); lm_head may be tied to the embeddings.
 *
 * It returns what the visualiser needs besides the logits: the attention weights of every layer
 * (B, nh, T, S) and every layer's keys and values (B, nkv, S, hs). With a KeyValueCache it decodes
 * incrementally: pass the new tokens only, and the cache supplies the past.
 *
 * Batches are left-padded (see attention/left-padding.ts): pass `attentionMask` (B, T) with 0 for pads.
 *
 * Shape legend: B batch, T new tokens, S = past + T keys, C model width, V vocabulary,
 * nh query heads, nkv key/value heads, hs head size, L layers.
 */

import { KeyValueCache, type KeyValue } from "../attention/kv-cache";
import { checkTokenMask, positionsFromTokenMask, type TokenMask } from "../attention/left-padding";
import { RotaryEmbedding } from "../attention/rotary-embedding";
import type { AttentionStages } from "../attention/scaled-dot-product-attention";
import { linear } from "../attention/tensor-operations";
import { Tensor } from "../attention/tensor";
import type { DecoderConfig } from "./config";
import { checkLayerWeights, DecoderLayer } from "./decoder-layer";
import { copyRowsAsFloat32, float32Of } from "./half-tensor";
import { checkContextLength, checkInputIds } from "./model-input";
import { normalize } from "./normalization";
import { decoderWeightsFromTensors, isFloat32Layer, WeightsError, type DecoderWeights } from "./weights";

export { ModelInputError } from "./model-input";

export interface ModelForwardOptions {
  /** (B, T): 1 for real tokens, 0 for left padding. Default: all real. */
  attentionMask?: TokenMask;
  /** Past keys and values; appended to in place. Without it the forward starts from nothing. */
  cache?: KeyValueCache;
  /** Keep every attention stage of every layer (memory: several (B, nh, T, S) per layer). */
  trace?: boolean;
}

export interface ModelForwardResult {
  /** (B, T, V): next-token scores after each position. */
  logits: Tensor;
  /** Per layer, softmax weights (B, nh, T, S). */
  attentions: Tensor[];
  /** Per layer, keys and values of all S slots before group expansion, (B, nkv, S, hs). */
  presentKeyValues: KeyValue[];
  /** Per layer, every stage of attention, when `trace` was asked for. */
  stages?: AttentionStages[];
  /** Positions of the new tokens (pads skipped), (B, T): for RoPE, or rows of the learned table. */
  positions: number[][];
  /** Real (1) / pad (0) for every key slot, (B, S). */
  keyMask: number[][];
}

export class DecoderModel {
  /** Layers whose weights are float32, kept; a layer with float16 matrices is made (decoded) per forward. */
  private readonly float32Layers: (DecoderLayer | undefined)[];
  /** RoPE of every layer; undefined with learned positions (GPT-2). */
  readonly rotary: RotaryEmbedding | undefined;

  constructor(
    readonly config: DecoderConfig,
    readonly weights: DecoderWeights,
  ) {
    if (weights.layers.length !== config.numHiddenLayers) {
      throw new WeightsError(`the weights have ${weights.layers.length} layers but config.json says ${config.numHiddenLayers} (num_hidden_layers); they do not belong together`);
    }
    const learned = config.positionEncoding === "learned";
    if (learned !== Boolean(weights.positionEmbeddings)) {
      throw new WeightsError(
        learned
          ? "the config has learned positions (GPT-2) but the weights have no position embeddings (wpe); load them with decoderWeightsFromTensors"
          : "the weights hold position embeddings but the config uses RoPE; check that config.json belongs to these weights",
      );
    }
    this.rotary = learned ? undefined : new RotaryEmbedding(config.headDim, config.ropeTheta, config.ropeScaling);
    weights.layers.forEach((layerWeights, index) => checkLayerWeights(config, layerWeights, index));
    this.float32Layers = weights.layers.map((layerWeights, index) => (isFloat32Layer(layerWeights) ? new DecoderLayer(config, layerWeights, index, this.rotary) : undefined));
  }

  /**
   * Layer `index`, ready to run. A 16-bit checkpoint's layer is decoded to float32 here, one layer
   * at a time, so a forward holds one layer's float32 copy, not the whole model's.
   */
  layer(index: number): DecoderLayer {
    return this.float32Layers[index] ?? new DecoderLayer(this.config, this.weights.layers[index], index, this.rotary);
  }

  /** Builds the model from a checkpoint's tensors (as read by `readSafetensors`). */
  static fromTensors(config: DecoderConfig, tensors: ReadonlyMap<string, Tensor>, source?: string): DecoderModel {
    return new DecoderModel(config, decoderWeightsFromTensors(config, tensors, source));
  }

  /** An empty cache sized for this model. */
  createCache(): KeyValueCache {
    return new KeyValueCache(this.config.numHiddenLayers);
  }

  forward(inputIds: readonly (readonly number[])[], options: ModelForwardOptions = {}): ModelForwardResult {
    const { cache } = options;
    const { batchSize, length } = checkInputIds(this.config, inputIds);
    const attentionMask = options.attentionMask ?? inputIds.map((row) => row.map(() => 1));
    checkTokenMask(attentionMask, batchSize, length, "DecoderModel.forward attentionMask");
    const pastLength = cache?.length ?? 0;
    checkContextLength(this.config, pastLength, length);

    // Positions (RoPE or learned) and the key mask over all S slots: from the cache when decoding.
    const step = cache
      ? cache.beginStep(attentionMask)
      : { positions: positionsFromTokenMask(attentionMask), keyMask: attentionMask.map((row) => [...row]) };
    try {
      let hidden = this.embed(inputIds, step.positions); // (B, T) -> (B, T, C)
      const attentions: Tensor[] = [];
      const presentKeyValues: KeyValue[] = [];
      const stages: AttentionStages[] = [];
      this.weights.layers.forEach((_, index) => {
        const result = this.layer(index).forward(hidden, {
          positions: step.positions,
          keyMask: step.keyMask,
          cache: cache?.layers[index],
          trace: options.trace,
        });
        hidden = result.hidden; // (B, T, C)
        attentions.push(result.attention.weights); // (B, nh, T, S)
        presentKeyValues.push(result.attention.present); // (B, nkv, S, hs)
        if (result.attention.stages) stages.push(result.attention.stages);
      });
      const normalized = normalize(this.config, hidden, this.weights.finalNorm, this.weights.finalNormBias, "final norm"); // (B, T, C)
      const logits = linear(normalized, float32Of(this.weights.lmHead)); // (B, T, C) x (C, V) -> (B, T, V)
      return {
        logits,
        attentions,
        presentKeyValues,
        stages: options.trace ? stages : undefined,
        positions: step.positions,
        keyMask: step.keyMask,
      };
    } catch (error) {
      cache?.truncate(pastLength); // leave the cache as it was before this call
      throw error;
    }
  }

  /**
   * Looks up each token's embedding row, (B, T) -> (B, T, C), and with learned positions adds the
   * row of its position: embedTokens[id] + positionEmbeddings[position] (GPT-2's wte + wpe).
   */
  private embed(inputIds: readonly (readonly number[])[], positions: readonly (readonly number[])[]): Tensor {
    const width = this.config.hiddenSize;
    const batchSize = inputIds.length;
    const length = inputIds[0]?.length ?? 0;
    const table = this.weights.positionEmbeddings; // (P, C) or undefined
    const out = new Float32Array(batchSize * length * width); // (B, T, C)
    inputIds.forEach((row, batch) =>
      row.forEach((id, token) => {
        const offset = (batch * length + token) * width;
        copyRowsAsFloat32(this.weights.embedTokens, id, id + 1, out, offset);
        if (!table) return;
        const positionRow = new Float32Array(width);
        copyRowsAsFloat32(table, positions[batch][token], positions[batch][token] + 1, positionRow, 0);
        for (let i = 0; i < width; i++) out[offset + i] += positionRow[i];
      }),
    );
    return new Tensor(out, [batchSize, length, width]);
  }
}
