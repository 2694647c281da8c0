/**
 * The attention maps of one prefill, as the views read them.
 *
 * The decoder returns, per layer, softmax weights of shape (B, nh, T, S) with B = 1 and S = T (no
 * KV cache before a prefill). Here each layer is kept as one row-major Float32Array (nh, T, T):
 * head h's map starts at h * T * T, and within it row q (the query token) holds the weights over
 * keys 0 .. T-1 (zeros for the future keys q+1 .. T-1).
 *
 * Grouped-query attention: nkv key/value heads are shared by groups of nh / nkv consecutive query
 * heads, so query head h reads K/V head floor(h / (nh / nkv)):
 *
 *     nh = 8, nkv = 2:   query heads  0 1 2 3 | 4 5 6 7
 *                        K/V head     0 0 0 0 | 1 1 1 1      ([K0, K0, K0, K0, K1, K1, K1, K1])
 *
 * nkv = nh is multi-head attention (every query head has its own K/V head), nkv = 1 multi-query.
 *
 * Shape legend: L layers, nh query heads, nkv key/value heads, T tokens.
 */

import type { HeadSelection } from "../../src/protocol";

/** Shape and bytes of the maps, without the library's Tensor class (so views need no model code). */
export interface LayerTensor {
  shape: readonly number[];
  data: Float32Array;
}

export interface AttentionMaps {
  layers: number;
  heads: number;
  keyValueHeads: number;
  tokens: number;
  /** Per layer, (nh, T, T) row-major. */
  data: Float32Array[];
}

/** Takes the decoder's per-layer (1, nh, T, T) outputs; checks every shape. */
export function attentionMapsFromLayers(layers: readonly LayerTensor[], keyValueHeads: number): AttentionMaps {
  if (layers.length === 0) throw new Error("attentionMapsFromLayers: the model returned no attention maps");
  const [batch, heads, tokens, keys] = layers[0].shape;
  layers.forEach((layer, index) => {
    const [b, h, t, s] = layer.shape;
    if (layer.shape.length !== 4 || b !== 1 || h !== heads || t !== tokens || s !== tokens) {
      throw new Error(
        `attentionMapsFromLayers: layer ${index} has shape (${layer.shape.join(", ")}); ` +
          `expected (1, ${heads}, ${tokens}, ${tokens}) = (B, nh, T, S) of a single-sequence prefill`,
      );
    }
    if (layer.data.length !== heads * tokens * tokens) {
      throw new Error(`attentionMapsFromLayers: layer ${index} holds ${layer.data.length} numbers, not ${heads * tokens * tokens}`);
    }
  });
  if (batch !== 1 || keys !== tokens) throw new Error(`attentionMapsFromLayers: expected B = 1 and S = T, got (${layers[0].shape.join(", ")})`);
  if (!(keyValueHeads >= 1) || heads % keyValueHeads !== 0) {
    throw new Error(`attentionMapsFromLayers: ${heads} query heads cannot share ${keyValueHeads} key/value heads evenly`);
  }
  return { layers: layers.length, heads, keyValueHeads, tokens, data: layers.map((layer) => layer.data) };
}

/** The K/V head that query head `head` reads: floor(head / (nh / nkv)). */
export function keyValueHeadOf(head: number, heads: number, keyValueHeads: number): number {
  return Math.floor(head / (heads / keyValueHeads));
}

/** The query heads of each K/V head: groups[g] = [g * nh/nkv, ..., (g + 1) * nh/nkv - 1]. */
export function keyValueGroups(heads: number, keyValueHeads: number): number[][] {
  const groupSize = heads / keyValueHeads;
  return Array.from({ length: keyValueHeads }, (_, group) => Array.from({ length: groupSize }, (_, index) => group * groupSize + index));
}

/** Head `head` of layer `layer`: a (T, T) view (no copy). */
export function headMap(maps: AttentionMaps, layer: number, head: number): Float32Array {
  checkLayerAndHead(maps, layer, head);
  const size = maps.tokens * maps.tokens;
  return maps.data[layer].subarray(head * size, (head + 1) * size);
}

/** The mean of the maps of `heads` (default: all heads) of one layer, (T, T). */
export function meanOfHeads(maps: AttentionMaps, layer: number, heads?: readonly number[]): Float32Array {
  const chosen = heads ?? Array.from({ length: maps.heads }, (_, head) => head);
  if (chosen.length === 0) throw new Error("meanOfHeads: no heads to average");
  const mean = new Float32Array(maps.tokens * maps.tokens);
  for (const head of chosen) {
    const map = headMap(maps, layer, head);
    for (let index = 0; index < mean.length; index++) mean[index] += map[index];
  }
  for (let index = 0; index < mean.length; index++) mean[index] /= chosen.length;
  return mean;
}

/** The (T, T) map a selection names: one head, or the mean over the heads of its layer. */
export function selectedMap(maps: AttentionMaps, selection: HeadSelection): Float32Array {
  return selection.head === "mean" ? meanOfHeads(maps, selection.layer) : headMap(maps, selection.layer, selection.head);
}

/** Row `query` of a (T, T) map: the weights from that query over every key, as plain numbers. */
export function queryRow(map: Float32Array, tokens: number, query: number): number[] {
  if (!(query >= 0 && query < tokens)) throw new Error(`queryRow: token ${query} is outside 0..${tokens - 1}`);
  return Array.from(map.subarray(query * tokens, (query + 1) * tokens));
}

/** Every row of a (T, T) map, as number[][] (for messages). */
export function mapRows(map: Float32Array, tokens: number): number[][] {
  return Array.from({ length: tokens }, (_, query) => queryRow(map, tokens, query));
}

/** "L0 H3", "L2 mean": a short name for a selection. */
export function selectionName(selection: HeadSelection): string {
  return `L${selection.layer} ${selection.head === "mean" ? "mean" : `H${selection.head}`}`;
}

function checkLayerAndHead(maps: AttentionMaps, layer: number, head: number): void {
  if (!(layer >= 0 && layer < maps.layers && Number.isInteger(layer))) {
    throw new Error(`layer ${layer} does not exist; the model has layers 0..${maps.layers - 1}`);
  }
  if (!(head >= 0 && head < maps.heads && Number.isInteger(head))) {
    throw new Error(`head ${head} does not exist; the model has heads 0..${maps.heads - 1}`);
  }
}
