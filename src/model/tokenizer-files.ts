/**
 * Reading a tokenizer's files, tokenizer.json and (optionally) tokenizer_config.json, into what
 * TextTokenizer needs: every token's bytes, the added tokens, the changes made to the text, and
 * the special tokens. Three kinds of tokenizer.json are read:
 *
 *   "project"        trained by this project (training/tokenizer/train-bpe.ts): its vocabulary
 *                    starts with <|bos|> (id 0), and it must have <|bos|>, <|eos|>, <|pad|> and
 *                    the plain byte-level layout, exactly as the trainer writes it;
 *   "byte-level"     byte-level BPE: GPT-2, Llama 3, Qwen2.5, Qwen3;
 *   "sentencepiece"  SentencePiece-style BPE with "byte_fallback": true: Llama 2, Mistral, TinyLlama.
 *
 * The special tokens, as the model's own files say:
 *
 *   put in front   tokenizer_config.json's "add_bos_token" (true or false) when present, else what
 *                  the post-processor's template puts in front of one text ("<s> $A": Llama 2,
 *                  Mistral; "<|begin_of_text|> $A": Llama 3), else nothing (GPT-2, Qwen). The
 *                  project's own tokenizers add nothing by themselves, but their models were
 *                  trained with <|bos|> first, so for them it is <|bos|>.
 *   put after      likewise, "add_eos_token" or the template's tokens after the text (usually none).
 *   BOS, EOS       tokenizer_config.json's "bos_token", "eos_token" (a string, or {"content": ...});
 *                  else the project's <|bos|>, <|eos|>; BOS else the template's first token.
 *   PAD            "pad_token"; else the project's <|pad|>; else the EOS token.
 *
 * Every failure names the file and says what is wrong and what to do (a `TokenizerError`).
 */

import { BYTE_TO_UNICODE, byteFallbackTokenName, type TokenByteTable, TokenByteTableBuilder } from "./token-bytes";
import type { TextStep } from "./tokenizer-offsets";
import { checkProjectPipeline, describeValue, isPlainObject, isTokenId, readPipeline, readPostProcessor, type Fail, type Pipeline, type Template } from "./tokenizer-pipeline";

/** Thrown for tokenizer files that are malformed or of a kind this module cannot map to offsets. */
export class TokenizerError extends Error {
  override name = "TokenizerError";
}

/** The special tokens every tokenizer of this project has (the trainer gives them ids 0, 1, 2). */
export const SPECIAL_TOKENS = { bos: "<|bos|>", eos: "<|eos|>", pad: "<|pad|>" } as const;

export type TokenizerKind = "project" | "byte-level" | "sentencepiece";

/** An entry of "added_tokens": matched in the text as it is, before anything else. */
export interface AddedToken {
  id: number;
  content: string;
  /** "special": true (<|endoftext|>, </s>), as opposed to added words (Qwen's <think>). */
  special: boolean;
}

/** What TextTokenizer needs, read from the files. */
export interface TokenizerDescription {
  kind: TokenizerKind;
  /** The number of ids, 0..vocabSize-1. */
  vocabSize: number;
  tokenBytes: TokenByteTable;
  addedTokens: AddedToken[];
  /** The normalizer's changes to each piece of text between added tokens. */
  normalizerSteps: TextStep[];
  /** The pre-tokenizer's changes, after the normalizer's. */
  preTokenizerSteps: TextStep[];
  prefixTokenIds: number[];
  suffixTokenIds: number[];
  bosTokenId: number | undefined;
  eosTokenId: number | undefined;
  padTokenId: number | undefined;
}

/**
 * `json` (a file's text, or the object parsed from it) as an object. `what` names the file's kind
 * in messages ("tokenizer.json").
 */
