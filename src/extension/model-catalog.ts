/**
 * The model catalog: every usable model Attention Lens can find, from every source, and why each
 * folder that is not usable is not.
 *
 *   sources (model-sources.ts)      bundled media/models, attentionLens.modelFolders, folders opened
 *                                   with "Open Model Folder...", the Hugging Face hub cache
 *   one folder (src/checkpoint/     config.json, the safetensors headers, tokenizer.json, ...
 *     model-folder.ts)
 *   one entry (catalog-model.ts)    CatalogModel: labels, memory estimate, webview descriptor
 *
 * Scanning is cheap (small files and weight headers; an unchanged tokenizer.json is not hashed
 * again), so `refresh()` runs before each use. Each model's tokenizer is loaded on first use and
 * kept while its files do not change.
 *
 * A broken folder does not hide the others: the scan lists the usable models and, for each broken
 * folder, problems that name the file, what is wrong with it and what to do.
 *
 * No `vscode` import: webview URIs come from an `asWebviewUri` function the caller passes in, so
 * the unit tests run this in plain Node on real folders and on broken copies of them.
 */

import { stat } from "node:fs/promises";

import type { TextTokenizer } from "../model/tokenizer";
import type { ModelSource } from "../protocol";
import { downloadCommand, repairAdvice, type ModelOrigin } from "../checkpoint/model-advice";
import { missingOrUnreadable, ModelFileError, reasonOf } from "../checkpoint/model-files";
import { inspectModelFolder } from "../checkpoint/model-folder";
import { loadTokenizer, TokenizerFileChecks } from "../checkpoint/tokenizer-check";
import { toCatalogModel, type CatalogModel } from "./catalog-model";
import { DEFAULT_MODEL_FOLDERS_SETTING, expandHome, listModelCandidates, type ModelCandidate, type ModelCatalogSources, type ModelProblem } from "./model-sources";

export { MODEL_FILES } from "../checkpoint/model-files";
export { describeModel, labelOfModel, localResourceRootsOf, toModelDescriptor, type AsWebviewUri, type CatalogModel } from "./catalog-model";
export type { ModelCatalogSources, ModelProblem } from "./model-sources";

/** Thrown for a model that is missing or broken; the message says which file and what to do. */
export class ModelCatalogError extends Error {
  override name = "ModelCatalogError";
}

/** The result of a scan. */
export interface ModelScan {
  /** Bundled models first (MHA, then fewer and fewer key/value heads), then folders, then the hub cache, each by name. */
  models: CatalogModel[];
  /** One per problem found: a broken folder may have several, an unreadable place has one. */
  problems: ModelProblem[];
}

const SOURCE_ORDER: Record<ModelSource, number> = { bundled: 0, folder: 1, "hub-cache": 2 };

function compareModels(a: CatalogModel, b: CatalogModel): number {
  const bySource = SOURCE_ORDER[a.source] - SOURCE_ORDER[b.source];
  if (bySource !== 0) return bySource;
  if (a.source === "bundled") return b.config.numKeyValueHeads - a.config.numKeyValueHeads || a.id.localeCompare(b.id);
  return a.name.localeCompare(b.name) || a.id.localeCompare(b.id);
}

/** Scans `sources`; `tokenizerChecks` keeps tokenizer digests between scans. */
export async function scanSources(sources: ModelCatalogSources, tokenizerChecks = new TokenizerFileChecks()): Promise<ModelScan> {
  const { candidates, problems } = await listModelCandidates(sources);
  const inspected = await mapInTurns(candidates, INSPECTIONS_AT_ONCE, async (candidate) => ({ candidate, inspection: await inspectCandidate(candidate, tokenizerChecks) }));
  const models: CatalogModel[] = [];
  for (const { candidate, inspection } of inspected) {
    if (inspection.model) models.push(toCatalogModel(candidate.origin, inspection.model, candidate.repositoryFolder));
    else for (const message of inspection.problems) problems.push({ modelId: candidate.origin.id, folder: candidate.origin.folder, message });
  }
  models.sort(compareModels);
  return { models, problems };
}

/**
 * Folders inspected at the same time: their reads overlap, and at most this many tokenizer.json
 * files (11 MB for Qwen's) are in memory at once while a first scan hashes them.
 */
const INSPECTIONS_AT_ONCE = 4;

