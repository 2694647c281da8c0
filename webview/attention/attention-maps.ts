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
 * Memory: the host chooses how the maps are kept so that the run fits attentionLens.memoryBudgetMB
 * (src/extension/model-memory.ts): float32, float16, or 8 bits per cell with one float32 scale per
 * row (code = round(255 * w / row max), w = code / 255 * row max: within 0.2% of the row's largest
 * weight). The decoder hands over one layer at a time (`AttentionMapsBuilder`), so the float32 maps
 * of every layer never exist at once; `layerMaps` gives a layer back as float32 (decoded on demand,
 * the last one kept).
 *
 * Shape legend: L layers, nh query heads, nkv key/value heads, T tokens.
 */

import { attentionKind } from "../../src/model/config";
import { decodeFloat16, encodeFloat16 } from "../../src/model/float16";
import type { HeadSelection, MapPrecision } from "../../src/protocol";

/** Shape and bytes of the maps, without the library's Tensor class (so views need no model code). */
export interface LayerTensor {
  shape: readonly number[];
  data: Float32Array;
}

/** One layer's (nh, T, T) maps as kept. */
export type StoredLayer =
  | { precision: "float32"; data: Float32Array }
  | { precision: "float16"; bits: Uint16Array }
  | { precision: "uint8"; codes: Uint8Array; rowScales: Float32Array };

export interface AttentionMaps {
  layers: number;
  heads: number;
  keyValueHeads: number;
  tokens: number;
  /** How the maps are kept. */
  precision: MapPrecision;
  /** Per layer, (nh, T, T) row-major at `precision`; read them with `layerMaps`. */
  stored: StoredLayer[];
  /** The one layer kept exact (float32) beside maps of a coarser precision: the layer on screen. */
  exactLayer?: number;
}

/**
 * `maps` with layer `layer` exact (float32 (nh, T, T) `data`, computed again from that layer's
 * input), the other layers as `maps` keeps them. A new object: views see the change.
 */
export function withExactLayer(maps: AttentionMaps, layer: number, data: Float32Array): AttentionMaps {
  if (!(layer >= 0 && layer < maps.layers)) throw new Error(`layer ${layer} does not exist; the model has layers 0..${maps.layers - 1}`);
  if (data.length !== maps.heads * maps.tokens * maps.tokens) throw new Error(`withExactLayer: ${data.length} numbers for a layer of ${maps.heads} x ${maps.tokens} x ${maps.tokens}`);
  const stored = [...maps.stored];
  stored[layer] = { precision: "float32", data };
  return { ...maps, stored, exactLayer: layer };
}

/** Keeps one layer at `precision`: (nh, T, T) float32 -> StoredLayer. */
export function storeLayer(data: Float32Array, tokens: number, precision: MapPrecision): StoredLayer {
  switch (precision) {
    case "float32":
      return { precision, data };
    case "float16":
      return { precision, bits: encodeFloat16(data) };
    case "uint8": {
      const rows = data.length / tokens;
      const codes = new Uint8Array(data.length);
      const rowScales = new Float32Array(rows);
      for (let row = 0; row < rows; row++) {
        const start = row * tokens;
        let largest = 0;
        for (let index = start; index < start + tokens; index++) largest = Math.max(largest, data[index]);
        rowScales[row] = largest;
        if (largest > 0) for (let index = start; index < start + tokens; index++) codes[index] = Math.round((255 * data[index]) / largest);
      }
      return { precision, codes, rowScales };
    }
    default: {
      const unknown: never = precision;
      throw new Error(`storeLayer: unknown precision ${String(unknown)}`);
    }
  }
}

/** A stored layer back as float32 (nh, T, T). */
function decodeLayer(stored: StoredLayer, tokens: number): Float32Array {
  switch (stored.precision) {
    case "float32":
      return stored.data;
    case "float16":
      return decodeFloat16(stored.bits);
    case "uint8": {
      const data = new Float32Array(stored.codes.length);
      for (let row = 0; row < stored.rowScales.length; row++) {
        const scale = stored.rowScales[row] / 255;
        for (let index = row * tokens; index < (row + 1) * tokens; index++) data[index] = stored.codes[index] * scale;
      }
      return data;
    }
    default: {
      const unknown: never = stored;
      throw new Error(`decodeLayer: unknown stored layer ${JSON.stringify(unknown)}`);
    }
  }
}

