/**
 * The tokenizer of a model folder, as the command line uses it: tokenizer.json (and
 * tokenizer_config.json when there is one) read with `TextTokenizer.fromFiles`, and the text
 * encoded the way the model reads it: `encode(text, { addSpecialTokens: true })` puts in front
 * (and after) what the model's files say, e.g. <|bos|> for the bundled models, <s> for Llama 2,
 * nothing for GPT-2 and Qwen.
 *
 * Each token comes with its text, its [start, end) range in UTF-16 code units of the ORIGINAL text
 * (see src/model/tokenizer.ts for partial characters and the empty range of BOS), and whether it is
 * a special token.
 *
 * The files are read and checked by src/checkpoint/tokenizer-check.ts, as the extension reads them
 * (a tokenizer with more ids than config.json's vocab_size is refused); what is the command line's
 * own is that a folder without a usable tokenizer still runs --ids.
 */

import { join } from "node:path";
import type { ModelOrigin } from "../checkpoint/model-advice";
import { MODEL_FILES, ModelFileError } from "../checkpoint/model-files";
import { loadTokenizer } from "../checkpoint/tokenizer-check";
import type { DecoderConfig } from "../model/config";
import type { TextRange, TextTokenizer } from "../model/tokenizer";

export interface EncodedForModel {
  ids: number[];
  texts: string[];
  offsets: TextRange[];
  special: boolean[];
}

/** A folder's tokenizer, reduced to what the command line needs. */
export interface FolderTokenizer {
  /** The text as the model reads it: special tokens (BOS) added as the model's files say. */
  encodeForModel(text: string): EncodedForModel;
  /** What one token reads as on its own. */
  tokenText(id: number): string;
  /** True for a special token (BOS, EOS, padding, an added token marked "special"). */
  isSpecial(id: number): boolean;
  readonly vocabSize: number;
}

class TextTokenizerAdapter implements FolderTokenizer {
  /** The tokens the tokenizer puts around a text or names BOS, EOS and padding. */
  private readonly framingIds: ReadonlySet<number>;

  constructor(private readonly tokenizer: TextTokenizer) {
    this.framingIds = new Set(
      [tokenizer.bosTokenId, tokenizer.eosTokenId, tokenizer.padTokenId, ...tokenizer.prefixTokenIds, ...tokenizer.suffixTokenIds].filter(
        (id): id is number => id !== undefined,
      ),
    );
  }

  get vocabSize(): number {
    return this.tokenizer.vocabSize;
  }

  encodeForModel(text: string): EncodedForModel {
    const encoded = this.tokenizer.encode(text, { addSpecialTokens: true });
    return { ids: encoded.ids, texts: encoded.tokens, offsets: encoded.offsets, special: [...encoded.special] };
  }

  tokenText(id: number): string {
    return this.tokenizer.tokenText(id);
  }

  /**
   * A framing token (BOS, EOS, pad), or an added token marked "special": typed as its text, such
   * a token is matched as itself and marked special by `encode`.
   */
  isSpecial(id: number): boolean {
    if (this.framingIds.has(id)) return true;
    const encoded = this.tokenizer.encode(this.tokenizer.tokenText(id));
    return encoded.ids.length === 1 && encoded.ids[0] === id && encoded.special[0] === true;
  }
}

/**
 * Reads tokenizer.json (and tokenizer_config.json) of `origin.folder`, whose entries are `names`.
 * Returns no tokenizer, and the reason, when the folder has none or one that cannot be used: --ids
 * still runs without one.
 */
export async function loadFolderTokenizer(
  names: readonly string[],
  config: DecoderConfig,
  origin: ModelOrigin,
): Promise<{ tokenizer?: FolderTokenizer; problem?: string }> {
  const tokenizerFile = join(origin.folder, MODEL_FILES.tokenizer);
  const tokenizerConfigFile = names.includes(MODEL_FILES.tokenizerConfig) ? join(origin.folder, MODEL_FILES.tokenizerConfig) : undefined;
  try {
    const tokenizer = await loadTokenizer({ tokenizerFile, ...(tokenizerConfigFile ? { tokenizerConfigFile } : {}) }, config, origin);
    return { tokenizer: new TextTokenizerAdapter(tokenizer) };
  } catch (error) {
    if (!(error instanceof ModelFileError)) throw error;
    return { problem: `${error.message} Or pass token ids with --ids.` };
  }
}
