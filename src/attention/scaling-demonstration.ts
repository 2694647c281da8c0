/**
 * Why divide by sqrt(hs)? A demonstration on real queries and keys.
 *
 * If the hs features of q and k have variance about 1, the dot product q . k sums hs such products
 * and its spread grows like sqrt(hs). Softmax of widely spread scores is nearly one-hot: one key takes
 * almost all the weight, the entropy of the weights collapses towards 0, and the gradients through
 * the other keys vanish. Dividing by sqrt(hs) brings the spread back to about 1 whatever the head
 * size.
 *
 * `scalingDemonstration` takes one head of a trace (the Q and K the model really computed) and
 * compares, over the (query, key) pairs the mask allows:
 *
 *   spread     standard deviation of the scores, without scaling (q . k) and with it (q . k / sqrt(hs))
 *   entropy    mean over query rows of the softmax entropy, -sum_j w_j ln w_j, in nats, each way
 *   peak       mean over query rows of the largest weight, each way
 *
 * The spread with scaling is exactly the spread without it divided by sqrt(hs); the entropy shows
 * what that does to the weights. Rows whose keys are all masked are left out (they attend nothing).
 *
 * Shape legend: B batch, nh heads, T queries, S keys, hs head size.
 */

import type { AttentionStages } from "./scaled-dot-product-attention";
import { checkQuerySelection } from "./stage-trace";

/** The statistics of one way of computing the scores (with or without 1 / sqrt(hs)). */
export interface ScoreStatistics {
  /** Mean of the allowed scores. */
  mean: number;
  /** Standard deviation of the allowed scores. */
  standardDeviation: number;
  /** Mean softmax entropy per query row, in nats. */
  meanEntropy: number;
  /** Mean of each row's largest softmax weight. */
  meanPeakWeight: number;
  /** The selected query's softmax weights, (S); 0 where masked. */
  selectedRowWeights: number[];
}

export interface ScalingDemonstration {
  batch: number;
  head: number;
  /** The query whose row is returned in `selectedRowWeights`. */
  query: number;
  headDim: number;
  /** sqrt(hs). */
  scaleDivisor: number;
  /** Query rows that entered the means (not fully masked). */
  rows: number;
  /** (query, key) pairs that entered the spread. */
  pairs: number;
  /** Mean ln(number of visible keys) over the rows: the entropy of uniform attention, the upper bound. */
  meanMaximumEntropy: number;
  unscaled: ScoreStatistics;
  scaled: ScoreStatistics;
}

/** Softmax of `scores` where `allowed`, 0 elsewhere; in float64. */
function maskedSoftmax(scores: readonly number[], allowed: readonly boolean[]): number[] {
  let maximum = -Infinity;
  scores.forEach((score, index) => {
    if (allowed[index]) maximum = Math.max(maximum, score);
  });
  if (maximum === -Infinity) return scores.map(() => 0);
  const exponentials = scores.map((score, index) => (allowed[index] ? Math.exp(score - maximum) : 0));
  const sum = exponentials.reduce((total, value) => total + value, 0);
  return exponentials.map((value) => value / sum);
}

/** -sum w ln w in nats (0 ln 0 = 0). */
export function entropy(weights: readonly number[]): number {
  return weights.reduce((total, weight) => (weight > 0 ? total - weight * Math.log(weight) : total), 0);
}

/** The sqrt(hs) demonstration for head `head` of sequence `batch`, with the row of `query` returned. */
export function scalingDemonstration(
  stages: AttentionStages,
  selection: { batch: number; head: number; query: number },
): ScalingDemonstration {
  checkQuerySelection(stages, selection);
  const { batch, head, query } = selection;
  const [, heads, queries, keyLength] = stages.rawScores.shape;
  const headDim = stages.query.shape[3];
  const scaleDivisor = Math.sqrt(headDim);

  const collect = (divisor: number) => {
    let sum = 0;
    let sumOfSquares = 0;
    let pairs = 0;
    let entropySum = 0;
    let peakSum = 0;
    let maximumEntropySum = 0;
    let rows = 0;
    let selectedRowWeights: number[] = new Array<number>(keyLength).fill(0);
    for (let row = 0; row < queries; row++) {
      const start = ((batch * heads + head) * queries + row) * keyLength;
      const raw = Array.from(stages.rawScores.data.subarray(start, start + keyLength));
      // Allowed where the traced mask left the score finite.
      const allowed = Array.from(stages.maskedScores.data.subarray(start, start + keyLength), (value) => value !== -Infinity);
      const scores = raw.map((score) => score / divisor);
      const weights = maskedSoftmax(scores, allowed);
      if (row === query) selectedRowWeights = weights;
      const visible = allowed.filter(Boolean).length;
      if (visible === 0) continue;
      scores.forEach((score, index) => {
        if (!allowed[index]) return;
        sum += score;
        sumOfSquares += score * score;
        pairs++;
      });
      entropySum += entropy(weights);
      peakSum += Math.max(...weights);
      maximumEntropySum += Math.log(visible);
      rows++;
    }
    const mean = pairs > 0 ? sum / pairs : 0;
    const variance = pairs > 0 ? Math.max(0, sumOfSquares / pairs - mean * mean) : 0;
    const statistics: ScoreStatistics = {
      mean,
      standardDeviation: Math.sqrt(variance),
      meanEntropy: rows > 0 ? entropySum / rows : 0,
      meanPeakWeight: rows > 0 ? peakSum / rows : 0,
      selectedRowWeights,
    };
    return { statistics, pairs, rows, meanMaximumEntropy: rows > 0 ? maximumEntropySum / rows : 0 };
  };

  const unscaled = collect(1);
  const scaled = collect(scaleDivisor);
  return {
    batch,
    head,
    query,
    headDim,
    scaleDivisor,
    rows: scaled.rows,
    pairs: scaled.pairs,
    meanMaximumEntropy: scaled.meanMaximumEntropy,
    unscaled: unscaled.statistics,
    scaled: scaled.statistics,
  };
}
