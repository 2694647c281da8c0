/**
 * The formula of each attention stage with the real numbers of one cell substituted:
 *
 *   raw score       s_j = q . k_j = (0.41)(-1.2) + (0.03)(0.88) + ... = 3.217
 *   scaled          3.217 / sqrt(16) = 3.217 / 4 = 0.8043
 *   masked          0.8043 + 0 = 0.8043            (or + -inf: the key is in the future, a pad, or outside a sliding window)
 *   softmax         exp(0.8043 - 1.92) / sum_j exp(s_j - 1.92) = 0.3276 / 4.117 = 0.07957
 *   dropout         0.07957 x 1 / (1 - 0.1) = 0.08841   (kept)   or   0.07957 x 0 = 0   (dropped)
 *   context         o_i = sum_j w_j v_j[i] = (0.0796)(1.3) + ... = 0.52
 *
 * The `result` of each formula is the number the library computed for that cell (read from a
 * QueryTrace); the terms are recomputed here in float64 only to be shown, and they add up to the
 * result within float32 rounding (the tests check it).
 */

import type { QueryTrace, StageName } from "./stage-trace";
import { ShapeError, type Tensor } from "./tensor";

/** One stage's formula for one cell. */
export interface StageFormula {
  stage: StageName;
  /** The formula in symbols, e.g. "s_j = q . k_j". */
  symbolic: string;
  /** The same with this cell's numbers substituted, ending in "= result". */
  substituted: string;
  /** The library's number for this cell. */
  result: number;
  /** A remark in words, e.g. why the key is masked; absent when there is nothing to add. */
  note?: string;
}

export interface FormulaCell {
  /** The key column j of the selected cell. */
  key: number;
  /** The feature i of the context vector shown in the last stage (default 0). */
  feature?: number;
  /** The dropout rate the trace was taken with, 0 (or absent) at inference. */
  dropoutRate?: number;
  /**
   * Whether the key is a pad, from the batch's key mask: a masked key is then explained as padding.
   * Otherwise a masked key after the query's slot is the causal mask, and one before it lies outside
   * a sliding window.
   */
  keyIsPad?: boolean;
}

/** How many product terms of a dot product are written out before "...". */
export const SHOWN_TERMS = 3;

/** A number as the formulas write it: 4 significant digits, -inf for -Infinity. */
export function formatNumber(value: number): string {
  if (value === -Infinity) return "-inf";
  if (value === Infinity) return "inf";
  if (Number.isNaN(value)) return "NaN";
  if (value === 0) return "0";
  const magnitude = Math.abs(value);
  if (magnitude >= 1e5 || magnitude < 1e-4) return value.toExponential(3);
  return String(Number(value.toPrecision(4)));
}

/**
 * A matrix as aligned text, one row per line, every number with `digits` decimals (-inf as "-inf").
 * Takes a (rows, columns) tensor, or a bigger one whose leading axes are all 1, or nested arrays.
 */
export function formatMatrix(matrix: Tensor | readonly (readonly number[])[], digits = 3): string {
  let rows: number[][];
  if (Array.isArray(matrix)) {
    rows = matrix.map((row) => [...row]);
  } else {
    const tensor = matrix as Tensor;
    const leading = tensor.shape.slice(0, -2);
    if (tensor.rank < 2 || leading.some((size) => size !== 1)) {
      throw new ShapeError(`formatMatrix: expected (rows, columns) or (1, ..., 1, rows, columns), got ${tensor}`);
    }
    const [height, width] = tensor.shape.slice(-2);
    rows = Array.from({ length: height }, (_, row) => Array.from(tensor.data.subarray(row * width, (row + 1) * width)));
  }
  const written = (value: number) => {
    if (value === -Infinity) return "-inf";
    const fixed = value.toFixed(digits);
    return Number(fixed) === 0 ? (0).toFixed(digits) : fixed; // no "-0.000"
  };
  const cells = rows.map((row) => row.map(written));
  const width = Math.max(0, ...cells.flat().map((cell) => cell.length));
  return cells.map((row) => row.map((cell) => cell.padStart(width)).join(" ")).join("\n");
}

/** "(a)(b) + (c)(d) + ... " written out for the first SHOWN_TERMS products of a sum of n. */
function productSum(left: readonly number[], right: readonly number[]): string {
  const terms = left.slice(0, SHOWN_TERMS).map((value, index) => `(${formatNumber(value)})(${formatNumber(right[index])})`);
  const rest = left.length - SHOWN_TERMS;
  return rest > 0 ? `${terms.join(" + ")} + ... (${rest} more terms)` : terms.join(" + ");
}

