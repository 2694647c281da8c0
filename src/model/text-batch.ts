/**
 * Lines of text as one batch: each line is tokenized on its own (with <|bos|> in front, as the model
 * reads every text) and becomes one sequence of a padded batch (see attention/padded-batch.ts).
 *
 * Every mistake a person can make with the lines gets a message that names the line: an empty line
 * among others (it would be a row of pads only), a line longer than the model's context, too many
 * lines.
 */

import { BatchError, padBatch, type PaddedBatch, type PaddingSide } from "../attention/padded-batch";
import type { EncodedText, TextTokenizer } from "./tokenizer";

/** The most lines one batch may hold: each is a row of every heatmap. */
export const MAX_BATCH_LINES = 16;

export interface TextBatchOptions {
  /** The most tokens per line, <|bos|> included (the model's context). */
  maxTokens: number;
  side?: PaddingSide;
  /** Line number of the first line in its document (1-based), for messages; default 1. */
  firstLineNumber?: number;
}

export interface TextBatch {
  /** The lines as given. */
  lines: string[];
  /** Each line's tokens, <|bos|> first. */
  encoded: EncodedText[];
  batch: PaddedBatch;
}

/** Tokenizes every line and pads them into one batch; throws BatchError naming the line at fault. */
export function textBatch(tokenizer: TextTokenizer, lines: readonly string[], options: TextBatchOptions): TextBatch {
  const first = options.firstLineNumber ?? 1;
  if (lines.length === 0) {
    throw new BatchError("no lines to batch: select two or more lines, each becomes one sequence of the batch");
  }
  if (lines.length > MAX_BATCH_LINES) {
    throw new BatchError(`${lines.length} lines selected but a batch here holds at most ${MAX_BATCH_LINES}: select fewer lines`);
  }
  lines.forEach((line, index) => {
    if (line.trim() === "") {
      throw new BatchError(
        `line ${first + index} is empty: every line becomes one sequence of the batch and needs some text; remove the empty line from the selection or write something on it`,
      );
    }
  });
  const encoded = lines.map((line) => tokenizer.encode(line, { addSpecialTokens: true }));
  const added = [...tokenizer.prefixTokenIds, ...tokenizer.suffixTokenIds].map((id) => tokenizer.tokenText(id));
  const framing = added.length > 0 ? ` (with ${added.join(" and ")})` : "";
  encoded.forEach((tokens, index) => {
    if (tokens.ids.length > options.maxTokens) {
      throw new BatchError(
        `line ${first + index} has ${tokens.ids.length} tokens${framing} but the model's context holds ${options.maxTokens}: shorten the line or split it`,
      );
    }
  });
  const batch = padBatch(
    encoded.map((tokens) => tokens.ids),
    paddingTokenId(tokenizer),
    { side: options.side, maxLength: options.maxTokens },
  );
  return { lines: [...lines], encoded, batch };
}

/**
 * The id written into pad slots: the tokenizer's pad token, else its end-of-sequence token, else 0.
 * Pad slots are masked out, so the id only has to be a valid one.
 */
export function paddingTokenId(tokenizer: Pick<TextTokenizer, "padTokenId" | "eosTokenId">): number {
  return tokenizer.padTokenId ?? tokenizer.eosTokenId ?? 0;
}
