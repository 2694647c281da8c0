/**
 * Attention masks, written the way they enter the softmax: additive, 0 where a query may look and
 * -Infinity where it may not. Adding -Infinity to a score makes exp(score) exactly 0, so a masked key
 * gets exactly zero weight; a row where every key is masked becomes all zeros (see `softmax`).
 *
 * Shape legend: B batch, T new (query) tokens, S = past + T key slots.
 *
 * Slots, not positions: row i of the causal mask is the query in slot `S - T + i` (the tokens already
 * in the KV cache come first), and it may see key slots 0 ..= S - T + i. With left padding the slot
 * of a token is not its position in the sentence; RoPE uses positions (see `left-padding.ts`), the
 * causal mask uses slots, and the padding mask removes the pad slots.
 */

import { add } from "./tensor-operations";
import { ShapeError, Tensor } from "./tensor";
import type { TokenMask } from "./left-padding";

/** The additive value of a blocked query-key pair. */
export const BLOCKED = -Infinity;

/**
 * Causal mask: (T, S). Query row i sits in slot S - T + i and may attend to slots <= its own.
 *
 *   T = 3, S = 5 (2 tokens already cached):   0   0   0  -inf -inf
 *                                             0   0   0   0   -inf
 *                                             0   0   0   0    0
 */
export function causalMask(queryLength: number, keyLength: number): Tensor {
  if (queryLength > keyLength) {
    throw new ShapeError(`causalMask: ${queryLength} queries cannot be more than the ${keyLength} keys they attend to`);
  }
  const pastLength = keyLength - queryLength;
  return Tensor.fromFunction([queryLength, keyLength], ([query, key]) =>
    key <= pastLength + query ? 0 : BLOCKED,
  );
}

/**
 * Padding mask: (B, 1, 1, S) from a token mask (B, S) holding 1 for a real token and 0 for a pad.
 * The two middle axes of size 1 broadcast over heads and query rows: a pad key is hidden from every
 * query of its sequence.
 */
export function paddingMask(keyMask: TokenMask): Tensor {
  const batchSize = keyMask.length;
  const keyLength = keyMask[0]?.length ?? 0;
  keyMask.forEach((row, index) => {
    if (row.length !== keyLength) {
      throw new ShapeError(`paddingMask: row ${index} has ${row.length} entries but row 0 has ${keyLength}`);
    }
  });
  return Tensor.fromFunction([batchSize, 1, 1, keyLength], ([batch, , , key]) =>
    keyMask[batch][key] === 0 ? BLOCKED : 0,
  );
}

/** Combines additive masks by adding them (with broadcasting): blocked in either means blocked. */
export function combineMasks(first: Tensor, ...others: Tensor[]): Tensor {
  return others.reduce((combined, mask) => add(combined, mask), first);
}
