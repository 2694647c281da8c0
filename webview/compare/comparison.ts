/**
 * Two models on the same tokens, compared: the difference of their attention, a summary per layer,
 * and the size of their KV caches. Pure functions over the maps of attention-maps.ts, so they are
 * tested in plain Node.
 *
 * Heads are paired by index by default: query head h of layer l of model A beside query head h of
 * layer l of model B, the right pairing when B was converted from A (the conversion keeps the query
 * heads in place). For separately trained models nothing makes head 3 of one "the same" head as
 * head 3 of the other; head-alignment.ts pairs each head of A with the head of B that attends most
 * alike instead, and the difference maps take that pairing, p(l, h) (p(l, h) = h by index):
 *
 *   difference(l, h, q, k) = |A(l, h, q, k) - B(l, p(l, h), q, k)|    in [0, 1]
 *   mean difference of a layer = mean over heads h, queries q and the keys k <= q they may see
 *   entropy of a layer = mean over heads h and queries q >= 1 of -sum_k w(q, k) ln w(q, k)   (nats)
 *
 * (The query q = 0 sees only itself, with weight 1 and entropy 0 in every model: it is left out of
 * the entropy, as in src/model/head-metrics.ts.)
 *
 * KV cache: a decoder keeps, per layer, the keys and the values of every token, each (B, nkv, S, hs):
 *
 *   bytes = 2 x layers x nkv x tokens x hs x bytes per number          (B = 1; 4 bytes in float32)
 *
 * Shape legend: L layers, nh query heads, nkv key/value heads, hs head size, T tokens, S key slots.
 */

import { layerMaps, mapLayers, storeLayer, type AttentionMaps, type LayerTensor } from "../attention/attention-maps";

/** Bytes of one float32 number. */
export const FLOAT32_BYTES = 4;

/** Throws unless `a` and `b` can be aligned layer by layer and head by head. */
export function checkAlignable(a: AttentionMaps, b: AttentionMaps, nameA = "model A", nameB = "model B"): void {
  if (a.tokens !== b.tokens) {
    throw new Error(`${nameA} attended over ${a.tokens} tokens and ${nameB} over ${b.tokens}: a comparison needs the same tokens in both`);
  }
  if (a.layers !== b.layers || a.heads !== b.heads) {
    throw new Error(
      `${nameA} has ${a.layers} layers × ${a.heads} query heads and ${nameB} ${b.layers} × ${b.heads}: ` +
        "heads are compared by layer and index, so both models need the same numbers",
    );
  }
}

/**
 * |A - B| for every layer, head, query and key: maps of the same shape as the inputs (L of
 * (nh, T, T)); `keyValueHeads` is A's (the difference has no K/V heads of its own). Head h of A is
 * compared with head `headOfB[layer][h]` of B (head-alignment.ts); without `headOfB`, with head h.
 */
export function differenceMaps(a: AttentionMaps, b: AttentionMaps, headOfB?: readonly (readonly number[])[]): AttentionMaps {
  checkAlignable(a, b);
  const size = a.tokens * a.tokens;
  const stored = mapLayers(a, (layerA, layer) => {
    const difference = new Float32Array(layerA); // (nh, T, T); A's layer first: decoding B's may replace it
    const layerB = layerMaps(b, layer);
    for (let head = 0; head < a.heads; head++) {
      const headB = headOfB ? headOfB[layer][head] : head;
      if (!(Number.isInteger(headB) && headB >= 0 && headB < b.heads)) throw new Error(`differenceMaps: layer ${layer} pairs head ${head} of A with head ${headB} of B, which does not exist`);
      const offsetA = head * size;
      const offsetB = headB * size;
      for (let index = 0; index < size; index++) difference[offsetA + index] = Math.abs(difference[offsetA + index] - layerB[offsetB + index]);
    }
    return storeLayer(difference, a.tokens, a.precision);
  });
  return { layers: a.layers, heads: a.heads, keyValueHeads: a.keyValueHeads, tokens: a.tokens, precision: a.precision, stored };
}

/** Mean of a (T, T) causal map over the cells a query may see (k <= q): T (T + 1) / 2 of them. */
export function meanOverVisibleCells(map: Float32Array, tokens: number): number {
  if (tokens === 0) return 0;
  let sum = 0;
  for (let query = 0; query < tokens; query++) {
    for (let key = 0; key <= query; key++) sum += map[query * tokens + key];
  }
  return sum / ((tokens * (tokens + 1)) / 2);
}

/** Largest value of a map (0 for an empty one). */
export function maxOf(values: Float32Array): number {
  let max = 0;
  for (const value of values) if (value > max) max = value;
  return max;
}

/** Entropy of one row of weights, in nats: -sum w ln w (0 ln 0 = 0). */
export function rowEntropy(row: ArrayLike<number>): number {
  let entropy = 0;
  for (let index = 0; index < row.length; index++) {
    const weight = row[index];
    if (weight > 0) entropy -= weight * Math.log(weight);
  }
  return entropy;
}

/** Mean entropy (nats) of the query rows 1 .. T-1 of a (T, T) causal map; 0 for T < 2. */
export function meanRowEntropy(map: Float32Array, tokens: number): number {
  if (tokens < 2) return 0;
  let sum = 0;
  for (let query = 1; query < tokens; query++) sum += rowEntropy(map.subarray(query * tokens, query * tokens + query + 1));
  return sum / (tokens - 1);
}

