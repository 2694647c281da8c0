/**
 * One way to turn a token into its label, everywhere a token is named (heatmap axes, captions,
 * the token view, next-token candidates, the batch grid): whitespace made visible, control
 * characters escaped, long tokens shortened with an ellipsis, and a token that holds only part of a
 * character (a byte-level piece of an emoji, of CJK or Arabic text) shown as its bytes.
 *
 *   " "  -> "·"      "\n" -> "⏎"      "\t" -> "⇥"      "\r" -> "␍"
 *   other control characters -> "\u{…}" escapes
 *   the first of an emoji's four byte tokens -> "<F0>", a token of two such bytes -> "<F0 9F>"
 */

const VISIBLE_WHITESPACE: Record<string, string> = { " ": "·", "\n": "⏎", "\t": "⇥", "\r": "␍" };

/** A token as labels need it: its text, and its bytes when they are only part of a character (TokenInfo has both). */
export interface LabelledToken {
  text: string;
  bytes?: readonly number[];
}

/**
 * Token `id` of a tokenizer as labels need it. A model's vocabulary can be larger than its
 * tokenizer's (rows padded to a multiple of 64 or 128, as Qwen's are): such an id labels as "#id".
 */
export function labelledTokenOf(tokenizer: { readonly vocabSize: number; tokenText(id: number): string; partialCharacterBytes(id: number): number[] | undefined }, id: number): LabelledToken {
  if (!(Number.isInteger(id) && id >= 0 && id < tokenizer.vocabSize)) return { text: `#${id}` };
  return { text: tokenizer.tokenText(id), bytes: tokenizer.partialCharacterBytes(id) };
}

/** `text` with whitespace and control characters shown as visible symbols. */
export function showWhitespace(text: string): string {
  let shown = "";
  for (const character of text) {
    const symbol = VISIBLE_WHITESPACE[character];
    if (symbol !== undefined) shown += symbol;
    else if (/[\p{Cc}\p{Cf}]/u.test(character)) shown += `\\u{${character.codePointAt(0)!.toString(16)}}`;
    else shown += character;
  }
  return shown;
}

/** "<F0 9F>": bytes in hex, as a token holding part of a character is shown. */
export function showBytes(bytes: readonly number[]): string {
  return `<${bytes.map((byte) => byte.toString(16).toUpperCase().padStart(2, "0")).join(" ")}>`;
}

/**
 * A label of at most `maxCharacters` characters (code points): the whitespace-visible text (or the
 * bytes of a partial character), or its first `maxCharacters - 1` characters and "…". An empty
 * token shows as "∅".
 */
export function tokenLabel(token: LabelledToken | string, maxCharacters = 10): string {
  const { text, bytes } = typeof token === "string" ? { text: token, bytes: undefined } : token;
  if (bytes !== undefined && bytes.length > 0) return shorten(showBytes(bytes), maxCharacters);
  if (text === "") return "∅";
  return shorten(showWhitespace(text), maxCharacters);
}

/**
 * The longer form for tooltips and screen readers: `#index “label”`, and for a partial character
 * the character it is part of (`of`: the text the token's offsets cover), "#4 “<F0>”, part of “😀”".
 */
export function tokenDescription(index: number, token: LabelledToken, of?: string): string {
  const label = `#${index} “${tokenLabel(token, 24)}”`;
  return token.bytes !== undefined && token.bytes.length > 0 && of ? `${label}, part of “${of}”` : label;
}

function shorten(shown: string, maxCharacters: number): string {
  const characters = [...shown];
  if (characters.length <= maxCharacters) return shown;
  return `${characters.slice(0, Math.max(1, maxCharacters - 1)).join("")}…`;
}