/** The substituted formula of every stage for cell (query, key) of a QueryTrace. */
export function stageFormulas(trace: QueryTrace, cell: FormulaCell): StageFormula[] {
  const { key } = cell;
  const feature = cell.feature ?? 0;
  if (!Number.isInteger(key) || key < 0 || key >= trace.keyLength) {
    throw new RangeError(`stageFormulas: key ${key} does not exist; this row has ${trace.keyLength} keys (0 to ${trace.keyLength - 1})`);
  }
  if (!Number.isInteger(feature) || feature < 0 || feature >= trace.headDim) {
    throw new RangeError(`stageFormulas: feature ${feature} does not exist; the head has ${trace.headDim} (0 to ${trace.headDim - 1})`);
  }
  const f = formatNumber;
  const raw = trace.rawScores[key];
  const scaled = trace.scaledScores[key];
  const maskValue = trace.mask[key];
  const masked = trace.maskedScores[key];
  const weight = trace.weights[key];
  const dropped = trace.weightsAfterDropout[key];
  const rowMaximum = Math.max(...trace.maskedScores);
  const sqrtHeadDim = Math.sqrt(trace.headDim);

  const maskNote =
    maskValue === 0
      ? `key ${key} is visible to query ${trace.query}`
      : cell.keyIsPad
        ? `key ${key} is a pad token: the padding mask hides it from every query`
        : key > trace.querySlot
          ? `key ${key} comes after query ${trace.query}: the causal mask hides the future`
          : `key ${key} is ${trace.querySlot - key} slots before query ${trace.query}: outside the sliding window, the window mask hides it`;

  let softmax: StageFormula;
  if (trace.fullyMasked) {
    softmax = {
      stage: "weights",
      symbolic: "w_j = exp(s_j - m) / sum_l exp(s_l - m)",
      substituted: `every key of this row is masked: no key to attend to, w_${key} = 0`,
      result: weight,
      note: "a fully masked row gives zeros (not 0 / 0 = NaN)",
    };
  } else {
    const numerator = Math.exp(masked - rowMaximum);
    const denominator = trace.maskedScores.reduce((sum, score) => sum + Math.exp(score - rowMaximum), 0);
    softmax = {
      stage: "weights",
      symbolic: "w_j = exp(s_j - m) / sum_l exp(s_l - m),  m = max_l s_l",
      substituted: `exp(${f(masked)} - ${f(rowMaximum)}) / ${f(denominator)} = ${f(numerator)} / ${f(denominator)} = ${f(weight)}`,
      result: weight,
      note: "subtracting the row maximum m changes nothing but keeps exp from overflowing",
    };
  }

  const rate = cell.dropoutRate ?? 0;
  const dropout: StageFormula =
    rate === 0
      ? {
          stage: "weightsAfterDropout",
          symbolic: "dropout is the identity at inference",
          substituted: `${f(weight)} (no dropout) = ${f(dropped)}`,
          result: dropped,
          note: "dropout only happens while training",
        }
      : dropped === 0 && weight !== 0
        ? {
            stage: "weightsAfterDropout",
            symbolic: `w'_j = w_j x 0 (dropped, probability ${f(rate)})`,
            substituted: `${f(weight)} x 0 = 0`,
            result: dropped,
            note: "training only: this weight was dropped",
          }
        : {
            stage: "weightsAfterDropout",
            symbolic: `w'_j = w_j x 1 / (1 - p),  p = ${f(rate)}`,
            substituted: `${f(weight)} x 1 / (1 - ${f(rate)}) = ${f(dropped)}`,
            result: dropped,
            note: "training only: kept weights grow by 1 / (1 - p) so their expected value is unchanged",
          };

  const values = trace.valueVectors.map((vector) => vector[feature]);
  return [
    {
      stage: "rawScores",
      symbolic: `s_${key} = q . k_${key} = sum_i q_i k_${key},i  (${trace.headDim} terms)`,
      substituted: `${productSum(trace.queryVector, trace.keyVectors[key])} = ${f(raw)}`,
      result: raw,
    },
    {
      stage: "scaledScores",
      symbolic: `s_${key} / sqrt(hs),  hs = ${trace.headDim}`,
      substituted: `${f(raw)} / sqrt(${trace.headDim}) = ${f(raw)} / ${f(sqrtHeadDim)} = ${f(scaled)}`,
      result: scaled,
    },
    {
      stage: "maskedScores",
      symbolic: `s_${key} / sqrt(hs) + mask_${key}`,
      substituted: `${f(scaled)} + ${maskValue === 0 ? "0" : "(-inf)"} = ${f(masked)}`,
      result: masked,
      note: maskNote,
    },
    softmax,
    dropout,
    {
      stage: "context",
      symbolic: `o_${feature} = sum_j w'_j v_j,${feature}  (${trace.keyLength} keys)`,
      substituted: `${productSum(trace.weightsAfterDropout, values)} = ${f(trace.context[feature])}`,
      result: trace.context[feature],
    },
  ];
}
