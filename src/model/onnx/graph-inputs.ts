/**
 * The inputs of the decoder graph (see decoder-graph.ts), prepared and checked in TypeScript before
 * the runtime sees them, so a mistake gets an error that names it rather than the runtime's own:
 * a token id outside the vocabulary, a sequence longer than the model's context, a past cache of
 * the wrong shape, a ragged batch.
 *
 * It also does the bookkeeping of left padding: the attention mask over past + new slots and the
 * RoPE position of every new token (pads skipped), exactly as the TypeScript reference does.
 *
 * Shape legend: B batch, T new tokens, P past slots, S = P + T, nkv key/value heads, hs head size.
 */

import { checkTokenMask, positionsFromTokenMask, type TokenMask } from "../../attention/left-padding";
import type { DecoderConfig } from "../config";
import { checkContextLength, checkInputIds, ModelInputError } from "../model-input";
import { GraphNames } from "./graph-names";

/** A plain tensor for a graph input: the runtime turns it into its own tensor type. */
export interface FeedTensor {
  type: "int64" | "float32";
  dims: number[];
  data: BigInt64Array | Float32Array;
}

export interface GraphStep {
  /** The new tokens, (B, T). */
  inputIds: readonly (readonly number[])[];
  /** (B, T): 1 real, 0 left pad, for the new tokens; default all real. */
  attentionMask?: TokenMask;
  /** (B, P): the real/pad mask of the slots already in the cache; absent for a prefill. */
  pastTokenMask?: TokenMask;
  /** Dims of each layer's past key and value, [B, nkv, P, hs]; absent for a prefill. */
  pastShapes?: readonly (readonly number[])[];
}

export interface PreparedGraphStep {
  /** input_ids, attention_mask, position_ids, and empty past tensors for a prefill. */
  feeds: Record<string, FeedTensor>;
  /** RoPE positions of the new tokens, (B, T). */
  positions: number[][];
  /** Real/pad mask of all S slots after this step, (B, S). */
  keyMask: number[][];
}

export function prepareGraphStep(config: DecoderConfig, step: GraphStep): PreparedGraphStep {
  const { inputIds } = step;
  const { batchSize, length } = checkInputIds(config, inputIds);
  const newMask = step.attentionMask ?? inputIds.map((row) => row.map(() => 1));
  checkTokenMask(newMask, batchSize, length, "attention mask of the new tokens");

  const pastMask = step.pastTokenMask ?? [];
  const pastLength = pastMask[0]?.length ?? 0;
  if (pastLength > 0) checkTokenMask(pastMask, batchSize, pastLength, "attention mask of the cached tokens");
  checkPastShapes(config, step.pastShapes, batchSize, pastLength);
  checkContextLength(config, pastLength, length);

  const realTokensBefore = pastLength > 0 ? pastMask.map((row) => row.reduce((sum, value) => sum + value, 0)) : undefined;
  const positions = positionsFromTokenMask(newMask, realTokensBefore);
  const keyMask = newMask.map((row, batch) => [...(pastMask[batch] ?? []), ...row]);

  const int64 = (rows: readonly (readonly number[])[]): FeedTensor => ({
    type: "int64",
    dims: [rows.length, rows[0].length],
    data: BigInt64Array.from(rows.flat(), (value) => BigInt(value)),
  });
  const feeds: Record<string, FeedTensor> = {
    [GraphNames.inputIds]: int64(inputIds),
    [GraphNames.attentionMask]: int64(keyMask),
    [GraphNames.positionIds]: int64(positions),
  };
  if (pastLength === 0 && !step.pastShapes) {
    // A prefill: every layer's past is empty, (B, nkv, 0, hs).
    for (let layer = 0; layer < config.numHiddenLayers; layer++) {
      const empty: FeedTensor = { type: "float32", dims: [batchSize, config.numKeyValueHeads, 0, config.headDim], data: new Float32Array(0) };
      feeds[GraphNames.pastKey(layer)] = empty;
      feeds[GraphNames.pastValue(layer)] = empty;
    }
  }
  return { feeds, positions, keyMask };
}

/** Every layer's past key and value must be (B, nkv, P, hs), with P the length of the past mask. */
function checkPastShapes(config: DecoderConfig, shapes: GraphStep["pastShapes"], batchSize: number, pastLength: number): void {
  if (!shapes) {
    if (pastLength > 0) throw new ModelInputError(`a past mask of ${pastLength} slots was given without the past keys and values`);
    return;
  }
  const expectedCount = 2 * config.numHiddenLayers;
  if (shapes.length !== expectedCount) {
    throw new ModelInputError(`the past cache holds ${shapes.length} tensors but this model needs ${expectedCount} (a key and a value for each of ${config.numHiddenLayers} layers)`);
  }
  const expected = [batchSize, config.numKeyValueHeads, pastLength, config.headDim];
  shapes.forEach((dims, index) => {
    if (dims.length !== 4 || dims.some((size, axis) => size !== expected[axis])) {
      const which = `${index % 2 === 0 ? "key" : "value"} of layer ${Math.floor(index / 2)}`;
      throw new ModelInputError(
        `the past ${which} is (${dims.join(", ")}) but must be (B=${batchSize}, nkv=${config.numKeyValueHeads}, P=${pastLength}, hs=${config.headDim}); was the cache made by another model or batch?`,
      );
    }
  });
}
