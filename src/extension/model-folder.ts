/**
 * One Hugging Face model folder, inspected: a bundled model, a folder of the person's, or a
 * snapshot of the hub cache. Only small files and the weights' headers are read:
 *
 *   config.json              parseModelConfig: the family and the sizes                  required
 *   weights                  model.safetensors, or the index and every shard it names      required
 *                            (weight-format.ts finds them, weight-check.ts checks the headers)
 *   tokenizer.json           hashed (catalog-tokenizer.ts); loaded on first use            required
 *   tokenizer_config.json    checked to be JSON; read with the tokenizer                   optional
 *   generation_config.json   bos_token_id and eos_token_id                                  optional
 *   head-metrics.json        what each head does, measured (head-metrics-file.ts)          optional
 *
 * A problem with a required file makes the folder unusable; the inspection then returns every
 * problem it found, each naming the file, what is wrong and what to do.
 *
 * No `vscode` import.
 */

import { readdir, readFile, realpath } from "node:fs/promises";
import { dirname, join } from "node:path";

import { ConfigError, parseModelConfig, type DecoderConfig } from "../model/config";
import type { ModelHeadMetrics } from "../model/head-metrics";
import { checkTokenizerConfig, type TokenizerFileChecks } from "./catalog-tokenizer";
import { readHeadMetrics } from "./head-metrics-file";
import { incompleteDownloadAdvice, repairAdvice, type ModelOrigin } from "./model-advice";
import { describeAbsentFile, fileState, isGitLfsPointer, isInside, MODEL_FILES, ModelFileError, reasonOf } from "./model-files";
import { checkWeights, type ModelWeights } from "./weight-check";
import { findWeightLayout, otherWeightFormat } from "./weight-format";

/** generation_config.json's token ids, when the folder has the file. */
export interface GenerationSettings {
  bosTokenId?: number;
  /** Generation stops at any of these (some models list several, e.g. Llama 3's <|eot_id|> and <|end_of_text|>). */
  eosTokenIds: number[];
}

/** What a usable model folder holds. */
export interface ModelFolder {
  config: DecoderConfig;
  /** Absolute paths of the files. */
  configFile: string;
  weights: ModelWeights;
  tokenizerFile: string;
  tokenizerConfigFile?: string;
  /** SHA-256 of tokenizer.json: models with the same digest read the same token ids as the same text. */
  tokenizerDigest: string;
  generationConfigFile?: string;
  generation?: GenerationSettings;
  /** Why generation_config.json was not used (it is optional: the model works without it). */
  generationConfigProblem?: string;
  headMetrics?: ModelHeadMetrics;
  /** Why `headMetrics` is absent. */
  headMetricsProblem?: string;
  /**
   * The real folders the files live in, outside `origin.folder`: the targets of links (a hub
   * snapshot's blobs, a folder of links to elsewhere). The webview must be allowed to read them.
   */
  linkedFolders: string[];
}

export type ModelFolderInspection = { model: ModelFolder; problems: [] } | { model?: undefined; problems: string[] };

/** Inspects `origin.folder`; never throws for a broken folder (the problems say what is wrong). */
export async function inspectModelFolder(origin: ModelOrigin, tokenizerChecks: TokenizerFileChecks): Promise<ModelFolderInspection> {
  const folder = origin.folder;
  let names: string[];
  try {
    names = await readdir(folder);
  } catch (error) {
    const state = await fileState(folder);
    const what = state.kind === "file" ? "is a file, not a model folder" : state.kind === "folder" ? `cannot be read (${reasonOf(error)})` : describeAbsentFile(state);
    return { problems: [`${folder} ${what}. ${repairAdvice(origin)}`] };
  }

  let config: DecoderConfig;
  const configFile = join(folder, MODEL_FILES.config);
  try {
    config = await readConfig(configFile, origin);
  } catch (error) {
    if (!(error instanceof ModelFileError)) throw error;
    // Without the sizes the weights cannot be checked; a folder of another format (a lone .gguf) says so first.
    const otherFormat = names.includes(MODEL_FILES.config) ? undefined : otherWeightFormat(folder, names, origin);
    return { problems: [otherFormat ?? error.message] };
  }

  const problems: string[] = [];
  let weights: ModelWeights | undefined;
  try {
    const checked = await checkWeights(findWeightLayout(folder, names, origin), config, origin);
    if (checked.weights) weights = checked.weights;
    else problems.push(...checked.problems);
  } catch (error) {
    if (!(error instanceof ModelFileError)) throw error;
    problems.push(error.message);
  }

  const tokenizerFile = join(folder, MODEL_FILES.tokenizer);
  let tokenizerDigest: string | undefined;
  try {
    tokenizerDigest = await tokenizerChecks.digestOf(tokenizerFile, origin);
  } catch (error) {
    if (!(error instanceof ModelFileError)) throw error;
    problems.push(error.message);
  }
  const tokenizerConfigFile = names.includes(MODEL_FILES.tokenizerConfig) ? join(folder, MODEL_FILES.tokenizerConfig) : undefined;
  if (tokenizerConfigFile) {
    await checkTokenizerConfig(tokenizerConfigFile, origin).catch((error: unknown) => {
      if (!(error instanceof ModelFileError)) throw error;
      problems.push(error.message);
    });
  }
  if (problems.length > 0 || !weights || tokenizerDigest === undefined) return { problems };

  const generationConfigFile = names.includes(MODEL_FILES.generationConfig) ? join(folder, MODEL_FILES.generationConfig) : undefined;
  const generation = generationConfigFile ? await readGenerationConfig(generationConfigFile) : {};
  const headMetrics = await readModelHeadMetrics(origin, config, names.includes(MODEL_FILES.headMetrics));
  const usedFiles = [configFile, ...weights.files, ...(weights.indexFile ? [weights.indexFile] : []), tokenizerFile, ...(tokenizerConfigFile ? [tokenizerConfigFile] : [])];
  return {
    model: {
      config,
      configFile,
      weights,
      tokenizerFile,
      ...(tokenizerConfigFile ? { tokenizerConfigFile } : {}),
      tokenizerDigest,
      ...(generationConfigFile ? { generationConfigFile } : {}),
      ...generation,
      ...headMetrics,
      linkedFolders: await linkedFoldersOf(folder, usedFiles),
    },
    problems: [],
  };
}

