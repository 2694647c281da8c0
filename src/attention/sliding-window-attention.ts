/**
 * Sliding-window attention (as in Mistral, and Qwen2's sliding layers): each query sees at most the
 * `window` most recent key slots, itself included. It is grouped-query attention with one more mask,
 * and shows how to extend the library: override one step (`buildMask`) and keep everything else.
 *
 * The window counts slots, as transformers does: with a KV cache a decoding query in slot S - 1
 * sees slots S - window ..= S - 1, and a left-padded batch's pads take slots too (the padding
 * mask hides them). The cache keeps every slot, so the weights still span all S keys, with
 * exact zeros outside the window.
 *
 *   window = 2, T = S = 4:   0    -inf -inf -inf
 *                            0    0    -inf -inf
 *                            -inf 0    0    -inf
 *                            -inf -inf 0    0
 */

import { GroupedQueryAttention, type GroupedQueryAttentionSettings } from "./grouped-query-attention";
import { BLOCKED, combineMasks } from "./masks";
import type { MultiHeadAttentionWeights } from "./multi-head-attention";
import type { MaskRequest } from "./self-attention";
import { Tensor } from "./tensor";

export interface SlidingWindowSettings extends GroupedQueryAttentionSettings {
  /** How many of the most recent key slots (the query's own included) a query may see. */
  window: number;
}

/**
 * (T, S): query row i (slot S - T + i) may see the slots in (its slot - window, its slot]: the
 * causal mask with everything older than the window blocked too.
 */
export function slidingWindowMask(queryLength: number, keyLength: number, window: number): Tensor {
  const pastLength = keyLength - queryLength;
  return Tensor.fromFunction([queryLength, keyLength], ([query, key]) => {
    const distance = pastLength + query - key; // how many slots back the key is
    return distance >= 0 && distance < window ? 0 : BLOCKED;
  });
}

export class SlidingWindowAttention extends GroupedQueryAttention {
  readonly window: number;

  constructor(weights: MultiHeadAttentionWeights, settings: SlidingWindowSettings) {
    super(weights, settings);
    if (!Number.isInteger(settings.window) || settings.window < 1) {
      throw new RangeError(`SlidingWindowAttention: window must be a positive integer, got ${settings.window}`);
    }
    this.window = settings.window;
  }

  protected override buildMask(request: MaskRequest): Tensor | undefined {
    const window = slidingWindowMask(request.queryLength, request.keyLength, this.window); // (T, S)
    const others = super.buildMask(request); // (B, 1, T, S), causal and padding
    return others ? combineMasks(others, window) : window;
  }
}
