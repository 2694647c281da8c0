/**
 * The tokenizer: text to token ids and back, plus where in the text each token came from.
 *
 * The bundled models use a byte-level BPE tokenizer (the GPT-2 kind), trained by this project
 * (training/tokenizer/train-bpe.ts) and stored as a Hugging Face `tokenizer.json`:
 *
 *   1. the text is encoded as UTF-8 bytes, so any string can be tokenized and nothing is unknown;
 *   2. a regular expression cuts it into words first ("Hello", " world", "!", "\n"), and no token
 *      ever crosses a word boundary;
 *   3. inside each word, learned merges join bytes into longer tokens ("w"+"o" -> "wo", ...).
 *
 * A token is therefore a run of BYTES, not of characters. In the vocabulary each byte is written as
 * one printable character (GPT-2's byte-to-unicode table: a space is "Ġ", a newline "Ċ"), so the
 * token " world" is stored as "Ġworld".
 *
 * Encoding and decoding are done by `@huggingface/tokenizers` (pure JS, the same algorithm as the
 * Python/Rust library the models were trained with). That library returns no character offsets, so
 * this module computes them itself, for editor ranges:
 *
 *   token ids -> byte counts -> UTF-8 byte positions -> UTF-16 positions in the ORIGINAL string
 *
 * Offsets are `[start, end)` in UTF-16 code units, the unit of JavaScript strings and of VS Code
 * positions, so `text.slice(start, end)` is the token's text. Three choices, all deliberate:
 *
 *   - A token that holds only PART of a multi-byte character (an emoji split into two tokens of two
 *     bytes each, say) gets the range of the WHOLE character. So two tokens can have equal or
 *     overlapping ranges; an editor can still highlight each one, and no range cuts a character.
 *   - A lone surrogate (a JS string may hold half of a surrogate pair) cannot be UTF-8; it is
 *     encoded as U+FFFD, the replacement character (3 bytes), exactly as `TextEncoder` does, and
 *     those bytes map back to the one original code unit. So `decode(encode(text))` gives the text
 *     with each lone surrogate replaced by U+FFFD; every other string comes back unchanged.
 *   - The beginning-of-sequence token, when `encode` is asked to add it, comes from no text and has
 *     the empty range [0, 0].
 *
 * The tokenizer.json adds NO special tokens by itself (its post-processor is the plain ByteLevel
 * one); the caller decides, with `encode(text, { addBos: true })`, to put <|bos|> in front, as the
 * models were trained (each training document starts with <|bos|>).
 */

import { Tokenizer } from "@huggingface/tokenizers";

/** Thrown for a tokenizer.json that is malformed or of a kind this module cannot map to offsets. */
export class TokenizerError extends Error {
  override name = "TokenizerError";
}

/** The special tokens every tokenizer of this project has (the trainer gives them ids 0, 1, 2). */
export const SPECIAL_TOKENS = { bos: "<|bos|>", eos: "<|eos|>", pad: "<|pad|>" } as const;

/** A token's place in the original text: [start, end) in UTF-16 code units. */
export type TextRange = [start: number, end: number];

/** The result of `TextTokenizer.encode`: three arrays of equal length, one entry per token. */
export interface EncodedText {
  /** Token ids. */
  ids: number[];
  /** The text each token stands for, decoded on its own (see `TextTokenizer.tokenText`). */
  tokens: string[];
  /** Where each token came from in the original text (see the top of this file). */
  offsets: TextRange[];
}

export interface EncodeOptions {
  /** Put <|bos|> (range [0, 0]) in front. Default false. */
  addBos?: boolean;
}

// ---------------------------------------------------------------------------------------------
// GPT-2's byte-to-unicode table

/**
 * `BYTE_TO_UNICODE[b]` is the character that stands for byte b in a byte-level vocabulary.
 *
 * The 188 bytes that are printable Latin-1 characters ("!".."~", "¡".."¬", "®".."ÿ") stand for
 * themselves; the other 68 (control characters, space, DEL, NBSP, soft hyphen) are moved, in byte
 * order, to U+0100, U+0101, ... So space (0x20) is "Ġ" (U+0120) and newline (0x0A) is "Ċ" (U+010A).
 * Every vocabulary entry is then a plain, printable string with one character per byte.
 */
