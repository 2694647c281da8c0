/**
 * A padded batch and every mask it needs, on the left (as LLM tokenizers pad for generation) or, for
 * contrast, on the right.
 *
 * Sequences of different lengths become one (B, S) rectangle by adding pad tokens. Attention must
 * then ignore the pads, which takes two masks that are added to the scores before softmax:
 *
 *   causal mask   (T, S)        query i may see keys 0 ..= i            (the model may only look back)
 *   padding mask  (B, 1, 1, S)  no query may see a pad key
 *   combined      (B, 1, T, S)  their sum: blocked in either is blocked (-inf), broadcast over heads
 *
 * A pad query row in left padding sees only pads (every key up to it is a pad): the whole row is
 * masked and softmax gives it zeros.
 *
 * Why left? Generation reads the next token from the logits of the LAST slot of every row, one slot
 * for the whole batch. With left padding every row ends with its last real token there:
 *
 *   left:   PAD  a    dog         last slot = "dog" in every row          next token read correctly
 *   right:  a    dog  PAD         last slot = PAD for the shorter rows    next token read from a pad
 *
 * Right padding would need a different read position per row, and a new token appended after the
 * pads would leave a hole of pads in the middle of the sequence.
 *
 * Shape legend: B batch, T = S tokens per row (no cache here).
 */

import { leftPad, positionsFromTokenMask } from "./left-padding";
import { causalMask, combineMasks, paddingMask } from "./masks";
import type { Tensor } from "./tensor";

export type PaddingSide = "left" | "right";

/** Thrown for a batch that cannot be built; the message names the sequence and what to do. */
export class BatchError extends Error {
  override name = "BatchError";
}

export interface PaddedBatch {
  side: PaddingSide;
  /** (B, S) token ids with pads. */
  inputIds: number[][];
  /** (B, S) 1 for a real token, 0 for a pad: what tokenizers call `attention_mask`. */
  tokenMask: number[][];
  /** (B, S) RoPE positions: each real token's index among its row's real tokens (pads 0). */
  positions: number[][];
  /** Real tokens per row. */
  lengths: number[];
  /** (T, S) additive causal mask. */
  causalMask: Tensor;
  /** (B, 1, 1, S) additive padding mask. */
  paddingMask: Tensor;
  /** (B, 1, T, S) causal + padding: what enters the softmax. */
  combinedMask: Tensor;
  /** The slot a generation loop reads the next token from, the same for every row: S - 1. */
  readSlot: number;
  /** Per row, the slot of its last real token: where its next token should be read from. */
  lastRealSlots: number[];
  /** Per row, whether the read slot holds the row's last real token (always true on the left). */
  readsLastRealToken: boolean[];
  /** Per row, the query slots whose every key is masked (their weights are all 0). */
  fullyMaskedQueries: number[][];
}

export interface PaddedBatchOptions {
  side?: PaddingSide;
  /** The longest a sequence may be (the model's context); no limit when absent. */
  maxLength?: number;
}

/** Pads `sequences` with `padTokenId` on the chosen side (left by default) and builds the masks. */
export function padBatch(
  sequences: readonly (readonly number[])[],
  padTokenId: number,
  options: PaddedBatchOptions = {},
): PaddedBatch {
  const side = options.side ?? "left";
  checkSequences(sequences, options.maxLength);
  const { inputIds, attentionMask: tokenMask } =
    side === "left" ? leftPad(sequences, padTokenId) : rightPad(sequences, padTokenId);
  const length = inputIds[0].length;

  const causal = causalMask(length, length); // (T, S)
  const padding = paddingMask(tokenMask); // (B, 1, 1, S)
  const combined = combineMasks(causal, padding); // (T, S) + (B, 1, 1, S) -> (B, 1, T, S)

  const lengths = sequences.map((sequence) => sequence.length);
  const lastRealSlots = tokenMask.map((row) => row.lastIndexOf(1));
  const readSlot = length - 1;
  const fullyMaskedQueries = tokenMask.map((_, batch) => {
    const rows: number[] = [];
    for (let query = 0; query < length; query++) {
      let visible = false;
      for (let key = 0; key < length && !visible; key++) visible = combined.at(batch, 0, query, key) === 0;
      if (!visible) rows.push(query);
    }
    return rows;
  });
  return {
    side,
    inputIds,
    tokenMask,
    positions: positionsFromTokenMask(tokenMask),
    lengths,
    causalMask: causal,
    paddingMask: padding,
    combinedMask: combined,
    readSlot,
    lastRealSlots,
    readsLastRealToken: lastRealSlots.map((slot) => slot === readSlot),
    fullyMaskedQueries,
  };
}

/** Pads every sequence on the right up to the longest one (for contrast only). */
export function rightPad(
  sequences: readonly (readonly number[])[],
  padTokenId: number,
): { inputIds: number[][]; attentionMask: number[][] } {
  const length = Math.max(0, ...sequences.map((sequence) => sequence.length));
  return {
    inputIds: sequences.map((sequence) => [...sequence, ...new Array<number>(length - sequence.length).fill(padTokenId)]),
    attentionMask: sequences.map((sequence) => [
      ...new Array<number>(sequence.length).fill(1),
      ...new Array<number>(length - sequence.length).fill(0),
    ]),
  };
}

/** At least one sequence, none empty, none longer than `maxLength`. */
function checkSequences(sequences: readonly (readonly number[])[], maxLength: number | undefined): void {
  if (sequences.length === 0) {
    throw new BatchError("the batch is empty: give at least one sequence");
  }
  sequences.forEach((sequence, index) => {
    if (sequence.length === 0) {
      throw new BatchError(
        `sequence ${index + 1} of ${sequences.length} is empty: every sequence of a batch needs at least one token (an all-pad row would attend to nothing)`,
      );
    }
    if (maxLength !== undefined && sequence.length > maxLength) {
      throw new BatchError(
        `sequence ${index + 1} of ${sequences.length} has ${sequence.length} tokens but the context holds ${maxLength}: shorten it`,
      );
    }
  });
}
