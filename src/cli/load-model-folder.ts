/**
 * Reading a whole model from disk, in Node: a Hugging Face model folder, or a bundled model by id.
 *
 *   <folder>/config.json                      parseModelConfig (every family of src/model/config.ts)
 *   <folder>/model.safetensors                readSafetensors
 *     or model.safetensors.index.json         every shard it names must exist; each read, then merged
 *        + model-0000k-of-0000n.safetensors   (a tensor in two shards is refused)
 *   <folder>/tokenizer.json                   TextTokenizer (optional for --ids, needed for --text)
 *   <folder>/tokenizer_config.json            optional: special tokens, add_bos_token
 *
 * `--model` is a folder path, or the id of a bundled model: a folder name under media/models/ of
 * this package, such as attention-lens-gqa. A path that exists wins over an id.
 *
 * The weights go through `decoderWeightsFromTensors`, which is strict: it lists every tensor that is
 * missing or unused, so a config that does not belong to its weights is caught here.
 */

import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { basename, join, resolve, sep } from "node:path";
import { mergeShardTensors, parseShardIndex } from "../model/checkpoint-shards";
import { parseModelConfig, type DecoderConfig } from "../model/config";
import { readSafetensors } from "../model/safetensors";
import type { Tensor } from "../attention/tensor";
import { decoderWeightsFromTensors, type DecoderWeights } from "../model/weights";
import { ModelFolderError } from "./command-line-errors";
import { loadFolderTokenizer, type FolderTokenizer } from "./folder-tokenizer";
import { findWeightFiles, refuseModelFile, type WeightFiles } from "./weight-files";

/** Where the bundled models are: media/models/ of this package (src/cli/ -> ../../media/models). */
export const BUNDLED_MODELS_FOLDER = resolve(__dirname, "..", "..", "media", "models");

export interface ModelFolder {
  /** The bundled id, "<org>/<name>" for a Hugging Face cache snapshot, else the folder's name. */
  id: string;
  /** The folder's absolute path. */
  folder: string;
  bundled: boolean;
  config: DecoderConfig;
  weights: DecoderWeights;
  /** The weight files read, relative to the folder. */
  weightFiles: string[];
  /** Undefined when the folder has no tokenizer.json, or one this project cannot read (see `tokenizerProblem`). */
  tokenizer: FolderTokenizer | undefined;
  /** Why there is no tokenizer, for --text to report. */
  tokenizerProblem?: string;
}

/** The ids of the bundled models (folders of media/models/ with a config.json). */
export function bundledModelIds(): string[] {
  if (!existsSync(BUNDLED_MODELS_FOLDER)) return [];
  return readdirSync(BUNDLED_MODELS_FOLDER)
    .filter((name) => existsSync(join(BUNDLED_MODELS_FOLDER, name, "config.json")))
    .sort();
}

/** Finds the folder `--model` names: a path, else a bundled id. */
export function locateModelFolder(argument: string): { folder: string; id: string; bundled: boolean } {
  const path = resolve(argument);
  if (existsSync(path)) {
    if (!statSync(path).isDirectory()) refuseModelFile(path);
    return { folder: path, id: folderId(path), bundled: false };
  }
  const bundled = bundledModelIds();
  if (bundled.includes(argument)) return { folder: join(BUNDLED_MODELS_FOLDER, argument), id: argument, bundled: true };
  throw new ModelFolderError(
    `--model ${argument}: there is no such folder, and it is not a bundled model; ` +
      `pass a Hugging Face model folder (config.json, model.safetensors, tokenizer.json) or one of ${bundled.join(", ") || "(no bundled models found)"}`,
  );
}

/**
 * A readable id for a folder: "<org>/<name>" for a Hugging Face cache snapshot
 * (.../models--<org>--<name>/snapshots/<commit>), else the folder's own name.
 */
function folderId(folder: string): string {
  const parts = folder.split(sep);
  const snapshots = parts.lastIndexOf("snapshots");
  const repository = snapshots > 0 ? parts[snapshots - 1] : undefined;
  if (repository?.startsWith("models--")) return repository.slice("models--".length).split("--").join("/");
  return basename(folder);
}

function readJsonFile(path: string, what: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new ModelFolderError(`cannot read ${path} (${messageOf(error)}); ${what}`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ModelFolderError(`${path} is not valid JSON (${messageOf(error)}); the file is damaged, download it again`);
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Reads every tensor of the folder's safetensors, shards merged; returns them and the files read. */
function readCheckpointTensors(folder: string, files: WeightFiles): { tensors: Map<string, Tensor>; weightFiles: string[] } {
  if (files.kind === "single") {
    return { tensors: readSafetensors(readFileSync(files.file), files.file).tensors, weightFiles: [basename(files.file)] };
  }
  const index = parseShardIndex(readJsonFile(files.indexFile, "a sharded model needs its index"), files.indexFile);
  const absent = index.shards.filter((shard) => !existsSync(join(folder, shard)));
  if (absent.length > 0) {
    throw new ModelFolderError(
      `${files.indexFile} names ${index.shards.length} shard(s) but ${absent.length} of them ${absent.length === 1 ? "is" : "are"} not in ${folder}: ` +
        `${absent.join(", ")}; the download is incomplete, download the missing shards again`,
    );
  }
  const shards = index.shards.map((shard) => {
    const path = join(folder, shard);
    return { file: shard, tensors: readSafetensors(readFileSync(path), path).tensors };
  });
  return { tensors: mergeShardTensors(index, shards, files.indexFile), weightFiles: [basename(files.indexFile), ...index.shards] };
}

/** Reads the model `--model` names: config, weights (checked strictly) and, when there is one, its tokenizer. */
export function loadModelFolder(argument: string): ModelFolder {
  const { folder, id, bundled } = locateModelFolder(argument);
  const weightFilesFound = findWeightFiles(folder);
  const configPath = join(folder, "config.json");
  if (!existsSync(configPath)) {
    throw new ModelFolderError(
      `${folder} has weights but no config.json; a Hugging Face model folder needs the config.json its weights were saved with, download it too`,
    );
  }
  const config = parseModelConfig(readJsonFile(configPath, "every model folder needs one"), configPath);
  const { tensors, weightFiles } = readCheckpointTensors(folder, weightFilesFound);
  const weights = decoderWeightsFromTensors(config, tensors, join(folder, weightFiles[0])); // model.safetensors or the shard index
  const { tokenizer, problem } = loadFolderTokenizer(folder, config);
  return { id, folder, bundled, config, weights, weightFiles, tokenizer, ...(problem !== undefined ? { tokenizerProblem: problem } : {}) };
}
