/**
 * What bytes each vocabulary token stands for, for the two ways a BPE vocabulary writes bytes.
 *
 * Every token is a run of BYTES, and the offsets (src/model/tokenizer-offsets.ts) are computed by
 * laying the tokens' bytes over the UTF-8 bytes of the (normalized) text. Each token therefore has
 * two byte strings, kept here for all ids in two flat arrays:
 *
 *   MATCHED  the bytes the token covers in the text the vocabulary sees (after the normalizer and
 *            the pre-tokenizer changed it): what offsets are computed from;
 *   SHOWN    the bytes the token stands for in the user's text: `tokenBytesOf`, `tokenText`.
 *
 *   kind            vocabulary entry   matched bytes          shown bytes
 *   byte-level      "Ġthe"             20 74 68 65 (" the")   the same
 *   (GPT-2, Llama 3, Qwen: every byte is written as one printable character, see BYTE_TO_UNICODE)
 *   SentencePiece   "▁the"             E2 96 81 74 68 65      20 74 68 65 (" the": ▁ is a space)
 *   (Llama 2,       "<0x0A>"           0A                     0A (a byte with no token of its own)
 *    Mistral)
 *   added token     "<|endoftext|>"    its UTF-8              its UTF-8
 */

/**
 * `BYTE_TO_UNICODE[b]` is the character that stands for byte b in a byte-level vocabulary.
 *
 * The 188 bytes that are printable Latin-1 characters ("!".."~", "¡".."¬", "®".."ÿ") stand for
 * themselves; the other 68 (control characters, space, DEL, NBSP, soft hyphen) are moved, in byte
 * order, to U+0100, U+0101, ... So space (0x20) is "Ġ" (U+0120) and newline (0x0A) is "Ċ" (U+010A).
 * Every vocabulary entry is then a plain, printable string with one character per byte.
 */
export const BYTE_TO_UNICODE: readonly string[] = (() => {
  const table = new Array<string>(256);
  const standsForItself = (byte: number) =>
    (byte >= 0x21 && byte <= 0x7e) || (byte >= 0xa1 && byte <= 0xac) || (byte >= 0xae && byte <= 0xff);
  let moved = 0;
  for (let byte = 0; byte < 256; byte++) {
    table[byte] = String.fromCharCode(standsForItself(byte) ? byte : 256 + moved++);
  }
  return table;
})();

/** The inverse of `BYTE_TO_UNICODE`: a vocabulary character to the byte it stands for. */
export const UNICODE_TO_BYTE: ReadonlyMap<string, number> = new Map(BYTE_TO_UNICODE.map((character, byte) => [character, byte]));

/** The same as `UNICODE_TO_BYTE`, indexed by char code (-1: not a byte-level character); faster. */
const BYTE_OF_CHAR_CODE: Int16Array = (() => {
  const table = new Int16Array(256 + 68).fill(-1);
  BYTE_TO_UNICODE.forEach((character, byte) => (table[character.charCodeAt(0)] = byte));
  return table;
})();

/** SentencePiece's name of the token for one byte: 0x0A -> "<0x0A>". */
export function byteFallbackTokenName(byte: number): string {
  return `<0x${byte.toString(16).toUpperCase().padStart(2, "0")}>`;
}

const BYTE_FALLBACK_TOKEN = /^<0x([0-9A-F]{2})>$/;
const utf8Encoder = new TextEncoder();

/**
 * Every token's matched and shown bytes, by id, in flat arrays: token `id` holds
 * `matched[matchedStart[id] .. matchedStart[id + 1])`, and likewise for shown.
 */
export class TokenByteTable {
  /** Made by `TokenByteTableBuilder`. */
  constructor(
    private readonly matched: Uint8Array,
    private readonly matchedStart: Uint32Array,
    private readonly shown: Uint8Array,
    private readonly shownStart: Uint32Array,
  ) {}

  /** How many bytes of the text token `id` covers. */
  matchedLength(id: number): number {
    return this.matchedStart[id + 1] - this.matchedStart[id];
  }

  /** Whether token `id`'s matched bytes are `bytes[position ..]`. */
  matchesAt(id: number, bytes: Uint8Array, position: number): boolean {
    const start = this.matchedStart[id];
    const length = this.matchedStart[id + 1] - start;
    if (position + length > bytes.length) return false;
    for (let index = 0; index < length; index++) {
      if (this.matched[start + index] !== bytes[position + index]) return false;
    }
    return true;
  }

