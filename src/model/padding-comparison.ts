/**
 * Why pads go on the left: the next token of a batch, read the way generation reads it.
 *
 * A generation loop reads the logits of the LAST slot of every row, one slot for the whole batch.
 * `compareNextTokenReads` runs the model on the same sequences padded on the left and on the right,
 * and for every row compares the next token read at that last slot with the next token the model
 * predicts for the sequence run alone (no padding at all):
 *
 *   left padding    last slot = the row's last real token      same prediction as alone
 *   right padding   last slot = a pad for every shorter row    the prediction after a pad token
 *
 * Rows as long as the longest sequence have no pads and read correctly either way.
 *
 * Shape legend: B batch, S slots per row, V vocabulary.
 */

import { padBatch, type PaddedBatch, type PaddingSide } from "../attention/padded-batch";
import type { Tensor } from "../attention/tensor";
import type { DecoderModel, ModelForwardResult } from "./decoder-model";

export interface NextTokenRead {
  row: number;
  /** The slot generation reads: S - 1 for every row. */
  readSlot: number;
  /** The slot of the row's last real token. */
  lastRealSlot: number;
  /** Whether the read slot holds a pad. */
  readsPad: boolean;
  /** The most likely next token at the read slot. */
  predictedTokenId: number;
  /** The most likely next token of the sequence run alone. */
  expectedTokenId: number;
  /** Largest |logit difference| between the read slot and the sequence run alone. */
  maxLogitDifference: number;
}

export interface PaddedRun {
  side: PaddingSide;
  batch: PaddedBatch;
  forward: ModelForwardResult;
  reads: NextTokenRead[];
}

export interface PaddingComparison {
  left: PaddedRun;
  right: PaddedRun;
}

/** Logits of slot `slot` of row `row` of (B, S, V). */
export function logitsAt(logits: Tensor, row: number, slot: number): Float32Array {
  const [, slots, vocabulary] = logits.shape;
  const start = (row * slots + slot) * vocabulary;
  return logits.data.subarray(start, start + vocabulary);
}

/** Index of the largest value (the first one on ties). */
export function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let index = 1; index < values.length; index++) if (values[index] > values[best]) best = index;
  return best;
}

/** Runs `sequences` padded left and right, and reads the next token of every row as generation would. */
export function compareNextTokenReads(
  model: DecoderModel,
  sequences: readonly (readonly number[])[],
  padTokenId: number,
): PaddingComparison {
  const maxLength = model.config.maxPositionEmbeddings;
  const alone = sequences.map((sequence) => {
    const logits = model.forward([sequence]).logits; // (1, T, V)
    return logitsAt(logits, 0, sequence.length - 1);
  });
  const run = (side: PaddingSide): PaddedRun => {
    const batch = padBatch(sequences, padTokenId, { side, maxLength });
    const forward = model.forward(batch.inputIds, { attentionMask: batch.tokenMask });
    const reads = sequences.map((_, row): NextTokenRead => {
      const read = logitsAt(forward.logits, row, batch.readSlot);
      let maxLogitDifference = 0;
      for (let index = 0; index < read.length; index++) {
        maxLogitDifference = Math.max(maxLogitDifference, Math.abs(read[index] - alone[row][index]));
      }
      return {
        row,
        readSlot: batch.readSlot,
        lastRealSlot: batch.lastRealSlots[row],
        readsPad: batch.tokenMask[row][batch.readSlot] === 0,
        predictedTokenId: argmax(read),
        expectedTokenId: argmax(alone[row]),
        maxLogitDifference,
      };
    });
    return { side, batch, forward, reads };
  };
  return { left: run("left"), right: run("right") };
}
