/**
 * Reading a stage trace one query at a time.
 *
 * `scaledDotProductAttention` returns every stage as a (B, nh, T, S) tensor. A person learning
 * attention looks at one head and one query token: the row of S raw scores that query gave the keys,
 * the same row scaled by 1 / sqrt(hs), masked, turned into weights by softmax, thinned by dropout,
 * and the context vector the weights made from V. `traceQuery` cuts exactly that out of a trace,
 * copying the numbers the library computed (nothing is recomputed here).
 *
 * Dropout only happens while training, and a model's trace is taken at inference. To show what it
 * would do, `retraceWithDropout` runs `scaledDotProductAttention` again on the traced Q, K, V and
 * mask with a dropout rate and seed: the stages before dropout come out the same, the weights after
 * dropout and the context change.
 *
 * Shape legend: B batch, nh heads, T queries, S keys, hs head size.
 */

import { checkDropoutRate } from "./dropout";
import { type AttentionStages, type DropoutSettings, scaledDotProductAttention } from "./scaled-dot-product-attention";
import { ShapeError, type Tensor } from "./tensor";

/** The stages in the order they are computed. */
export const STAGE_NAMES = ["rawScores", "scaledScores", "maskedScores", "weights", "weightsAfterDropout", "context"] as const;
export type StageName = (typeof STAGE_NAMES)[number];

/** What each stage is, in words and as a formula, for labels. */
export const STAGE_DESCRIPTIONS: Readonly<Record<StageName, { title: string; formula: string }>> = {
  rawScores: { title: "Raw scores", formula: "Q K^T" },
  scaledScores: { title: "Scaled", formula: "Q K^T / sqrt(hs)" },
  maskedScores: { title: "Masked", formula: "Q K^T / sqrt(hs) + mask" },
  weights: { title: "Softmax weights", formula: "softmax(Q K^T / sqrt(hs) + mask)" },
  weightsAfterDropout: { title: "After dropout (training only)", formula: "dropout(weights)" },
  context: { title: "Weighted sum of V", formula: "weights V" },
};

/** Which row of a trace to read. */
export interface QuerySelection {
  /** Sequence in the batch (0 for a single text). */
  batch: number;
  /** Query head. */
  head: number;
  /** Query row, 0 ..= T - 1. */
  query: number;
}

/** One query's row of every stage, copied out of the trace. */
export interface QueryTrace extends QuerySelection {
  /** hs. */
  headDim: number;
  /** S. */
  keyLength: number;
  /** The key slot of this query, S - T + query (the cached tokens come first): keys after it are the future. */
  querySlot: number;
  /** 1 / sqrt(hs), the factor between raw and scaled scores. */
  scaleFactor: number;
  /** This query's vector q, (hs). */
  queryVector: number[];
  /** Every key vector k_j this head reads, (S, hs). */
  keyVectors: number[][];
  /** Every value vector v_j this head reads, (S, hs). */
  valueVectors: number[][];
  /** q . k_j, (S). */
  rawScores: number[];
  /** q . k_j / sqrt(hs), (S). */
  scaledScores: number[];
  /** The additive mask of this row, 0 or -Infinity, (S); all 0 when the trace had no mask. */
  mask: number[];
  /** Scaled scores plus mask, (S). */
  maskedScores: number[];
  /** Softmax weights, (S): sum to 1, or all 0 when every key is masked. */
  weights: number[];
  /** Weights after dropout (equal to `weights` without dropout), (S). */
  weightsAfterDropout: number[];
  /** Sum over j of weightsAfterDropout[j] v_j, (hs). */
  context: number[];
  /** True when every key of this row is masked (a pad query in a left-padded batch). */
  fullyMasked: boolean;
}

/** Checks a selection against the trace's (B, nh, T, S) and says which index is out of range. */
export function checkQuerySelection(stages: AttentionStages, selection: QuerySelection): void {
  const [batchSize, heads, queries] = stages.weights.shape;
  const check = (value: number, count: number, what: string) => {
    if (!Number.isInteger(value) || value < 0 || value >= count) {
      throw new ShapeError(`traceQuery: ${what} ${value} does not exist; the trace has ${count} (0 to ${count - 1})`);
    }
  };
  check(selection.batch, batchSize, "sequence");
  check(selection.head, heads, "head");
  check(selection.query, queries, "query token");
}

/** The numbers of one (batch, head, query) row of every stage. */
export function traceQuery(stages: AttentionStages, selection: QuerySelection): QueryTrace {
  checkQuerySelection(stages, selection);
  const { batch, head, query } = selection;
  const headDim = stages.query.shape[3];
  const keyLength = stages.key.shape[2];
  const queryLength = stages.weights.shape[2];
  const row = (tensor: Tensor) => rowOf(tensor, batch, head, query);
  const mask = stages.mask ? maskRow(stages.mask, batch, head, query, keyLength) : new Array<number>(keyLength).fill(0);
  const weights = row(stages.weights);
  return {
    batch,
    head,
    query,
    headDim,
    keyLength,
    querySlot: keyLength - queryLength + query,
    scaleFactor: 1 / Math.sqrt(headDim),
    queryVector: row(stages.query),
    keyVectors: Array.from({ length: keyLength }, (_, key) => rowOf(stages.key, batch, head, key)),
    valueVectors: Array.from({ length: keyLength }, (_, key) => rowOf(stages.value, batch, head, key)),
    rawScores: row(stages.rawScores),
    scaledScores: row(stages.scaledScores),
    mask,
    maskedScores: row(stages.maskedScores),
    weights,
    weightsAfterDropout: row(stages.weightsAfterDropout),
    context: row(stages.context),
    fullyMasked: mask.every((value) => value === -Infinity),
  };
}

/**
 * The same attention with dropout on the weights, as in training: scaledDotProductAttention again on
 * the traced Q, K, V and mask. Every stage up to the softmax weights equals the trace's.
 */
export function retraceWithDropout(stages: AttentionStages, dropout: DropoutSettings): AttentionStages {
  checkDropoutRate(dropout.rate);
  if (!Number.isInteger(dropout.seed)) throw new RangeError(`dropout seed must be an integer, got ${dropout.seed}`);
  return scaledDotProductAttention(stages.query, stages.key, stages.value, { mask: stages.mask, dropout });
}

/** Row (b, h, i, :) of a (B, nh, T, X) tensor as plain numbers. */
function rowOf(tensor: Tensor, batch: number, head: number, index: number): number[] {
  const [, heads, rows, width] = tensor.shape;
  const start = ((batch * heads + head) * rows + index) * width;
  return Array.from(tensor.data.subarray(start, start + width));
}

/**
 * Row (b, h, i, :) of a mask that broadcasts to (B, nh, T, S): (T, S), (B, 1, T, S), (B, 1, 1, S)...
 * Axes of size 1 read index 0.
 */
export function maskRow(mask: Tensor, batch: number, head: number, query: number, keyLength: number): number[] {
  const index = [batch, head, query].slice(3 - Math.min(3, mask.rank - 1));
  const leading = mask.shape.slice(0, mask.rank - 1);
  if (mask.shape[mask.rank - 1] !== keyLength) {
    throw new ShapeError(`traceQuery: the mask has ${mask.shape[mask.rank - 1]} key columns but the keys are ${keyLength}`);
  }
  const offsetIndex = leading.map((size, axis) => (size === 1 ? 0 : index[axis]));
  const start = mask.offsetOf([...offsetIndex, 0]);
  return Array.from(mask.data.subarray(start, start + keyLength));
}
