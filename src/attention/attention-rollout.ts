/**
 * Attention rollout (Abnar and Zuidema 2020, "Quantifying Attention Flow in Transformers"): how much
 * of each input token reaches each position after several layers, following the attention weights
 * through the layers instead of looking at one layer alone.
 *
 * A layer's attention mixes the tokens, but the residual connection also carries every token's own
 * state past the attention unchanged. Rollout models one layer as half attention, half identity,
 * with the heads averaged:
 *
 *   Â_l = 0.5 · mean_h(A_l,h) + 0.5 · I        (T, T), then every row divided by its sum
 *
 * and chains the layers by matrix products, the latest layer on the LEFT:
 *
 *   rollout_0 = Â_0
 *   rollout_l = Â_l · rollout_{l-1} = Â_l · Â_{l-1} ⋯ Â_0
 *
 * Row i of rollout_l is query token i at the output of layer l, column j is input token j (the
 * embedding that entered layer 0): rollout_l[i][j] = Σ_k Â_l[i][k] · rollout_{l-1}[k][j], the share
 * of token i's state after layer l that came from input token j through any path of attention and
 * residual steps. The same layout as one attention map (query rows, key columns), so the views draw
 * it like one.
 *
 *   T = 2, one layer:  A = [[1, 0], [0.6, 0.4]]  ->  Â = [[1, 0], [0.3, 0.7]]
 *   two such layers:   Â · Â = [[1, 0], [0.3 + 0.7 · 0.3, 0.7 · 0.7]] = [[1, 0], [0.51, 0.49]]
 *
 * Every Â_l is row-stochastic (entries >= 0, rows summing to 1), so every rollout_l is too: its rows
 * read like attention rows. Causal maps are lower triangular, and products of lower triangular
 * matrices are too: no token receives anything from a later one, at any depth.
 *
 * What it leaves out: the values and o_proj (value-weighted-attention.ts has them, for one layer),
 * the MLPs and the norms. The 0.5 / 0.5 split stands in for the residual stream; it is a heuristic
 * picture of information flow, not a measurement of it.
 *
 * Shape legend: L layers, nh query heads, T tokens.
 */

import { assertShape, ShapeError, Tensor } from "./tensor";

/** The share of the identity (the residual connection) in Â_l: 0.5 in Abnar and Zuidema. */
export const ROLLOUT_RESIDUAL_SHARE = 0.5;

/** (nh, T, T) one layer's attention weights -> (T, T) their mean over the heads. */
export function meanOverHeads(weights: Tensor): Tensor {
  assertShape(weights, [null, null, null], "meanOverHeads weights", ["nh", "T", "T"]);
  const [heads, tokens, keys] = weights.shape;
  if (keys !== tokens) throw new ShapeError(`meanOverHeads: maps of ${tokens} queries over ${keys} keys; rollout needs the square (T, T) maps of a prefill`);
  const size = tokens * tokens;
  const mean = new Float32Array(size);
  for (let head = 0; head < heads; head++) {
    for (let index = 0; index < size; index++) mean[index] += weights.data[head * size + index];
  }
  for (let index = 0; index < size; index++) mean[index] /= heads;
  return new Tensor(mean, [tokens, tokens]); // (T, T)
}

/**
 * (T, T) head-averaged weights -> Â = share · I + (1 - share) · A, each row divided by its sum.
 * A row of A that sums to 1 already sums to 1 after; the division keeps rows exact when A's do not
 * (rounding, maps kept at 8 bits). A fully masked row of zeros becomes the identity's row.
 */
