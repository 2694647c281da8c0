/**
 * Which text of the editor the model sees, its tokens, and where each token lies in the document.
 *
 * Pure: no `vscode` import, so the unit tests run it in plain Node. The host passes the document's
 * text and the selection as offsets (`document.offsetAt`), and gets back what `showAttention` sends
 * plus, per token, its range in the document for editor decorations and for "which token is under
 * the cursor".
 *
 * The steps, each a function below:
 *
 *   1. chooseText        the selection; or, when it is empty, the line under the cursor; or a
 *                        message when there is nothing to show (whitespace only, an empty line)
 *   2. normalizeLines    "\r\n" -> "\n" for the model (it was trained on "\n" text), remembering
 *                        where each dropped "\r" was, because VS Code offsets count "\r\n" as two
 *   3. tokenizeInBudget  <|bos|> + tokens, cut to `maxTokens`; a long text is cut to a prefix
 *                        BEFORE tokenizing (see there), so a 100k-character selection stays fast
 *   4. tokensOfText      puts them together: TokenInfo (offsets into the text sent to the webview)
 *                        and document ranges (offsets into the editor's document)
 *
 * Offsets are UTF-16 code units throughout, as in JavaScript strings and VS Code. A token that
 * holds part of a character (an emoji split into two byte-level tokens) has the range of the whole
 * character (see src/model/tokenizer.ts), so two neighbouring tokens can share one range.
 */

import type { EncodedText, EncodeOptions } from "../model/tokenizer";
import type { TokenInfo } from "../protocol";

/** What this module needs of a tokenizer (`TextTokenizer` from src/model/tokenizer.ts has it). */
export interface SelectionTokenizer {
  encode(text: string, options?: EncodeOptions): EncodedText;
  /** The special tokens the model's files put in front of a text (BOS, or nothing). */
  readonly prefixTokenIds: readonly number[];
  /** The special tokens the model's files put after a text (usually nothing); left out here. */
  readonly suffixTokenIds: readonly number[];
  /** A token's bytes when they are only part of a character (`TextTokenizer.partialCharacterBytes`): labels show them. */
  partialCharacterBytes?(id: number): number[] | undefined;
}

/** [start, end) in UTF-16 code units. */
export type OffsetRange = readonly [start: number, end: number];

/** The advice every "nothing to show" message ends with. */
export const SELECT_TEXT_ADVICE =
  "Select some text (or place the cursor on a line with text) and run Attention Lens: Show Attention again.";

// ---------------------------------------------------------------------------------------------
// 1. Which text

export type ChosenText =
  | {
      kind: "text";
      /** Document offsets of the chosen text, [start, end). */
      start: number;
      end: number;
      /** The selection was empty and the line under the cursor was taken instead. */
      usedCurrentLine: boolean;
    }
  | { kind: "nothing"; message: string };

/** Only whitespace (or nothing): spaces, tabs, line breaks, and the other Unicode spaces. */
export function isBlank(text: string): boolean {
  return /^\s*$/.test(text);
}

/**
 * The text to show: the selection when it holds something other than whitespace; the whole line
 * under the cursor (without its line break) when the selection is empty; otherwise a message that
 * says why nothing runs and what to do.
 */
export function chooseText(documentText: string, selectionStart: number, selectionEnd = selectionStart): ChosenText {
  const start = clamp(Math.min(selectionStart, selectionEnd), 0, documentText.length);
  const end = clamp(Math.max(selectionStart, selectionEnd), 0, documentText.length);
  if (start < end) {
    if (isBlank(documentText.slice(start, end))) {
      return {
        kind: "nothing",
        message: `The selection holds only whitespace, so the model has nothing to attend over. ${SELECT_TEXT_ADVICE}`,
      };
    }
    return { kind: "text", start, end, usedCurrentLine: false };
  }

  const line = lineAround(documentText, start);
  if (isBlank(documentText.slice(line.start, line.end))) {
    const what = documentText.length === 0 ? "the document is empty" : "the line under the cursor is empty";
    return { kind: "nothing", message: `Nothing is selected and ${what}. ${SELECT_TEXT_ADVICE}` };
  }
  return { kind: "text", start: line.start, end: line.end, usedCurrentLine: true };
}

