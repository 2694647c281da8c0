/**
 * The model `--model` names, read whole: a Hugging Face model folder, or a bundled model by id.
 *
 *   finding it          a path that exists wins over an id; a bundled id is a folder of media/models/
 *                       of this package (attention-lens-gqa); a repository id ("org/name") is looked
 *                       up in the Hugging Face cache (HF_HUB_CACHE, HF_HOME/hub, ~/.cache/huggingface/hub),
 *                       and a snapshot folder of the cache is named by its repository
 *   checking it         src/checkpoint, as the extension does: config.json, the weight layout (a
 *                       single file or the shard index; pickles, GGUF, ONNX refused), every header
 *                       against the config
 *   reading it fully    src/checkpoint/weight-loading.ts: every tensor, shards merged
 *   the tokenizer       folder-tokenizer.ts: optional here, --ids runs without one
 *
 * What is the command line's own: the bundled ids, the refusal of a FILE passed as --model, and
 * `tool: "command-line"` in the origin, so that the advice names --model and never a VS Code command.
 */

import { existsSync, readdirSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { hubCacheFolder, listHubCache, repositoryOfSnapshotFolder } from "../checkpoint/hub-cache";
import type { ModelOrigin } from "../checkpoint/model-advice";
import { MODEL_FILES, ModelFileError } from "../checkpoint/model-files";
import { listModelFolder, readModelConfig } from "../checkpoint/model-folder";
import { checkFolderWeights } from "../checkpoint/weight-check";
import { otherWeightFileFormat } from "../checkpoint/weight-format";
import { loadModelWeights } from "../checkpoint/weight-loading";
import type { DecoderConfig } from "../model/config";
import type { DecoderWeights } from "../model/weights";
import { ModelFolderError } from "./command-line-errors";
import { loadFolderTokenizer, type FolderTokenizer } from "./folder-tokenizer";

/** Where the bundled models are: media/models/ of this package (src/cli/ -> ../../media/models). */
export const BUNDLED_MODELS_FOLDER = resolve(__dirname, "..", "..", "media", "models");

/** A model read from disk, ready to run. */
export interface LoadedModel {
  /** The bundled id, "<org>/<name>" for a Hugging Face cache snapshot, else the folder's name. */
  id: string;
  /** The folder's absolute path. */
  folder: string;
  config: DecoderConfig;
  weights: DecoderWeights;
  /** Undefined when the folder has no tokenizer.json, or one this project cannot read (see `tokenizerProblem`). */
  tokenizer: FolderTokenizer | undefined;
  /** Why there is no tokenizer, for --text to report. */
  tokenizerProblem?: string;
}

/** The ids of the bundled models (folders of media/models/ with a config.json). */
export function bundledModelIds(): string[] {
  if (!existsSync(BUNDLED_MODELS_FOLDER)) return [];
  return readdirSync(BUNDLED_MODELS_FOLDER)
    .filter((name) => existsSync(join(BUNDLED_MODELS_FOLDER, name, MODEL_FILES.config)))
    .sort();
}

/**
 * The folder `--model` names (a path, else a bundled id, else a repository of the Hugging Face
 * cache: "HuggingFaceTB/SmolLM2-135M"), as the origin the checks and their advice need.
 */
export async function locateModelFolder(argument: string, environment: NodeJS.ProcessEnv = process.env): Promise<ModelOrigin> {
  const path = resolve(argument);
  if (existsSync(path)) {
    if (!statSync(path).isDirectory()) refuseModelFile(path);
    const repository = repositoryOfSnapshotFolder(path);
    if (repository) return { source: "hub-cache", id: repository.repositoryId, folder: path, repositoryId: repository.repositoryId, tool: "command-line" };
    return { source: "folder", id: path, folder: path, tool: "command-line" };
  }
  const bundled = bundledModelIds();
  if (bundled.includes(argument)) return { source: "bundled", id: argument, folder: join(BUNDLED_MODELS_FOLDER, argument), tool: "command-line" };
  const cache = hubCacheFolder(environment, homedir());
  if (/^[^/\s]+\/[^/\s]+$/.test(argument)) {
    const cached = (await listHubCache(cache)).repositories.find((repository) => repository.repositoryId === argument);
    if (cached) return { source: "hub-cache", id: cached.repositoryId, folder: cached.snapshotFolder, repositoryId: cached.repositoryId, tool: "command-line" };
  }
  throw new ModelFolderError(
    `--model ${argument}: there is no such folder, it is not a bundled model, and the Hugging Face cache (${cache}) has no such repository; ` +
      `pass a Hugging Face model folder (config.json, model.safetensors, tokenizer.json), a repository of the cache ("org/name"), or one of ${bundled.join(", ") || "(no bundled models found)"}`,
  );
}

/** Refuses a --model that names a file rather than a folder, saying what the file is and what to pass. */
function refuseModelFile(path: string): never {
  const folder = dirname(path);
  const otherFormat = otherWeightFileFormat(path, { source: "folder", id: folder, folder, tool: "command-line" });
  if (otherFormat !== undefined) throw new ModelFolderError(otherFormat);
  if (path.endsWith(".safetensors")) {
    throw new ModelFolderError(
      `${path} is a weights file, but --model takes the FOLDER that holds it with config.json and tokenizer.json; pass --model ${folder}`,
    );
  }
  throw new ModelFolderError(
    `${path} is a file; --model takes a Hugging Face model folder (config.json, model.safetensors, tokenizer.json) or a bundled model's id`,
  );
}

/** Reads the model `--model` names: config, weights (checked strictly, then read) and, when there is one, its tokenizer. */
export async function loadModelFolder(argument: string): Promise<LoadedModel> {
  const origin = await locateModelFolder(argument);
  try {
    const names = await listModelFolder(origin);
    const { config } = await readModelConfig(names, origin);
    const checked = await checkFolderWeights(names, config, origin);
    if (!checked.weights) throw new ModelFolderError(checked.problems.join(" "));
    const weights = await loadModelWeights(checked.weights, config, origin);
    const { tokenizer, problem } = await loadFolderTokenizer(names, config, origin);
    return {
      id: origin.source === "folder" ? basename(origin.folder) : origin.id,
      folder: origin.folder,
      config,
      weights,
      tokenizer,
      ...(problem !== undefined ? { tokenizerProblem: problem } : {}),
    };
  } catch (error) {
    throw error instanceof ModelFileError ? new ModelFolderError(error.message) : error;
  }
}