export const BYTE_TO_UNICODE: readonly string[] = (() => {
  const table = new Array<string>(256);
  const standsForItself = (byte: number) =>
    (byte >= 0x21 && byte <= 0x7e) || (byte >= 0xa1 && byte <= 0xac) || (byte >= 0xae && byte <= 0xff);
  let moved = 0;
  for (let byte = 0; byte < 256; byte++) {
    table[byte] = String.fromCharCode(standsForItself(byte) ? byte : 256 + moved++);
  }
  return table;
})();

/** The inverse of `BYTE_TO_UNICODE`: a vocabulary character to the byte it stands for. */
export const UNICODE_TO_BYTE: ReadonlyMap<string, number> = new Map(BYTE_TO_UNICODE.map((character, byte) => [character, byte]));

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });

// ---------------------------------------------------------------------------------------------
// UTF-8 bytes <-> UTF-16 code units

/**
 * For each UTF-8 byte of `text` (as `TextEncoder` encodes it), the UTF-16 range of the character
 * that byte belongs to: `start[i]` and `end[i]` for byte i.
 *
 *   "aé😀"      a        é          😀
 *   bytes       61       C3 A9      F0 9F 98 80
 *   start       0        1  1       2  2  2  2
 *   end         1        2  2       4  4  4  4
 *
 * A lone surrogate is one code unit that `TextEncoder` writes as U+FFFD (EF BF BD): three bytes
 * that all map to that one code unit.
 */
export function characterRangesOfUtf8Bytes(text: string): { start: Uint32Array; end: Uint32Array } {
  // A UTF-16 code unit never takes more than 3 UTF-8 bytes (a pair: 4 bytes for 2 units).
  const start = new Uint32Array(text.length * 3);
  const end = new Uint32Array(text.length * 3);
  let byte = 0;
  for (let unit = 0; unit < text.length; ) {
    const code = text.charCodeAt(unit);
    let units = 1;
    let bytes: number;
    if (code < 0x80) bytes = 1;
    else if (code < 0x800) bytes = 2;
    else if (code >= 0xd800 && code <= 0xdbff && isLowSurrogate(text.charCodeAt(unit + 1))) {
      units = 2; // a surrogate pair: one code point above U+FFFF, 4 bytes
      bytes = 4;
    } else bytes = 3; // the rest of the BMP, and lone surrogates (as U+FFFD)
    for (let k = 0; k < bytes; k++, byte++) {
      start[byte] = unit;
      end[byte] = unit + units;
    }
    unit += units;
  }
  return { start: start.subarray(0, byte), end: end.subarray(0, byte) };
}

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}

// ---------------------------------------------------------------------------------------------
// Reading and checking tokenizer.json

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function describeValue(value: unknown): string {
  if (value === undefined) return "nothing";
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "string") return JSON.stringify(value.length > 40 ? value.slice(0, 40) + "..." : value);
  return `${typeof value} ${JSON.stringify(value)}`;
}

function isTokenId(value: unknown): value is number {
  return typeof value === "number" && Number.isInteger(value) && value >= 0;
}

/** What the checks below extract from a valid tokenizer.json. */
interface CheckedTokenizerJson {
  /** Every token's bytes, by id. */
  tokenBytes: Uint8Array[];
  /** The special token ids by name. */
  specialIds: Record<keyof typeof SPECIAL_TOKENS, number>;
}

/**
 * Checks that `json` is a byte-level BPE tokenizer.json whose tokens this module can map back to
 * the text, and reads every token's bytes. Each failure says what is wrong and what to do.
 */