export function parseJsonObject(json: string | object, what: string, fail: Fail): Record<string, unknown> {
  let parsed: unknown = json;
  if (typeof json === "string") {
    try {
      parsed = JSON.parse(json);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      const remedy = what === "tokenizer.json" ? "copy or train it again" : "copy it again";
      fail(`it is not valid JSON (${reason}); the file may be truncated or corrupt, ${remedy}`);
    }
  }
  if (!isPlainObject(parsed)) fail(`expected a JSON object (a Hugging Face ${what}), found ${describeValue(parsed)}`);
  return parsed;
}

/** The vocabulary as `@huggingface/tokenizers` read it (reading 150,000 tokens twice costs ~0.5 s). */
export interface LibraryVocabulary {
  /** Each id's token; an added token's id holds its content. */
  tokenById: readonly (string | undefined)[];
  /** Each token's id ("model.vocab", then "added_tokens"), as found in the file: not yet checked. */
  idByToken: ReadonlyMap<string, unknown>;
}

/**
 * Checks a parsed tokenizer.json (and tokenizer_config.json) and reads what TextTokenizer needs.
 * `loadLibrary` is called once the file has the shape `@huggingface/tokenizers` relies on; the
 * vocabulary it returns is checked here.
 */
export function describeTokenizer(
  json: Record<string, unknown>,
  config: Record<string, unknown> | undefined,
  loadLibrary: () => LibraryVocabulary,
  fail: Fail,
  failConfig: Fail,
): TokenizerDescription {
  const model = json.model;
  if (!isPlainObject(model)) fail(`"model" must be an object (the BPE vocabulary and merges), found ${describeValue(model)}`);
  const project = isPlainObject(model.vocab) && model.vocab[SPECIAL_TOKENS.bos] === 0;
  let pipeline: Pipeline;
  if (project) {
    checkProjectPipeline(json, model, fail);
    pipeline = { kind: "byte-level", normalizerSteps: [], preTokenizerSteps: [], spaceSymbol: undefined };
  } else {
    pipeline = readPipeline(json, model, fail);
  }
  const kind: TokenizerKind = project ? "project" : pipeline.kind;
  if (!isPlainObject(model.vocab)) fail(`"model.vocab" must be an object mapping each token to its id, found ${describeValue(model.vocab)}`);
  const addedTokens = readAddedTokens(json.added_tokens, pipeline.normalizerSteps.length > 0, fail);
  const merges = checkMergeShapes(model.merges, fail);
  const template = readPostProcessor(json.post_processor, "post_processor", fail);

  const library = loadLibrary();
  const tokenById = checkVocabulary(library, addedTokens, fail);
  const tokenBytes = buildTokenBytes(kind, tokenById, addedTokens, pipeline.spaceSymbol, fail);
  const idOf = (token: string) => library.idByToken.get(token) as number | undefined;
  checkAllBytesAreTokens(kind, idOf, fail);
  checkMergedTokens(merges, idOf, fail);
  const specials = readSpecialTokens(kind, template, config, idOf, addedTokens, tokenById.length, fail, failConfig);
  return {
    kind,
    vocabSize: tokenById.length,
    tokenBytes,
    addedTokens,
    normalizerSteps: pipeline.normalizerSteps,
    preTokenizerSteps: pipeline.preTokenizerSteps,
    ...specials,
  };
}

// ---------------------------------------------------------------------------------------------
// The vocabulary and the added tokens

