/**
 * Where in the ORIGINAL text each token came from: [start, end) in UTF-16 code units.
 *
 * `@huggingface/tokenizers` gives token ids but no offsets, so they are computed here, the way the
 * Rust `tokenizers` library computes them (an independent check: test/unit/tokenizer-families.test.ts):
 *
 *   1. split the text at the added tokens ("<|endoftext|>", "</s>"): each is one token with the
 *      range of its text; the pieces between are tokenized on their own;
 *   2. a piece is changed before the vocabulary sees it (normalizer: NFC, Prepend "▁", Replace
 *      " " -> "▁"; pre-tokenizer: Metaspace, ByteLevel's prefix space). An `AlignedText` is the
 *      changed text with, for each of its UTF-16 code units, the range of the original it stands
 *      for. An inserted character (a prepended "▁") has the EMPTY range where it was inserted;
 *   3. the tokens' bytes (src/model/token-bytes.ts) are laid over the changed text's UTF-8 bytes,
 *      and each token gets the union of the ranges of the characters whose bytes it holds:
 *
 *        original      "a b"             (Llama 2)
 *        changed       "▁a▁b"            ▁ prepended: [0,0];  a: [0,1];  ▁ for " ": [1,2];  b: [2,3]
 *        tokens        "▁a"  "▁b"
 *        ranges        [0,1] [1,3]       so text.slice(1, 3) = " b", what "▁b" stands for
 *
 * Three consequences, all deliberate:
 *
 *   - A token holding only PART of a character (a byte-level piece of an emoji, or a SentencePiece
 *     byte token "<0xF0>") gets the range of the WHOLE character; tokens may then share a range.
 *   - A token made only of inserted characters (a "▁" prepended to "😀") gets an empty range at
 *     the place of insertion. (Rust gives it the range of the character after it.)
 *   - A character that Unicode normalization made from several (NFC: "e" + U+0301 -> "é") maps to
 *     all of them, [0, 2), so `text.slice` gives what the token stands for. (Rust maps it to the
 *     first of them only, [0, 1).)
 *
 * A lone surrogate (half of a surrogate pair) cannot be UTF-8; like `TextEncoder` it counts as
 * U+FFFD (3 bytes) that map back to the one code unit.
 */

import type { TokenByteTable } from "./token-bytes";

/** A token's place in the original text: [start, end) in UTF-16 code units. */
export type TextRange = [start: number, end: number];

/** One change a tokenizer makes to a piece of text before the vocabulary sees it. */
export type TextStep =
  /** Unicode normalization (normalizer NFC, NFD, NFKC, NFKD). */
  | { kind: "unicode"; form: "NFC" | "NFD" | "NFKC" | "NFKD" }
  /** Put `prefix` in front of a non-empty piece (normalizer Prepend). */
  | { kind: "prepend"; prefix: string }
  /** Replace each `pattern` by `content`, left to right (normalizer Replace of a String). */
  | { kind: "replace"; pattern: string; content: string }
  /** Spaces become `replacement`, then one is put in front per `prependScheme` (pre-tokenizer Metaspace). */
  | { kind: "metaspace"; replacement: string; prependScheme: "always" | "first" | "never" }
  /** A space in front unless the piece starts with one (ByteLevel's add_prefix_space). */
  | { kind: "prefix-space" };

// ---------------------------------------------------------------------------------------------
// UTF-8 bytes <-> UTF-16 code units

/**
 * For each UTF-8 byte of `text` (as `TextEncoder` encodes it), the UTF-16 range of the character
 * that byte belongs to: `start[i]` and `end[i]` for byte i.
 *
 *   "aé😀"      a        é          😀
 *   bytes       61       C3 A9      F0 9F 98 80
 *   start       0        1  1       2  2  2  2
 *   end         1        2  2       4  4  4  4
 *
 * A lone surrogate is one code unit that `TextEncoder` writes as U+FFFD (EF BF BD): three bytes
 * that all map to that one code unit.
 */
export function characterRangesOfUtf8Bytes(text: string): { start: Uint32Array; end: Uint32Array } {
  // A UTF-16 code unit never takes more than 3 UTF-8 bytes (a pair: 4 bytes for 2 units).
  const start = new Uint32Array(text.length * 3);
  const end = new Uint32Array(text.length * 3);
  let byte = 0;
  for (let unit = 0; unit < text.length; ) {
    const code = text.charCodeAt(unit);
    let units = 1;
    let bytes: number;
    if (code < 0x80) bytes = 1;
    else if (code < 0x800) bytes = 2;
    else if (code >= 0xd800 && code <= 0xdbff && isLowSurrogate(text.charCodeAt(unit + 1))) {
      units = 2; // a surrogate pair: one code point above U+FFFF, 4 bytes
      bytes = 4;
    } else bytes = 3; // the rest of the BMP, and lone surrogates (as U+FFFD)
    for (let k = 0; k < bytes; k++, byte++) {
      start[byte] = unit;
      end[byte] = unit + units;
    }
    unit += units;
  }
  return { start: start.subarray(0, byte), end: end.subarray(0, byte) };
}

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}