/** The line that holds `offset`: from after the previous "\n" to before the next "\n" or "\r\n". */
export function lineAround(documentText: string, offset: number): { start: number; end: number } {
  const start = offset === 0 ? 0 : documentText.lastIndexOf("\n", offset - 1) + 1;
  let end = documentText.indexOf("\n", offset);
  if (end === -1) end = documentText.length;
  else if (end > start && documentText[end - 1] === "\r") end -= 1;
  return { start, end };
}

function clamp(value: number, low: number, high: number): number {
  return Math.min(Math.max(value, low), high);
}

// ---------------------------------------------------------------------------------------------
// 2. Line endings

/** A text with "\r\n" replaced by "\n", and how to map its offsets back to the original. */
export interface NormalizedText {
  /** The text with every "\r\n" as "\n" (a lone "\r" is kept). */
  text: string;
  /**
   * For each dropped "\r", in order: the offset in `text` of the "\n" that followed it. A sorted
   * list, so mapping an offset back is a binary search.
   */
  droppedCarriageReturns: number[];
}

/**
 *   original     a \r \n b          offsets 0 1 2 3 4
 *   normalized   a \n b             offsets 0 1 2 3        droppedCarriageReturns = [1]
 *
 * The "\n" token [1, 2) maps back to [1, 3): it covers the whole "\r\n".
 */
export function normalizeLineEndings(original: string): NormalizedText {
  const droppedCarriageReturns: number[] = [];
  if (!original.includes("\r\n")) return { text: original, droppedCarriageReturns };
  const parts = original.split("\r\n");
  let offset = 0;
  for (let index = 0; index < parts.length - 1; index++) {
    offset += parts[index].length;
    droppedCarriageReturns.push(offset); // where this "\n" sits in the normalized text
    offset += 1;
  }
  return { text: parts.join("\n"), droppedCarriageReturns };
}

/**
 * An offset in the normalized text -> the offset in the original: add one for each "\r" dropped
 * before it. A "\n" at normalized offset p had its "\r" at original p + (drops before p), so the
 * start of a "\n" token maps onto its "\r" and the token's range covers "\r\n".
 */
export function toOriginalOffset(normalized: NormalizedText, offset: number): number {
  const drops = normalized.droppedCarriageReturns;
  let low = 0;
  let high = drops.length; // count of drops strictly below `offset`
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (drops[middle] < offset) low = middle + 1;
    else high = middle;
  }
  return offset + low;
}

// ---------------------------------------------------------------------------------------------
// 3. Tokens within the budget

/** Tokens of (a prefix of) a text, <|bos|> first. */
export interface BudgetedTokens {
  /** Ids, token texts and [start, end) offsets into the text; index 0 is <|bos|> with [0, 0]. */
  encoded: EncodedText;
  /** Set when the text has more tokens than the budget. Counts include <|bos|>. */
  truncation?: {
    keptTokens: number;
    totalTokens: number;
    /** The text was cut before tokenizing, so `totalTokens` is extrapolated, not counted. */
    totalIsEstimate: boolean;
  };
}

/** How many characters per wanted token the first prefix holds: generous (most tokens are 1-6). */
export const PREFIX_CHARACTERS_PER_TOKEN = 8;

/**
 * <|bos|> and the first `maxTokens - 1` tokens of `text`.
 *
 * A long text is not tokenized whole. A prefix of `(maxTokens - 1) * 8` characters is tokenized,
 * and of its tokens only the SETTLED ones are trusted: those that end before the last whitespace
 * run followed by more text in the prefix. Why that is safe: the byte-level pre-tokenizer cuts the
 * text into words with a regular expression, BPE never merges across words, and every word that
 * ends before such a whitespace run was matched by looking no further than that run's first
 * character, which the prefix holds. So the settled tokens are exactly the first tokens of the
 * whole text. Words cut by the prefix's end (and the whitespace just before them, which the
 * expression splits depending on what follows) are thrown away. When the settled tokens are too
 * few, the prefix doubles; at worst (a huge text without whitespace) the whole text is tokenized.
 */
