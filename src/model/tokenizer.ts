/**
 * The tokenizer: text to token ids and back, plus where in the text each token came from.
 *
 * It loads a Hugging Face `tokenizer.json` (and, with `fromFiles`, the `tokenizer_config.json`
 * next to it) of three kinds, all BPE: a token is a run of BYTES, learned merges join bytes into
 * longer tokens, and every string can be tokenized because every byte is a token.
 *
 *   project's own   trained by training/tokenizer/train-bpe.ts, with <|bos|> <|eos|> <|pad|>
 *   byte-level      GPT-2, Llama 3, Qwen2.5, Qwen3: each byte written as one printable character
 *                   (a space is "Ġ"), the text cut into words by a regular expression first
 *   SentencePiece   Llama 2, Mistral, TinyLlama: spaces written as "▁" ("▁the"), and a byte that
 *                   has no token of its own written as a byte token ("<0x0A>", "byte_fallback")
 *
 * The files are read and checked in src/model/tokenizer-files.ts (and tokenizer-pipeline.ts, for
 * the normalizer, pre-tokenizer and post-processor); every token's bytes are in token-bytes.ts.
 *
 * Token ids are computed by `@huggingface/tokenizers` (pure JS, the same algorithm as the
 * Python/Rust library the models were trained with). That library returns no character offsets,
 * so src/model/tokenizer-offsets.ts computes them, for editor ranges:
 *
 *   text -> pieces between added tokens -> changed text (NFC, "▁") that remembers its origin
 *        -> token bytes laid over its UTF-8 -> UTF-16 [start, end) in the ORIGINAL string
 *
 * Offsets are `[start, end)` in UTF-16 code units, the unit of JavaScript strings and of VS Code
 * positions, so `text.slice(start, end)` is the token's text. Choices, all deliberate:
 *
 *   - A token that holds only PART of a multi-byte character (an emoji split into two tokens)
 *     gets the range of the WHOLE character; two tokens can then have equal or overlapping ranges,
 *     and no range cuts a character.
 *   - A lone surrogate (half of a surrogate pair) cannot be UTF-8; it is encoded as U+FFFD, the
 *     replacement character, exactly as `TextEncoder` does, mapped back to the one code unit. So
 *     `decode(encode(text))` gives the text with each lone surrogate replaced by U+FFFD.
 *   - Tokens put around the text (BOS in front, `addBos` or `addSpecialTokens`) come from no text:
 *     the empty range [0, 0] in front, [length, length] after.
 *   - A "▁" that SentencePiece puts in front of the text is not in it: "▁Hello" gets the range of
 *     "Hello", and a "▁" token on its own the empty range where it was put.
 *   - Unicode normalization (Qwen's NFC) may join characters ("e" + U+0301 -> "é"): the token
 *     holding the joined character gets the range of all of them.
 *
 * Special tokens: an added token ("<|endoftext|>", "</s>", Qwen's "<think>") typed in the text is
 * matched as that one token, as Hugging Face does; `EncodedText.special` marks the tokens whose
 * added token says "special": true, and the tokens put around the text.
 */

import { Tokenizer } from "@huggingface/tokenizers";

import type { TokenByteTable } from "./token-bytes";
import {
  describeTokenizer,
  parseJsonObject,
  TokenizerError,
  type TokenizerDescription,
  type TokenizerKind,
} from "./tokenizer-files";
import { AddedTokenFinder, AlignedText, appendTokenRanges, type TextRange, type TextStep } from "./tokenizer-offsets";

export { BYTE_TO_UNICODE, UNICODE_TO_BYTE } from "./token-bytes";
export { SPECIAL_TOKENS, TokenizerError, type TokenizerKind } from "./tokenizer-files";
export { characterRangesOfUtf8Bytes, type TextRange } from "./tokenizer-offsets";

/** The result of `TextTokenizer.encode`: arrays of equal length, one entry per token. */
export interface EncodedText {
  /** Token ids. */
  ids: number[];
  /** The text each token stands for, decoded on its own (see `TextTokenizer.tokenText`). */
  tokens: string[];
  /** Where each token came from in the original text (see the top of this file). */
  offsets: TextRange[];
  /**
   * Whether each token is special: an added token with "special": true (typed in the text or
   * not), or a token put around the text. NOT ENUMERABLE, so that code comparing or building the
   * three arrays above as a whole keeps working; a copy made by spreading (`{...encoded}`) or by
   * JSON loses it: copy it by name.
   */
  special: boolean[];
}

export interface EncodeOptions {
  /** Put the BOS token (range [0, 0]) in front, unless `addSpecialTokens` already did. Default false. */
  addBos?: boolean;
  /** Put `prefixTokenIds` in front and `suffixTokenIds` after, as the model's files say. Default false. */
  addSpecialTokens?: boolean;
}

/** Where the files came from, for error messages (paths or URLs). */
export interface TokenizerSources {
  tokenizerJson: string;
  tokenizerConfig?: string;
}