/** Per head of one layer: a (T, T) view of head h of the (nh, T, T) layer data. */
function headOf(layerData: Float32Array, head: number, tokens: number): Float32Array {
  const size = tokens * tokens;
  return layerData.subarray(head * size, (head + 1) * size);
}

/** Mean entropy of every head of every layer: entropies[layer][head]. */
export function headEntropies(maps: AttentionMaps): number[][] {
  return mapLayers(maps, (layerData) =>
    Array.from({ length: maps.heads }, (_, head) => meanRowEntropy(headOf(layerData, head, maps.tokens), maps.tokens)),
  );
}

/** Mean |A - B| over the visible cells of every head: differences[layer][head]. */
export function headMeanDifferences(difference: AttentionMaps): number[][] {
  return mapLayers(difference, (layerData) =>
    Array.from({ length: difference.heads }, (_, head) => meanOverVisibleCells(headOf(layerData, head, difference.tokens), difference.tokens)),
  );
}

export interface LayerSummary {
  layer: number;
  /** Mean |A - B| over heads and visible cells. */
  meanDifference: number;
  /** Largest |A - B| of the layer. */
  maxDifference: number;
  /** Mean entropy (nats) over heads and queries 1 .. T-1, of A and of B. */
  entropyA: number;
  entropyB: number;
}

const mean = (values: readonly number[]) => (values.length === 0 ? 0 : values.reduce((sum, value) => sum + value, 0) / values.length);

/** One summary per layer of a comparison. */
export function layerSummaries(a: AttentionMaps, b: AttentionMaps, difference = differenceMaps(a, b)): LayerSummary[] {
  checkAlignable(a, b);
  const differences = headMeanDifferences(difference);
  const entropiesA = headEntropies(a);
  const entropiesB = headEntropies(b);
  return mapLayers(difference, (layerData, layer) => ({
    layer,
    meanDifference: mean(differences[layer]),
    maxDifference: maxOf(layerData),
    entropyA: mean(entropiesA[layer]),
    entropyB: mean(entropiesB[layer]),
  }));
}

// ---------------------------------------------------------------------------------------------
// KV cache

/** One layer's present keys and values, each (B, nkv, S, hs), as the decoder returns them. */
export interface PresentKeyValue {
  key: LayerTensor;
  value: LayerTensor;
}

export interface KeyValueShape {
  layers: number;
  keyValueHeads: number;
  tokens: number;
  headDim: number;
  bytesPerNumber: number;
}

/** Bytes held by the tensors themselves: every element of every key and value, x bytes per number. */
export function keyValueBytesOfTensors(present: readonly PresentKeyValue[], bytesPerNumber = FLOAT32_BYTES): number {
  let elements = 0;
  for (const { key, value } of present) elements += key.data.length + value.data.length;
  return elements * bytesPerNumber;
}

/** The shape of a present cache, read from its tensors; checks that every layer agrees. */
export function keyValueShapeOf(present: readonly PresentKeyValue[], bytesPerNumber = FLOAT32_BYTES): KeyValueShape {
  if (present.length === 0) throw new Error("the decoder returned no present keys and values (they are fetched with fetchPresent)");
  const [batch, keyValueHeads, tokens, headDim] = present[0].key.shape;
  present.forEach(({ key, value }, layer) => {
    for (const [name, tensor] of [["key", key], ["value", value]] as const) {
      const [b, h, s, d] = tensor.shape;
      if (tensor.shape.length !== 4 || b !== batch || h !== keyValueHeads || s !== tokens || d !== headDim) {
        throw new Error(`present ${name} of layer ${layer} has shape (${tensor.shape.join(", ")}); expected (${batch}, ${keyValueHeads}, ${tokens}, ${headDim}) = (B, nkv, S, hs)`);
      }
    }
  });
  if (batch !== 1) throw new Error(`the present keys hold a batch of ${batch}; a comparison runs one sequence`);
  return { layers: present.length, keyValueHeads, tokens, headDim, bytesPerNumber };
}

/** 2 (keys and values) x layers x nkv x tokens x hs x bytes per number. */
export function keyValueBytesByFormula(shape: KeyValueShape): number {
  return 2 * shape.layers * shape.keyValueHeads * shape.tokens * shape.headDim * shape.bytesPerNumber;
}

export interface KeyValueMemory {
  shape: KeyValueShape;
  /** Counted from the tensors. */
  bytes: number;
  /** bytes / tokens. */
  bytesPerToken: number;
}

/** The KV memory of one run, counted from its tensors; throws if the count and the formula disagree. */
export function keyValueMemory(present: readonly PresentKeyValue[], bytesPerNumber = FLOAT32_BYTES): KeyValueMemory {
  const shape = keyValueShapeOf(present, bytesPerNumber);
  const bytes = keyValueBytesOfTensors(present, bytesPerNumber);
  const formula = keyValueBytesByFormula(shape);
  if (bytes !== formula) throw new Error(`the present keys and values hold ${bytes} bytes, but 2 x L x nkv x S x hs x ${bytesPerNumber} = ${formula}`);
  return { shape, bytes, bytesPerToken: shape.tokens === 0 ? 0 : bytes / shape.tokens };
}

/** "2.1 MB", "48 kB", "512 B" (decimal units, like formatBytes of model-loading.ts, with more digits). */
export function formatKeyValueBytes(bytes: number): string {
  if (bytes >= 1e6) return `${(bytes / 1e6).toFixed(2)} MB`;
  if (bytes >= 1e3) return `${(bytes / 1e3).toFixed(1)} kB`;
  return `${bytes} B`;
}