export function residualAdjusted(meanWeights: Tensor, residualShare = ROLLOUT_RESIDUAL_SHARE): Tensor {
  assertShape(meanWeights, [null, null], "residualAdjusted meanWeights", ["T", "T"]);
  const [tokens, keys] = meanWeights.shape;
  if (keys !== tokens) throw new ShapeError(`residualAdjusted: a (${tokens}, ${keys}) map is not square`);
  if (!(residualShare > 0 && residualShare <= 1)) throw new RangeError(`residualAdjusted: the residual share must be in (0, 1], got ${residualShare}`);
  const adjusted = new Float32Array(tokens * tokens);
  for (let query = 0; query < tokens; query++) {
    const row = query * tokens;
    let sum = 0;
    for (let key = 0; key < tokens; key++) {
      const value = (1 - residualShare) * meanWeights.data[row + key] + (key === query ? residualShare : 0);
      adjusted[row + key] = value;
      sum += value;
    }
    for (let key = 0; key < tokens; key++) adjusted[row + key] /= sum; // sum >= residualShare > 0
  }
  return new Tensor(adjusted, [tokens, tokens]); // (T, T)
}

/**
 * (T, T) x (T, T) -> (T, T): `left · right`, accumulated in float64. Skips the zeros of `left` and
 * the zero tail of each row of `right`: for causal (lower triangular) maps that is T³ / 6
 * multiply-adds instead of T³ (0.2 s rather than 1 s per layer at T = 512).
 */
export function chainMaps(left: Tensor, right: Tensor): Tensor {
  assertShape(left, [null, null], "chainMaps left", ["T", "T"]);
  const tokens = left.shape[0];
  assertShape(left, [tokens, tokens], "chainMaps left", ["T", "T"]);
  assertShape(right, [tokens, tokens], "chainMaps right", ["T", "T"]);
  // Where each row of `right` ends: its last nonzero column + 1.
  const rowEnd = new Int32Array(tokens);
  for (let row = 0; row < tokens; row++) {
    let end = tokens;
    while (end > 0 && right.data[row * tokens + end - 1] === 0) end--;
    rowEnd[row] = end;
  }
  const product = new Float32Array(tokens * tokens);
  const accumulator = new Float64Array(tokens);
  for (let query = 0; query < tokens; query++) {
    accumulator.fill(0);
    for (let middle = 0; middle < tokens; middle++) {
      const weight = left.data[query * tokens + middle];
      if (weight === 0) continue;
      const offset = middle * tokens;
      for (let key = 0; key < rowEnd[middle]; key++) accumulator[key] += weight * right.data[offset + key];
    }
    for (let key = 0; key < tokens; key++) product[query * tokens + key] = accumulator[key];
  }
  return new Tensor(product, [tokens, tokens]); // (T, T)
}

/**
 * Rollout layer by layer, as a decoder hands its maps over: `add(layer l's (nh, T, T) weights)`
 * returns rollout_l (T, T). Keeps only the last product.
 */
export class AttentionRollout {
  private previous: Tensor | undefined;
  private added = 0;

  constructor(readonly residualShare = ROLLOUT_RESIDUAL_SHARE) {}

  /** Layers added so far. */
  get layers(): number {
    return this.added;
  }

  /** Layer `this.layers`'s weights (nh, T, T) -> rollout through it, (T, T). */
  add(weights: Tensor): Tensor {
    const adjusted = residualAdjusted(meanOverHeads(weights), this.residualShare); // Â_l (T, T)
    if (this.previous && this.previous.shape[0] !== adjusted.shape[0]) {
      throw new ShapeError(`AttentionRollout: layer ${this.added} has ${adjusted.shape[0]} tokens, the layers before ${this.previous.shape[0]}`);
    }
    const rollout = this.previous ? chainMaps(adjusted, this.previous) : adjusted; // Â_l · rollout_{l-1}
    this.previous = rollout;
    this.added += 1;
    return rollout;
  }
}

/** Every layer's (nh, T, T) weights, in order -> rollout_0 .. rollout_{L-1}, each (T, T). */
export function attentionRollout(layers: readonly Tensor[], residualShare = ROLLOUT_RESIDUAL_SHARE): Tensor[] {
  const rollout = new AttentionRollout(residualShare);
  return layers.map((weights) => rollout.add(weights));
}