// ---------------------------------------------------------------------------------------------
// Changed text that remembers where each code unit came from

/**
 * A starter and the marks after it: what Unicode normalization may join into one character. Hangul
 * vowel and final jamo (U+1160-U+11FF, U+D7B0-U+D7FF) join the syllable before them like marks.
 */
const NORMALIZATION_CLUSTER = /[^\p{M}\u1160-\u11FF\uD7B0-\uD7FF][\p{M}\u1160-\u11FF\uD7B0-\uD7FF]*|[\p{M}\u1160-\u11FF\uD7B0-\uD7FF]+/gu;

/** `text`, and for each of its code units the [start, end) of the original it stands for. */
export class AlignedText {
  /** Code unit i of `text` stands for the original's [starts[i], ends[i]); equal: inserted. */
  constructor(
    readonly text: string,
    readonly starts: Int32Array,
    readonly ends: Int32Array,
  ) {}

  /** `original.slice(start, end)`, unchanged: unit i stands for [start + i, start + i + 1). */
  static slice(original: string, start: number, end: number): AlignedText {
    const starts = new Int32Array(end - start);
    const ends = new Int32Array(end - start);
    for (let index = 0; index < starts.length; index++) {
      starts[index] = start + index;
      ends[index] = start + index + 1;
    }
    return new AlignedText(original.slice(start, end), starts, ends);
  }

  /** `step` applied; `firstPiece` says whether this piece starts the text (Metaspace "first"). */
  apply(step: TextStep, firstPiece: boolean): AlignedText {
    switch (step.kind) {
      case "unicode":
        return this.normalized(step.form);
      case "prepend":
        return this.prepended(step.prefix);
      case "replace":
        return this.replaced(step.pattern, step.content);
      case "metaspace": {
        const spaced = this.replaced(" ", step.replacement);
        const prepend = step.prependScheme === "always" || (step.prependScheme === "first" && firstPiece);
        return prepend && !spaced.text.startsWith(step.replacement) ? spaced.prepended(step.replacement) : spaced;
      }
      case "prefix-space":
        return this.text.startsWith(" ") ? this : this.prepended(" ");
      default: {
        const unknown: never = step;
        throw new Error(`unknown text step ${JSON.stringify(unknown)}`);
      }
    }
  }

  /**
   * The range of the original that code units [firstUnit, endUnit) stand for: the union of their
   * ranges, inserted characters (empty ranges) left out unless there is nothing else.
   */
  originalRange(firstUnit: number, endUnit: number): TextRange {
    let start = -1;
    let end = -1;
    for (let unit = firstUnit; unit < endUnit; unit++) {
      if (this.starts[unit] === this.ends[unit]) continue;
      if (start < 0 || this.starts[unit] < start) start = this.starts[unit];
      if (this.ends[unit] > end) end = this.ends[unit];
    }
    if (start < 0) return [this.starts[firstUnit], this.starts[firstUnit]];
    return [start, end];
  }

  private prepended(prefix: string): AlignedText {
    if (this.text === "") return this;
    const builder = new AlignedTextBuilder(this.text.length + prefix.length);
    builder.push(prefix, this.starts[0], this.starts[0]);
    builder.copy(this, 0, this.text.length);
    return builder.build();
  }

  private replaced(pattern: string, content: string): AlignedText {
    let found = this.text.indexOf(pattern);
    if (found < 0) return this;
    const builder = new AlignedTextBuilder(this.text.length);
    let copied = 0;
    while (found >= 0) {
      builder.copy(this, copied, found);
      const [start, end] = this.originalRange(found, found + pattern.length);
      builder.push(content, start, end);
      copied = found + pattern.length;
      found = this.text.indexOf(pattern, copied);
    }
    builder.copy(this, copied, this.text.length);
    return builder.build();
  }

  /**
   * Unicode normalization, piece by piece. Text that is already normalized (nearly all) is
   * returned as it is. Otherwise the text is cut into clusters (a starter and its marks), and a
   * cluster that normalization changes maps, as a whole, to the range of what it came from. A
   * cluster that normalization would join with the next one ("가" + a final jamo) is kept together
   * with it: the cut is made only where normalizing the parts apart gives the same as together.
   */
  private normalized(form: "NFC" | "NFD" | "NFKC" | "NFKD"): AlignedText {
    const whole = this.text.normalize(form);
    if (whole === this.text) return this;
    const builder = new AlignedTextBuilder(whole.length);
    let pending = "";
    let pendingStart = 0;
    const flush = () => {
      const normalized = pending.normalize(form);
      if (normalized === pending) builder.copy(this, pendingStart, pendingStart + pending.length);
      else builder.push(normalized, ...this.originalRange(pendingStart, pendingStart + pending.length));
    };
    for (const match of this.text.matchAll(NORMALIZATION_CLUSTER)) {
      const cluster = match[0];
      if (pending !== "" && (pending + cluster).normalize(form) === pending.normalize(form) + cluster.normalize(form)) {
        flush();
        pending = "";
      }
      if (pending === "") pendingStart = match.index;
      pending += cluster;
    }
    if (pending !== "") flush();
    const result = builder.build();
    if (result.text !== whole) {
      throw new Error(`normalizing ${JSON.stringify(this.text.slice(0, 40))} piece by piece (${form}) did not give the whole text normalized`);
    }
    return result;
  }
}

