/**
 * The bundled models: every folder media/models/<id>/ that holds a Hugging Face model.
 *
 *   media/models/attention-lens-gqa/
 *     config.json         sizes (parseModelConfig): read when the folder is scanned
 *     model.safetensors   weights: only its header is checked here; the webview loads the file
 *     tokenizer.json      hashed when the folder is scanned (models with identical files can be compared
 *                         on the same token ids); loaded when the model is first used (the host tokenizes)
 *     head-metrics.json   optional: what each head does, measured (head-metrics-file.ts)
 *
 * No `vscode` import: webview URIs come from an `asWebviewUri` function the caller passes in, so
 * the unit tests run this in plain Node on the real folders and on broken copies of them.
 *
 * A broken folder does not hide the others: the scan lists the usable models and, for each broken
 * one, a problem that names the file, what is wrong with it and what to do.
 */

import { createHash } from "node:crypto";
import { open, readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";

import { parseModelConfig, type DecoderConfig } from "../model/config";
import type { ModelHeadMetrics } from "../model/head-metrics";
import { TextTokenizer } from "../model/tokenizer";
import type { ModelDescriptor } from "../protocol";
import { HEAD_METRICS_FILE, readHeadMetrics } from "./head-metrics-file";

/** The files of one model folder. */
export const MODEL_FILES = {
  config: "config.json",
  weights: "model.safetensors",
  tokenizer: "tokenizer.json",
  /** Optional: what each head does, measured (head-metrics-file.ts). */
  headMetrics: HEAD_METRICS_FILE,
} as const;

/** Thrown for a model that is missing or broken; the message says which file and what to do. */
export class ModelCatalogError extends Error {
  override name = "ModelCatalogError";
}

/** One usable model folder. */
export interface BundledModel {
  /** The folder's name, e.g. "attention-lens-gqa". */
  id: string;
  /** Absolute path of the folder. */
  folder: string;
  config: DecoderConfig;
  /** "GQA (8 query heads, 2 key/value heads)". */
  label: string;
  /** "3 layers, width 128, context 512 tokens". */
  description: string;
  /** head-metrics.json, checked; absent when the file is missing or wrong (then `headMetricsProblem` says why). */
  headMetrics?: ModelHeadMetrics;
  headMetricsProblem?: string;
  /** SHA-256 of tokenizer.json: models with the same digest read the same token ids as the same text. */
  tokenizerDigest: string;
}

/** The result of scanning the models folder. */
export interface ModelScan {
  /** Usable models: MHA first, then fewer and fewer key/value heads (GQA, MQA), then by id. */
  models: BundledModel[];
  /** One per broken folder (or one for a models folder that cannot be read). */
  problems: ModelProblem[];
}

/** Why a folder is not usable: the message names the file, what is wrong and what to do. */
export interface ModelProblem {
  /** The folder's name; undefined when the models folder itself is the problem. */
  modelId?: string;
  message: string;
}

/** Turns an absolute file path into a URI the webview may load. */
export type AsWebviewUri = (filePath: string) => string;

/** What the reader of an error can do about a broken bundled model. */
function whatToDo(id: string): string {
  return `Reinstall the Attention Lens extension; when developing it, put the exported model back into media/models/${id}/.`;
}

// ---------------------------------------------------------------------------------------------
// Labels

/** The attention kind and head counts, as shown in the model picker. */
export function labelOfModel(config: DecoderConfig): string {
  const { numAttentionHeads: heads, numKeyValueHeads: keyValueHeads } = config;
  if (keyValueHeads === heads) return `MHA (${heads} heads)`;
  if (keyValueHeads === 1) return `MQA (${heads} query heads, 1 key/value head)`;
  return `GQA (${heads} query heads, ${keyValueHeads} key/value heads)`;
}

export function describeModel(config: DecoderConfig): string {
  const layers = config.numHiddenLayers === 1 ? "1 layer" : `${config.numHiddenLayers} layers`;
  return `${layers}, width ${config.hiddenSize}, context ${config.maxPositionEmbeddings} tokens`;
}

/** The model as the webview needs it: sizes and the URIs to load it from. */
export function toModelDescriptor(model: BundledModel, asWebviewUri: AsWebviewUri): ModelDescriptor {
  return {
    id: model.id,
    label: model.label,
    configUri: asWebviewUri(join(model.folder, MODEL_FILES.config)),
    weightsUri: asWebviewUri(join(model.folder, MODEL_FILES.weights)),
    tokenizerUri: asWebviewUri(join(model.folder, MODEL_FILES.tokenizer)),
    numLayers: model.config.numHiddenLayers,
    numHeads: model.config.numAttentionHeads,
    numKeyValueHeads: model.config.numKeyValueHeads,
    maxTokens: model.config.maxPositionEmbeddings,
    ...(model.headMetrics ? { headMetrics: model.headMetrics } : {}),
    ...(model.headMetricsProblem ? { headMetricsProblem: model.headMetricsProblem } : {}),
  };
}

// ---------------------------------------------------------------------------------------------
// Scanning

/**
 * Scans `modelsFolder`: every subfolder (except hidden ones, ".name") is a model, and one without
 * config.json is reported as broken rather than skipped, so a half-copied model is not silently lost.
 */
export async function scanModels(modelsFolder: string): Promise<ModelScan> {
  let entries: { name: string; isDirectory(): boolean }[];
  try {
    entries = await readdir(modelsFolder, { withFileTypes: true });
  } catch (error) {
    return {
      models: [],
      problems: [{ message: `The models folder ${modelsFolder} cannot be read (${reasonOf(error)}). Reinstall the Attention Lens extension.` }],
    };
  }
  const models: BundledModel[] = [];
  const problems: ModelProblem[] = [];
  const folders = entries.filter((entry) => entry.isDirectory() && !entry.name.startsWith(".")).map((entry) => entry.name).sort();
  for (const id of folders) {
    try {
      models.push(await readModelFolder(join(modelsFolder, id), id));
    } catch (error) {
      const message = error instanceof ModelCatalogError ? error.message : `${join(modelsFolder, id)}: ${reasonOf(error)}. ${whatToDo(id)}`;
      problems.push({ modelId: id, message });
    }
  }
  models.sort((a, b) => b.config.numKeyValueHeads - a.config.numKeyValueHeads || a.id.localeCompare(b.id));
  return { models, problems };
}

/** Reads and checks one model folder; throws `ModelCatalogError` naming the broken file. */
export async function readModelFolder(folder: string, id: string): Promise<BundledModel> {
  const configPath = join(folder, MODEL_FILES.config);
  const configText = await readFile(configPath, "utf8").catch((error: unknown) => {
    throw new ModelCatalogError(`${configPath} ${missingOrUnreadable(error)}. ${whatToDo(id)}`);
  });
  let configJson: unknown;
  try {
    configJson = JSON.parse(configText);
  } catch (error) {
    throw new ModelCatalogError(`${configPath} is not valid JSON (${reasonOf(error)}); the file is truncated or corrupt. ${whatToDo(id)}`);
  }
  let config: DecoderConfig;
  try {
    config = parseModelConfig(configJson, configPath);
  } catch (error) {
    throw new ModelCatalogError(`${reasonOf(error)}. ${whatToDo(id)}`);
  }

  await checkSafetensorsHeader(join(folder, MODEL_FILES.weights), id);

  const tokenizerPath = join(folder, MODEL_FILES.tokenizer);
  const tokenizerBytes = await readFile(tokenizerPath).catch((error: unknown) => {
    throw new ModelCatalogError(`${tokenizerPath} ${missingOrUnreadable(error)}. ${whatToDo(id)}`);
  });
  const tokenizerDigest = createHash("sha256").update(tokenizerBytes).digest("hex");

  const { metrics, problem } = await readHeadMetrics(join(folder, MODEL_FILES.headMetrics), id, config);
  return {
    id,
    folder,
    config,
    label: labelOfModel(config),
    description: describeModel(config),
    tokenizerDigest,
    ...(metrics ? { headMetrics: metrics } : {}),
    ...(problem ? { headMetricsProblem: problem } : {}),
  };
}

/**
 * Checks that the weights file exists and starts like a safetensors file: an 8-byte header length
 * N, then N bytes of JSON, all within the file. Reading the whole file is the webview's job; this
 * catches a missing, truncated or Git LFS pointer file early, with a message that says so.
 */
async function checkSafetensorsHeader(path: string, id: string): Promise<void> {
  const file = await open(path, "r").catch((error: unknown) => {
    throw new ModelCatalogError(`${path} ${missingOrUnreadable(error)}. ${whatToDo(id)}`);
  });
  try {
    const { size } = await file.stat();
    const head = Buffer.alloc(Math.min(size, 64));
    await file.read(head, 0, head.length, 0);
    if (head.toString("latin1").startsWith("version https://git-lfs")) {
      throw new ModelCatalogError(
        `${path} is a Git LFS pointer, not the weights. Run "git lfs pull" in the repository, or ${whatToDo(id).toLowerCase()}`,
      );
    }
    const corrupt = (what: string) => new ModelCatalogError(`${path} is not a valid safetensors file (${what}). ${whatToDo(id)}`);
    if (size < 8) throw corrupt(`it has ${size} bytes; the header length alone takes 8`);
    const headerLength = Number(head.readBigUInt64LE(0));
    if (headerLength < 2 || 8 + headerLength > size) {
      throw corrupt(`its header says ${headerLength} bytes of JSON follow, but the file has ${size} bytes; it is truncated or corrupt`);
    }
    const header = Buffer.alloc(headerLength);
    await file.read(header, 0, headerLength, 8);
    try {
      JSON.parse(header.toString("utf8"));
    } catch (error) {
      throw corrupt(`its header is not JSON: ${reasonOf(error)}`);
    }
  } finally {
    await file.close();
  }
}

// ---------------------------------------------------------------------------------------------
// The catalog

/**
 * The models folder, scanned on demand (cheap: a few small reads), with each model's tokenizer
 * loaded on first use and kept while its tokenizer.json does not change.
 */
export class ModelCatalog {
  private scan: ModelScan = { models: [], problems: [] };
  private readonly tokenizers = new Map<string, { version: string; tokenizer: Promise<TextTokenizer> }>();

  constructor(readonly modelsFolder: string) {}

  /** Scans the folder again (models may have been replaced since the last scan). */
  async refresh(): Promise<ModelScan> {
    this.scan = await scanModels(this.modelsFolder);
    return this.scan;
  }

  get models(): readonly BundledModel[] {
    return this.scan.models;
  }

  get problems(): readonly ModelProblem[] {
    return this.scan.problems;
  }

  find(id: string): BundledModel | undefined {
    return this.scan.models.find((model) => model.id === id);
  }

  /**
   * The model `id`, or an error that says what is there instead. `settingName` names where the id
   * came from, for the message.
   */
  require(id: string, settingName = "attentionLens.defaultModel"): BundledModel {
    const model = this.find(id);
    if (model) return model;
    const broken = this.scan.problems.find((problem) => problem.modelId === id);
    if (broken) throw new ModelCatalogError(`The model "${id}" cannot be used: ${broken.message}`);
    if (this.scan.models.length === 0) {
      const problems = this.scan.problems.length > 0 ? ` ${this.scan.problems.map((problem) => problem.message).join(" ")}` : "";
      throw new ModelCatalogError(`Attention Lens found no usable model in ${this.modelsFolder}.${problems || " Reinstall the Attention Lens extension."}`);
    }
    const available = this.scan.models.map((candidate) => `"${candidate.id}"`).join(", ");
    throw new ModelCatalogError(
      `The model "${id}" (from ${settingName}) is not one of the bundled models: ${available}. ` +
        `Pick one with "Attention Lens: Select Model", or change ${settingName} in Settings.`,
    );
  }

  /**
   * The models whose tokenizer.json has exactly the same contents as `model`'s (`model` included):
   * the token ids of one mean the same text to the others, so they can run on the same tokens.
   */
  modelsSharingTokenizer(model: BundledModel): BundledModel[] {
    return this.models.filter((candidate) => candidate.id === model.id || candidate.tokenizerDigest === model.tokenizerDigest);
  }

  /** Throws `ModelCatalogError` unless `a` and `b` have identical tokenizer.json files. */
  requireSameTokenizer(a: BundledModel, b: BundledModel): void {
    if (a.tokenizerDigest === b.tokenizerDigest) return;
    throw new ModelCatalogError(
      `"${a.id}" and "${b.id}" cannot be compared: their tokenizer.json files differ, so the same token ids would be ` +
        `different text to each. Compare models that share a tokenizer (the bundled MHA, GQA and MQA models do).`,
    );
  }

  /** The model's tokenizer, loaded on first use; throws `ModelCatalogError` naming the file. */
  async tokenizer(model: BundledModel): Promise<TextTokenizer> {
    const path = join(model.folder, MODEL_FILES.tokenizer);
    const version = await stat(path).then(
      (stats) => `${stats.size}:${stats.mtimeMs}`,
      (error: unknown) => {
        throw new ModelCatalogError(`${path} ${missingOrUnreadable(error)}. ${whatToDo(model.id)}`);
      },
    );
    const cached = this.tokenizers.get(path);
    if (cached && cached.version === version) return cached.tokenizer;
    const tokenizer = loadTokenizer(path, model);
    this.tokenizers.set(path, { version, tokenizer });
    tokenizer.catch(() => this.tokenizers.delete(path)); // a failure is not cached: fix the file, try again
    return tokenizer;
  }
}

async function loadTokenizer(path: string, model: BundledModel): Promise<TextTokenizer> {
  const text = await readFile(path, "utf8").catch((error: unknown) => {
    throw new ModelCatalogError(`${path} ${missingOrUnreadable(error)}. ${whatToDo(model.id)}`);
  });
  let tokenizer: TextTokenizer;
  try {
    tokenizer = TextTokenizer.fromJson(text, path); // its errors start with the path
  } catch (error) {
    throw new ModelCatalogError(`${reasonOf(error)}. ${whatToDo(model.id)}`);
  }
  if (tokenizer.vocabSize > model.config.vocabSize) {
    throw new ModelCatalogError(
      `${path} has ${tokenizer.vocabSize} tokens but ${join(model.folder, MODEL_FILES.config)} says vocab_size ${model.config.vocabSize}: ` +
        `the tokenizer does not belong to this model. ${whatToDo(model.id)}`,
    );
  }
  const configBos = model.config.bosTokenId;
  if (configBos !== undefined && configBos !== tokenizer.bosTokenId) {
    throw new ModelCatalogError(
      `${path} gives <|bos|> the id ${tokenizer.bosTokenId} but config.json says bos_token_id ${configBos}: ` +
        `the tokenizer does not belong to this model. ${whatToDo(model.id)}`,
    );
  }
  return tokenizer;
}

// ---------------------------------------------------------------------------------------------

function reasonOf(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).replace(/\.$/, "");
}

function missingOrUnreadable(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === "ENOENT") return "is missing";
  return `cannot be read (${reasonOf(error)})`;
}