/** "added_tokens": matched in the text as they are, and decoded as they are. */
function readAddedTokens(value: unknown, hasNormalizer: boolean, fail: Fail): AddedToken[] {
  if (!Array.isArray(value)) fail(`"added_tokens" must be an array, found ${describeValue(value)}`);
  const addedTokens: AddedToken[] = [];
  const addedIds = new Set<number>();
  for (const [index, entry] of value.entries()) {
    const where = `added_tokens[${index}]`;
    if (!isPlainObject(entry)) fail(`${where} must be an object with "id" and "content", found ${describeValue(entry)}`);
    if (!isTokenId(entry.id)) fail(`${where}.id must be a non-negative integer, found ${describeValue(entry.id)}`);
    if (typeof entry.content !== "string" || entry.content === "") {
      fail(`${where}.content must be a non-empty string, found ${describeValue(entry.content)}`);
    }
    const content = entry.content;
    if (entry.lstrip === true || entry.rstrip === true) {
      fail(`${where} (${describeValue(content)}) strips the whitespace around it, so offsets could not be computed; set lstrip and rstrip to false`);
    }
    if (entry.single_word === true) {
      fail(`${where} (${describeValue(content)}) has "single_word": true, which the JavaScript tokenizer ignores, so ids could differ from the model's; set it to false`);
    }
    const special = entry.special === true;
    // As in `tokenizers`: an added token without "normalized" is normalized unless it is special.
    const normalized = typeof entry.normalized === "boolean" ? entry.normalized : !special;
    if (normalized && hasNormalizer) {
      fail(
        `${where} (${describeValue(content)}) has "normalized": true, so it would be looked for in the text after the normalizer ` +
          'changed it; only "normalized": false is supported with a normalizer; set it to false',
      );
    }
    if (addedIds.has(entry.id)) fail(`${where}: the id ${entry.id} is used by two added tokens`);
    addedIds.add(entry.id);
    addedTokens.push({ id: entry.id, content, special });
  }
  return addedTokens;
}

/** The largest id accepted: far above any real vocabulary, far below what would exhaust memory. */
const MAX_TOKEN_ID = 16_777_215;

/** Checks every id of the vocabulary: integers, each used once, 0..n-1 without gaps. */
function checkVocabulary(library: LibraryVocabulary, addedTokens: readonly AddedToken[], fail: Fail): readonly string[] {
  const addedIndexByContent = new Map(addedTokens.map((token, index) => [token.content, index]));
  const tokenById = library.tokenById;
  for (const [token, id] of library.idByToken) {
    if (!isTokenId(id)) fail(`"model.vocab" gives the token ${describeValue(token)} the id ${describeValue(id)}; ids are non-negative integers`);
    if (id > MAX_TOKEN_ID) fail(`"model.vocab" gives the token ${describeValue(token)} the id ${id}; ids above ${MAX_TOKEN_ID} are not supported; the file is corrupt`);
  }
  for (const [token, id] of library.idByToken as ReadonlyMap<string, number>) {
    const holder = tokenById[id];
    if (holder === token) continue;
    // The library wrote each token at its id in turn, so another token with the same id came later.
    const addedIndex = holder === undefined ? undefined : addedIndexByContent.get(holder);
    if (addedIndex !== undefined && !addedIndexByContent.has(token)) {
      fail(`added_tokens[${addedIndex}] gives the id ${id} to ${describeValue(holder)}, but "model.vocab" gives it to ${describeValue(token)}`);
    }
    fail(`"model.vocab" gives the id ${id} to two tokens, ${describeValue(token)} and ${describeValue(holder)}`);
  }
  for (let id = 0; id < tokenById.length; id++) {
    if (tokenById[id] === undefined) {
      fail(`no token has the id ${id}, but ids go up to ${tokenById.length - 1}; the ids of "model.vocab" and "added_tokens" must be 0..n-1 without gaps`);
    }
  }
  return tokenById as readonly string[];
}

/** Every token's bytes (see src/model/token-bytes.ts): an added token is its own UTF-8. */
function buildTokenBytes(
  kind: TokenizerKind,
  tokenById: readonly string[],
  addedTokens: readonly AddedToken[],
  spaceSymbol: string | undefined,
  fail: Fail,
): TokenByteTable {
  const addedIds = new Set(addedTokens.map((token) => token.id));
  const builder = new TokenByteTableBuilder(tokenById.length);
  for (let id = 0; id < tokenById.length; id++) {
    const token = tokenById[id];
    if (token === "") fail(`the vocabulary holds an empty token (id ${id})`);
    if (addedIds.has(id)) builder.addText(token);
    else if (kind === "sentencepiece") builder.addSentencePiece(token, spaceSymbol);
    else {
      const wrong = builder.addByteLevel(token);
      if (wrong >= 0) {
        fail(
          `the vocabulary token ${describeValue(token)} (id ${id}) holds ${describeValue(token[wrong])}, which is not a byte-level character; ` +
            "this is not a byte-level BPE vocabulary",
        );
      }
    }
  }
  return builder.build();
}

