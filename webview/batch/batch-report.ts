/**
 * The batch view's numbers as plain functions (unit-tested without a browser): the blocked cells of
 * the combined mask, the largest weight that reaches a pad (it must be 0), and the `BatchReport` sent
 * to the host.
 *
 * Shape legend: B batch, nh heads, S slots (= T: no cache here).
 */

import type { PaddedBatch } from "../../src/attention/padded-batch";
import type { Tensor } from "../../src/attention/tensor";
import type { PaddingComparison } from "../../src/model/padding-comparison";
import type { BatchReport } from "../../src/protocol";

/** (B, S, S): true where the combined mask (B, 1, S, S) holds -inf. */
export function blockedCells(batch: PaddedBatch): boolean[][][] {
  const [batchSize, , queries, keys] = batch.combinedMask.shape;
  return Array.from({ length: batchSize }, (_, row) =>
    Array.from({ length: queries }, (_, query) => Array.from({ length: keys }, (_, key) => batch.combinedMask.at(row, 0, query, key) === -Infinity)),
  );
}

/** Per row of the batch: the largest weight of any layer and head on a pad key or from a pad query. */
export function maxPadWeights(batch: PaddedBatch, attentions: readonly Tensor[]): number[] {
  return batch.tokenMask.map((mask, row) => {
    let largest = 0;
    for (const weights of attentions) {
      const [, heads, queries, keys] = weights.shape; // (B, nh, S, S)
      for (let head = 0; head < heads; head++) {
        for (let query = 0; query < queries; query++) {
          for (let key = 0; key < keys; key++) {
            if (mask[key] === 1 && mask[query] === 1) continue;
            largest = Math.max(largest, Math.abs(weights.at(row, head, query, key)));
          }
        }
      }
    }
    return largest;
  });
}

export function batchReport(modelId: string, comparison: PaddingComparison, computedBy: string): BatchReport {
  const { left, right } = comparison;
  return {
    mode: "batch",
    modelId,
    lines: left.batch.inputIds.length,
    inputIds: left.batch.inputIds,
    tokenMask: left.batch.tokenMask,
    blocked: blockedCells(left.batch),
    maxPadWeight: maxPadWeights(left.batch, left.forward.attentions),
    nextTokens: left.reads.map((read, row) => ({ left: read.predictedTokenId, right: right.reads[row].predictedTokenId, alone: read.expectedTokenId })),
    computedBy,
  };
}
