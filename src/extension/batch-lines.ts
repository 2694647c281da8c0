/**
 * The selected text as a batch for the panel's batch mode: every line tokenized on its own with the
 * model's tokenizer (<|bos|> first), or the reason the lines cannot form a batch (an empty line, a
 * line longer than the context, too many lines), in words for the person.
 *
 * Pure: no `vscode` import.
 */

import { BatchError } from "../attention/padded-batch";
import { textBatch, paddingTokenId } from "../model/text-batch";
import type { TextTokenizer } from "../model/tokenizer";
import type { LearningRequest } from "../protocol";

/**
 * The batch of the selected text: one sequence per line. `firstLineNumber` is the document line of
 * the text's first line (1-based), for messages. A trailing line break does not make an empty line.
 */
export function batchOfText(
  tokenizer: TextTokenizer,
  text: string,
  firstLineNumber: number,
  maxTokens: number,
): NonNullable<LearningRequest["batch"]> {
  const lines = text.replace(/\r\n?/g, "\n").replace(/\n$/, "").split("\n");
  try {
    const { encoded } = textBatch(tokenizer, lines, { maxTokens, firstLineNumber });
    return {
      padTokenId: paddingTokenId(tokenizer),
      lines: lines.map((line, index) => ({
        text: line,
        lineNumber: firstLineNumber + index,
        tokens: encoded[index].ids.map((id, token) => ({
          id,
          text: encoded[index].tokens[token],
          start: encoded[index].offsets[token][0],
          end: encoded[index].offsets[token][1],
        })),
      })),
    };
  } catch (error) {
    if (error instanceof BatchError) return { error: `The selected lines cannot form a batch: ${error.message}.` };
    throw error;
  }
}

