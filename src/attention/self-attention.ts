/**
 * Self-attention with one head, and the skeleton every attention variant in this library shares.
 *
 *   q = x W_q^T + b_q,  k = x W_k^T + b_k,  v = x W_v^T + b_v      (biases optional: Qwen2, GPT-2)
 *   output = softmax(q k^T / sqrt(hs) + mask) v
 *
 * `forward` runs the same named steps for every subclass; a subclass changes a step by overriding
 * one protected method:
 *
 *   describeHeads          how many query and key/value heads      (MultiHeadAttention, GroupedQueryAttention)
 *   normalizeQueryKey      normalise q and k heads before RoPE     (RMSNorm when the weights hold
 *                                                                   queryNorm/keyNorm, Qwen3; else identity)
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
import { rmsNorm } from "./rms-norm";
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
  /** b_q: (nh * hs); none by default (Hugging Face's q_proj.bias). */
  queryBias?: Tensor;
  /** b_k: (nkv * hs). */
  keyBias?: Tensor;
  /** b_v: (nkv * hs). */
  valueBias?: Tensor;
  /** (hs): RMSNorm gain shared by every query head, applied before RoPE (Qwen3's q_norm). Comes with keyNorm. */
  queryNorm?: Tensor;
  /** (hs): RMSNorm gain shared by every key head, applied before RoPE (Qwen3's k_norm). */
  keyNorm?: Tensor;
}

export interface AttentionSettings {
  /** Rotary position embedding applied to queries and keys; none by default. */
  rotary?: RotaryEmbedding;
  /** Dropout rate on attention weights while training, in [0, 1); 0 by default. */
  dropoutRate?: number;
  /** Epsilon of the query/key RMSNorm when the weights hold queryNorm and keyNorm; 1e-6 (Qwen3's) by default. */
  queryKeyNormEpsilon?: number;
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
  readonly queryKeyNormEpsilon: number;

  constructor(weights: SelfAttentionWeights, settings: AttentionSettings = {}) {
    this.layout = this.describeHeads(weights, settings);
    this.weights = weights;
    this.rotary = settings.rotary;
    this.dropoutRate = settings.dropoutRate ?? 0;
    this.queryKeyNormEpsilon = settings.queryKeyNormEpsilon ?? 1e-6;
    checkDropoutRate(this.dropoutRate);
    if (!(this.queryKeyNormEpsilon > 0)) {
      throw new RangeError(`${this.name}: queryKeyNormEpsilon must be a positive number, got ${this.queryKeyNormEpsilon}`);
    }
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
    const { query, key, value, queryBias, keyBias, valueBias, queryNorm, keyNorm } = this.weights;
    assertShape(query, [numHeads * headDim, modelDim], `${this.name} weights.query`);
    assertShape(key, [numKeyValueHeads * headDim, modelDim], `${this.name} weights.key`);
    assertShape(value, [numKeyValueHeads * headDim, modelDim], `${this.name} weights.value`);
    if (queryBias) assertShape(queryBias, [numHeads * headDim], `${this.name} weights.queryBias`);
    if (keyBias) assertShape(keyBias, [numKeyValueHeads * headDim], `${this.name} weights.keyBias`);
    if (valueBias) assertShape(valueBias, [numKeyValueHeads * headDim], `${this.name} weights.valueBias`);
    if ((queryNorm === undefined) !== (keyNorm === undefined)) {
      throw new ShapeError(`${this.name}: weights.queryNorm and weights.keyNorm come together (Qwen3's q_norm and k_norm); give both or neither`);
    }
    if (queryNorm) assertShape(queryNorm, [headDim], `${this.name} weights.queryNorm`, ["hs"]);
    if (keyNorm) assertShape(keyNorm, [headDim], `${this.name} weights.keyNorm`, ["hs"]);
  }