function checkTokenizerJson(json: Record<string, unknown>, fail: (message: string) => never): CheckedTokenizerJson {
  const retrain = "train one with training/tokenizer/train-bpe.ts";

  const model = json.model;
  if (!isPlainObject(model)) fail(`"model" must be an object (the BPE vocabulary and merges), found ${describeValue(model)}`);
  if (model.type !== "BPE") {
    fail(`the model type is ${describeValue(model.type)}; only byte-level BPE tokenizers ("type": "BPE") are supported; ${retrain}`);
  }
  if (model.byte_fallback === true) {
    fail(`"model.byte_fallback" is true, which is SentencePiece-style BPE; only byte-level BPE is supported; ${retrain}`);
  }

  // Byte-level throughout: the offsets are computed from byte counts, so nothing may change the text.
  const normalizer = json.normalizer;
  if (normalizer !== undefined && normalizer !== null) {
    fail(
      `it has a normalizer (${describeValue(isPlainObject(normalizer) ? normalizer.type : normalizer)}), which changes the text ` +
        "before tokenizing, so tokens could not be mapped back to it; only tokenizers without one are supported",
    );
  }
  const preTokenizer = json.pre_tokenizer;
  if (!isPlainObject(preTokenizer) || preTokenizer.type !== "ByteLevel") {
    fail(
      `the pre_tokenizer must be {"type": "ByteLevel"}, found ${describeValue(isPlainObject(preTokenizer) ? preTokenizer.type : preTokenizer)}; ` +
        `only byte-level BPE tokenizers are supported; ${retrain}`,
    );
  }
  if (preTokenizer.add_prefix_space === true) {
    fail(
      `"pre_tokenizer.add_prefix_space" is true: a space that is not in the text would be tokenized, and offsets would be wrong; ` +
        "set it to false",
    );
  }
  const decoder = json.decoder;
  if (!isPlainObject(decoder) || decoder.type !== "ByteLevel") {
    fail(`the decoder must be {"type": "ByteLevel"}, found ${describeValue(isPlainObject(decoder) ? decoder.type : decoder)}`);
  }

  // The vocabulary: token -> id, ids 0..n-1 each used once.
  const vocab = model.vocab;
  if (!isPlainObject(vocab)) fail(`"model.vocab" must be an object mapping each token to its id, found ${describeValue(vocab)}`);
  const tokenById: string[] = [];
  for (const [token, id] of Object.entries(vocab)) {
    if (!isTokenId(id)) fail(`"model.vocab" gives the token ${describeValue(token)} the id ${describeValue(id)}; ids are non-negative integers`);
    if (tokenById[id] !== undefined) fail(`"model.vocab" gives the id ${id} to two tokens, ${describeValue(tokenById[id])} and ${describeValue(token)}`);
    tokenById[id] = token;
  }

  // Added tokens (the special tokens): matched in the text as they are, and decoded as they are.
  const addedTokens = json.added_tokens;
  if (!Array.isArray(addedTokens)) fail(`"added_tokens" must be an array, found ${describeValue(addedTokens)}`);
  const addedContentById = new Map<number, string>();
  for (const [index, entry] of addedTokens.entries()) {
    const where = `added_tokens[${index}]`;
    if (!isPlainObject(entry)) fail(`${where} must be an object with "id" and "content", found ${describeValue(entry)}`);
    if (!isTokenId(entry.id)) fail(`${where}.id must be a non-negative integer, found ${describeValue(entry.id)}`);
    if (typeof entry.content !== "string" || entry.content === "") {
      fail(`${where}.content must be a non-empty string, found ${describeValue(entry.content)}`);
    }
    if (entry.lstrip === true || entry.rstrip === true) {
      fail(`${where} (${describeValue(entry.content)}) strips the whitespace around it, so offsets could not be computed; set lstrip and rstrip to false`);
    }
    const inVocab = tokenById[entry.id];
    if (inVocab !== undefined && inVocab !== entry.content) {
      fail(`${where} gives the id ${entry.id} to ${describeValue(entry.content)}, but "model.vocab" gives it to ${describeValue(inVocab)}`);
    }
    if (addedContentById.has(entry.id)) fail(`${where}: the id ${entry.id} is used by two added tokens`);
    addedContentById.set(entry.id, entry.content);
    tokenById[entry.id] = entry.content;
  }

  for (let id = 0; id < tokenById.length; id++) {
    if (tokenById[id] === undefined) {
      fail(`no token has the id ${id}, but ids go up to ${tokenById.length - 1}; the ids of "model.vocab" and "added_tokens" must be 0..n-1 without gaps`);
    }
  }

  // Every token's bytes: an added token is its own UTF-8; a vocabulary token is byte-level text.
  const tokenBytes = tokenById.map((token, id): Uint8Array => {
    const addedContent = addedContentById.get(id);
    if (addedContent !== undefined) return utf8Encoder.encode(addedContent);
    const bytes = new Uint8Array(token.length);
    for (let index = 0; index < token.length; index++) {
      const byte = UNICODE_TO_BYTE.get(token[index]);
      if (byte === undefined) {
        fail(
          `the vocabulary token ${describeValue(token)} (id ${id}) holds ${describeValue(token[index])}, which is not a byte-level character; ` +
            "this is not a byte-level BPE vocabulary",
        );
      }
      bytes[index] = byte;
    }
    if (bytes.length === 0) fail(`the vocabulary holds an empty token (id ${id})`);
    return bytes;
  });

  // All 256 single bytes must be tokens, or some text could not be tokenized.
  const tokenIds = new Map(tokenById.map((token, id) => [token, id]));
  for (let byte = 0; byte < 256; byte++) {
    if (!tokenIds.has(BYTE_TO_UNICODE[byte])) {
      const hex = byte.toString(16).toUpperCase().padStart(2, "0");
      fail(`the vocabulary lacks the token for the byte 0x${hex} (${describeValue(BYTE_TO_UNICODE[byte])}); a byte-level vocabulary holds all 256 bytes`);
    }
  }

  // Merges: "left right" strings (or [left, right] pairs) of tokens whose join is a token too.
  const merges = model.merges;
  if (!Array.isArray(merges)) fail(`"model.merges" must be an array, found ${describeValue(merges)}`);
  for (const [index, merge] of merges.entries()) {
    const parts = typeof merge === "string" ? merge.split(" ") : merge;
    if (!Array.isArray(parts) || parts.length !== 2 || typeof parts[0] !== "string" || typeof parts[1] !== "string") {
      fail(`model.merges[${index}] must be "left right" or ["left", "right"], found ${describeValue(merge)}`);
    }
    const [left, right] = parts as [string, string];
    for (const part of [left, right, left + right]) {
      if (!tokenIds.has(part)) {
        fail(`model.merges[${index}] (${describeValue(`${left} ${right}`)}) needs the token ${describeValue(part)}, which is not in the vocabulary; the file is corrupt`);
      }
    }
  }

  const specialIds = {} as Record<keyof typeof SPECIAL_TOKENS, number>;
  for (const [name, content] of Object.entries(SPECIAL_TOKENS) as [keyof typeof SPECIAL_TOKENS, string][]) {
    const id = [...addedContentById].find(([, addedContent]) => addedContent === content)?.[0];
    if (id === undefined) {
      fail(`it has no ${content} in "added_tokens"; the models need ${Object.values(SPECIAL_TOKENS).join(", ")}; ${retrain}`);
    }
    specialIds[name] = id;
  }
  return { tokenBytes, specialIds };
}

