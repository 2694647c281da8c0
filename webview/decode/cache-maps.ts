/**
 * What the cache view draws: one key/value head's cached keys (or values) as a heatmap with the
 * positions along x and the head size along y, and which query heads read that key/value head.
 *
 * Keys and values are signed, so they are mapped to [0, 1] around 0: t = 0.5 + v / (2 max|v|), with
 * max|v| over that head's map (the legend says so): 0.5 is zero, 0 and 1 the extremes.
 *
 * Shape legend: nkv key/value heads, S cached slots, hs head size, nh query heads.
 */

import type { Tensor } from "../../src/attention/tensor";

export interface CacheMap {
  /** (hs, S), row-major, each in [0, 1]. */
  data: Float32Array;
  rows: number;
  cols: number;
  /** max |v| of the head's values: t = 0 is -maxAbs, t = 1 is +maxAbs. */
  maxAbs: number;
}

/** Head `head` of a (nkv, S, hs) key or value tensor, transposed to (hs, S) and mapped to [0, 1]. */
export function cacheHeadMap(tensor: Tensor, head: number): CacheMap {
  const [heads, slots, headSize] = tensor.shape;
  if (tensor.rank !== 3 || head < 0 || head >= heads) throw new RangeError(`cacheHeadMap: head ${head} of a tensor shaped (${tensor.shape.join(", ")})`);
  const base = head * slots * headSize;
  let maxAbs = 0;
  for (let index = 0; index < slots * headSize; index++) maxAbs = Math.max(maxAbs, Math.abs(tensor.data[base + index]));
  const data = new Float32Array(headSize * slots);
  const scale = maxAbs > 0 ? 1 / (2 * maxAbs) : 0;
  for (let slot = 0; slot < slots; slot++) {
    for (let dimension = 0; dimension < headSize; dimension++) {
      data[dimension * slots + slot] = 0.5 + tensor.data[base + slot * headSize + dimension] * scale; // (S, hs) -> (hs, S)
    }
  }
  return { data, rows: headSize, cols: slots, maxAbs };
}

/**
 * The query heads that read key/value head `keyValueHead`: with nh / nkv query heads per group,
 * heads [g * nh/nkv, (g + 1) * nh/nkv) (the grouping of repeat_kv: [K0, K0, K1, K1]).
 */
export function queryHeadsOf(keyValueHead: number, heads: number, keyValueHeads: number): number[] {
  const group = heads / keyValueHeads;
  return Array.from({ length: group }, (_, index) => keyValueHead * group + index);
}

/** Rows of query heads `heads` from a (nh, S) attention tensor, as (heads.length, S). */
export function queryRowsOf(rows: Tensor, heads: readonly number[]): Float32Array {
  const slots = rows.shape[1];
  const out = new Float32Array(heads.length * slots);
  heads.forEach((head, index) => out.set(rows.data.subarray(head * slots, (head + 1) * slots), index * slots));
  return out;
}

/** "1.5 KiB", "384 KiB", "2.25 MiB": bytes in binary units. */
export function formatKibibytes(bytes: number): string {
  if (bytes >= 1048576) return `${(bytes / 1048576).toFixed(2)} MiB`;
  if (bytes >= 1024) return `${(bytes / 1024).toFixed(bytes >= 10240 ? 0 : 1)} KiB`;
  return `${bytes} B`;
}
