/**
 * Token text as heatmap labels: whitespace made visible, control characters escaped, long tokens
 * shortened with an ellipsis.
 *
 *   " "  -> "·"      "\n" -> "⏎"      "\t" -> "⇥"      "\r" -> "␍"
 *   other control characters -> "\u{…}" escapes
 */

const VISIBLE_WHITESPACE: Record<string, string> = { " ": "·", "\n": "⏎", "\t": "⇥", "\r": "␍" };

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

/**
 * A label of at most `maxCharacters` characters (code points): the whitespace-visible text, or its
 * first `maxCharacters - 1` characters and "…". An empty token shows as "∅".
 */
export function tokenLabel(text: string, maxCharacters = 10): string {
  if (text === "") return "∅";
  const characters = [...showWhitespace(text)];
  if (characters.length <= maxCharacters) return characters.join("");
  return `${characters.slice(0, Math.max(1, maxCharacters - 1)).join("")}…`;
}