export function tokenizeInBudget(text: string, tokenizer: SelectionTokenizer, maxTokens: number): BudgetedTokens {
  if (!Number.isInteger(maxTokens) || maxTokens < 2) {
    throw new RangeError(`maxTokens must be an integer >= 2 (<|bos|> and one token), got ${maxTokens}`);
  }
  const prefixCount = tokenizer.prefixTokenIds.length; // BOS, or nothing (GPT-2, Qwen)
  const budget = maxTokens - prefixCount; // tokens of the text
  let prefixLength = Math.max(64, budget * PREFIX_CHARACTERS_PER_TOKEN);

  while (true) {
    prefixLength = avoidSplittingSurrogatePair(text, Math.min(prefixLength, text.length));
    const prefix = text.slice(0, prefixLength);
    const encoded = withoutSuffix(tokenizer.encode(prefix, { addSpecialTokens: true }), tokenizer.suffixTokenIds.length);
    const found = encoded.ids.length - prefixCount;

    if (prefixLength === text.length) {
      // The whole text: its tokens are exact, and so is the count.
      if (found <= budget) return { encoded };
      return {
        encoded: keepFirstTokens(encoded, maxTokens),
        truncation: { keptTokens: maxTokens, totalTokens: found + prefixCount, totalIsEstimate: false },
      };
    }

    const settledEnd = startOfLastInnerWhitespaceRun(prefix);
    const settled = countTokensEndingBy(encoded, settledEnd, prefixCount);
    if (settled >= budget) {
      // More text follows the prefix, so more tokens follow the ones kept: truncated for sure.
      const tokensPerCharacter = settled / Math.max(1, settledEnd);
      const estimate = Math.round(tokensPerCharacter * text.length) + prefixCount;
      return {
        encoded: keepFirstTokens(encoded, maxTokens),
        truncation: { keptTokens: maxTokens, totalTokens: Math.max(maxTokens + 1, estimate), totalIsEstimate: true },
      };
    }
    prefixLength *= 2;
  }
}

/** Moves a cut that falls inside a surrogate pair to after it, so no emoji is halved. */
function avoidSplittingSurrogatePair(text: string, cut: number): number {
  if (cut <= 0 || cut >= text.length) return cut;
  const before = text.charCodeAt(cut - 1);
  const after = text.charCodeAt(cut);
  const splitsPair = before >= 0xd800 && before <= 0xdbff && after >= 0xdc00 && after <= 0xdfff;
  return splitsPair ? cut + 1 : cut;
}

/**
 * The start of the last run of whitespace that has non-whitespace after it, inside `prefix`
 * (0 when there is none). Tokens that end at or before it cannot change when more text follows.
 */
function startOfLastInnerWhitespaceRun(prefix: string): number {
  let index = prefix.length - 1;
  while (index >= 0 && /\s/.test(prefix[index])) index--; // skip trailing whitespace (unsettled)
  while (index >= 0 && !/\s/.test(prefix[index])) index--; // skip the last word (unsettled)
  if (index < 0) return 0;
  while (index > 0 && /\s/.test(prefix[index - 1])) index--; // to the start of that whitespace run
  return index;
}

/** How many tokens of the text (after the `prefixCount` special ones) end at or before `offset` (offsets only grow along the tokens). */
function countTokensEndingBy(encoded: EncodedText, offset: number, prefixCount: number): number {
  let count = 0;
  for (let index = prefixCount; index < encoded.offsets.length && encoded.offsets[index][1] <= offset; index++) count++;
  return count;
}

function keepFirstTokens(encoded: EncodedText, count: number): EncodedText {
  return {
    ids: encoded.ids.slice(0, count),
    tokens: encoded.tokens.slice(0, count),
    offsets: encoded.offsets.slice(0, count),
    special: encoded.special.slice(0, count),
  };
}

/** `encoded` without the `suffixCount` special tokens the tokenizer put after the text: the text goes on. */
function withoutSuffix(encoded: EncodedText, suffixCount: number): EncodedText {
  return suffixCount === 0 ? encoded : keepFirstTokens(encoded, encoded.ids.length - suffixCount);
}

// ---------------------------------------------------------------------------------------------
// 4. Together

