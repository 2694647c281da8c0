/**
 * Attention weights -> a few levels of background colour in the editor.
 *
 * VS Code draws decorations by type, and each type has one fixed style; creating a type per token
 * would be slow. So the weights are put into `ATTENTION_BUCKETS` buckets, one decoration type each,
 * from faint to strong. Weights map to [0, 1] with the panel's own colour scales
 * (src/color-scale.ts: linear, sqrt, log on the fixed domain [0, 1]), so a colour means the same in
 * the editor and in the panel.
 *
 * Pure: no `vscode` import.
 */

import { scaleWeight } from "../color-scale";
import type { ColorScale } from "../protocol";
import type { OffsetRange } from "./selection-tokens";

/** How many decoration types carry the attention. */
export const ATTENTION_BUCKETS = 8;

/**
 * The bucket, 1..bucketCount, of a position t in [0, 1]; 0 (draw nothing) for t below half of the
 * first bucket, so that noise-level weights leave the text alone.
 */
export function bucketOfPosition(t: number, bucketCount = ATTENTION_BUCKETS): number {
  if (!(t >= 0.5 / bucketCount)) return 0;
  return Math.min(bucketCount, Math.max(1, Math.ceil(t * bucketCount)));
}

/** Background opacity of bucket b (1..bucketCount): from faint to 0.6, so text stays readable. */
export function bucketOpacity(bucket: number, bucketCount = ATTENTION_BUCKETS): number {
  return Math.round((0.08 + (0.52 * bucket) / bucketCount) * 1000) / 1000;
}

/** One range to draw: the token (or tokens, for pieces of one character) it stands for. */
export interface WeightedRange {
  /** The first token of the range. */
  tokenIndex: number;
  /** How many consecutive tokens share the range (more than 1 only for pieces of a character). */
  tokenCount: number;
  range: OffsetRange;
  /** The weight of the range: the sum over its tokens. */
  weight: number;
  /** 1..bucketCount. */
  bucket: number;
}

/**
 * The ranges to colour for one row of attention: `weights[i]` is the weight from the focused
 * token to token i. Tokens with an empty range (<|bos|>) are skipped; tokens that share one range
 * are drawn once with their summed weight, so no range is painted twice; ranges whose weight falls
 * into no bucket are left out.
 */
export function weightedRanges(
  ranges: readonly OffsetRange[],
  weights: readonly number[],
  scale: ColorScale,
  bucketCount = ATTENTION_BUCKETS,
): WeightedRange[] {
  const result: WeightedRange[] = [];
  const count = Math.min(ranges.length, weights.length);
  for (let index = 0; index < count; ) {
    const range = ranges[index];
    let weight = 0;
    let tokenCount = 0;
    while (index + tokenCount < count && sameRange(ranges[index + tokenCount], range)) {
      const tokenWeight = weights[index + tokenCount];
      if (Number.isFinite(tokenWeight)) weight += tokenWeight;
      tokenCount++;
    }
    const bucket = range[0] < range[1] ? bucketOfPosition(scaleWeight(weight, scale), bucketCount) : 0;
    if (bucket > 0) result.push({ tokenIndex: index, tokenCount, range, weight, bucket });
    index += tokenCount;
  }
  return result;
}

function sameRange(a: OffsetRange, b: OffsetRange): boolean {
  return a[0] === b[0] && a[1] === b[1];
}
