/**
 * The weights of a checked model folder (weight-check.ts), read in full for a forward pass in Node:
 *
 *   model.safetensors                  readWeightTensors: float32 tensors, and 16-bit matrices kept
 *                                      at 16 bits (model/half-tensor.ts)
 *   the index and the shards it names  each shard read, then merged by the index (mergeShardTensors)
 *   then                               decoderWeightsFromTensors: the decoder's tensors by role,
 *                                      GPT-2's fused matrices split
 *
 * The headers were checked already (names, shapes, dtypes, byte ranges), so an error here means a
 * file that changed since the check or holds data its header does not describe: it is reported as
 * a damaged file, with what to do (model-advice.ts).
 *
 * The webview reads the same files by URI (webview/runtime/model-loading.ts) with the same
 * src/model functions. No `vscode` import.
 */

import { readFile } from "node:fs/promises";
import { basename } from "node:path";

import { mergeShardTensors, ShardIndexError } from "../model/checkpoint-shards";
import type { DecoderConfig } from "../model/config";
import type { WeightTensor } from "../model/half-tensor";
import { readWeightTensors, SafetensorsError } from "../model/safetensors";
import { decoderWeightsFromTensors, WeightsError, type DecoderWeights } from "../model/weights";
import { repairAdvice, type ModelOrigin } from "./model-advice";
import { missingOrUnreadable, ModelFileError, reasonOf } from "./model-files";
import { readShardIndex, type ModelWeights } from "./weight-check";

/** Reads every tensor of the checked `weights` and picks out the decoder's; throws `ModelFileError` naming the file. */
export async function loadModelWeights(weights: ModelWeights, config: DecoderConfig, origin: ModelOrigin): Promise<DecoderWeights> {
  let tensors: Map<string, WeightTensor>;
  try {
    if (weights.indexFile === undefined) {
      tensors = await readTensors(weights.files[0], origin);
    } else {
      const index = await readShardIndex(weights.indexFile, origin);
      const shards: { file: string; tensors: Map<string, WeightTensor> }[] = [];
      // One shard at a time: each file's bytes can be collected before the next is read.
      for (const file of weights.files) shards.push({ file: basename(file), tensors: await readTensors(file, origin) });
      tensors = mergeShardTensors(index, shards, weights.indexFile);
    }
    return decoderWeightsFromTensors(config, tensors, weights.indexFile ?? weights.files[0], { reuseStorage: true }); // the bytes were read for this alone
  } catch (error) {
    if (error instanceof SafetensorsError || error instanceof ShardIndexError || error instanceof WeightsError) {
      throw new ModelFileError(`${reasonOf(error)}. ${repairAdvice(origin)}`);
    }
    throw error;
  }
}

async function readTensors(path: string, origin: ModelOrigin): Promise<Map<string, WeightTensor>> {
  const bytes = await readFile(path).catch((error: unknown) => {
    throw new ModelFileError(`${path} ${missingOrUnreadable(error)}. ${repairAdvice(origin)}`);
  });
  return readWeightTensors(bytes, path).tensors;
}
