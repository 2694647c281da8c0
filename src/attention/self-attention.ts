/**
 * Self-attention with one head, and the skeleton every attention variant in this library shares.
 *
 *   q = x W_q^T,  k = x W_k^T,  v = x W_v^T
 *   output = softmax(q k^T / sqrt(hs) + mask) v
 *
 * `forward` runs the same named steps for every subclass; a subclass changes a step by overriding
 * one protected method:
 *
 *   describeHeads          how many query and key/value heads      (MultiHeadAttention, GroupedQueryAttention)
 *   expandKeyValueHeads    share K/V heads among query heads       (GroupedQueryAttention)
 *   buildMask              which keys each query may see           (SlidingWindowAttention)
 *   attend                 the attention math itself               (scaledDotProductAttention by default)
 *   projectOutput          mix the heads back to model width       (MultiHeadAttention)
 *
 * Shape legend: B batch, T new tokens, S = past + T keys, C model width, nh query heads,
 * nkv key/value heads, hs head size. Weights are stored (out_features, in_features) as in PyTorch.
 */

import { checkDropoutRate } from "./dropout";
import type { KeyValue, LayerKeyValueCache } from "./kv-cache";
import { checkTokenMask, type TokenMask } from "./left-padding";
import { causalMask, combineMasks, paddingMask } from "./masks";
import { mergeHeads, splitHeads } from "./heads";
import type { RotaryEmbedding } from "./rotary-embedding";
import { type AttentionStages, type DropoutSettings, scaledDotProductAttention } from "./scaled-dot-product-attention";
import { linear } from "./tensor-operations";
import { assertShape, formatShape, ShapeError, Tensor } from "./tensor";

/** Sizes of an attention layer. */
export interface HeadLayout {
  /** C: width of the vectors that come in and go out. */
  modelDim: number;
  /** nh: query heads. */
  numHeads: number;
  /** nkv: key/value heads (nh for multi-head, 1 for multi-query, in between for grouped-query). */
  numKeyValueHeads: number;
  /** hs: features per head. */
  headDim: number;
}

export interface SelfAttentionWeights {
  /** W_q: (nh * hs, C). */
  query: Tensor;
  /** W_k: (nkv * hs, C). */
  key: Tensor;
  /** W_v: (nkv * hs, C). */
  value: Tensor;
}

export interface AttentionSettings {
  /** Rotary position embedding applied to queries and keys; none by default. */
  rotary?: RotaryEmbedding;
  /** Dropout rate on attention weights while training, in [0, 1); 0 by default. */
  dropoutRate?: number;
}

/** Per-call inputs besides x. */
export interface AttentionCall {
  /** Hide future keys (default true: decoder attention). */
  causal?: boolean;
  /** Real (1) or pad (0) for each of the S = past + T key slots, (B, S); none means all real. */
  keyMask?: TokenMask;
  /** RoPE position of each new token, (B, T); default: past length + index. */
  positions?: readonly (readonly number[])[];
  /** The layer's KV cache: new K/V are appended and attention reads all cached slots. */
  cache?: LayerKeyValueCache;
  /** Training mode: dropout is applied (only then). */
  training?: boolean;
  /** Seed of the dropout in training mode (default 0). */
  dropoutSeed?: number;
  /** Return every intermediate stage (costs memory: several (B, nh, T, S) tensors). */
  trace?: boolean;
}

export interface AttentionResult {
  /** (B, T, C); for the single-head SelfAttention (B, T, hs). */
  output: Tensor;
  /** Softmax weights before dropout: (B, nh, T, S). */
  weights: Tensor;
  /** K and V of all S slots before group expansion, as the cache holds them: (B, nkv, S, hs). */
  present: KeyValue;
  /** Every stage of the computation when `trace` was asked for. */
  stages?: AttentionStages;
}

/** Which sizes a mask is built for. */
export interface MaskRequest {
  batchSize: number;
  queryLength: number;
  keyLength: number;
  causal: boolean;
  keyMask: TokenMask | undefined;
}

export class SelfAttention {
  readonly layout: HeadLayout;
  readonly weights: SelfAttentionWeights;
  readonly rotary: RotaryEmbedding | undefined;
  readonly dropoutRate: number;

  constructor(weights: SelfAttentionWeights, settings: AttentionSettings = {}) {
    this.layout = this.describeHeads(weights, settings);
    this.weights = weights;
    this.rotary = settings.rotary;
    this.dropoutRate = settings.dropoutRate ?? 0;
    checkDropoutRate(this.dropoutRate);
    this.checkWeights();
    if (this.rotary && this.rotary.headDim !== this.layout.headDim) {
      throw new ShapeError(`${this.name}: the rotary embedding is for head size ${this.rotary.headDim} but the heads have ${this.layout.headDim}`);
    }
  }

  protected get name(): string {
    return this.constructor.name;
  }

  /** One head: its size is the number of rows of W_q. */
  protected describeHeads(weights: SelfAttentionWeights, _settings: AttentionSettings): HeadLayout {
    assertShape(weights.query, [null, null], "SelfAttention weights.query", ["hs", "C"]);
    const [headDim, modelDim] = weights.query.shape;
    return { modelDim, numHeads: 1, numKeyValueHeads: 1, headDim };
  }