// ---------------------------------------------------------------------------------------------
// The tokenizer

export class TextTokenizer {
  /** The id of <|bos|>, put in front of the text by `encode(text, { addBos: true })`. */
  readonly bosTokenId: number;
  /** The id of <|eos|>. */
  readonly eosTokenId: number;
  /** The id of <|pad|>, for left padding a batch. */
  readonly padTokenId: number;
  /** The number of token ids, 0..vocabSize-1, special tokens included. */
  readonly vocabSize: number;

  private constructor(
    private readonly tokenizer: Tokenizer,
    private readonly tokenBytes: Uint8Array[],
    private readonly tokenTexts: string[],
    specialIds: Record<keyof typeof SPECIAL_TOKENS, number>,
    private readonly source: string,
  ) {
    this.bosTokenId = specialIds.bos;
    this.eosTokenId = specialIds.eos;
    this.padTokenId = specialIds.pad;
    this.vocabSize = tokenBytes.length;
  }

  /**
   * Loads a tokenizer.json: its text, or the parsed object. `source` names it in error messages (a
   * path or a URL). Throws `TokenizerError` for anything malformed or unsupported.
   */
  static fromJson(json: string | object, source = "tokenizer.json"): TextTokenizer {
    const fail: (message: string) => never = (message) => {
      throw new TokenizerError(`${source}: ${message}`);
    };
    let parsed: unknown = json;
    if (typeof json === "string") {
      try {
        parsed = JSON.parse(json);
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        fail(`it is not valid JSON (${reason}); the file may be truncated or corrupt, copy or train it again`);
      }
    }
    if (!isPlainObject(parsed)) fail(`expected a JSON object (a Hugging Face tokenizer.json), found ${describeValue(parsed)}`);
    const { tokenBytes, specialIds } = checkTokenizerJson(parsed, fail);

    let tokenizer: Tokenizer;
    try {
      // clean_up_tokenization_spaces would turn " ." into "." when decoding: never wanted here.
      tokenizer = new Tokenizer(parsed, { clean_up_tokenization_spaces: false });
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      return fail(`@huggingface/tokenizers cannot load it: ${reason}`);
    }
    const tokenTexts = tokenBytes.map((bytes) => utf8Decoder.decode(bytes));
    return new TextTokenizer(tokenizer, tokenBytes, tokenTexts, specialIds, source);
  }

