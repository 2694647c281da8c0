/**
 * src/checkpoint: a model folder on disk, for every tool that reads one (the VS Code extension's
 * catalog, the `attention-lens maps` command line). Finding it, checking its files by their
 * headers, refusing other formats, reading it fully:
 *
 *   hub-cache.ts            finding it: the Hugging Face cache's models--org--name/snapshots/<commit>
 *   model-files.ts          the files of a folder by role; missing, dangling link, Git LFS pointer
 *   model-advice.ts         what to do about a broken file, by where the model came from and which tool reads it
 *   weight-format.ts        which weights the folder holds; the refusal of pickles, GGUF, ONNX, TF/Flax
 *   safetensors-header.ts   one safetensors file's header, read without its weights
 *   weight-check.ts         the headers of every weight file (shards by their index) against config.json
 *   tokenizer-check.ts      tokenizer.json: checked and hashed at a scan, loaded on first use
 *   head-metrics-file.ts    head-metrics.json (optional): what each head does, measured
 *   model-folder.ts         this file: one folder, inspected from its small files and headers
 *   weight-loading.ts       the checked weights read in full, shards merged, for a forward pass
 *
 * Dependencies run one way: src/extension and src/cli use this folder, it uses src/model; nothing
 * here imports `vscode`, src/extension or src/cli, and the webview never imports it (node:fs).
 *
 * One Hugging Face model folder, inspected: a bundled model, a folder of the person's, or a
 * snapshot of the hub cache. Only small files and the weights' headers are read:
 *
 *   config.json              parseModelConfig: the family and the sizes                  required
 *   weights                  model.safetensors, or the index and every shard it names      required
 *                            (weight-format.ts finds them, weight-check.ts checks the headers)
 *   tokenizer.json           hashed (tokenizer-check.ts); loaded on first use              required
 *   tokenizer_config.json    checked to be JSON; read with the tokenizer                   optional
 *   generation_config.json   bos_token_id and eos_token_id                                  optional
 *   head-metrics.json        what each head does, measured (head-metrics-file.ts)          optional
 *
 * A problem with a required file makes the folder unusable; the inspection then returns every
 * problem it found, each naming the file, what is wrong and what to do. `listModelFolder` and
 * `readModelConfig` are the first two steps on their own, for a tool that reads less (the command
 * line, where tokenizer.json is optional).
 */

import { readdir, readFile, realpath } from "node:fs/promises";
import { dirname, join } from "node:path";

import { ConfigError, parseModelConfig, type DecoderConfig } from "../model/config";
import type { ModelHeadMetrics } from "../model/head-metrics";
import { readHeadMetrics } from "./head-metrics-file";
import { repairAdvice, type ModelOrigin } from "./model-advice";
import { describeAbsentFile, fileState, isInside, MODEL_FILES, ModelFileError, parseModelJson, readModelFile, reasonOf } from "./model-files";
import { checkTokenizerConfig, type TokenizerFileChecks } from "./tokenizer-check";
import { checkFolderWeights, type ModelWeights } from "./weight-check";
import { otherWeightFormat } from "./weight-format";

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
  let config: DecoderConfig;
  let configFile: string;
  try {
    names = await listModelFolder(origin);
    ({ config, configFile } = await readModelConfig(names, origin));
  } catch (error) {
    // Without the sizes the weights cannot be checked.
    if (!(error instanceof ModelFileError)) throw error;
    return { problems: [error.message] };
  }

  const problems: string[] = [];
  const checked = await checkFolderWeights(names, config, origin);
  problems.push(...checked.problems);

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
  const weights = checked.weights;
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

/** The names in `origin.folder` (links included); throws `ModelFileError` when it is not a readable folder. */
export async function listModelFolder(origin: ModelOrigin): Promise<string[]> {
  try {
    return await readdir(origin.folder);
  } catch (error) {
    const state = await fileState(origin.folder);
    const what = state.kind === "file" ? "is a file, not a model folder" : state.kind === "folder" ? `cannot be read (${reasonOf(error)})` : describeAbsentFile(state);
    throw new ModelFileError(`${origin.folder} ${what}. ${repairAdvice(origin)}`);
  }
}

/**
 * config.json of `origin.folder` (whose entries are `names`), parsed; throws `ModelFileError`
 * naming the file and what to do. A folder of another format without one (a lone .gguf) says so first.
 */
export async function readModelConfig(names: readonly string[], origin: ModelOrigin): Promise<{ config: DecoderConfig; configFile: string }> {
  const configFile = join(origin.folder, MODEL_FILES.config);
  if (!names.includes(MODEL_FILES.config)) {
    const otherFormat = otherWeightFormat(origin.folder, names, origin);
    if (otherFormat !== undefined) throw new ModelFileError(otherFormat);
  }
  const json = parseModelJson(await readModelFile(configFile, "the file", origin), configFile, origin);
  try {
    return { config: parseModelConfig(json, configFile), configFile };
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
        "The heads' measured roles (previous-token, induction, sink, entropy) come with the bundled models; " +
        `for this model the heads are shown in layer order (a ${MODEL_FILES.headMetrics} beside its config.json would add them).`,
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