/** `map` with at most `atOnce` calls of `each` running at a time; the results in the items' order. */
async function mapInTurns<Item, Result>(items: readonly Item[], atOnce: number, each: (item: Item) => Promise<Result>): Promise<Result[]> {
  const results = new Array<Result>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await each(items[index]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(atOnce, items.length) }, worker));
  return results;
}

async function inspectCandidate(candidate: ModelCandidate, tokenizerChecks: TokenizerFileChecks) {
  try {
    return await inspectModelFolder(candidate.origin, tokenizerChecks);
  } catch (error) {
    // Not a problem of the files that the checks foresaw: still only this folder's problem.
    return { problems: [`${candidate.origin.folder} cannot be inspected (${reasonOf(error)}). Check the folder's files and permissions; if they look right, please report this with the folder's list of files.`] };
  }
}

/** Scans a folder of bundled models (media/models): every subfolder is a model. */
export function scanModels(modelsFolder: string): Promise<ModelScan> {
  return scanSources({ bundledModelsFolder: modelsFolder });
}

/** Reads and checks one bundled model folder; throws `ModelCatalogError` naming the broken file(s). */
export async function readModelFolder(folder: string, id: string): Promise<CatalogModel> {
  const origin: ModelOrigin = { source: "bundled", id, folder, tool: "extension" };
  const inspection = await inspectModelFolder(origin, new TokenizerFileChecks());
  if (!inspection.model) throw new ModelCatalogError(inspection.problems.join(" "));
  return toCatalogModel(origin, inspection.model);
}

/**
 * The models of every source, scanned on demand, with each model's tokenizer loaded on first use
 * and kept while its tokenizer files do not change.
 */
export class ModelCatalog {
  private scan: ModelScan = { models: [], problems: [] };
  private sourceList: ModelCatalogSources;
  private readonly tokenizerChecks = new TokenizerFileChecks();
  private readonly tokenizers = new Map<string, { version: string; tokenizer: Promise<TextTokenizer> }>();

  /** `sources`: where to look. */
  constructor(sources: ModelCatalogSources) {
    this.sourceList = { ...sources };
  }

  get sources(): Readonly<ModelCatalogSources> {
    return this.sourceList;
  }

  /** Changes where to look (a setting changed, a folder was opened); takes effect at the next `refresh()`. */
  setSources(sources: ModelCatalogSources): void {
    this.sourceList = { ...sources };
  }

  /** Scans every source again (models may have been added, replaced or removed since the last scan). */
  async refresh(): Promise<ModelScan> {
    this.scan = await scanSources(this.sourceList, this.tokenizerChecks);
    return this.scan;
  }

  get models(): readonly CatalogModel[] {
    return this.scan.models;
  }

  get problems(): readonly ModelProblem[] {
    return this.scan.problems;
  }

  /** The model `id`; a folder's id may be written with "~" (as in attentionLens.defaultModel). */
  find(id: string): CatalogModel | undefined {
    const expanded = id.startsWith("~") ? expandHome(id, this.sourceList.homeFolder) : undefined;
    return this.scan.models.find((model) => model.id === id || model.id === expanded);
  }

  /** Where the catalog looks, in words: "the bundled models (...), the Hugging Face cache (...)". */
  describeSources(): string {
    const { bundledModelsFolder, modelFolders = [], rememberedFolders = [], hubCacheFolder } = this.sourceList;
    const places: string[] = [];
    if (bundledModelsFolder !== undefined) places.push(`the bundled models (${bundledModelsFolder})`);
    if (modelFolders.length > 0) places.push(`${this.sourceList.modelFoldersSetting ?? DEFAULT_MODEL_FOLDERS_SETTING} (${modelFolders.join(", ")})`);
    if (rememberedFolders.length > 0) places.push(`the folders opened with "Open Model Folder..." (${rememberedFolders.join(", ")})`);
    if (hubCacheFolder !== undefined) places.push(`the Hugging Face cache (${hubCacheFolder})`);
    if (places.length === 0) return "no place (no model source is set)";
    return places.length === 1 ? places[0] : `${places.slice(0, -1).join(", ")} and ${places[places.length - 1]}`;
  }

