/**
 * Sharded checkpoints: a large model's weights split over several safetensors files, listed by
 * `model.safetensors.index.json`:
 *
 *   {
 *     "metadata": { "total_size": 988097536 },
 *     "weight_map": {
 *       "model.embed_tokens.weight": "model-00001-of-00002.safetensors",
 *       "model.layers.0.self_attn.q_proj.weight": "model-00001-of-00002.safetensors",
 *       ...
 *     }
 *   }
 *
 * Pure: no file access. src/checkpoint checks the files on disk and reads them in Node (for the
 * extension host and the command line), the webview fetches them; both merge the tensors here.
 */

import type { WeightTensor } from "./half-tensor";

export const SHARD_INDEX_FILE = "model.safetensors.index.json";
export const SINGLE_WEIGHTS_FILE = "model.safetensors";

export class ShardIndexError extends Error {
  override name = "ShardIndexError";
}

export interface ShardIndex {
  /** The shard files, each once, in the order they first appear in the weight map (model-00001 first). */
  shards: string[];
  /** Tensor name -> the shard that holds it. */
  weightMap: Map<string, string>;
}

/** Reads a parsed model.safetensors.index.json; `source` names it in messages. */
export function parseShardIndex(json: unknown, source = SHARD_INDEX_FILE): ShardIndex {
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new ShardIndexError(`${source}: expected a JSON object with a "weight_map"; the file is damaged, download it again`);
  }
  const weightMapJson = (json as Record<string, unknown>).weight_map;
  if (typeof weightMapJson !== "object" || weightMapJson === null || Array.isArray(weightMapJson)) {
    throw new ShardIndexError(`${source}: "weight_map" must be an object mapping each tensor to its shard file`);
  }
  const weightMap = new Map<string, string>();
  for (const [name, file] of Object.entries(weightMapJson)) {
    if (typeof file !== "string" || file === "" || file.includes("/") || file.includes("\\") || !file.endsWith(".safetensors")) {
      throw new ShardIndexError(`${source}: the weight_map gives ${name} the file ${JSON.stringify(file)}; shards are .safetensors files beside the index`);
    }
    weightMap.set(name, file);
  }
  if (weightMap.size === 0) throw new ShardIndexError(`${source}: the weight_map is empty`);
  const shards = [...new Set(weightMap.values())].sort();
  return { shards, weightMap };
}

/**
 * Merges the tensors of every shard into one map, checking that each tensor sits in the shard the
 * index names, and that no tensor appears in two shards.
 */
export function mergeShardTensors<Stored extends WeightTensor>(
  index: ShardIndex,
  shards: readonly { file: string; tensors: ReadonlyMap<string, Stored> }[],
  source = SHARD_INDEX_FILE,
): Map<string, Stored> {
  const merged = new Map<string, Stored>();
  const holder = new Map<string, string>();
  for (const { file, tensors } of shards) {
    for (const [name, tensor] of tensors) {
      const earlier = holder.get(name);
      if (earlier !== undefined) throw new ShardIndexError(`${name} is in two shards, ${earlier} and ${file}; the download is damaged, download the model again`);
      const expectedFile = index.weightMap.get(name);
      if (expectedFile !== undefined && expectedFile !== file) {
        throw new ShardIndexError(`${source} says ${name} is in ${expectedFile}, but it is in ${file}; the index and the shards do not belong together`);
      }
      holder.set(name, file);
      merged.set(name, tensor);
    }
  }
  const absent = [...index.weightMap.keys()].filter((name) => !merged.has(name));
  if (absent.length > 0) {
    throw new ShardIndexError(
      `${source} lists ${absent.length} tensor(s) that no shard holds (${absent.slice(0, 3).join(", ")}${absent.length > 3 ? ", ..." : ""}); the download is incomplete`,
    );
  }
  return merged;
}
