/**
 * The weights of a model folder checked against its config.json, from the safetensors headers only:
 *
 *   1. every file is there (a shard the index names but the folder lacks: the download stopped),
 *      no file is truncated, none is a Git LFS pointer (safetensors-header.ts);
 *   2. every tensor is stored as float32, float16 or bfloat16 (what the runtime decodes);
 *   3. the union of the headers holds exactly the tensors the config's family needs, in the shapes
 *      it needs (`checkCheckpointTensors`).
 *
 * The problems are collected, not thrown one at a time, so a folder with two broken shards says so.
 *
 * No `vscode` import.
 */

import { basename, join } from "node:path";

import { parseShardIndex, ShardIndexError, type ShardIndex } from "../model/checkpoint-shards";
import type { DecoderConfig } from "../model/config";
import { checkCheckpointTensors, heldBytesOfCheckpoint } from "../model/weights";
import { incompleteDownloadAdvice, repairAdvice, type ModelOrigin } from "./model-advice";
import { describeAbsentFile, fileState, ModelFileError, parseModelJson, readModelFile, reasonOf } from "./model-files";
import { readSafetensorsHeader, SUPPORTED_WEIGHT_DTYPES, type HeaderTensor, type SafetensorsHeader } from "./safetensors-header";
import { findWeightLayout, type WeightLayout } from "./weight-format";

/** The weights of a usable model. */
export interface ModelWeights {
  /** Absolute paths: the single model.safetensors, or the shards in the index's order. */
  files: string[];
  /** Absolute path of model.safetensors.index.json, for sharded weights. */
  indexFile?: string;
  /** Bytes of the weight files together (the index not counted). */
  fileBytes: number;
  /** Bytes of each weight file, in the order of `files`. */
  fileSizes: number[];
  /** The dtypes of the tensors: "BF16", or "F32+F16" when mixed. */
  dtype: string;
  /** The bytes the weights take once loaded (16-bit matrices stay 16-bit): `heldBytesOfCheckpoint`. */
  heldBytes: number;
}

export type WeightsCheck = { weights: ModelWeights; problems: [] } | { weights?: undefined; problems: string[] };

/**
 * The weights of `origin.folder`, whose entries are `names`: found (weight-format.ts, which refuses
 * other formats) and checked against `config`. Never throws for a broken folder.
 */
export async function checkFolderWeights(names: readonly string[], config: DecoderConfig, origin: ModelOrigin): Promise<WeightsCheck> {
  let layout: WeightLayout;
  try {
    layout = findWeightLayout(origin.folder, names, origin);
  } catch (error) {
    if (!(error instanceof ModelFileError)) throw error;
    return { problems: [error.message] };
  }
  return checkWeights(layout, config, origin);
}

/** Reads the headers of the weights `layout` names and checks them against `config`. */
export async function checkWeights(layout: WeightLayout, config: DecoderConfig, origin: ModelOrigin): Promise<WeightsCheck> {
  const problems: string[] = [];
  const headers: SafetensorsHeader[] = [];
  let tensorSource: string;
  let shardOf: Map<string, string> | undefined;
  if (layout.kind === "single") {
    tensorSource = layout.file;
    try {
      headers.push(await readSafetensorsHeader(layout.file, origin));
    } catch (error) {
      if (!(error instanceof ModelFileError)) throw error;
      problems.push(error.message);
    }
  } else {
    const index = await readShardIndex(layout.indexFile, origin).catch((error: unknown) => {
      if (!(error instanceof ModelFileError)) throw error;
      problems.push(error.message);
      return undefined;
    });
    if (!index) return { problems };
    shardOf = index.weightMap;
    const folder = join(layout.indexFile, "..");
    tensorSource = `${layout.indexFile} (${index.shards.length} shards)`;
    for (const shard of index.shards) {
      const path = join(folder, shard);
      const state = await fileState(path);
      if (state.kind !== "file") {
        problems.push(
          `${layout.indexFile} names the shard ${shard}, but ${path} ${describeAbsentFile(state)}: the download is incomplete. ${repairAdvice(origin)}`,
        );
        continue;
      }
      try {
        headers.push(await readSafetensorsHeader(path, origin));
      } catch (error) {
        if (!(error instanceof ModelFileError)) throw error;
        problems.push(error.message);
      }
    }
  }
  if (problems.length > 0) return { problems }; // the tensors of an absent or broken file would be reported as missing too

  const tensors = unionOfHeaders(headers, shardOf, tensorSource, origin, problems);
  problems.push(...unsupportedDtypes(tensors, tensorSource));
  const shapes = new Map([...tensors].map(([name, tensor]) => [name, tensor.shape]));
  problems.push(...checkCheckpointTensors(config, shapes, tensorSource).map((problem) => `${problem}.`));
  if (problems.length > 0) return { problems };
  return {
    weights: {
      files: headers.map((header) => header.file),
      ...(layout.kind === "sharded" ? { indexFile: layout.indexFile } : {}),
      fileBytes: headers.reduce((total, header) => total + header.fileBytes, 0),
      fileSizes: headers.map((header) => header.fileBytes),
      dtype: dtypeSummary(tensors),
      heldBytes: heldBytesOfCheckpoint(config, new Map([...tensors].map(([name, tensor]) => [name, tensor.dtype]))),
    },
    problems: [],
  };
}