export class TextTokenizer {
  /** Which kind of tokenizer.json this is (see the top of this file). */
  readonly kind: TokenizerKind;
  /** The number of token ids, 0..vocabSize-1, special tokens included. */
  readonly vocabSize: number;
  /** What `encode(text, { addSpecialTokens: true })` puts in front: [<s>] for Llama 2, [] for GPT-2. */
  readonly prefixTokenIds: readonly number[];
  /** What `encode(text, { addSpecialTokens: true })` puts after the text; usually nothing. */
  readonly suffixTokenIds: readonly number[];
  /** The beginning-of-sequence token, put in front by `encode(text, { addBos: true })`, if there is one. */
  readonly bosTokenId: number | undefined;
  /** The end-of-sequence token, if the files name one. */
  readonly eosTokenId: number | undefined;
  /** The token for padding a batch: tokenizer_config's "pad_token", else the EOS token. */
  readonly padTokenId: number | undefined;

  private readonly tokenBytes: TokenByteTable;
  private readonly addedTokens: AddedTokenFinder;
  private readonly specialIds: ReadonlySet<number>;
  private readonly normalizerSteps: readonly TextStep[];
  private readonly preTokenizerSteps: readonly TextStep[];
  /** Each token's text, decoded when first asked for. */
  private readonly tokenTexts: (string | undefined)[];

  private constructor(
    private readonly tokenizer: Tokenizer,
    description: TokenizerDescription,
    private readonly source: string,
  ) {
    this.kind = description.kind;
    this.vocabSize = description.vocabSize;
    this.prefixTokenIds = description.prefixTokenIds;
    this.suffixTokenIds = description.suffixTokenIds;
    this.bosTokenId = description.bosTokenId;
    this.eosTokenId = description.eosTokenId;
    this.padTokenId = description.padTokenId;
    this.tokenBytes = description.tokenBytes;
    this.addedTokens = new AddedTokenFinder(description.addedTokens);
    this.specialIds = new Set(description.addedTokens.filter((token) => token.special).map((token) => token.id));
    this.normalizerSteps = description.normalizerSteps;
    this.preTokenizerSteps = description.preTokenizerSteps;
    this.tokenTexts = new Array<string | undefined>(this.vocabSize);
  }

  /**
   * Loads a tokenizer.json: its text, or the parsed object. `source` names it in error messages (a
   * path or a URL). Throws `TokenizerError` for anything malformed or unsupported. The same as
   * `fromFiles` without a tokenizer_config.json.
   */
  static fromJson(json: string | object, source = "tokenizer.json"): TextTokenizer {
    return TextTokenizer.fromFiles(json, undefined, source);
  }

  /**
   * Loads a tokenizer.json and the model's tokenizer_config.json (optional; it decides, with
   * "add_bos_token", "bos_token", "eos_token", "pad_token", what is put around the text: see
   * src/model/tokenizer-files.ts). Each is its text or the parsed object. `source` names the files
   * in error messages: the tokenizer.json's path (tokenizer_config.json is taken to be next to
   * it), or both paths.
   */
  static fromFiles(tokenizerJson: string | object, tokenizerConfigJson?: string | object, source: string | TokenizerSources = "tokenizer.json"): TextTokenizer {
    const sources = typeof source === "string" ? { tokenizerJson: source } : source;
    const configSource = sources.tokenizerConfig ?? siblingConfigPath(sources.tokenizerJson);
    const fail = (message: string): never => {
      throw new TokenizerError(`${sources.tokenizerJson}: ${message}`);
    };
    const failConfig = (message: string): never => {
      throw new TokenizerError(`${configSource}: ${message}`);
    };
    const json = parseJsonObject(tokenizerJson, "tokenizer.json", fail);
    const config = tokenizerConfigJson === undefined ? undefined : parseJsonObject(tokenizerConfigJson, "tokenizer_config.json", failConfig);
    let tokenizer: Tokenizer | undefined;
    const loadLibrary = () => {
      try {
        // clean_up_tokenization_spaces would turn " ." into "." when decoding: never wanted here.
        tokenizer = new Tokenizer(json, { clean_up_tokenization_spaces: false });
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        return fail(`@huggingface/tokenizers cannot load it: ${reason}`);
      }
      const model = tokenizer.model;
      if (model === null) return fail("@huggingface/tokenizers read no model from it");
      return { tokenById: model.vocab, idByToken: model.tokens_to_ids };
    };
    const description = describeTokenizer(json, config, loadLibrary, fail, failConfig);
    if (tokenizer === undefined) throw new Error("describeTokenizer returned without loading the tokenizer");
    return new TextTokenizer(tokenizer, description, sources.tokenizerJson);
  }

