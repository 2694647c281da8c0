/**
 * Where the catalog looks for models, and the model folders each place holds, in this order (the
 * first place a folder is found in wins: a folder reached twice, by its real path, is listed once):
 *
 *   bundled models        media/models/<id>/: every subfolder is a model (one without config.json
 *                         is reported, so a half-copied model is not silently lost)
 *   model folders         attentionLens.modelFolders: each a model folder, or a folder whose
 *                         subfolders are model folders (one level down)
 *   remembered folders    opened with "Open Model Folder...": the same two kinds
 *   the hub cache         every models--org--name at its snapshot (src/checkpoint/hub-cache.ts)
 *
 * Nothing is inspected here beyond folder listings: src/checkpoint/model-folder.ts does that.
 *
 * No `vscode` import.
 */

import { readdir, realpath } from "node:fs/promises";
import { isAbsolute, join, resolve } from "node:path";

import { listHubCache } from "../checkpoint/hub-cache";
import type { ModelOrigin } from "../checkpoint/model-advice";
import { fileState, MODEL_FILES, reasonOf } from "../checkpoint/model-files";
import { isWeightFileName } from "../checkpoint/weight-format";

/** The places the catalog looks in. Every one is optional. */
export interface ModelCatalogSources {
  /** The extension's media/models folder. */
  bundledModelsFolder?: string;
  /** The attentionLens.modelFolders setting: model folders, or folders of model folders. */
  modelFolders?: readonly string[];
  /** Folders opened with "Attention Lens: Open Model Folder..." (remembered by the caller). */
  rememberedFolders?: readonly string[];
  /** The Hugging Face hub cache (`hubCacheFolder(process.env, os.homedir())`); undefined: not searched. */
  hubCacheFolder?: string;
  /** What "~" in a folder path means (the caller passes os.homedir()); without it, "~" paths are refused. */
  homeFolder?: string;
  /** The setting `modelFolders` came from, for messages. Default "attentionLens.modelFolders". */
  modelFoldersSetting?: string;
}

/** A folder to inspect, and where it came from. */
export interface ModelCandidate {
  origin: ModelOrigin;
  /** For the hub cache: models--org--name, whose blobs the snapshot links point into. */
  repositoryFolder?: string;
}

/** A place or folder that yields no model: the message names it, what is wrong and what to do. */
export interface ModelProblem {
  /** The id the model would have had; undefined when a whole place is the problem. */
  modelId?: string;
  folder: string;
  message: string;
}

export const DEFAULT_MODEL_FOLDERS_SETTING = "attentionLens.modelFolders";

/** Every folder the sources name as a model, each real folder once. */
export async function listModelCandidates(sources: ModelCatalogSources): Promise<{ candidates: ModelCandidate[]; problems: ModelProblem[] }> {
  const candidates: ModelCandidate[] = [];
  const problems: ModelProblem[] = [];
  if (sources.bundledModelsFolder !== undefined) await listBundled(sources.bundledModelsFolder, candidates, problems);
  const setting = sources.modelFoldersSetting ?? DEFAULT_MODEL_FOLDERS_SETTING;
  for (const folder of sources.modelFolders ?? []) {
    await listPersonFolder(folder, { from: `listed in ${setting}`, fixIt: `Fix the path in ${setting}, or remove it.` }, sources.homeFolder, candidates, problems);
  }
  for (const folder of sources.rememberedFolders ?? []) {
    const from = `opened with "Attention Lens: Open Model Folder..."`;
    await listPersonFolder(folder, { from, fixIt: "Put the model back there, or open its new place with that command." }, sources.homeFolder, candidates, problems);
  }
  if (sources.hubCacheFolder !== undefined) {
    const listing = await listHubCache(sources.hubCacheFolder);
    for (const repository of listing.repositories) {
      candidates.push({
        origin: { source: "hub-cache", id: repository.repositoryId, folder: repository.snapshotFolder, repositoryId: repository.repositoryId, tool: "extension" },
        repositoryFolder: repository.repositoryFolder,
      });
    }
    for (const problem of listing.problems) {
      problems.push({ ...(problem.repositoryId ? { modelId: problem.repositoryId } : {}), folder: problem.folder, message: problem.message });
    }
  }
  return { candidates: await withoutDuplicates(candidates), problems };
}

async function listBundled(modelsFolder: string, candidates: ModelCandidate[], problems: ModelProblem[]): Promise<void> {
  try {
    const entries = await readdir(modelsFolder, { withFileTypes: true });
    for (const name of entries.filter((entry) => entry.isDirectory() && !entry.name.startsWith(".")).map((entry) => entry.name).sort()) {
      candidates.push({ origin: { source: "bundled", id: name, folder: join(modelsFolder, name), tool: "extension" } });
    }
  } catch (error) {
    problems.push({ folder: modelsFolder, message: `The models folder ${modelsFolder} cannot be read (${reasonOf(error)}). Reinstall the Attention Lens extension.` });
  }
}

