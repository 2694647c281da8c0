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
 */

import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { DecoderConfig } from "../model/config";
import { TextTokenizer, type TextRange } from "../model/tokenizer";

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
    // `special` is not enumerable on EncodedText: copied by name.
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
 * Reads `<folder>/tokenizer.json` (and tokenizer_config.json). Returns no tokenizer, and the reason,
 * when the folder has none or one this project cannot read: --ids still runs without one.
 */
export function loadFolderTokenizer(folder: string, config: DecoderConfig): { tokenizer?: FolderTokenizer; problem?: string } {
  const tokenizerPath = join(folder, "tokenizer.json");
  const configPath = join(folder, "tokenizer_config.json");
  if (!existsSync(tokenizerPath)) {
    return { problem: `${folder} has no tokenizer.json; copy the model's tokenizer.json into it, or pass token ids with --ids` };
  }
  try {
    const tokenizerConfig = existsSync(configPath) ? readFileSync(configPath, "utf8") : undefined;
    const tokenizer = TextTokenizer.fromFiles(readFileSync(tokenizerPath, "utf8"), tokenizerConfig, { tokenizerJson: tokenizerPath, tokenizerConfig: configPath });
    if (tokenizer.vocabSize > config.vocabSize) {
      return {
        problem:
          `${tokenizerPath} has ${tokenizer.vocabSize} tokens but config.json's vocab_size is ${config.vocabSize}; ` +
          "the tokenizer belongs to another model, copy the right tokenizer.json into the folder",
      };
    }
    return { tokenizer: new TextTokenizerAdapter(tokenizer) };
  } catch (error) {
    return { problem: `${error instanceof Error ? error.message : String(error)}; or pass token ids with --ids` };
  }
}