  /** Tokenizes `text`; see the top of this file for what the offsets mean. */
  encode(text: string, options: EncodeOptions = {}): EncodedText {
    // add_special_tokens: false, whatever the post-processor would add: that is added here, or not.
    const ids = text === "" ? [] : this.tokenizer.encode(text, { add_special_tokens: false }).ids;
    const disagree = (message: string): never => {
      throw new TokenizerError(
        `${this.source}: ${message}; the tokenizer.json changes the text in a way this module does not follow, ` +
          "so offsets cannot be computed; please report it with the file",
      );
    };

    const offsets: TextRange[] = [];
    const special: boolean[] = [];
    let next = 0; // the first id not yet given a range
    for (const [pieceIndex, piece] of this.addedTokens.split(text).entries()) {
      if (piece.kind === "added") {
        if (ids[next] !== piece.id) disagree(`token ${next} is id ${ids[next]}, but the text holds the added token ${piece.id} there`);
        offsets.push([piece.start, piece.end]);
        special.push(this.specialIds.has(piece.id));
        next++;
        continue;
      }
      let aligned = AlignedText.slice(text, piece.start, piece.end);
      for (const step of this.normalizerSteps) aligned = aligned.apply(step, pieceIndex === 0);
      if (aligned.text === "") continue; // as in `tokenizers`: nothing left to tokenize
      for (const step of this.preTokenizerSteps) aligned = aligned.apply(step, pieceIndex === 0);
      const first = next;
      next = appendTokenRanges(aligned, ids, next, this.tokenBytes, offsets, disagree);
      for (let index = first; index < next; index++) special.push(false);
    }
    if (next !== ids.length) disagree(`${ids.length - next} tokens are left after the end of the text`);

    const before: number[] = options.addSpecialTokens ? [...this.prefixTokenIds] : [];
    if (options.addBos && (this.bosTokenId === undefined || before[0] !== this.bosTokenId)) {
      if (this.bosTokenId === undefined) {
        throw new TokenizerError(
          `${this.source}: addBos was asked for, but this tokenizer has no BOS token; use addSpecialTokens (which adds what the model's ` +
            'files say), or load it with its tokenizer_config.json naming a "bos_token"',
        );
      }
      before.unshift(this.bosTokenId);
    }
    const after: readonly number[] = options.addSpecialTokens ? this.suffixTokenIds : [];

    const allIds = [...before, ...ids, ...after];
    return {
      ids: allIds,
      tokens: allIds.map((id) => this.tokenText(id)),
      offsets: [...before.map((): TextRange => [0, 0]), ...offsets, ...after.map((): TextRange => [text.length, text.length])],
      special: [...before.map(() => true), ...special, ...after.map(() => true)],
    };
  }

  /**
   * The text of a token sequence, as the model's decoder makes it (Llama 2's drops the one space
   * that "▁" in front of the text stands for). Special tokens are kept as their text ("</s>");
   * bytes that do not form whole UTF-8 characters become U+FFFD.
   */
  decode(ids: readonly number[]): string {
    if (ids.length === 0) return ""; // the library refuses an empty list
    for (const id of ids) this.checkId(id);
    return this.tokenizer.decode([...ids], { skip_special_tokens: false, clean_up_tokenization_spaces: false });
  }

  /**
   * What one token reads as on its own: its bytes decoded as UTF-8, so " the" for "Ġthe" and
   * "▁the", "\n" for "Ċ" and "<0x0A>", and U+FFFD for each piece of a character the token holds
   * only part of. Special tokens read as their text, "<|eos|>".
   */
  tokenText(id: number): string {
    this.checkId(id);
    let text = this.tokenTexts[id];
    if (text === undefined) {
      text = utf8Decoder.decode(this.tokenBytes.shownBytes(id));
      this.tokenTexts[id] = text;
    }
    return text;
  }

  /** The bytes one token stands for in the text (a copy): " the" for "▁the", 0A for "<0x0A>". */
  tokenBytesOf(id: number): Uint8Array {
    this.checkId(id);
    return this.tokenBytes.shownBytes(id).slice();
  }

  /**
   * The token's bytes when they are only part of a character (a byte-level piece of an emoji, of
   * CJK or Arabic text: its `tokenText` is then U+FFFD); undefined for a token of whole characters.
   * Labels show such a token as its bytes ("<F0 9F>").
   */
  partialCharacterBytes(id: number): number[] | undefined {
    if (!this.tokenText(id).includes("\uFFFD")) return undefined;
    const bytes = this.tokenBytes.shownBytes(id);
    try {
      strictUtf8Decoder.decode(bytes);
      return undefined; // whole characters, one of them U+FFFD itself
    } catch {
      return [...bytes];
    }
  }

  private checkId(id: number): void {
    if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) {
      throw new RangeError(`${this.source}: ${id} is not a token id; ids are integers from 0 to ${this.vocabSize - 1}`);
    }
  }
}

const utf8Decoder = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });
const strictUtf8Decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** "models/x/tokenizer.json" -> "models/x/tokenizer_config.json". */
function siblingConfigPath(tokenizerJson: string): string {
  return tokenizerJson.endsWith("tokenizer.json")
    ? tokenizerJson.slice(0, -"tokenizer.json".length) + "tokenizer_config.json"
    : `the tokenizer_config.json of ${tokenizerJson}`;
}
