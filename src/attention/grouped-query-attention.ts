/**
 * Grouped-query attention (GQA): fewer key/value heads than query heads. The nh query heads are cut
 * into nkv groups; the heads of one group all read the same key/value head.
 *
 *   nh = 8, nkv = 2:   query heads  0 1 2 3 | 4 5 6 7
 *                      read K/V     K0      | K1
 *
 * The result is multi-head attention whose K and V projections (and KV cache) are nh / nkv times
 * smaller. nkv = nh is multi-head attention; nkv = 1 is multi-query attention (MQA).
 *
 * Over MultiHeadAttention this class adds one named step, `expandKeyValueHeads`: K and V are
 * computed (and cached) with nkv heads, then repeated so each query head finds its own copy.
 */

import { MultiHeadAttention, type MultiHeadAttentionSettings, type MultiHeadAttentionWeights } from "./multi-head-attention";
import type { AttentionSettings, HeadLayout, SelfAttentionWeights } from "./self-attention";
import { repeatInterleave } from "./tensor-operations";
import { assertShape, ShapeError, Tensor } from "./tensor";

export interface GroupedQueryAttentionSettings extends MultiHeadAttentionSettings {
  /** nkv: key/value heads; must divide numHeads. 1 gives multi-query attention. */
  numKeyValueHeads: number;
}

/**
 * Repeats every key/value head `groupSize` times, next to itself: (B, nkv, S, hs) -> (B, nkv * g, S, hs).
 *
 *   [K0, K1] with g = 2 -> [K0, K0, K1, K1]     (not [K0, K1, K0, K1])
 *
 * so query head h reads K/V head floor(h / g). Equal to Hugging Face's `repeat_kv` and to
 * `torch.repeat_interleave(x, g, dim=1)`.
 */
export function repeatKeyValueHeads(keyOrValue: Tensor, groupSize: number): Tensor {
  assertShape(keyOrValue, [null, null, null, null], "repeatKeyValueHeads", ["B", "nkv", "S", "hs"]);
  if (groupSize === 1) return keyOrValue;
  return repeatInterleave(keyOrValue, groupSize, 1); // (B, nkv, S, hs) -> (B, nh, S, hs)
}

export class GroupedQueryAttention extends MultiHeadAttention {
  constructor(weights: MultiHeadAttentionWeights, settings: GroupedQueryAttentionSettings) {
    super(weights, settings);
  }

  /** Query heads that share one key/value head: g = nh / nkv. */
  get groupSize(): number {
    return this.layout.numHeads / this.layout.numKeyValueHeads;
  }

  /** The key/value head that query head `head` reads. */
  keyValueHeadOf(head: number): number {
    return Math.floor(head / this.groupSize);
  }

  protected override describeHeads(weights: SelfAttentionWeights, settings: AttentionSettings): HeadLayout {
    const layout = super.describeHeads(weights, settings);
    const { numKeyValueHeads } = settings as GroupedQueryAttentionSettings;
    if (!Number.isInteger(numKeyValueHeads) || numKeyValueHeads < 1) {
      throw new ShapeError(`${this.name}: numKeyValueHeads must be a positive integer, got ${numKeyValueHeads}`);
    }
    if (layout.numHeads % numKeyValueHeads !== 0) {
      throw new ShapeError(
        `${this.name}: numKeyValueHeads (${numKeyValueHeads}) must divide numHeads (${layout.numHeads}) so every group has the same number of query heads`,
      );
    }
    return { ...layout, numKeyValueHeads };
  }

  protected override expandKeyValueHeads(keyOrValue: Tensor): Tensor {
    return repeatKeyValueHeads(keyOrValue, this.groupSize); // (B, nkv, S, hs) -> (B, nh, S, hs)
  }
}
