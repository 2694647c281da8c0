/**
 * Left padding: how a batch of sequences of different lengths becomes one rectangle.
 *
 * Decoder language models generate by reading the logits of the LAST position of every row. So the
 * pads go on the left, where they are out of the way, and every row ends with a real token:
 *
 *   "the cat sat"   ->   the  cat  sat        mask 1 1 1
 *   "a dog"         ->   PAD  a    dog        mask 0 1 1
 *
 * The token mask (1 real, 0 pad) becomes the padding mask, and each real token gets the position it
 * would have had alone (pads are skipped), so RoPE sees the same positions in and out of a batch.
 */

import { ShapeError } from "./tensor";

/** (B, S): 1 for a real token, 0 for padding. The format tokenizers call `attention_mask`. */
export type TokenMask = readonly (readonly number[])[];

export interface LeftPaddedBatch {
  /** (B, S) token ids, pads first. */
  inputIds: number[][];
  /** (B, S) 1 for a real token, 0 for a pad. */
  attentionMask: number[][];
}

/** Pads every sequence on the left with `padTokenId` up to the longest one. */
export function leftPad(sequences: readonly (readonly number[])[], padTokenId: number): LeftPaddedBatch {
  const length = Math.max(0, ...sequences.map((sequence) => sequence.length));
  return {
    inputIds: sequences.map((sequence) => [
      ...new Array<number>(length - sequence.length).fill(padTokenId),
      ...sequence,
    ]),
    attentionMask: sequences.map((sequence) => [
      ...new Array<number>(length - sequence.length).fill(0),
      ...new Array<number>(sequence.length).fill(1),
    ]),
  };
}

/**
 * Positions for RoPE, (B, T): each real token's index among the real tokens of its row, counting on
 * from `realTokensBefore[b]` (the real tokens already in the KV cache). Pads get position 0; their
 * position never matters because every query hides them.
 */
export function positionsFromTokenMask(tokenMask: TokenMask, realTokensBefore?: readonly number[]): number[][] {
  if (realTokensBefore && realTokensBefore.length !== tokenMask.length) {
    throw new ShapeError(
      `positionsFromTokenMask: ${tokenMask.length} rows in the mask but ${realTokensBefore.length} past counts`,
    );
  }
  return tokenMask.map((row, batch) => {
    let next = realTokensBefore?.[batch] ?? 0;
    return row.map((isReal) => (isReal === 0 ? 0 : next++));
  });
}

/** Checks that a token mask is a (B, S) rectangle of 0s and 1s. */
export function checkTokenMask(tokenMask: TokenMask, batchSize: number, length: number, where: string): void {
  if (tokenMask.length !== batchSize || tokenMask.some((row) => row.length !== length)) {
    const found = `(${tokenMask.length}, ${tokenMask.map((row) => row.length).join("|")})`;
    throw new ShapeError(`${where}: the token mask must be (${batchSize}, ${length}) but is ${found}`);
  }
  for (const row of tokenMask) {
    for (const value of row) {
      if (value !== 0 && value !== 1) {
        throw new ShapeError(`${where}: the token mask may hold only 0 (pad) and 1 (real token), found ${value}`);
      }
    }
  }
}