/** config.json, parsed; throws `ModelFileError` naming the file and what to do. */
async function readConfig(path: string, origin: ModelOrigin): Promise<DecoderConfig> {
  const state = await fileState(path);
  if (state.kind !== "file") {
    throw new ModelFileError(`${path} ${describeAbsentFile(state)}. ${state.kind === "dangling-link" ? incompleteDownloadAdvice(origin) : repairAdvice(origin)}`);
  }
  const bytes = await readFile(path).catch((error: unknown) => {
    throw new ModelFileError(`${path} cannot be read (${reasonOf(error)}). ${repairAdvice(origin)}`);
  });
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString("utf8"));
  } catch (error) {
    const what = isGitLfsPointer(bytes) ? "is a Git LFS pointer, not the file" : `is not valid JSON (${reasonOf(error)}); the file is truncated or corrupt`;
    throw new ModelFileError(`${path} ${what}. ${repairAdvice(origin)}`);
  }
  try {
    return parseModelConfig(json, path);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    // A bundled model's config is damaged; a person's may simply be of a family Attention Lens does not run.
    const advice = origin.source === "bundled" ? repairAdvice(origin) : "Attention Lens cannot show this model; pick a model of a supported family, or check that config.json is the model's own.";
    throw new ModelFileError(`${reasonOf(error)}. ${advice}`);
  }
}

/** generation_config.json's bos_token_id and eos_token_id (an id or a list); a broken file is noted, not fatal. */
async function readGenerationConfig(path: string): Promise<Pick<ModelFolder, "generation" | "generationConfigProblem">> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(path, "utf8"));
  } catch (error) {
    return { generationConfigProblem: `${path} cannot be read as JSON (${reasonOf(error)}); it is ignored, and generation stops at the tokenizer's end token.` };
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    return { generationConfigProblem: `${path} is not a JSON object; it is ignored.` };
  }
  const fields = json as Record<string, unknown>;
  const isId = (value: unknown): value is number => typeof value === "number" && Number.isInteger(value) && value >= 0;
  const eos = fields.eos_token_id;
  const eosTokenIds = isId(eos) ? [eos] : Array.isArray(eos) ? eos.filter(isId) : [];
  return { generation: { ...(isId(fields.bos_token_id) ? { bosTokenId: fields.bos_token_id } : {}), eosTokenIds } };
}

/**
 * head-metrics.json (optional). A bundled model without one is a packaging mistake and says so; a
 * person's model normally has none, and the note says that only Attention Lens' tools write one.
 */
async function readModelHeadMetrics(
  origin: ModelOrigin,
  config: DecoderConfig,
  present: boolean,
): Promise<Pick<ModelFolder, "headMetrics" | "headMetricsProblem">> {
  if (!present && origin.source !== "bundled") {
    return {
      headMetricsProblem:
        `${origin.id} has no ${MODEL_FILES.headMetrics}, so the heads' measured roles (previous-token, induction, sink, entropy) are not shown; ` +
        "the bundled models come with one, written by training/model-cards.ts.",
    };
  }
  const { metrics, problem } = await readHeadMetrics(join(origin.folder, MODEL_FILES.headMetrics), origin.id, config);
  return { ...(metrics ? { headMetrics: metrics } : {}), ...(problem ? { headMetricsProblem: problem } : {}) };
}

/** The folders (outside `folder`) that the real files behind `files` are in. */
async function linkedFoldersOf(folder: string, files: readonly string[]): Promise<string[]> {
  const realFolder = await realpath(folder).catch(() => folder);
  const linked = new Set<string>();
  for (const file of files) {
    const real = await realpath(file).catch(() => undefined);
    if (real === undefined) continue;
    if (!isInside(folder, real) && !isInside(realFolder, real)) linked.add(dirname(real));
  }
  return [...linked].sort();
}
