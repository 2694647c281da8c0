/**
 * Splitting the model width into heads and merging it back.
 *
 * A projection gives every token one long vector of nh * hs features. Multi-head attention reads it
 * as nh separate vectors of hs features, one per head, and moves the head axis before the token axis
 * so that every head becomes an independent (T, hs) matrix:
 *
 *   (B, T, nh * hs) -> view (B, T, nh, hs) -> transpose (B, nh, T, hs)
 */

import { permute } from "./tensor-operations";
import { assertShape, ShapeError, Tensor } from "./tensor";

/** (B, T, heads * hs) -> (B, heads, T, hs). */
export function splitHeads(x: Tensor, heads: number): Tensor {
  assertShape(x, [null, null, null], "splitHeads x", ["B", "T", "heads * hs"]);
  const [batchSize, length, width] = x.shape;
  if (width % heads !== 0) {
    throw new ShapeError(`splitHeads: ${width} features do not split into ${heads} heads`);
  }
  return permute(x.reshape([batchSize, length, heads, width / heads]), [0, 2, 1, 3]); // (B, heads, T, hs)
}

/** (B, heads, T, hs) -> (B, T, heads * hs): the inverse of splitHeads. */
export function mergeHeads(x: Tensor): Tensor {
  assertShape(x, [null, null, null, null], "mergeHeads x", ["B", "heads", "T", "hs"]);
  const [batchSize, heads, length, headDim] = x.shape;
  return permute(x, [0, 2, 1, 3]).reshape([batchSize, length, heads * headDim]); // (B, T, heads * hs)
}