/** All 256 single bytes must be tokens, or some text could not be tokenized. */
function checkAllBytesAreTokens(kind: TokenizerKind, idOf: (token: string) => number | undefined, fail: Fail): void {
  for (let byte = 0; byte < 256; byte++) {
    const hex = byte.toString(16).toUpperCase().padStart(2, "0");
    if (kind === "sentencepiece") {
      if (idOf(byteFallbackTokenName(byte)) === undefined) {
        fail(
          `the vocabulary lacks the byte token ${describeValue(byteFallbackTokenName(byte))}; SentencePiece-style BPE with byte_fallback ` +
            'needs all 256, "<0x00>" to "<0xFF>", or some text could not be tokenized',
        );
      }
    } else if (idOf(BYTE_TO_UNICODE[byte]) === undefined) {
      fail(`the vocabulary lacks the token for the byte 0x${hex} (${describeValue(BYTE_TO_UNICODE[byte])}); a byte-level vocabulary holds all 256 bytes`);
    }
  }
}

/** The two tokens a merge joins: "left right" or ["left", "right"]; undefined when malformed. */
function mergeParts(merge: unknown): [left: string, right: string] | undefined {
  if (typeof merge === "string") {
    const space = merge.indexOf(" ");
    if (space < 0 || merge.indexOf(" ", space + 1) >= 0) return undefined;
    return [merge.slice(0, space), merge.slice(space + 1)];
  }
  if (Array.isArray(merge) && merge.length === 2 && typeof merge[0] === "string" && typeof merge[1] === "string") return [merge[0], merge[1]];
  return undefined;
}

/** "model.merges" is an array of "left right" strings or [left, right] pairs. */
function checkMergeShapes(merges: unknown, fail: Fail): unknown[] {
  if (!Array.isArray(merges)) fail(`"model.merges" must be an array, found ${describeValue(merges)}`);
  for (let index = 0; index < merges.length; index++) {
    const merge: unknown = merges[index];
    // The common case without allocating: a string with exactly one space.
    if (typeof merge === "string" && merge.indexOf(" ") >= 0 && merge.indexOf(" ") === merge.lastIndexOf(" ")) continue;
    if (mergeParts(merge) === undefined) fail(`model.merges[${index}] must be "left right" or ["left", "right"], found ${describeValue(merge)}`);
  }
  return merges;
}

/**
 * Each merge joins two tokens into a token. (Only the join is looked up, and the parts only when
 * it is missing, to name the one missing: Llama 3 has 280,000 merges, checked on every load.)
 */
function checkMergedTokens(merges: readonly unknown[], idOf: (token: string) => number | undefined, fail: Fail): void {
  for (let index = 0; index < merges.length; index++) {
    const merge = merges[index];
    const joined = typeof merge === "string" ? merge.replace(" ", "") : (merge as string[]).join("");
    if (idOf(joined) !== undefined) continue;
    const [left, right] = mergeParts(merge) as [string, string];
    const missing = [left, right, joined].find((part) => idOf(part) === undefined);
    fail(`model.merges[${index}] (${describeValue(`${left} ${right}`)}) needs the token ${describeValue(missing)}, which is not in the vocabulary; the file is corrupt`);
  }
}

// ---------------------------------------------------------------------------------------------
// Special tokens (see the top of this file)

