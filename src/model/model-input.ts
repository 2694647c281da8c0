/**
 * Checks of what goes into the decoder, shared by the TypeScript forward (decoder-model.ts) and the
 * ONNX graph's inputs (onnx/graph-inputs.ts), so both refuse the same mistakes with the same words.
 */

import type { DecoderConfig } from "./config";

/** Thrown for token ids, lengths or caches the model cannot take; the message says what to do. */
export class ModelInputError extends Error {
  override name = "ModelInputError";
}

/** Checks that `inputIds` is a non-empty (B, T) rectangle of ids in the vocabulary; returns B and T. */
export function checkInputIds(
  config: DecoderConfig,
  inputIds: readonly (readonly number[])[],
): { batchSize: number; length: number } {
  const batchSize = inputIds.length;
  const length = inputIds[0]?.length ?? 0;
  if (batchSize === 0 || length === 0) {
    throw new ModelInputError("no tokens to run: the input must hold at least one token in at least one sequence");
  }
  inputIds.forEach((row, batch) => {
    if (row.length !== length) {
      throw new ModelInputError(`sequence ${batch} has ${row.length} tokens but sequence 0 has ${length}; left-pad the batch (leftPad) first`);
    }
    row.forEach((id, token) => {
      if (!Number.isInteger(id) || id < 0 || id >= config.vocabSize) {
        throw new ModelInputError(`token id ${id} at [${batch}][${token}] is outside the vocabulary (0 to ${config.vocabSize - 1})`);
      }
    });
  });
  return { batchSize, length };
}

/** Checks that `pastLength` cached plus `newLength` new tokens fit in the model's context. */
export function checkContextLength(config: DecoderConfig, pastLength: number, newLength: number): void {
  if (pastLength + newLength > config.maxPositionEmbeddings) {
    throw new ModelInputError(
      `the sequence would be ${pastLength + newLength} tokens long (${pastLength} cached + ${newLength} new) but the model's context is ${config.maxPositionEmbeddings} (max_position_embeddings); shorten the text or reset the cache`,
    );
  }
}