  /** Tokenizes `text`; see the top of this file for what the offsets mean. */
  encode(text: string, options: EncodeOptions = {}): EncodedText {
    // add_special_tokens: false, whatever the post-processor would add: BOS is added here, or not.
    const ids = text === "" ? [] : this.tokenizer.encode(text, { add_special_tokens: false }).ids;
    const { start, end } = characterRangesOfUtf8Bytes(text);
    const offsets: TextRange[] = [];
    let byte = 0;
    for (const [index, id] of ids.entries()) {
      const length = this.tokenBytes[id]?.length;
      if (length === undefined || byte + length > start.length) {
        throw new TokenizerError(
          `${this.source}: token ${index} (id ${id}) does not fit the text's ${start.length} UTF-8 bytes; ` +
            "the tokenizer.json and this module disagree (is it a byte-level BPE tokenizer?)",
        );
      }
      offsets.push([start[byte], end[byte + length - 1]]);
      byte += length;
    }
    if (byte !== start.length) {
      throw new TokenizerError(`${this.source}: the tokens hold ${byte} bytes but the text has ${start.length}; some text was dropped`);
    }
    const result: EncodedText = { ids, tokens: ids.map((id) => this.tokenTexts[id]), offsets };
    if (options.addBos) {
      result.ids.unshift(this.bosTokenId);
      result.tokens.unshift(this.tokenTexts[this.bosTokenId]);
      result.offsets.unshift([0, 0]);
    }
    return result;
  }

  /**
   * The text of a token sequence. Special tokens are kept as their text ("<|bos|>"); bytes that do
   * not form whole UTF-8 characters become U+FFFD.
   */
  decode(ids: readonly number[]): string {
    if (ids.length === 0) return ""; // the library refuses an empty list
    for (const id of ids) this.checkId(id);
    return this.tokenizer.decode([...ids], { skip_special_tokens: false, clean_up_tokenization_spaces: false });
  }

  /**
   * What one token reads as on its own: its bytes decoded as UTF-8, so " the" for "Ġthe", "\n" for
   * "Ċ", and U+FFFD for each piece of a character the token holds only part of. Special tokens read
   * as their text, "<|eos|>".
   */
  tokenText(id: number): string {
    this.checkId(id);
    return this.tokenTexts[id];
  }

  /** The bytes one token stands for (a copy). */
  tokenBytesOf(id: number): Uint8Array {
    this.checkId(id);
    return this.tokenBytes[id].slice();
  }

  private checkId(id: number): void {
    if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) {
      throw new RangeError(`${this.source}: ${id} is not a token id; ids are integers from 0 to ${this.vocabSize - 1}`);
    }
  }
}