/** The last layer decoded, per maps: a view redraws one layer many times. */
const lastDecoded = new WeakMap<AttentionMaps, { layer: number; data: Float32Array }>();

/** Layer `layer` as float32 (nh, T, T): the kept array itself for float32 maps, else decoded (the last one cached). */
export function layerMaps(maps: AttentionMaps, layer: number): Float32Array {
  const stored = maps.stored[layer];
  if (!stored) throw new Error(`layer ${layer} does not exist; the model has layers 0..${maps.layers - 1}`);
  if (stored.precision === "float32") return stored.data;
  const cached = lastDecoded.get(maps);
  if (cached?.layer === layer) return cached.data;
  const data = decodeLayer(stored, maps.tokens);
  lastDecoded.set(maps, { layer, data });
  return data;
}

/** `fn` of every layer as float32, in order (one decoded layer at a time). */
export function mapLayers<T>(maps: AttentionMaps, fn: (data: Float32Array, layer: number) => T): T[] {
  return Array.from({ length: maps.layers }, (_, layer) => fn(layerMaps(maps, layer), layer));
}

/** Bytes the kept maps take. */
export function storedBytes(maps: AttentionMaps): number {
  return maps.stored.reduce(
    (sum, stored) =>
      sum + (stored.precision === "float32" ? stored.data.byteLength : stored.precision === "float16" ? stored.bits.byteLength : stored.codes.byteLength + stored.rowScales.byteLength),
    0,
  );
}

/**
 * Collects a prefill's maps layer by layer, as the decoder hands them over (`onAttention`), each
 * kept at `precision` at once; checks every shape.
 */
export class AttentionMapsBuilder {
  private readonly stored: StoredLayer[] = [];
  private shape: readonly number[] | undefined;

  constructor(
    readonly keyValueHeads: number,
    readonly precision: MapPrecision = "float32",
  ) {}

  add(layer: number, tensor: LayerTensor): void {
    const [batch, heads, tokens, keys] = tensor.shape;
    if (tensor.shape.length !== 4 || batch !== 1 || keys !== tokens) {
      throw new Error(`attention maps: layer ${layer} has shape (${tensor.shape.join(", ")}); expected (1, nh, T, T) = (B, nh, T, S) of a single-sequence prefill`);
    }
    if (this.shape && (heads !== this.shape[1] || tokens !== this.shape[2])) {
      throw new Error(`attention maps: layer ${layer} has shape (${tensor.shape.join(", ")}), layer 0 (${this.shape.join(", ")})`);
    }
    if (layer !== this.stored.length) throw new Error(`attention maps: layer ${layer} came after ${this.stored.length} layers`);
    if (tensor.data.length !== heads * tokens * tokens) throw new Error(`attention maps: layer ${layer} holds ${tensor.data.length} numbers, not ${heads * tokens * tokens}`);
    this.shape ??= tensor.shape;
    this.stored.push(storeLayer(tensor.data, tokens, this.precision));
  }

  finish(): AttentionMaps {
    if (!this.shape) throw new Error("attention maps: the model returned no attention maps");
    const [, heads, tokens] = this.shape;
    if (!(this.keyValueHeads >= 1) || heads % this.keyValueHeads !== 0) {
      throw new Error(`attention maps: ${heads} query heads cannot share ${this.keyValueHeads} key/value heads evenly`);
    }
    return { layers: this.stored.length, heads, keyValueHeads: this.keyValueHeads, tokens, precision: this.precision, stored: this.stored };
  }
}

/** Takes the decoder's per-layer (1, nh, T, T) outputs, kept at `precision`; checks every shape. */
export function attentionMapsFromLayers(layers: readonly LayerTensor[], keyValueHeads: number, precision: MapPrecision = "float32"): AttentionMaps {
  const builder = new AttentionMapsBuilder(keyValueHeads, precision);
  layers.forEach((layer, index) => builder.add(index, layer));
  return builder.finish();
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
  return layerMaps(maps, layer).subarray(head * size, (head + 1) * size);
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

/** "MHA", "GQA" or "MQA" (src/model/config.ts attentionKind), from the maps' head counts. */
export function attentionKindOf(maps: Pick<AttentionMaps, "heads" | "keyValueHeads">): "MHA" | "GQA" | "MQA" {
  return attentionKind({ numAttentionHeads: maps.heads, numKeyValueHeads: maps.keyValueHeads });
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