/** model.safetensors.index.json, parsed: the shards (sorted: model-00001 first) and which tensor is in which; throws `ModelFileError`. */
export async function readShardIndex(path: string, origin: ModelOrigin): Promise<ShardIndex> {
  const json = parseModelJson(await readModelFile(path, "the index", origin), path, origin);
  try {
    return parseShardIndex(json, path);
  } catch (error) {
    if (error instanceof ShardIndexError) throw new ModelFileError(`${reasonOf(error)}. ${repairAdvice(origin)}`);
    throw error;
  }
}

/**
 * Every tensor of every header, by name. A tensor in two shards, or in another shard than the
 * index says, or named by the index and in no shard, is a problem (pushed onto `problems`).
 */
function unionOfHeaders(
  headers: readonly SafetensorsHeader[],
  shardOf: ReadonlyMap<string, string> | undefined,
  source: string,
  origin: ModelOrigin,
  problems: string[],
): Map<string, HeaderTensor & { file: string }> {
  const tensors = new Map<string, HeaderTensor & { file: string }>();
  const misplaced: string[] = [];
  for (const header of headers) {
    const shard = basename(header.file);
    for (const [name, tensor] of header.tensors) {
      const earlier = tensors.get(name);
      if (earlier) {
        problems.push(`${name} is in two files, ${earlier.file} and ${header.file}; they come from different downloads. ${repairAdvice(origin)}`);
        continue;
      }
      if (shardOf && shardOf.has(name) && shardOf.get(name) !== shard) misplaced.push(`${name} (in ${shard}, the index says ${shardOf.get(name)})`);
      tensors.set(name, { ...tensor, file: header.file });
    }
  }
  if (misplaced.length > 0) {
    problems.push(`${source}: the index and the shards do not belong together: ${misplaced.slice(0, 3).join(", ")}${misplaced.length > 3 ? ", ..." : ""}. ${repairAdvice(origin)}`);
  }
  const absent = shardOf ? [...shardOf.keys()].filter((name) => !tensors.has(name)) : [];
  if (absent.length > 0) {
    problems.push(
      `${source}: the index lists ${absent.length} tensor(s) that no shard holds (${absent.slice(0, 3).join(", ")}${absent.length > 3 ? ", ..." : ""}): ` +
        `the download is incomplete. ${incompleteDownloadAdvice(origin)}`,
    );
  }
  return tensors;
}

/** One problem per unsupported dtype, naming its tensors (a quantized checkpoint has many). */
function unsupportedDtypes(tensors: ReadonlyMap<string, HeaderTensor & { file: string }>, source: string): string[] {
  const byDtype = new Map<string, string[]>();
  for (const [name, tensor] of tensors) {
    if ((SUPPORTED_WEIGHT_DTYPES as readonly string[]).includes(tensor.dtype)) continue;
    byDtype.set(tensor.dtype, [...(byDtype.get(tensor.dtype) ?? []), name]);
  }
  return [...byDtype].map(([dtype, names]) => {
    const listed = names.slice(0, 3).join(", ") + (names.length > 3 ? ` and ${names.length - 3} more` : "");
    return (
      `${source} stores ${names.length} tensor(s) as ${dtype} (${listed}); Attention Lens reads only float32, float16 and bfloat16 ` +
      `weights (F32, F16, BF16). A quantized checkpoint (GPTQ, AWQ, bitsandbytes, FP8) cannot be shown: use the repository's original, unquantized safetensors.`
    );
  });
}

/** "BF16", or "F32+F16" when the tensors are of several dtypes (in the order F32, F16, BF16). */
function dtypeSummary(tensors: ReadonlyMap<string, HeaderTensor>): string {
  const present = new Set([...tensors.values()].map((tensor) => tensor.dtype));
  return SUPPORTED_WEIGHT_DTYPES.filter((dtype) => present.has(dtype)).join("+");
}