  /** The bytes token `id` stands for in the user's text (a view: do not change it). */
  shownBytes(id: number): Uint8Array {
    return this.shown.subarray(this.shownStart[id], this.shownStart[id + 1]);
  }
}

/**
 * Builds a `TokenByteTable`, one token after another in id order, writing straight into the flat
 * arrays (150,000 small arrays would cost more than the rest of loading).
 */
export class TokenByteTableBuilder {
  private readonly matched = new GrowingBytes();
  private readonly shown = new GrowingBytes();
  private readonly matchedStart: Uint32Array;
  private readonly shownStart: Uint32Array;
  private shownDiffers = false;
  private count = 0;

  constructor(private readonly size: number) {
    this.matchedStart = new Uint32Array(size + 1);
    this.shownStart = new Uint32Array(size + 1);
  }

  /**
   * The next token, a byte-level vocabulary entry ("Ġthe" -> " the"). Returns -1, or the index of
   * its first character that is not a byte-level one (then nothing is added).
   */
  addByteLevel(token: string): number {
    for (let index = 0; index < token.length; index++) {
      const code = token.charCodeAt(index);
      if (code >= BYTE_OF_CHAR_CODE.length || BYTE_OF_CHAR_CODE[code] < 0) return index;
    }
    const at = this.matched.reserve(token.length);
    for (let index = 0; index < token.length; index++) this.matched.bytes[at + index] = BYTE_OF_CHAR_CODE[token.charCodeAt(index)];
    this.matched.length += token.length;
    this.next(at, token.length);
    return -1;
  }

  /**
   * The next token, a SentencePiece vocabulary entry: "<0x0A>" is the one byte 0A; any other is
   * its UTF-8, shown with a space for each `spaceSymbol` ("▁") when the tokenizer writes spaces as
   * that symbol (`spaceSymbol` undefined: it does not).
   */
  addSentencePiece(token: string, spaceSymbol: string | undefined): void {
    const byte = BYTE_FALLBACK_TOKEN.exec(token);
    if (byte !== null) {
      const at = this.matched.reserve(1);
      this.matched.bytes[at] = parseInt(byte[1], 16);
      this.matched.length += 1;
      this.next(at, 1);
      return;
    }
    const [at, length] = this.matched.appendUtf8(token);
    const writesSpaces = spaceSymbol !== undefined && token.includes(spaceSymbol);
    this.next(at, length, writesSpaces ? token.replaceAll(spaceSymbol, " ") : undefined);
  }

  /** The next token, text that stands for itself (an added token's content). */
  addText(text: string): void {
    const [at, length] = this.matched.appendUtf8(text);
    this.next(at, length);
  }

  build(): TokenByteTable {
    if (this.count !== this.size) throw new Error(`TokenByteTableBuilder: ${this.count} of ${this.size} tokens were added`);
    this.matchedStart[this.size] = this.matched.length;
    this.shownStart[this.size] = this.shown.length;
    const matched = this.matched.bytes.slice(0, this.matched.length);
    if (!this.shownDiffers) return new TokenByteTable(matched, this.matchedStart, matched, this.matchedStart);
    return new TokenByteTable(matched, this.matchedStart, this.shown.bytes.slice(0, this.shown.length), this.shownStart);
  }

  /** Ends the token whose matched bytes are at [at, at + length); it is shown as `shownText`, or as them. */
  private next(at: number, length: number, shownText?: string): void {
    this.matchedStart[this.count] = at;
    this.shownStart[this.count] = this.shown.length;
    if (shownText === undefined) this.shown.appendCopy(this.matched.bytes, at, length);
    else {
      this.shown.appendUtf8(shownText);
      this.shownDiffers = true;
    }
    this.count++;
  }
}

/** A byte array that grows as bytes are appended. */
class GrowingBytes {
  bytes = new Uint8Array(1 << 16);
  length = 0;

  /** Makes room for `more` bytes; returns where they go (the caller advances `length`). */
  reserve(more: number): number {
    if (this.length + more > this.bytes.length) {
      const grown = new Uint8Array(Math.max(this.length + more, this.bytes.length * 2));
      grown.set(this.bytes.subarray(0, this.length));
      this.bytes = grown;
    }
    return this.length;
  }

  appendUtf8(text: string): [at: number, length: number] {
    const at = this.reserve(text.length * 3);
    const { written } = utf8Encoder.encodeInto(text, this.bytes.subarray(at));
    this.length += written;
    return [at, written];
  }

  appendCopy(source: Uint8Array, from: number, length: number): void {
    const at = this.reserve(length);
    this.bytes.set(source.subarray(from, from + length), at);
    this.length += length;
  }
}