  forward(x: Tensor, call: AttentionCall = {}): AttentionResult {
    const { modelDim, numHeads, numKeyValueHeads } = this.layout;
    assertShape(x, [null, null, modelDim], `${this.name}.forward x`, ["B", "T", "C"]);
    const [batchSize, queryLength] = x.shape;
    const pastLength = call.cache?.length ?? 0;
    const keyLength = pastLength + queryLength;

    // 1. Project every token to a query, a key and a value (plus biases, if any), and split them into heads.
    const { query: queryWeight, key: keyWeight, value: valueWeight, queryBias, keyBias, valueBias } = this.weights;
    const projectedQuery = splitHeads(linear(x, queryWeight, queryBias), numHeads); // (B, T, C) -> (B, nh, T, hs)
    const projectedKey = splitHeads(linear(x, keyWeight, keyBias), numKeyValueHeads); // (B, T, C) -> (B, nkv, T, hs)
    let value = splitHeads(linear(x, valueWeight, valueBias), numKeyValueHeads); // (B, T, C) -> (B, nkv, T, hs)

    // 2. Normalise every query and key head (identity unless the weights hold a q/k norm).
    let { query, key } = this.normalizeQueryKey(projectedQuery, projectedKey); // (B, nh, T, hs), (B, nkv, T, hs)

    // 3. Rotate queries and keys by their positions (RoPE), if this layer uses it.
    if (this.rotary) {
      const positions = call.positions ?? defaultPositions(batchSize, queryLength, pastLength);
      query = this.rotary.apply(query, positions); // (B, nh, T, hs)
      key = this.rotary.apply(key, positions); // (B, nkv, T, hs)
    }

    // 4. Append to the KV cache: attention reads every cached slot plus the new ones.
    if (call.cache) {
      if (call.cache.length > 0 && call.cache.keyValue!.key.shape[0] !== batchSize) {
        throw new ShapeError(`${this.name}.forward: the cache holds batch ${call.cache.keyValue!.key.shape[0]} but x has batch ${batchSize}`);
      }
      ({ key, value } = call.cache.append(key, value)); // (B, nkv, S, hs)
    }
    const present = { key, value };

    // 5. Let every query head read its key/value head (identity unless grouped-query).
    const expandedKey = this.expandKeyValueHeads(key); // (B, nkv, S, hs) -> (B, nh, S, hs)
    const expandedValue = this.expandKeyValueHeads(value); // (B, nkv, S, hs) -> (B, nh, S, hs)

    // 6. Build the additive mask: which keys each query may see.
    if (call.keyMask) checkTokenMask(call.keyMask, batchSize, keyLength, `${this.name}.forward keyMask`);
    const mask = this.buildMask({ batchSize, queryLength, keyLength, causal: call.causal ?? true, keyMask: call.keyMask });

    // 7. softmax(q k^T / sqrt(hs) + mask) v, stage by stage.
    const dropout = call.training && this.dropoutRate > 0 ? { rate: this.dropoutRate, seed: call.dropoutSeed ?? 0 } : undefined;
    const stages = this.attend(query, expandedKey, expandedValue, mask, dropout);

    // 8. Merge the heads and mix them back to the model width.
    const merged = mergeHeads(stages.context); // (B, nh, T, hs) -> (B, T, nh * hs)
    const output = this.projectOutput(merged); // (B, T, nh * hs) -> (B, T, C)
    return { output, weights: stages.weights, present, stages: call.trace ? stages : undefined };
  }

  /**
   * Normalises queries (B, nh, T, hs) and keys (B, nkv, T, hs) head by head, before RoPE. With
   * weights.queryNorm and weights.keyNorm this is Qwen3's q_norm / k_norm, an RMSNorm over the hs
   * features of every head (one gain per feature, shared by all heads); without them, the identity.
   * Override it to try another normalisation (for example an L2 "QK-norm").
   */
  protected normalizeQueryKey(query: Tensor, key: Tensor): { query: Tensor; key: Tensor } {
    const { queryNorm, keyNorm } = this.weights;
    if (!queryNorm || !keyNorm) return { query, key };
    return {
      query: rmsNorm(query, queryNorm, this.queryKeyNormEpsilon), // (B, nh, T, hs), normalised over hs
      key: rmsNorm(key, keyNorm, this.queryKeyNormEpsilon), // (B, nkv, T, hs), normalised over hs
    };
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
