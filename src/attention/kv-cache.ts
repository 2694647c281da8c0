/**
 * The key/value cache.
 *
 * When a decoder generates one token at a time, the keys and values of earlier tokens never change
 * (causal attention: a token only sees the past). So each layer keeps them, and a decoding step only
 * computes K and V for the new token and appends them: the step costs O(S) instead of recomputing
 * O(S^2) attention for the whole sequence.
 *
 * What is cached is K and V BEFORE the grouped-query expansion: (B, nkv, S, hs). That is exactly
 * where grouped-query attention saves memory: with nkv = nh / 4 key/value heads the cache is 4x
 * smaller than multi-head attention's, and multi-query attention (nkv = 1) stores one head.
 *
 *   bytes = 2 (K and V) x layers x B x nkv x S x hs x bytes per element
 *
 * Besides tensors, the cache remembers which slots hold real tokens (1) or left padding (0), so that
 * a decoding step knows the padding mask over all S keys and the RoPE position of its new token.
 *
 * Shape legend: B batch, nkv key/value heads, S cached slots, T new tokens, hs head size.
 */

import { concat, sliceAxis } from "./tensor-operations";
import { checkTokenMask, positionsFromTokenMask, type TokenMask } from "./left-padding";
import { assertShape, formatShape, ShapeError, Tensor } from "./tensor";

/** Keys and values of one layer: (B, nkv, S, hs) each. */
export interface KeyValue {
  key: Tensor;
  value: Tensor;
}

/** The cache of one layer. */
export class LayerKeyValueCache {
  private cached: KeyValue | undefined;

  /** Number of cached slots S (0 when empty). */
  get length(): number {
    return this.cached?.key.shape[2] ?? 0;
  }

  /** The cached keys and values, (B, nkv, S, hs) each, or undefined when empty. */
  get keyValue(): KeyValue | undefined {
    return this.cached;
  }

  /** Appends new (B, nkv, T, hs) keys and values; returns all of them: (B, nkv, S + T, hs). */
  append(key: Tensor, value: Tensor): KeyValue {
    assertShape(key, [null, null, null, null], "LayerKeyValueCache.append key", ["B", "nkv", "T", "hs"]);
    if (formatShape(key.shape) !== formatShape(value.shape)) {
      throw new ShapeError(`LayerKeyValueCache.append: key ${formatShape(key.shape)} and value ${formatShape(value.shape)} differ`);
    }
    if (this.cached) {
      const [batchSize, heads, , headDim] = this.cached.key.shape;
      assertShape(key, [batchSize, heads, null, headDim], "LayerKeyValueCache.append: new keys must match the cached ones", ["B", "nkv", "T", "hs"]);
      this.cached = {
        key: concat([this.cached.key, key], 2), // (B, nkv, S + T, hs)
        value: concat([this.cached.value, value], 2), // (B, nkv, S + T, hs)
      };
    } else {
      this.cached = { key, value };
    }
    return this.cached;
  }

  /** Keeps the first `length` slots: stepping back to an earlier state, exactly. */
  truncate(length: number): void {
    if (!this.cached || length >= this.length) return;
    if (length <= 0) {
      this.cached = undefined;
      return;
    }
    this.cached = {
      key: sliceAxis(this.cached.key, 2, 0, length),
      value: sliceAxis(this.cached.value, 2, 0, length),
    };
  }

  reset(): void {
    this.cached = undefined;
  }

  /** Memory held by this layer's keys and values at `bytesPerElement` (4 for float32, 2 for float16). */
  bytesUsed(bytesPerElement = 4): number {
    return this.cached ? 2 * this.cached.key.size * bytesPerElement : 0;
  }
}

/** What a forward over T new tokens needs to know about the cache. */
export interface CacheStep {
  /** Slots already cached before this step. */
  pastLength: number;
  /** RoPE position of each new token, (B, T). */
  positions: number[][];
  /** Real (1) or pad (0) for every key slot after this step, (B, S = past + T). */
  keyMask: number[][];
}

/** The caches of all layers of a decoder, plus which cached slots are real tokens. */
export class KeyValueCache {
  readonly layers: LayerKeyValueCache[];
  private tokenMask: number[][] = [];

  constructor(numLayers: number) {
    if (!Number.isInteger(numLayers) || numLayers < 1) {
      throw new RangeError(`KeyValueCache: the number of layers must be a positive integer, got ${numLayers}`);
    }
    this.layers = Array.from({ length: numLayers }, () => new LayerKeyValueCache());
  }

  /** Slots cached so far (the same in every layer after a completed forward). */
  get length(): number {
    return this.tokenMask[0]?.length ?? 0;
  }

  /** Batch size of the cached sequences (0 when empty). */
  get batchSize(): number {
    return this.tokenMask.length;
  }

  /** Real (1) / pad (0) for every cached slot: (B, S). */
  get keyMask(): TokenMask {
    return this.tokenMask;
  }

  /**
   * Registers T new tokens with their token mask (B, T) before a forward, and returns their RoPE
   * positions and the key mask over all S = past + T slots. The layers then append their K/V.
   */
  beginStep(newTokenMask: TokenMask): CacheStep {
    const batchSize = newTokenMask.length;
    const newLength = newTokenMask[0]?.length ?? 0;
    checkTokenMask(newTokenMask, batchSize, newLength, "KeyValueCache.beginStep");
    if (this.length > 0 && batchSize !== this.batchSize) {
      throw new ShapeError(
        `KeyValueCache.beginStep: the cache holds ${this.batchSize} sequences but ${batchSize} were given; reset the cache to start a new batch`,
      );
    }
    const pastLength = this.length;
    const realTokensBefore = this.tokenMask.map((row) => row.reduce((sum, value) => sum + value, 0));
    const positions = positionsFromTokenMask(newTokenMask, pastLength > 0 ? realTokensBefore : undefined);
    this.tokenMask =
      pastLength > 0
        ? this.tokenMask.map((row, batch) => [...row, ...newTokenMask[batch]])
        : newTokenMask.map((row) => [...row]);
    return { pastLength, positions, keyMask: this.tokenMask.map((row) => [...row]) };
  }

  /** Keeps the first `length` slots in every layer: undoes the steps after it, exactly. */
  truncate(length: number): void {
    for (const layer of this.layers) layer.truncate(length);
    this.tokenMask = length <= 0 ? [] : this.tokenMask.map((row) => row.slice(0, length));
  }

  reset(): void {
    this.truncate(0);
  }

  /** Memory held by all layers' keys and values. */
  bytesUsed(bytesPerElement = 4): number {
    return this.layers.reduce((sum, layer) => sum + layer.bytesUsed(bytesPerElement), 0);
  }

  /** Bytes one more token adds to the cache of a model: 2 x layers x nkv x hs x bytes per element. */
  static bytesPerToken(
    shape: { numLayers: number; numKeyValueHeads: number; headDim: number },
    bytesPerElement = 4,
  ): number {
    return 2 * shape.numLayers * shape.numKeyValueHeads * shape.headDim * bytesPerElement;
  }
}
