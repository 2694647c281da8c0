/**
 * What the stages view's query · key section writes, as plain functions (unit-tested without a
 * browser): the names of q and k for the model's family, the steps from q ∘ k to the weight with the
 * numbers substituted, the heads grouped by the key/value head they read, the rows of features the
 * strips wrap into, and the strips' screen-reader text. The numbers come from a QueryKeyBreakdown
 * (src/attention/query-key-breakdown.ts).
 */

import type { HeadQueryKey, QueryKeyBreakdown } from "../../src/attention/query-key-breakdown";
import { formatNumber } from "../../src/attention/stage-formulas";
import type { DecoderConfig } from "../../src/model/config";

/** Features per row of the strips: hs = 16 fits one row; 64 and 128 wrap into 2 and 4. */
export const FEATURES_PER_ROW = 32;

/** What q and k are, for the model: after Qwen3's q/k norm where it has one, after RoPE where it uses it. */
export function vectorNames(config: Pick<DecoderConfig, "positionEncoding" | "queryKeyNorm">): { query: string; key: string } {
  const norm = config.queryKeyNorm;
  if (config.positionEncoding !== "rope") {
    return { query: norm ? "q after q_norm" : "q", key: norm ? "k after k_norm" : "k" };
  }
  return { query: norm ? "q after q_norm and RoPE" : "q after RoPE", key: norm ? "k after k_norm and RoPE" : "k after RoPE" };
}

/** The first and one-past-last feature of each row the strips wrap into. */
export function featureRows(headDim: number, perRow = FEATURES_PER_ROW): { start: number; end: number }[] {
  return Array.from({ length: Math.ceil(headDim / perRow) }, (_, row) => ({ start: row * perRow, end: Math.min(headDim, (row + 1) * perRow) }));
}

/** "q after RoPE, 16 features: 0.1234, -0.5, ...": a strip as a screen reader reads it. */
export function spokenStrip(name: string, values: readonly number[]): string {
  return `${name}, ${values.length} features: ${values.map(formatNumber).join(", ")}`;
}

/** The query heads of each key/value head, in order: nh = 8, nkv = 2 gives [0 1 2 3], [4 5 6 7]. */
export function headsByKeyValueHead(breakdown: QueryKeyBreakdown): { keyValueHead: number; heads: HeadQueryKey[] }[] {
  return Array.from({ length: breakdown.numKeyValueHeads }, (_, keyValueHead) => ({
    keyValueHead,
    heads: breakdown.heads.filter((head) => head.keyValueHead === keyValueHead),
  }));
}

/** One step from q ∘ k to the weight. */
export interface QueryKeyStep {
  /** For tests and styling: "score", "scaled", "masked", "weight". */
  name: "score" | "scaled" | "masked" | "weight";
  /** The step in symbols. */
  symbolic: string;
  /** The same with the numbers substituted, ending in "= result". */
  substituted: string;
  /** The library's number (the score: the sum of q ∘ k as matmul adds it, equal to the trace's). */
  result: number;
  /** A remark in words; absent when there is nothing to add. */
  note?: string;
}

/** Why a key is masked for this query: after it (causal), or too far before it (sliding window). */
function maskNote(breakdown: QueryKeyBreakdown): string {
  return breakdown.key > breakdown.querySlot
    ? `key ${breakdown.key} comes after query ${breakdown.query}: the causal mask hides it`
    : `key ${breakdown.key} is ${breakdown.querySlot - breakdown.key} slots before query ${breakdown.query}: outside the sliding window`;
}

/** The steps of one head: s = sum of q ∘ k, s / sqrt(hs), + mask, softmax with the row's m and Z. */
export function queryKeySteps(breakdown: QueryKeyBreakdown, cell: HeadQueryKey): QueryKeyStep[] {
  const f = formatNumber;
  const { headDim, scaleFactor, keyLength } = breakdown;
  const masked = cell.mask !== 0;
  const weight: QueryKeyStep =
    cell.rowMaximum === -Infinity
      ? {
          name: "weight",
          symbolic: "w = exp(s' - m) / Z",
          substituted: `every key of this row is masked: w = ${f(cell.weight)}`,
          result: cell.weight,
          note: "a fully masked row gives zeros (not 0 / 0 = NaN)",
        }
      : {
          name: "weight",
          symbolic: `w = exp(s' - m) / Z,  m = max_l s'_l = ${f(cell.rowMaximum)},  Z = sum_l exp(s'_l - m) = ${f(cell.exponentialSum)}  (${keyLength} keys)`,
          substituted: masked
            ? `exp(-inf) / ${f(cell.exponentialSum)} = 0 / ${f(cell.exponentialSum)} = ${f(cell.weight)}`
            : `exp(${f(cell.maskedScore)} - ${f(cell.rowMaximum)}) / ${f(cell.exponentialSum)} = ${f(cell.exponential)} / ${f(cell.exponentialSum)} = ${f(cell.weight)}`,
          result: cell.weight,
          note: "the softmax over the query's row, before dropout; subtracting m keeps exp from overflowing",
        };
  return [
    {
      name: "score",
      symbolic: `s = q . k = sum_i (q ∘ k)_i  (${headDim} terms)`,
      substituted: `sum of the ${headDim} products = ${f(cell.productSum)}`,
      result: cell.productSum,
    },
    {
      name: "scaled",
      symbolic: `s / sqrt(hs) = s x ${f(scaleFactor)},  hs = ${headDim}`,
      substituted: `${f(cell.rawScore)} x ${f(scaleFactor)} = ${f(cell.scaledScore)}`,
      result: cell.scaledScore,
    },
    {
      name: "masked",
      symbolic: "s' = s / sqrt(hs) + mask",
      substituted: `${f(cell.scaledScore)} + ${masked ? "(-inf)" : "0"} = ${f(cell.maskedScore)}`,
      result: cell.maskedScore,
      note: masked ? maskNote(breakdown) : undefined,
    },
    weight,
  ];
}