  /** Checks every weight against the layout, naming the weight that is wrong. */
  protected checkWeights(): void {
    const { modelDim, numHeads, numKeyValueHeads, headDim } = this.layout;
    assertShape(this.weights.query, [numHeads * headDim, modelDim], `${this.name} weights.query`);
    assertShape(this.weights.key, [numKeyValueHeads * headDim, modelDim], `${this.name} weights.key`);
    assertShape(this.weights.value, [numKeyValueHeads * headDim, modelDim], `${this.name} weights.value`);
  }

  forward(x: Tensor, call: AttentionCall = {}): AttentionResult {
    const { modelDim, numHeads, numKeyValueHeads } = this.layout;
    assertShape(x, [null, null, modelDim], `${this.name}.forward x`, ["B", "T", "C"]);
    const [batchSize, queryLength] = x.shape;
    const pastLength = call.cache?.length ?? 0;
    const keyLength = pastLength + queryLength;

    // 1. Project every token to a query, a key and a value, and split them into heads.
    let query = splitHeads(linear(x, this.weights.query), numHeads); // (B, T, C) -> (B, nh, T, hs)
    let key = splitHeads(linear(x, this.weights.key), numKeyValueHeads); // (B, T, C) -> (B, nkv, T, hs)
    let value = splitHeads(linear(x, this.weights.value), numKeyValueHeads); // (B, T, C) -> (B, nkv, T, hs)

    // 2. Rotate queries and keys by their positions (RoPE), if this layer uses it.
    if (this.rotary) {
      const positions = call.positions ?? defaultPositions(batchSize, queryLength, pastLength);
      query = this.rotary.apply(query, positions); // (B, nh, T, hs)
      key = this.rotary.apply(key, positions); // (B, nkv, T, hs)
    }

    // 3. Append to the KV cache: attention reads every cached slot plus the new ones.
    if (call.cache) {
      if (call.cache.length > 0 && call.cache.keyValue!.key.shape[0] !== batchSize) {
        throw new ShapeError(`${this.name}.forward: the cache holds batch ${call.cache.keyValue!.key.shape[0]} but x has batch ${batchSize}`);
      }
      ({ key, value } = call.cache.append(key, value)); // (B, nkv, S, hs)
    }
    const present = { key, value };

    // 4. Let every query head read its key/value head (identity unless grouped-query).
    const expandedKey = this.expandKeyValueHeads(key); // (B, nkv, S, hs) -> (B, nh, S, hs)
    const expandedValue = this.expandKeyValueHeads(value); // (B, nkv, S, hs) -> (B, nh, S, hs)

    // 5. Build the additive mask: which keys each query may see.
    if (call.keyMask) checkTokenMask(call.keyMask, batchSize, keyLength, `${this.name}.forward keyMask`);
    const mask = this.buildMask({ batchSize, queryLength, keyLength, causal: call.causal ?? true, keyMask: call.keyMask });

    // 6. softmax(q k^T / sqrt(hs) + mask) v, stage by stage.
    const dropout = call.training && this.dropoutRate > 0 ? { rate: this.dropoutRate, seed: call.dropoutSeed ?? 0 } : undefined;
    const stages = this.attend(query, expandedKey, expandedValue, mask, dropout);

    // 7. Merge the heads and mix them back to the model width.
    const merged = mergeHeads(stages.context); // (B, nh, T, hs) -> (B, T, nh * hs)
    const output = this.projectOutput(merged); // (B, T, nh * hs) -> (B, T, C)
    return { output, weights: stages.weights, present, stages: call.trace ? stages : undefined };
  }

  /** Multi-head and single-head attention read their own K/V heads: nothing to expand. */
  protected expandKeyValueHeads(keyOrValue: Tensor): Tensor {
    return keyOrValue;
  }

  /**
   * The additive mask (B, 1, T, S): causal (T, S) plus padding (B, 1, 1, S), broadcast together.
   * Returns undefined when nothing is masked.
   */
  protected buildMask(request: MaskRequest): Tensor | undefined {
    const masks: Tensor[] = [];
    if (request.causal) masks.push(causalMask(request.queryLength, request.keyLength)); // (T, S)
    if (request.keyMask) masks.push(paddingMask(request.keyMask)); // (B, 1, 1, S)
    if (masks.length === 0) return undefined;
    const [first, ...others] = masks;
    return combineMasks(first, ...others);
  }

  /** The attention math. Override to try another (for example a different scaling). */
  protected attend(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    mask: Tensor | undefined,
    dropout: DropoutSettings | undefined,
  ): AttentionStages {
    return scaledDotProductAttention(query, key, value, { mask, dropout });
  }

  /** A single head has no output projection: its context vector is the output. */
  protected projectOutput(merged: Tensor): Tensor {
    return merged;
  }

  /** Bytes of K and V one token adds to this layer's cache (float32 unless told). */
  cacheBytesPerToken(bytesPerElement = 4): number {
    return 2 * this.layout.numKeyValueHeads * this.layout.headDim * bytesPerElement;
  }

  toString(): string {
    const { modelDim, numHeads, numKeyValueHeads, headDim } = this.layout;
    return `${this.name}(C=${modelDim}, nh=${numHeads}, nkv=${numKeyValueHeads}, hs=${headDim}, W_q ${formatShape(this.weights.query.shape)})`;
  }
}

/** Positions past + 0, past + 1, ... for every row: (B, T). */
export function defaultPositions(batchSize: number, length: number, pastLength: number): number[][] {
  return Array.from({ length: batchSize }, () => Array.from({ length }, (_, token) => pastLength + token));
}
