/**
 * Value-weighted attention (Kobayashi et al. 2020, "Attention is Not Only a Weight: Analyzing
 * Transformers with Vector Norms"): how much each key token actually adds to a query's output, not
 * only how much weight it is given.
 *
 * Attention's output for query i is a sum over heads and keys, each head's part projected by its
 * own block of columns of o_proj:
 *
 *   out_i = Σ_h Σ_j a^h_ij · W_O^h v^{kv(h)}_j   (+ o_proj's bias, which belongs to no key)
 *
 * One term, key j through head h, is the vector a^h_ij · W_O^h v_j; its length is
 *
 *   valueWeighted^h_ij = ‖a^h_ij · W_O^h v^{kv(h)}_j‖ = a^h_ij · ‖W_O^h v^{kv(h)}_j‖
 *
 * where
 *
 *   a^h_ij       the attention weight of query head h, query i, key j (softmax output, >= 0)
 *   v^g_j  (hs)  key/value head g's value of token j, after v_proj's bias: what a KV cache holds
 *                (RoPE rotates queries and keys, never values)
 *   W_O^h  (C, hs)  columns h·hs .. (h+1)·hs - 1 of o_proj's weight (C, nh·hs): the part of the
 *                output projection that reads head h
 *   kv(h)        floor(h / (nh / nkv)): the key/value head query head h reads. With GQA several
 *                query heads read the same v_j but each through its own W_O^h, so their norms differ:
 *
 *                  nh = 4, nkv = 2:  query heads 0 1 | 2 3 read values [V0, V0, V1, V1]
 *
 * A key with a large weight but a short transformed value adds little: an attention "sink" (often
 * <|bos|>, taking most of the weight while its value vector is near zero) fades in this view. The
 * norms ‖W_O^h v_j‖ depend on the head and the key, not the query: (nh, T) numbers per layer.
 *
 * Computing them: ‖W v‖² = vᵀ (Wᵀ W) v. The Gram matrix G_h = W_O^hᵀ W_O^h (hs, hs) is formed once
 * per head (C · hs² work), then every token costs hs² instead of C · hs: C / hs times less (14x for
 * a 0.5B Qwen2, C 896, hs 64), which keeps a long text of a real model within a second.
 *
 * Shape legend: nh query heads, nkv key/value heads, T tokens (the keys), hs head size, C model width.
 */

import { assertShape, ShapeError, Tensor } from "./tensor";

/** The key/value head query head `head` reads: floor(head / (nh / nkv)), as in repeat_kv. */
export function valueHeadOf(head: number, heads: number, keyValueHeads: number): number {
  return Math.floor(head / (heads / keyValueHeads));
}

/**
 * o_proj's weight (C, nh·hs) -> each head's Gram matrix G_h = W_O^hᵀ W_O^h, (nh, hs, hs):
 * G_h[d][e] = Σ_c W[c][h·hs + d] · W[c][h·hs + e], accumulated in float64.
 */
export function outputProjectionGram(outputWeight: Tensor, heads: number): Tensor {
  assertShape(outputWeight, [null, null], "outputProjectionGram outputWeight", ["C", "nh * hs"]);
  const [width, features] = outputWeight.shape;
  if (!(Number.isInteger(heads) && heads >= 1) || features % heads !== 0) {
    throw new ShapeError(`outputProjectionGram: o_proj's ${features} input features do not split into ${heads} heads`);
  }
  const headDim = features / heads;
  const gram = new Float32Array(heads * headDim * headDim);
  const sums = new Float64Array(headDim * headDim);
  for (let head = 0; head < heads; head++) {
    sums.fill(0);
    for (let row = 0; row < width; row++) {
      const block = row * features + head * headDim; // W[row][h·hs ..]
      for (let d = 0; d < headDim; d++) {
        const wd = outputWeight.data[block + d];
        if (wd === 0) continue;
        for (let e = d; e < headDim; e++) sums[d * headDim + e] += wd * outputWeight.data[block + e];
      }
    }
    const offset = head * headDim * headDim;
    for (let d = 0; d < headDim; d++) {
      for (let e = d; e < headDim; e++) {
        gram[offset + d * headDim + e] = sums[d * headDim + e];
        gram[offset + e * headDim + d] = sums[d * headDim + e]; // symmetric
      }
    }
  }
  return new Tensor(gram, [heads, headDim, headDim]); // (nh, hs, hs)
}

/**
 * The length of every value vector after its head's part of o_proj:
 * values (nkv, T, hs) and o_proj's weight (C, nh·hs) -> norms (nh, T), norms[h][j] = ‖W_O^h v^{kv(h)}_j‖.
 * `gram`: outputProjectionGram(outputWeight, nh), when the caller keeps it for the layer.
 */
export function valueVectorNorms(values: Tensor, outputWeight: Tensor, heads: number, gram?: Tensor): Tensor {
  assertShape(values, [null, null, null], "valueVectorNorms values", ["nkv", "T", "hs"]);
  const [keyValueHeads, tokens, headDim] = values.shape;
  if (!(heads >= 1 && keyValueHeads >= 1) || heads % keyValueHeads !== 0) {
    throw new ShapeError(`valueVectorNorms: ${heads} query heads cannot share ${keyValueHeads} key/value heads evenly`);
  }
  assertShape(outputWeight, [null, heads * headDim], "valueVectorNorms outputWeight", ["C", "nh * hs"]);
  const grams = gram ?? outputProjectionGram(outputWeight, heads); // (nh, hs, hs)
  assertShape(grams, [heads, headDim, headDim], "valueVectorNorms gram", ["nh", "hs", "hs"]);
  const norms = new Float32Array(heads * tokens);
  for (let head = 0; head < heads; head++) {
    const g = valueHeadOf(head, heads, keyValueHeads);
    const gramOffset = head * headDim * headDim;
    for (let token = 0; token < tokens; token++) {
      const v = (g * tokens + token) * headDim; // v^g_token
      let squared = 0; // vᵀ G_h v
      for (let d = 0; d < headDim; d++) {
        const vd = values.data[v + d];
        if (vd === 0) continue;
        let row = 0;
        for (let e = 0; e < headDim; e++) row += grams.data[gramOffset + d * headDim + e] * values.data[v + e];
        squared += vd * row;
      }
      norms[head * tokens + token] = Math.sqrt(Math.max(0, squared)); // rounding can dip below 0
    }
  }
  return new Tensor(norms, [heads, tokens]); // (nh, T)
}

/**
 * weights (nh, T, T) and norms (nh, T) -> (nh, T, T): a^h_ij · ‖W_O^h v_j‖, every query row's
 * weight on key j scaled by key j's norm in that head. Not a probability: rows sum to the mean
 * length the keys bring, not to 1.
 */
export function valueWeightedAttention(weights: Tensor, norms: Tensor): Tensor {
  assertShape(weights, [null, null, null], "valueWeightedAttention weights", ["nh", "T", "T"]);
  const [heads, queries, keys] = weights.shape;
  assertShape(norms, [heads, keys], "valueWeightedAttention norms", ["nh", "T"]);
  const weighted = new Float32Array(weights.size);
  for (let head = 0; head < heads; head++) {
    for (let query = 0; query < queries; query++) {
      const row = (head * queries + query) * keys;
      for (let key = 0; key < keys; key++) weighted[row + key] = weights.data[row + key] * norms.data[head * keys + key];
    }
  }
  return new Tensor(weighted, [heads, queries, keys]); // (nh, T, T)
}
