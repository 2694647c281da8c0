/**
 * A model folder's tokenizer files, in two steps:
 *
 *   scanning     tokenizer.json must be there, not a Git LFS pointer, and JSON; its SHA-256 says
 *                which models share a tokenizer (the same ids are the same text to each).
 *                tokenizer_config.json, when there, must be a JSON object. Cheap on the next scan:
 *                the result is kept while the file's size and modification time stay the same.
 *   first use    TextTokenizer.fromFiles(tokenizer.json, tokenizer_config.json): the full check of
 *                the vocabulary and merges, and whether its ids fit the model's embedding.
 *
 * Every problem names the file and says what to do, by where the model came from (model-advice.ts).
 *
 * No `vscode` import.
 */

import { createHash } from "node:crypto";
import { stat } from "node:fs/promises";
import { join } from "node:path";

import type { DecoderConfig } from "../model/config";
import { TextTokenizer } from "../model/tokenizer";
import { incompleteDownloadAdvice, repairAdvice, type ModelOrigin } from "./model-advice";
import { describeAbsentFile, fileState, MODEL_FILES, ModelFileError, parseModelJson, readModelFile, reasonOf } from "./model-files";

/** The scan's result for one tokenizer.json. */
interface TokenizerFileCheck {
  /** `${size}:${mtimeMs}`: the file has not changed while this stays the same. */
  version: string;
  digest: string;
}

/**
 * Checks tokenizer.json at scan time and returns its SHA-256 (hex); results are kept per path
 * while the file's size and modification time do not change (an 11 MB tokenizer is hashed once).
 */
export class TokenizerFileChecks {
  private readonly checked = new Map<string, TokenizerFileCheck>();

  /** Throws `ModelFileError` naming the file and what to do. */
  async digestOf(path: string, origin: ModelOrigin): Promise<string> {
    await requireTokenizerFile(path, origin);
    const version = await stat(path).then((stats) => `${stats.size}:${stats.mtimeMs}`);
    const cached = this.checked.get(path);
    if (cached && cached.version === version) return cached.digest;

    const bytes = await readModelFile(path, "the tokenizer", origin);
    checkJsonObject(bytes, path, origin);
    const digest = createHash("sha256").update(bytes).digest("hex");
    this.checked.set(path, { version, digest });
    return digest;
  }
}

/** Throws `ModelFileError` unless the optional tokenizer_config.json at `path` is a JSON object. */
export async function checkTokenizerConfig(path: string, origin: ModelOrigin): Promise<void> {
  checkJsonObject(await readModelFile(path, "the file", origin), path, origin);
}

function checkJsonObject(bytes: Buffer, path: string, origin: ModelOrigin): void {
  const json = parseModelJson(bytes, path, origin);
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new ModelFileError(`${path} is not a JSON object, as a Hugging Face tokenizer file is. ${repairAdvice(origin)}`);
  }
}

/** Throws `ModelFileError` unless tokenizer.json is there: the message says where else the tokenizer may be. */
async function requireTokenizerFile(path: string, origin: ModelOrigin): Promise<void> {
  const state = await fileState(path);
  if (state.kind !== "file") throw new ModelFileError(`${path} ${describeAbsentFile(state)}. ${await missingTokenizerAdvice(path, state.kind, origin)}`);
}

/**
 * A folder without tokenizer.json may hold the "slow" tokenizer's files instead (vocab.json +
 * merges.txt for GPT-2, tokenizer.model for SentencePiece): transformers writes tokenizer.json from them.
 */
async function missingTokenizerAdvice(path: string, kind: string, origin: ModelOrigin): Promise<string> {
  if (kind === "dangling-link") return incompleteDownloadAdvice(origin);
  if (origin.source === "bundled") return repairAdvice(origin);
  const folder = join(path, "..");
  const slowFiles: string[] = [];
  for (const name of ["tokenizer.model", "vocab.json", "merges.txt"]) {
    if ((await fileState(join(folder, name))).kind === "file") slowFiles.push(name);
  }
  const needed = "Attention Lens needs the model's tokenizer.json (the \"fast\" tokenizer) to turn the text into token ids.";
  if (slowFiles.length > 0) {
    return (
      `${needed} The folder has ${slowFiles.join(" and ")}, from which transformers writes it: ` +
      `AutoTokenizer.from_pretrained(folder).save_pretrained(folder).`
    );
  }
  return `${needed} ${repairAdvice(origin)}`;
}

/** The files `loadTokenizer` reads. */
export interface TokenizerFiles {
  tokenizerFile: string;
  tokenizerConfigFile?: string;
}

/**
 * Loads the tokenizer (tokenizer.json with tokenizer_config.json when the folder has one) and checks
 * it against the model: throws `ModelFileError` naming the file and what to do.
 *
 * A config's vocab_size may be LARGER than the tokenizer's count: the embedding is often padded
 * to a multiple of 64 or 128 rows (GPT-2 trained as 50304 rows for 50257 tokens; Qwen2.5 151936 for
 * 151665). Only a tokenizer with MORE ids than the embedding has rows is refused: those ids would
 * index past it. The bundled models' tokenizers are also checked to give <|bos|> the config's
 * bos_token_id; a person's model is not held to that (Qwen's config names a BOS its tokenizer never
 * puts in front, and it is the tokenizer that decides what is put in front).
 */
export async function loadTokenizer(files: TokenizerFiles, config: DecoderConfig, origin: ModelOrigin): Promise<TextTokenizer> {
  const path = files.tokenizerFile;
  await requireTokenizerFile(path, origin);
  const tokenizerText = (await readModelFile(path, "the tokenizer", origin)).toString("utf8");
  const configPath = files.tokenizerConfigFile;
  const tokenizerConfigText = configPath === undefined ? undefined : (await readModelFile(configPath, "the file", origin)).toString("utf8");
  let tokenizer: TextTokenizer;
  try {
    // Its errors start with the path of the file they are about.
    tokenizer = TextTokenizer.fromFiles(tokenizerText, tokenizerConfigText, { tokenizerJson: path, ...(configPath ? { tokenizerConfig: configPath } : {}) });
  } catch (error) {
    const advice = origin.source === "bundled" ? repairAdvice(origin) : "Attention Lens cannot tokenize text with this model.";
    throw new ModelFileError(`${reasonOf(error)}. ${advice}`);
  }
  const configFile = join(origin.folder, MODEL_FILES.config);
  const belongs = origin.source === "bundled" ? repairAdvice(origin) : `Put the model's own tokenizer.json beside ${configFile}. ${repairAdvice(origin)}`;
  if (tokenizer.vocabSize > config.vocabSize) {
    throw new ModelFileError(
      `${path} has ${tokenizer.vocabSize} tokens but ${configFile} says vocab_size ${config.vocabSize}: the tokenizer does not belong to this model. ${belongs}`,
    );
  }
  const configBos = config.bosTokenId;
  if (origin.source === "bundled" && configBos !== undefined && configBos !== tokenizer.bosTokenId) {
    throw new ModelFileError(
      `${path} gives its BOS token the id ${tokenizer.bosTokenId} but config.json says bos_token_id ${configBos}: the tokenizer does not belong to this model. ${belongs}`,
    );
  }
  return tokenizer;
}