  /**
   * The model `id`, or an error that says where it was looked for and what is there instead.
   * `settingName` names where the id came from, for the message.
   */
  require(id: string, settingName = "attentionLens.defaultModel"): CatalogModel {
    const model = this.find(id);
    if (model) return model;
    const broken = this.scan.problems.filter((problem) => problem.modelId === id);
    if (broken.length > 0) throw new ModelCatalogError(`The model "${id}" cannot be used: ${broken.map((problem) => problem.message).join(" ")}`);
    if (this.scan.models.length === 0) {
      const problems = this.scan.problems.map((problem) => problem.message).join(" ");
      const fallback = this.sourceList.bundledModelsFolder !== undefined ? "Reinstall the Attention Lens extension." : this.howToAddModels(id);
      throw new ModelCatalogError(`Attention Lens found no usable model in ${this.describeSources()}. ${problems || fallback}`);
    }
    const available = this.scan.models.map((candidate) => `"${candidate.id}"`).join(", ");
    throw new ModelCatalogError(
      `The model "${id}" (from ${settingName}) is not one of the models Attention Lens found in ${this.describeSources()}: ${available}. ` +
        `${this.howToAddModels(id)} Pick one of these with "Attention Lens: Select Model"` +
        (settingName.startsWith("attentionLens.") ? `, or change ${settingName} in Settings.` : "."),
    );
  }

  /** How the model `id` could be made available, by what it looks like: a path, a repository id, a name. */
  private howToAddModels(id: string): string {
    const setting = this.sourceList.modelFoldersSetting ?? DEFAULT_MODEL_FOLDERS_SETTING;
    if (id.startsWith("/") || id.startsWith("~") || /^[A-Za-z]:[\\/]/.test(id) || id.startsWith("\\\\")) {
      return `To use the folder ${id}, add it to ${setting} or open it with "Attention Lens: Open Model Folder...".`;
    }
    if (/^[^/\s]+\/[^/\s]+$/.test(id)) {
      return this.sourceList.hubCacheFolder === undefined
        ? `To use the Hugging Face model ${id}, download it into a folder (${downloadCommand(id, "<folder>")}) and add that folder to ${setting}.`
        : `To use the Hugging Face model ${id}, download it into the cache: ${downloadCommand(id)}.`;
    }
    return `Your own models are found in the folders of ${setting}, the folders opened with "Attention Lens: Open Model Folder..." and the Hugging Face cache.`;
  }

  /**
   * The models whose tokenizer.json has exactly the same contents as `model`'s (`model` included):
   * the token ids of one mean the same text to the others, so they can run on the same tokens.
   */
  modelsSharingTokenizer(model: CatalogModel): CatalogModel[] {
    return this.models.filter((candidate) => candidate.id === model.id || candidate.tokenizerDigest === model.tokenizerDigest);
  }

  /** Throws `ModelCatalogError` unless `a` and `b` have identical tokenizer.json files. */
  requireSameTokenizer(a: CatalogModel, b: CatalogModel): void {
    if (a.tokenizerDigest === b.tokenizerDigest) return;
    throw new ModelCatalogError(
      `"${a.id}" and "${b.id}" cannot be compared: their tokenizer.json files differ, so the same token ids would be ` +
        `different text to each. Compare models that share a tokenizer (the bundled MHA, GQA and MQA models do).`,
    );
  }

  /** The model's tokenizer (tokenizer.json with tokenizer_config.json), loaded on first use; throws `ModelCatalogError` naming the file. */
  async tokenizer(model: CatalogModel): Promise<TextTokenizer> {
    const files = [model.tokenizerFile, ...(model.tokenizerConfigFile ? [model.tokenizerConfigFile] : [])];
    const origin: ModelOrigin = { source: model.source, id: model.id, folder: model.folder, ...(model.repositoryId ? { repositoryId: model.repositoryId } : {}), tool: "extension" };
    const versions = await Promise.all(
      files.map((path) =>
        stat(path).then(
          (stats) => `${stats.size}:${stats.mtimeMs}`,
          (error: unknown) => {
            throw new ModelCatalogError(`${path} ${missingOrUnreadable(error)}. ${repairAdvice(origin)}`);
          },
        ),
      ),
    );
    const key = files.join("\n");
    const version = versions.join(" ");
    const cached = this.tokenizers.get(key);
    if (cached && cached.version === version) return cached.tokenizer;
    const tokenizer = loadTokenizer(model, model.config, origin).catch((error: unknown) => {
      throw error instanceof ModelFileError ? new ModelCatalogError(error.message) : error;
    });
    this.tokenizers.set(key, { version, tokenizer });
    // A failure is not cached: fix the file, try again.
    tokenizer.catch(() => {
      if (this.tokenizers.get(key)?.tokenizer === tokenizer) this.tokenizers.delete(key);
    });
    return tokenizer;
  }
}
