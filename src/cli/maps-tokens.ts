/**
 * The tokens `maps` runs, from a text file or from token ids, cut to --max-tokens and checked
 * against the model's context and vocabulary.
 *
 *   --text <file>   the file's content (UTF-8) encoded as the model reads it (BOS in front when the
 *                   model's files say so). `start`/`end` are [start, end) UTF-16 offsets into the
 *                   file's content, which the output holds as `text`.
 *   --ids 1,2,3     the ids exactly as given: nothing is added. With a tokenizer, each token's
 *                   `text` is what it reads as on its own, and `start`/`end` are offsets into the
 *                   concatenation of those texts (the output's `text`), so that
 *                   text.slice(start, end) === token.text. Without a tokenizer.json, `text`,
 *                   `start` and `end` are null.
 */

import { readFileSync } from "node:fs";
import { InputError } from "./command-line-errors";
import type { MapsInputSource } from "./maps-arguments";
import type { LoadedModel } from "./load-model-folder";

export interface TokenRecord {
  id: number;
  /** What the token reads as; null with --ids and no tokenizer. */
  text: string | null;
  /** [start, end) in UTF-16 code units of the output's `text`; null when there is no text. */
  start: number | null;
  end: number | null;
  /** A special token (BOS, EOS, padding, ...). */
  special: boolean;
}

export interface MapsTokens {
  /** What `start`/`end` index into: the text file's content, or the token texts joined; null without a tokenizer. */
  text: string | null;
  tokens: TokenRecord[];
  /** How many tokens there were before --max-tokens cut them. */
  totalTokens: number;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function tokensOfTextFile(file: string, model: LoadedModel): MapsTokens {
  if (!model.tokenizer) throw new InputError(`--text needs the model's tokenizer: ${model.tokenizerProblem ?? "it has none"}`);
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new InputError(`cannot read the text file ${file} (${messageOf(error)}); check the path given to --text`);
  }
  const encoded = model.tokenizer.encodeForModel(text);
  if (encoded.ids.length === 0) throw new InputError(`the text file ${file} is empty and the model adds no BOS token: there is nothing to run; put some text in it`);
  const tokens = encoded.ids.map((id, index) => ({
    id,
    text: encoded.texts[index],
    start: encoded.offsets[index][0],
    end: encoded.offsets[index][1],
    special: encoded.special[index],
  }));
  return { text, tokens, totalTokens: tokens.length };
}

function tokensOfIds(ids: readonly number[], model: LoadedModel): MapsTokens {
  const { vocabSize } = model.config;
  ids.forEach((id, index) => {
    if (id >= vocabSize) {
      throw new InputError(`--ids: entry ${index + 1} (${id}) is outside the vocabulary of ${model.id}, whose ids run from 0 to ${vocabSize - 1}`);
    }
  });
  const tokenizer = model.tokenizer;
  const configSpecial = new Set([model.config.bosTokenId, model.config.eosTokenId, model.config.padTokenId]);
  if (!tokenizer) {
    const tokens = ids.map((id) => ({ id, text: null, start: null, end: null, special: configSpecial.has(id) }));
    return { text: null, tokens, totalTokens: tokens.length };
  }
  let text = "";
  const tokens = ids.map((id) => {
    const tokenText = id < tokenizer.vocabSize ? tokenizer.tokenText(id) : "";
    const start = text.length;
    text += tokenText;
    return { id, text: tokenText, start, end: text.length, special: id < tokenizer.vocabSize ? tokenizer.isSpecial(id) : false };
  });
  return { text, tokens, totalTokens: tokens.length };
}

/** The tokens to run: encoded or given, cut to `maxTokens`, and no longer than the model's context. */
export function mapsTokens(input: MapsInputSource, model: LoadedModel, maxTokens: number | undefined): MapsTokens {
  const all = input.kind === "text" ? tokensOfTextFile(input.file, model) : tokensOfIds(input.ids, model);
  const kept = maxTokens !== undefined && all.tokens.length > maxTokens ? { ...all, tokens: all.tokens.slice(0, maxTokens) } : all;
  const context = model.config.maxPositionEmbeddings;
  if (kept.tokens.length > context) {
    const what = input.kind === "text" ? `the text is ${all.totalTokens} tokens long${kept.tokens[0]?.special ? " (BOS included)" : ""}` : `--ids holds ${all.totalTokens} tokens`;
    throw new InputError(
      `${what} but ${model.id} reads at most ${context} (max_position_embeddings in config.json); ` +
        `pass --max-tokens ${context} (or fewer) to keep the first ${context} tokens`,
    );
  }
  return kept;
}