function readSpecialTokens(
  kind: TokenizerKind,
  template: Template,
  config: Record<string, unknown> | undefined,
  idOf: (token: string) => number | undefined,
  addedTokens: readonly AddedToken[],
  vocabSize: number,
  fail: Fail,
  failConfig: Fail,
): Pick<TokenizerDescription, "prefixTokenIds" | "suffixTokenIds" | "bosTokenId" | "eosTokenId" | "padTokenId"> {
  for (const id of [...template.prefix, ...template.suffix]) {
    if (id >= vocabSize) fail(`the post_processor puts the token id ${id} around the text, but ids go up to ${vocabSize - 1}; the file is corrupt`);
  }

  let projectIds: Record<keyof typeof SPECIAL_TOKENS, number> | undefined;
  if (kind === "project") {
    projectIds = {} as Record<keyof typeof SPECIAL_TOKENS, number>;
    for (const [name, content] of Object.entries(SPECIAL_TOKENS) as [keyof typeof SPECIAL_TOKENS, string][]) {
      const id = addedTokens.find((token) => token.content === content)?.id;
      if (id === undefined) {
        fail(`it has no ${content} in "added_tokens"; the models need ${Object.values(SPECIAL_TOKENS).join(", ")}; train one with training/tokenizer/train-bpe.ts`);
      }
      projectIds[name] = id;
    }
  }

  const configured = (field: string): number | undefined => {
    const content = configToken(config, field, failConfig);
    if (content === undefined) return undefined;
    const id = idOf(content);
    if (id === undefined) failConfig(`"${field}" is ${describeValue(content)}, which is not a token of the tokenizer.json; correct it or remove "${field}"`);
    return id;
  };
  const bosTokenId = configured("bos_token") ?? projectIds?.bos ?? template.prefix[0];
  const eosTokenId = configured("eos_token") ?? projectIds?.eos;
  const padTokenId = configured("pad_token") ?? projectIds?.pad ?? eosTokenId;

  let prefixTokenIds = template.prefix;
  const addBos = configFlag(config, "add_bos_token", failConfig);
  if (addBos === true) {
    if (bosTokenId === undefined) failConfig(`"add_bos_token" is true but no BOS token is named; add "bos_token" or set "add_bos_token" to false`);
    if (!prefixTokenIds.includes(bosTokenId)) prefixTokenIds = [bosTokenId, ...prefixTokenIds];
  } else if (addBos === false) {
    prefixTokenIds = prefixTokenIds.filter((id) => id !== bosTokenId);
  } else if (kind === "project" && prefixTokenIds.length === 0 && bosTokenId !== undefined) {
    prefixTokenIds = [bosTokenId];
  }

  let suffixTokenIds = template.suffix;
  const addEos = configFlag(config, "add_eos_token", failConfig);
  if (addEos === true) {
    if (eosTokenId === undefined) failConfig(`"add_eos_token" is true but no EOS token is named; add "eos_token" or set "add_eos_token" to false`);
    if (!suffixTokenIds.includes(eosTokenId)) suffixTokenIds = [...suffixTokenIds, eosTokenId];
  } else if (addEos === false) {
    suffixTokenIds = suffixTokenIds.filter((id) => id !== eosTokenId);
  }
  return { prefixTokenIds, suffixTokenIds, bosTokenId, eosTokenId, padTokenId };
}

/** A token named in tokenizer_config.json: a string, or {"content": ...}; null or absent: none. */
function configToken(config: Record<string, unknown> | undefined, field: string, failConfig: Fail): string | undefined {
  const value = config?.[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value === "string") return value;
  if (isPlainObject(value) && typeof value.content === "string") return value.content;
  failConfig(`"${field}" must be a token: a string, or an object with "content", found ${describeValue(value)}`);
}

function configFlag(config: Record<string, unknown> | undefined, field: string, failConfig: Fail): boolean | undefined {
  const value = config?.[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "boolean") failConfig(`"${field}" must be true or false, found ${describeValue(value)}`);
  return value;
}