/**
 * A folder of the person's: a model folder itself (it holds config.json or weights), else the
 * folder of each subfolder that does. `from` says where the path came from and `fixIt` what to do
 * about a wrong one, for the messages.
 */
async function listPersonFolder(
  path: string,
  { from, fixIt }: { from: string; fixIt: string },
  homeFolder: string | undefined,
  candidates: ModelCandidate[],
  problems: ModelProblem[],
): Promise<void> {
  const folder = expandHome(path.trim(), homeFolder);
  if (folder === undefined || !isAbsolute(folder)) {
    problems.push({ folder: path, message: `The model folder "${path}" (${from}) is not an absolute path. Write the full path, such as ~/models/SmolLM2-135M or /data/checkpoints.` });
    return;
  }
  const state = await fileState(folder);
  if (state.kind !== "folder") {
    const what = state.kind === "file" ? "is a file, not a folder" : state.kind === "missing" ? "does not exist" : state.kind === "unreadable" ? `cannot be read (${state.reason})` : "is a link to a folder that is not there";
    problems.push({ modelId: folder, folder, message: `The model folder ${folder} (${from}) ${what}. ${fixIt}` });
    return;
  }
  const names = await readdir(folder).catch((error: unknown) => {
    problems.push({ modelId: folder, folder, message: `The model folder ${folder} (${from}) cannot be read (${reasonOf(error)}). ${fixIt}` });
    return undefined;
  });
  if (names === undefined) return;
  if (looksLikeModelFolder(names)) {
    candidates.push({ origin: { source: "folder", id: folder, folder, tool: "extension" } });
    return;
  }
  let found = 0;
  for (const name of names.filter((name) => !name.startsWith(".")).sort()) {
    const subfolder = join(folder, name);
    if ((await fileState(subfolder)).kind !== "folder") continue;
    const subfolderNames = await readdir(subfolder).catch(() => [] as string[]);
    if (!looksLikeModelFolder(subfolderNames)) continue;
    candidates.push({ origin: { source: "folder", id: subfolder, folder: subfolder, tool: "extension" } });
    found++;
  }
  if (found === 0 && names.some((name) => name.startsWith("models--"))) {
    problems.push({
      modelId: folder,
      folder,
      message:
        `The folder ${folder} (${from}) is a Hugging Face hub cache, not a model folder. Attention Lens searches the cache by itself ` +
        `(HF_HUB_CACHE, else HF_HOME/hub, else ~/.cache/huggingface/hub): set HF_HUB_CACHE to this folder before starting VS Code, ` +
        `or list one model's snapshot (${join(folder, "models--<org>--<name>", "snapshots", "<commit>")}). ${fixIt}`,
    });
  } else if (found === 0) {
    problems.push({
      modelId: folder,
      folder,
      message:
        `The folder ${folder} (${from}) holds no model: neither ${MODEL_FILES.config} and weights, nor subfolders that hold them. ` +
        `A Hugging Face model folder holds ${MODEL_FILES.config}, ${MODEL_FILES.weights} (or ${MODEL_FILES.weightIndex} and its shards) and ${MODEL_FILES.tokenizer}. ${fixIt}`,
    });
  }
}

/** Holds config.json, or weights of any format (so that a lone .gguf is explained, not skipped). */
function looksLikeModelFolder(names: readonly string[]): boolean {
  return names.some((name) => name === MODEL_FILES.config || isWeightFileName(name));
}

/** "~/models" -> "<home>/models"; undefined for a "~" path without a home folder. */
export function expandHome(path: string, homeFolder: string | undefined): string | undefined {
  if (path !== "~" && !path.startsWith("~/") && !path.startsWith("~\\")) return isAbsolute(path) ? resolve(path) : path;
  return homeFolder === undefined ? undefined : join(homeFolder, path.slice(1));
}

/** The first candidate of each real folder (a folder reached through a link, or listed twice, once). */
async function withoutDuplicates(candidates: readonly ModelCandidate[]): Promise<ModelCandidate[]> {
  const seen = new Set<string>();
  const kept: ModelCandidate[] = [];
  for (const candidate of candidates) {
    const real = await realpath(candidate.origin.folder).catch(() => candidate.origin.folder);
    if (seen.has(real)) continue;
    seen.add(real);
    kept.push(candidate);
  }
  return kept;
}
