/**
 * One query and one key, head by head: how a raw score is made (BertViz's "neuron view").
 *
 *   s = q . k = sum_i q_i k_i        the elementwise product q ∘ k, summed over the hs features
 *   s' = s / sqrt(hs) + mask         scaled, then masked (0, or -inf for a key the query may not see)
 *   w = exp(s' - m) / Z              softmax over the query's row: m = max_l s'_l, Z = sum_l exp(s'_l - m)
 *
 * `queryKeyBreakdown` reads a layer's stage trace (`AttentionStages`, one per layer from
 * `DecoderModel.forward(ids, { trace: true })`) at one (query, key) cell for every query head. q and
 * k are the vectors the scores were computed from: after the projection, Qwen3's q/k norm where the
 * model has it, and RoPE (for RoPE models). The trace's keys are already expanded to one per query
 * head, so query head h shows the key of the K/V head it reads, floor(h / (nh / nkv)):
 *
 *   nh = 8, nkv = 2:   query heads  0 1 2 3 | 4 5 6 7
 *                      read K/V     K0      | K1
 *
 * As in stage-formulas.ts, the results are the library's own numbers (raw score, scaled, masked,
 * weight, copied from the trace); what is computed here are the terms that show how they came about:
 * the products q_i k_i, their sum (accumulated in float32 in the order `matmul` adds them, so it is
 * the raw score), and the softmax's row maximum m, exp(s' - m) and Z (in float64, as `softmax`
 * computes them, so exp(s' - m) / Z is the weight). The tests check both equalities.
 *
 * Shape legend: B batch, nh query heads, nkv key/value heads, T queries, S keys, hs head size.
 */

import type { AttentionStages } from "./scaled-dot-product-attention";
import { checkQuerySelection, maskRow } from "./stage-trace";
import { ShapeError, type Tensor } from "./tensor";

/** Which cell of a layer's trace to break down, for every head. */
export interface QueryKeySelection {
  /** Sequence in the batch (0 for a single text). */
  batch: number;
  /** Query row, 0 ..= T - 1. */
  query: number;
  /** Key slot, 0 ..= S - 1. */
  key: number;
}

/** One query head's q, k and the steps from q ∘ k to the softmax weight. */
export interface HeadQueryKey {
  /** Query head h. */
  head: number;
  /** The key/value head h reads: floor(h / (nh / nkv)). */
  keyValueHead: number;
  /** q of the selected query as the scores used it (after q norm and RoPE where the model has them), (hs). */
  query: number[];
  /** k of the selected key as this head read it (after k norm and RoPE), (hs). */
  key: number[];
  /** q_i k_i, (hs). */
  product: number[];
  /** sum_i q_i k_i, added up as `matmul` adds (float32 after every term): equal to `rawScore`. */
  productSum: number;
  /** The trace's raw score q . k. */
  rawScore: number;
  /** The trace's scaled score s / sqrt(hs). */
  scaledScore: number;
  /** The mask at this cell: 0, or -Infinity for a key this query may not see. */
  mask: number;
  /** The trace's scaled score plus mask: what softmax takes. */
  maskedScore: number;
  /** m: the largest masked score of the query's row (-Infinity when every key is masked). */
  rowMaximum: number;
  /** exp(maskedScore - m): the softmax's numerator (0 for a masked key). */
  exponential: number;
  /** Z = sum over the row's keys l of exp(maskedScore_l - m): the softmax's denominator (0 when every key is masked). */
  exponentialSum: number;
  /** The trace's softmax weight of this key in the query's row: exponential / Z (0 when every key is masked). */
  weight: number;
}

/** The selected (query, key) cell of one layer, for every query head. */
export interface QueryKeyBreakdown extends QueryKeySelection {
  /** hs. */
  headDim: number;
  /** 1 / sqrt(hs). */
  scaleFactor: number;
  /** nh. */
  numHeads: number;
  /** nkv. */
  numKeyValueHeads: number;
  /** Query heads per key/value head: nh / nkv. */
  groupSize: number;
  /** S. */
  keyLength: number;
  /** The key slot of the query, S - T + query: keys after it are the future. */
  querySlot: number;
  /** One entry per query head, in head order. */
  heads: HeadQueryKey[];
}