/** What the host needs for one run: the message fields, and the editor ranges. */
export interface SelectionTokens {
  /** The text the tokens index into: line breaks as "\n", cut after the last kept token. */
  text: string;
  /** <|bos|> first (range [0, 0]); start/end are offsets into `text`. */
  tokens: TokenInfo[];
  /** Per token, its [start, end) in the DOCUMENT; <|bos|> gets the empty range at `documentStart`. */
  documentRanges: OffsetRange[];
  /** The document range the shown text covers, [documentStart, documentEnd). */
  documentStart: number;
  documentEnd: number;
  usedCurrentLine: boolean;
  truncation?: BudgetedTokens["truncation"];
}

export type SelectionTokensResult = { kind: "tokens"; value: SelectionTokens } | { kind: "nothing"; message: string };

export interface SelectionTokensRequest {
  documentText: string;
  /** Document offsets of the selection (equal for an empty one); their order does not matter. */
  selectionStart: number;
  selectionEnd: number;
  tokenizer: SelectionTokenizer;
  /** Most tokens to keep, <|bos|> included: the setting, already capped at the model's context. */
  maxTokens: number;
}

/** Steps 1-4: the selection (or the current line) of a document, tokenized and mapped. */
export function tokensOfSelection(request: SelectionTokensRequest): SelectionTokensResult {
  const chosen = chooseText(request.documentText, request.selectionStart, request.selectionEnd);
  if (chosen.kind === "nothing") return chosen;
  const original = request.documentText.slice(chosen.start, chosen.end);
  const value = tokensOfText(original, request.tokenizer, request.maxTokens, chosen.start);
  return { kind: "tokens", value: { ...value, usedCurrentLine: chosen.usedCurrentLine } };
}

/**
 * Steps 2-4 for a text that is already chosen: `original` as it is in the document (any line
 * endings), starting at document offset `documentStart` (0 when it comes from no document, as when
 * a panel is restored after a reload).
 */
export function tokensOfText(original: string, tokenizer: SelectionTokenizer, maxTokens: number, documentStart = 0): SelectionTokens {
  const normalized = normalizeLineEndings(original);
  const { encoded, truncation } = tokenizeInBudget(normalized.text, tokenizer, maxTokens);

  let keptEnd = 0; // the end of the last kept token in the normalized text
  for (const [, end] of encoded.offsets) keptEnd = Math.max(keptEnd, end);
  const text = truncation ? normalized.text.slice(0, keptEnd) : normalized.text;

  const tokens: TokenInfo[] = encoded.ids.map((id, index) => {
    const bytes = encoded.special[index] ? undefined : tokenizer.partialCharacterBytes?.(id);
    return {
      id,
      text: encoded.tokens[index],
      start: encoded.offsets[index][0],
      end: encoded.offsets[index][1],
      ...(encoded.special[index] ? { special: true } : {}),
      ...(bytes ? { bytes } : {}),
    };
  });
  const documentRanges: OffsetRange[] = encoded.offsets.map(([start, end]) => [
    documentStart + toOriginalOffset(normalized, start),
    documentStart + toOriginalOffset(normalized, end),
  ]);
  return {
    text,
    tokens,
    documentRanges,
    documentStart,
    documentEnd: documentStart + toOriginalOffset(normalized, text.length),
    usedCurrentLine: false,
    ...(truncation ? { truncation } : {}),
  };
}

// ---------------------------------------------------------------------------------------------
// The token under the cursor

/**
 * The index of the token under a cursor at document offset `offset`: the token holding the
 * character just after the cursor, or the last token when the cursor sits right after the shown
 * text. <|bos|> (index 0) is never under a cursor. `null` when the cursor is outside the tokens.
 * Where two tokens share a range (pieces of one character) the first of them is returned.
 */
export function tokenIndexAtOffset(documentRanges: readonly OffsetRange[], offset: number): number | null {
  const last = documentRanges.length - 1;
  // The special tokens in front (BOS) come from no text: the first token of the text is the first with a range.
  const first = documentRanges.findIndex(([start, end]) => end > start);
  if (first < 0) return null;
  if (offset < documentRanges[first][0] || offset > documentRanges[last][1]) return null;
  if (offset === documentRanges[last][1]) return last;
  // The first token of the text whose end is beyond the offset; ends never decrease.
  let low = first;
  let high = last;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (documentRanges[middle][1] > offset) high = middle;
    else low = middle + 1;
  }
  return documentRanges[low][0] <= offset ? low : null;
}
