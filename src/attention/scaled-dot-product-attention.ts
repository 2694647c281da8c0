/**
 * Scaled dot-product attention, the heart of it all:
 *
 *   Attention(Q, K, V) = softmax(Q K^T / sqrt(hs) + mask) V
 *
 * computed in named stages that are all returned, because showing them is the point of this
 * project: raw scores, scaled scores, the mask, masked scores, softmax weights, weights after
 * dropout, and the context vectors.
 *
 * Why divide by sqrt(hs)? If the hs features of q and k are independent with variance 1, their dot
 * product has variance hs. Large scores push softmax towards a one-hot vector whose gradients vanish;
 * dividing by sqrt(hs) brings the variance back to 1 whatever the head size.
 *
 * Shape legend: B batch, nh heads, T queries, S keys, hs head size.
 * Key and value must already have nh heads (grouped-query attention expands them first).
 */

import { dropoutMask } from "./dropout";
import { add, matmul, multiply, scale, softmax, transposeLastTwo } from "./tensor-operations";
import { assertShape, ShapeError, Tensor } from "./tensor";

/** Everything one attention forward computed, per head. */
export interface AttentionStages {
  /** Q after projection (and q/k norm and rotary, where the layer has them): (B, nh, T, hs). */
  query: Tensor;
  /** K as the heads read it (after q/k norm, rotary, cache and group expansion): (B, nh, S, hs). */
  key: Tensor;
  /** V as the heads read it: (B, nh, S, hs). */
  value: Tensor;
  /** Q K^T: (B, nh, T, S). */
  rawScores: Tensor;
  /** Q K^T / sqrt(hs): (B, nh, T, S). */
  scaledScores: Tensor;
  /** The additive mask that was added (0 or -Infinity), broadcastable to (B, nh, T, S); undefined if none. */
  mask: Tensor | undefined;
  /** Scaled scores plus mask: (B, nh, T, S). */
  maskedScores: Tensor;
  /** softmax over keys: (B, nh, T, S); rows sum to 1, or are all 0 when every key is masked. */
  weights: Tensor;
  /** Weights after dropout (equal to `weights` outside training): (B, nh, T, S). */
  weightsAfterDropout: Tensor;
  /** Weighted sum of values: (B, nh, T, hs). */
  context: Tensor;
}

export interface DropoutSettings {
  /** Probability of dropping a weight, in [0, 1). */
  rate: number;
  /** Seed of the generator that picks the dropped weights. */
  seed: number;
}

export interface ScaledDotProductOptions {
  /** Additive mask broadcastable to (B, nh, T, S). */
  mask?: Tensor;
  /** Dropout on the weights; pass it only in training mode. */
  dropout?: DropoutSettings;
}

export function scaledDotProductAttention(
  query: Tensor,
  key: Tensor,
  value: Tensor,
  options: ScaledDotProductOptions = {},
): AttentionStages {
  assertShape(query, [null, null, null, null], "scaledDotProductAttention query", ["B", "nh", "T", "hs"]);
  const [batchSize, heads, , headDim] = query.shape;
  assertShape(key, [batchSize, heads, null, headDim], "scaledDotProductAttention key", ["B", "nh", "S", "hs"]);
  assertShape(value, [batchSize, heads, key.shape[2], null], "scaledDotProductAttention value", ["B", "nh", "S", "hs"]);
  if (headDim === 0) throw new ShapeError("scaledDotProductAttention: the head size must be at least 1");

  const rawScores = matmul(query, transposeLastTwo(key)); // (B, nh, T, hs) x (B, nh, hs, S) -> (B, nh, T, S)
  const scaledScores = scale(rawScores, 1 / Math.sqrt(headDim)); // (B, nh, T, S)
  const maskedScores = options.mask ? add(scaledScores, options.mask) : scaledScores; // (B, nh, T, S)
  if (maskedScores.rank !== 4 || maskedScores.shape.some((size, axis) => size !== scaledScores.shape[axis])) {
    throw new ShapeError(`scaledDotProductAttention: the mask ${options.mask} widened the scores ${scaledScores} to ${maskedScores}`);
  }
  const weights = softmax(maskedScores); // (B, nh, T, S), each row sums to 1 (or is all 0)
  const weightsAfterDropout = options.dropout // (B, nh, T, S)
    ? multiply(weights, dropoutMask(weights.shape, options.dropout.rate, options.dropout.seed))
    : weights;
  const context = matmul(weightsAfterDropout, value); // (B, nh, T, S) x (B, nh, S, hs) -> (B, nh, T, hs)
  return {
    query,
    key,
    value,
    rawScores,
    scaledScores,
    mask: options.mask,
    maskedScores,
    weights,
    weightsAfterDropout,
    context,
  };
}
