/**
 * The text of generated tokens, one piece per token, for decode mode.
 *
 * A byte-level BPE token is a run of BYTES (see src/model/tokenizer.ts), and a character of several
 * UTF-8 bytes (é, an emoji, CJK) may be split over two or more tokens. Decoding each token on its
 * own would show U+FFFD for every part; so the bytes of the prompt and of every generated token go,
 * in order, through ONE streaming UTF-8 decoder: a token gives the characters that its bytes
 * complete. The token that starts a character shows nothing (`partial`), the one that ends it shows
 * the whole character. Bytes still waiting for the rest of their character at the end are counted in
 * `pendingBytes`.
 */

export interface GeneratedPiece {
  /** The token id. */
  id: number;
  /** The characters this token completes (possibly empty). */
  text: string;
  /** The token holds bytes of a character that a later token completes. */
  partial: boolean;
}

export interface GeneratedText {
  pieces: GeneratedPiece[];
  /** Bytes at the end that do not form a whole character yet. */
  pendingBytes: number;
}

/** Bytes of one UTF-8 character that starts with `lead` (1 for a byte that cannot start one). */
function sequenceLength(lead: number): number {
  if (lead >= 0xf0 && lead <= 0xf4) return 4;
  if (lead >= 0xe0) return lead <= 0xef ? 3 : 1;
  if (lead >= 0xc2) return 2;
  return 1;
}

/**
 * Splits the generated tokens into display pieces. `promptIds` come first in the stream (their text
 * is not returned) so that a character begun by the prompt is finished right.
 */
export function generatedText(
  tokenBytes: (id: number) => Uint8Array,
  promptIds: readonly number[],
  generatedIds: readonly number[],
): GeneratedText {
  const decoder = new TextDecoder("utf-8", { fatal: false });
  let open = 0; // bytes of an unfinished character so far
  let needed = 0; // bytes that character needs in all
  const feed = (bytes: Uint8Array): { text: string; partial: boolean } => {
    const text = decoder.decode(bytes, { stream: true });
    for (const byte of bytes) {
      if (open > 0 && (byte & 0xc0) === 0x80) {
        open++;
        if (open === needed) open = needed = 0;
      } else {
        const length = sequenceLength(byte);
        open = length > 1 ? 1 : 0;
        needed = length > 1 ? length : 0;
      }
    }
    return { text, partial: open > 0 };
  };
  for (const id of promptIds) feed(tokenBytes(id));
  const pieces = generatedIds.map((id) => ({ id, ...feed(tokenBytes(id)) }));
  return { pieces, pendingBytes: open };
}
