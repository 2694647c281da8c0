/**
 * The shown text cut into one piece per token, as the token view and the loss view draw it: each
 * token's own characters, never twice (byte-level tokens of one character share its range: the first
 * shows it, the others are empty), special tokens as their text, and each line break drawn as "⏎"
 * before it.
 */

import type { TokenInfo } from "../../src/protocol";

export interface TextPiece {
  index: number;
  special: boolean;
  text: string;
}

export function textPieces(text: string, tokens: readonly TokenInfo[]): TextPiece[] {
  let shownUpTo = 0;
  return tokens.map((token, index) => {
    if (token.end <= token.start) return { index, special: true, text: token.text };
    const start = Math.max(token.start, shownUpTo);
    shownUpTo = Math.max(shownUpTo, token.end);
    return { index, special: token.special === true, text: text.slice(start, token.end).replace(/\n/g, "⏎\n") };
  });
}