/**
 * Breaks down cell (query, key) of a layer's trace for every query head. `numKeyValueHeads` is the
 * model's nkv (the trace holds the keys already expanded to nh heads, so it cannot tell).
 */
export function queryKeyBreakdown(stages: AttentionStages, numKeyValueHeads: number, selection: QueryKeySelection): QueryKeyBreakdown {
  const { batch, query, key } = selection;
  checkQuerySelection(stages, { batch, head: 0, query });
  const [, numHeads, queryLength, keyLength] = stages.weights.shape; // (B, nh, T, S)
  const headDim = stages.query.shape[3]; // (B, nh, T, hs)
  if (!Number.isInteger(key) || key < 0 || key >= keyLength) {
    throw new ShapeError(`queryKeyBreakdown: key ${key} does not exist; the trace has ${keyLength} keys (0 to ${keyLength - 1})`);
  }
  if (!Number.isInteger(numKeyValueHeads) || numKeyValueHeads < 1 || numHeads % numKeyValueHeads !== 0) {
    throw new ShapeError(`queryKeyBreakdown: ${numKeyValueHeads} key/value heads do not divide the trace's ${numHeads} query heads`);
  }
  const groupSize = numHeads / numKeyValueHeads;

  const heads = Array.from({ length: numHeads }, (_, head): HeadQueryKey => {
    const queryVector = rowOf(stages.query, batch, head, query); // (hs)
    const keyVector = rowOf(stages.key, batch, head, key); // (hs), the copy of K/V head floor(head / g)
    const product = queryVector.map((value, feature) => value * keyVector[feature]); // (hs)
    const maskedRow = rowOf(stages.maskedScores, batch, head, query); // (S)
    const rowMaximum = Math.max(...maskedRow);
    const everyKeyMasked = rowMaximum === -Infinity;
    const exponentialSum = everyKeyMasked ? 0 : maskedRow.reduce((sum, score) => sum + Math.exp(score - rowMaximum), 0);
    const maskedScore = maskedRow[key];
    const mask = stages.mask ? maskRow(stages.mask, batch, head, query, keyLength)[key] : 0;
    return {
      head,
      keyValueHead: Math.floor(head / groupSize),
      query: queryVector,
      key: keyVector,
      product,
      productSum: float32Sum(product),
      rawScore: rowOf(stages.rawScores, batch, head, query)[key],
      scaledScore: rowOf(stages.scaledScores, batch, head, query)[key],
      mask,
      maskedScore,
      rowMaximum,
      exponential: everyKeyMasked ? 0 : Math.exp(maskedScore - rowMaximum),
      exponentialSum,
      weight: rowOf(stages.weights, batch, head, query)[key],
    };
  });

  return {
    batch,
    query,
    key,
    headDim,
    scaleFactor: 1 / Math.sqrt(headDim),
    numHeads,
    numKeyValueHeads,
    groupSize,
    keyLength,
    querySlot: keyLength - queryLength + query,
    heads,
  };
}

/**
 * sum_i terms_i as `matmul` adds a dot product: in order, the running sum stored as float32 after
 * every term (its output is a Float32Array). `matmul` skips the terms where q_i is 0; adding such a
 * term (0 or -0) changes nothing, so the sums agree to the bit.
 */
function float32Sum(terms: readonly number[]): number {
  let sum = 0;
  for (const term of terms) sum = Math.fround(sum + term);
  return sum;
}

/** Row (b, h, i, :) of a (B, nh, T, X) tensor as plain numbers. */
function rowOf(tensor: Tensor, batch: number, head: number, index: number): number[] {
  const [, heads, rows, width] = tensor.shape;
  const start = ((batch * heads + head) * rows + index) * width;
  return Array.from(tensor.data.subarray(start, start + width));
}