class AlignedTextBuilder {
  private readonly parts: string[] = [];
  private starts: Int32Array;
  private ends: Int32Array;
  private length = 0;

  constructor(capacity: number) {
    this.starts = new Int32Array(Math.max(1, capacity));
    this.ends = new Int32Array(Math.max(1, capacity));
  }

  /** Appends `text`, every code unit of it standing for [start, end). */
  push(text: string, start: number, end: number): void {
    this.reserve(text.length);
    this.starts.fill(start, this.length, this.length + text.length);
    this.ends.fill(end, this.length, this.length + text.length);
    this.parts.push(text);
    this.length += text.length;
  }

  /** Appends code units [from, to) of `source`, with their ranges. */
  copy(source: AlignedText, from: number, to: number): void {
    if (to <= from) return;
    this.reserve(to - from);
    this.starts.set(source.starts.subarray(from, to), this.length);
    this.ends.set(source.ends.subarray(from, to), this.length);
    this.parts.push(source.text.slice(from, to));
    this.length += to - from;
  }

  build(): AlignedText {
    return new AlignedText(this.parts.join(""), this.starts.slice(0, this.length), this.ends.slice(0, this.length));
  }

  private reserve(more: number): void {
    if (this.length + more <= this.starts.length) return;
    const capacity = Math.max(this.length + more, this.starts.length * 2);
    const starts = new Int32Array(capacity);
    const ends = new Int32Array(capacity);
    starts.set(this.starts.subarray(0, this.length));
    ends.set(this.ends.subarray(0, this.length));
    this.starts = starts;
    this.ends = ends;
  }
}

// ---------------------------------------------------------------------------------------------
// Added tokens in the text

/** A stretch of the original text: one added token, or the text between added tokens. */
export type TextPiece = { kind: "added"; id: number; start: number; end: number } | { kind: "text"; start: number; end: number };

/**
 * Finds the added tokens in a text as `tokenizers` does: scanning left to right, at each position
 * the LONGEST added token that starts there ("<|im_start|>" before "<|im"), if any.
 */
export class AddedTokenFinder {
  /** By the first code unit of their content, longest first. */
  private readonly byFirstUnit = new Map<number, { id: number; content: string }[]>();

  constructor(tokens: readonly { id: number; content: string }[]) {
    for (const token of tokens) {
      const code = token.content.charCodeAt(0);
      const list = this.byFirstUnit.get(code) ?? [];
      list.push(token);
      this.byFirstUnit.set(code, list);
    }
    for (const list of this.byFirstUnit.values()) list.sort((a, b) => b.content.length - a.content.length);
  }

  split(text: string): TextPiece[] {
    const pieces: TextPiece[] = [];
    let textStart = 0;
    for (let index = 0; index < text.length; ) {
      const match = this.byFirstUnit.get(text.charCodeAt(index))?.find((token) => text.startsWith(token.content, index));
      if (match === undefined) {
        index++;
        continue;
      }
      if (index > textStart) pieces.push({ kind: "text", start: textStart, end: index });
      pieces.push({ kind: "added", id: match.id, start: index, end: index + match.content.length });
      index += match.content.length;
      textStart = index;
    }
    if (textStart < text.length) pieces.push({ kind: "text", start: textStart, end: text.length });
    return pieces;
  }
}

// ---------------------------------------------------------------------------------------------
// Tokens over a piece

const utf8Encoder = new TextEncoder();

/**
 * Lays the tokens `ids[first ..]` over the UTF-8 bytes of `piece`, appending each token's original
 * range to `offsets` until the piece is covered; returns the index of the first token after it.
 * `disagree` is called when a token's bytes are not the piece's bytes at that place (the ids then
 * came from a tokenizer that changes the text in a way this module does not model).
 */
export function appendTokenRanges(
  piece: AlignedText,
  ids: readonly number[],
  first: number,
  table: TokenByteTable,
  offsets: TextRange[],
  disagree: (message: string) => never,
): number {
  const bytes = utf8Encoder.encode(piece.text);
  const { start: unitStart, end: unitEnd } = characterRangesOfUtf8Bytes(piece.text);
  let byte = 0;
  let index = first;
  while (byte < bytes.length) {
    if (index >= ids.length) disagree(`the tokens end ${bytes.length - byte} bytes before the end of the text ${JSON.stringify(piece.text.slice(-20))}`);
    const id = ids[index];
    if (!table.matchesAt(id, bytes, byte)) {
      disagree(`token ${index} (id ${id}) does not hold the text's bytes at ${JSON.stringify(piece.text.slice(unitStart[byte], unitStart[byte] + 20))}`);
    }
    const length = table.matchedLength(id);
    if (length === 0) disagree(`token ${index} (id ${id}) holds no bytes`);
    offsets.push(piece.originalRange(unitStart[byte], unitEnd[byte + length - 1]));
    byte += length;
    index++;
  }
  return index;
}
