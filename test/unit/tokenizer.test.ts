import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";

import {
  BYTE_TO_UNICODE,
  characterRangesOfUtf8Bytes,
  TextTokenizer,
  type TextRange,
} from "../../src/model/tokenizer";
import {
  BYTE_TOKENS_IN_ID_ORDER,
  FIRST_BYTE_ID,
  serializeTokenizerJson,
  splitDocuments,
  toTokenizerJson,
  trainByteLevelBpe,
} from "../../training/tokenizer/train-bpe";
import { seededRandom } from "../../src/attention/seeded-random";
import { FIXTURES } from "./helpers/fixtures";
import { assertTokenizerRefused } from "./helpers/tokenizer-refusals";

const TOKENIZER_FIXTURES = join(FIXTURES, "tokenizer");
const SMALL_CORPUS = readFileSync(join(TOKENIZER_FIXTURES, "small-corpus.txt"), "utf8");
const SMALL_TOKENIZER_JSON = readFileSync(join(TOKENIZER_FIXTURES, "small-tokenizer.json"), "utf8");
const SMALL_VOCAB_SIZE = 400;

/** What scripts/fixtures/make_tokenizer_fixture.py wrote with the Python `tokenizers` library. */
interface ExpectedJson {
  documents: number;
  vocab_size: number;
  min_pair_count: number;
  trainer: { vocab: string[]; merges: string[] };
  cases: { text: string; ids: number[]; tokens: string[]; offsets: TextRange[]; decoded: string }[];
}
const EXPECTED = JSON.parse(readFileSync(join(TOKENIZER_FIXTURES, "expected.json"), "utf8")) as ExpectedJson;

/** The id the trainer gives a single byte (bytes are ordered by their byte-level character). */
function byteId(character: string): number {
  return FIRST_BYTE_ID + BYTE_TOKENS_IN_ID_ORDER.indexOf(BYTE_TO_UNICODE[character.charCodeAt(0)]);
}

/** Replaces each lone surrogate by U+FFFD, as UTF-8 encoding does. */
function withLoneSurrogatesReplaced(text: string): string {
  return text.replace(/\p{Cs}/gu, "\uFFFD");
}

/** Pieces the random strings are built from: every hard case for bytes versus UTF-16. */
const HARD_PIECES = [
  "a", "the", " cat", "Hello", " ", "  ", "\t", "\n", "\r\n", "\r", ".", ", ", "'s", "don't", "123", " 4.5",
  "é", "e\u0301", "ß", "Größe", "ﬁ", "٣", "²",
  "😀", "🎉", "👍🏽", "👍🏿", "👨‍👩‍👧‍👦", "🧑🏾‍💻", "🇩🇪", "❤️", "\u200d",
  "漢", "字", "注意力", "한국어", "テキスト",
  "\ud800", "\udc00", "\udbff\udfff", "\ud83d", "\ude00",
  "<|eos|>", "<|bos|>", "<|", "|>", "x = f(y);", "\u0000", "\u001b", "\ufeff", "\u00a0", "\u2028", "\u0085",
];

function randomHardStrings(count: number, seed: number): string[] {
  const random = seededRandom(seed);
  return Array.from({ length: count }, () => {
    const pieces = 1 + Math.floor(random() * 24);
    let text = "";
    for (let index = 0; index < pieces; index++) text += HARD_PIECES[Math.floor(random() * HARD_PIECES.length)];
    return text;
  });
}

const HAND_WRITTEN_STRINGS = [
  "",
  "Hello, world!",
  "The cat sat on the mat.",
  "export function softmax(values: number[]): number[] {\n  return values;\n}\n",
  "def f(x):\n\treturn x  # tab-indented\n",
  "Windows\r\nline\r\nends\r\n",
  "Größe, Maß, café, naïve, e\u0301",
  "emoji 😀😃🎉 👍🏽👍🏿 👨‍👩‍👧‍👦 🧑🏾‍💻 🇩🇪🇫🇷 ❤️",
  "注意力机制让每个词元回看前面的词元。日本語。한국어.",
  "special <|eos|> and <|bos|> typed in the text, and <|almost|>",
  "lone surrogates: \ud800 high, \udc00 low, \ude00\ud83d reversed, end\ud83d",
  "   \n\n\t\t  ",
];

/**
 * The property every encoding must have, checked against an independent reference: the tokens
 * hold the text's UTF-8 bytes in order, and each token's range is exactly the characters whose
 * bytes it holds. Also: ranges never go backwards and leave no gap, from 0 to the text's end.
 */
function assertOffsetsExact(tokenizer: TextTokenizer, text: string): void {
  const encoded = tokenizer.encode(text);
  const label = JSON.stringify(text);
  assert.equal(encoded.ids.length, encoded.offsets.length, `${label}: one range per token`);
  assert.equal(encoded.ids.length, encoded.tokens.length, `${label}: one text per token`);

  // The reference: every character (code point, or lone surrogate) with its UTF-16 and byte range.
  const encoder = new TextEncoder();
  const characters: { start: number; end: number; firstByte: number; endByte: number }[] = [];
  let unit = 0;
  let byte = 0;
  for (const character of text) {
    const bytes = encoder.encode(character).length;
    characters.push({ start: unit, end: unit + character.length, firstByte: byte, endByte: byte + bytes });
    unit += character.length;
    byte += bytes;
  }
  const textBytes = encoder.encode(text);

  let tokenByte = 0;
  for (const [index, id] of encoded.ids.entries()) {
    const bytes = tokenizer.tokenBytesOf(id);
    assert.deepEqual(
      [...bytes],
      [...textBytes.subarray(tokenByte, tokenByte + bytes.length)],
      `${label}: token ${index} holds bytes that are not the text's bytes at ${tokenByte}`,
    );
    const covered = characters.filter((character) => character.firstByte < tokenByte + bytes.length && character.endByte > tokenByte);
    const expected: TextRange = [covered[0].start, covered[covered.length - 1].end];
    assert.deepEqual(encoded.offsets[index], expected, `${label}: token ${index} (${JSON.stringify(encoded.tokens[index])})`);
    tokenByte += bytes.length;
  }
  assert.equal(tokenByte, textBytes.length, `${label}: the tokens hold all of the text's bytes`);

  let previousEnd = 0;
  let previousStart = 0;
  for (const [index, [start, end]] of encoded.offsets.entries()) {
    assert.ok(start < end, `${label}: token ${index} has an empty range`);
    assert.ok(start >= previousStart && end >= previousEnd, `${label}: token ${index} goes backwards`);
    assert.ok(start <= previousEnd, `${label}: a gap before token ${index}`);
    previousStart = start;
    previousEnd = end;
  }
  if (text.length > 0) {
    assert.equal(encoded.offsets[0][0], 0, `${label}: the first token starts at 0`);
    assert.equal(previousEnd, text.length, `${label}: the last token ends at the end`);
  }
}

describe("byte-level BPE trainer (training/tokenizer/train-bpe.ts)", () => {
  it("learns merges in the order of the counts, worked out by hand", () => {
    // Each word its own document (so none gets a leading space), with these counts:
    //   hug x10, pug x5, pun x12, bun x4, hugs x5
    // Pair counts at the start: u g 10+5+5 = 20, u n 12+4 = 16, h u 15, p u 17, g s 5, b u 4.
    //   1. u g (20)                -> hug = h ug, pug = p ug, hugs = h ug s
    //      then p u 12, u n 16, h ug 15, p ug 5, ug s 5, b u 4
    //   2. u n (16)                -> pun = p un, bun = b un; then p un 12, b un 4
    //   3. h ug (15)               -> hug, hugs = hug s;      then hug s 5
    //   4. p un (12)
    //   5. p ug (5) and hug s (5) tie; the smaller left id wins: "p" (a byte) before "hug" (a merge)
    //   6. hug s (5)
    //   7. b un (4)
    const texts = [
      ...Array<string>(10).fill("hug"),
      ...Array<string>(5).fill("pug"),
      ...Array<string>(12).fill("pun"),
      ...Array<string>(4).fill("bun"),
      ...Array<string>(5).fill("hugs"),
    ];
    const trained = trainByteLevelBpe(texts, { vocabSize: FIRST_BYTE_ID + 256 + 7 });
    assert.deepEqual(trained.merges, [
      ["u", "g"],
      ["u", "n"],
      ["h", "ug"],
      ["p", "un"],
      ["p", "ug"],
      ["hug", "s"],
      ["b", "un"],
    ]);
    assert.deepEqual(trained.vocab.slice(FIRST_BYTE_ID + 256), ["ug", "un", "hug", "pun", "pug", "hugs", "bun"]);
    assert.equal(trained.statistics.stoppedEarly, false);
  });

  it("merges a repeated byte left to right without overlap (aaa -> aa a -> aaa)", () => {
    // "aaa" x3: the pair a a occurs twice in each word (6 in all); merging it gives "aa a", whose
    // one pair aa a (3) is the next merge.
    const trained = trainByteLevelBpe(["aaa", "aaa", "aaa"], { vocabSize: FIRST_BYTE_ID + 256 + 2 });
    assert.deepEqual(trained.merges, [
      ["a", "a"],
      ["aa", "a"],
    ]);
  });

  it("cuts words with the GPT-2 pattern, so merges never cross a word, and spaces are Ġ", () => {
    const trained = trainByteLevelBpe(["the cat, the cat, the cat"], { vocabSize: FIRST_BYTE_ID + 256 + 5, minPairCount: 2 });
    const tokens = trained.vocab.slice(FIRST_BYTE_ID + 256);
    assert.ok(tokens.includes("Ġcat"), `learned ${JSON.stringify(tokens)}`);
    assert.ok(tokens.every((token) => !/[a-z],|,Ġ/.test(token)), `a merge crossed a word: ${JSON.stringify(tokens)}`);
  });

  it("stops early, and says so, when no pair occurs minPairCount times", () => {
    // Words "ab", "Ġab", "xyz": a b occurs twice and is merged; then Ġ ab, x y, y z occur once.
    const trained = trainByteLevelBpe(["ab ab", "xyz"], { vocabSize: 1000 });
    assert.equal(trained.statistics.stoppedEarly, true);
    assert.deepEqual(trained.merges, [["a", "b"]]);
    assert.equal(trainByteLevelBpe(["ab ab", "xyz"], { vocabSize: 1000, minPairCount: 1 }).merges.length, 4);
  });

  it("gives the special tokens ids 0, 1, 2 and the bytes the next 256 ids", () => {
    const trained = trainByteLevelBpe(["hello"], { vocabSize: 300 });
    assert.deepEqual(trained.vocab.slice(0, 3), ["<|bos|>", "<|eos|>", "<|pad|>"]);
    assert.equal(new Set(trained.vocab.slice(3, 3 + 256)).size, 256);
    assert.deepEqual(trained.vocab.slice(3, 3 + 256), [...BYTE_TO_UNICODE].sort());
    assert.equal(trained.vocab[byteId("!")], "!");
    assert.equal(trained.vocab[byteId(" ")], "Ġ");
  });

  it("refuses a vocabulary size that cannot hold the special tokens and bytes", () => {
    assert.throws(() => trainByteLevelBpe(["x"], { vocabSize: 100 }), /vocabSize must be an integer from 259/);
    assert.throws(() => trainByteLevelBpe(["x"], { vocabSize: 70000 }), /to 65536/);
  });

  it("is deterministic: the same text twice, or its documents shuffled, gives the same file", () => {
    const documents = splitDocuments(SMALL_CORPUS);
    const first = serializeTokenizerJson(trainByteLevelBpe(documents, { vocabSize: SMALL_VOCAB_SIZE }));
    const second = serializeTokenizerJson(trainByteLevelBpe(documents, { vocabSize: SMALL_VOCAB_SIZE }));
    const shuffled = serializeTokenizerJson(trainByteLevelBpe([...documents].reverse(), { vocabSize: SMALL_VOCAB_SIZE }));
    assert.equal(second, first);
    assert.equal(shuffled, first);
  });

  it("reproduces the committed test/fixtures/tokenizer/small-tokenizer.json from small-corpus.txt", () => {
    const trained = trainByteLevelBpe(splitDocuments(SMALL_CORPUS), { vocabSize: SMALL_VOCAB_SIZE });
    assert.equal(serializeTokenizerJson(trained), SMALL_TOKENIZER_JSON);
  });

  it("learns exactly the vocabulary and merges of the Hugging Face (Rust) BpeTrainer", () => {
    const documents = splitDocuments(SMALL_CORPUS);
    assert.equal(documents.length, EXPECTED.documents, "the documents are split as the Python script splits them");
    const trained = trainByteLevelBpe(documents, { vocabSize: EXPECTED.vocab_size, minPairCount: EXPECTED.min_pair_count });
    assert.deepEqual(trained.vocab, EXPECTED.trainer.vocab);
    assert.deepEqual(
      trained.merges.map(([left, right]) => `${left} ${right}`),
      EXPECTED.trainer.merges,
    );
  });

  it("writes tokens that look like replacement patterns ($', $&, $$) as they are", () => {
    const trained = trainByteLevelBpe(["$'$&$$ $'$&$$ $'$&$$ $`$`"], { vocabSize: 270 });
    assert.ok(trained.vocab.includes("$'"), `learned ${JSON.stringify(trained.vocab.slice(259))}`);
    const json = serializeTokenizerJson(trained);
    assert.deepEqual(Object.keys(JSON.parse(json).model.vocab).sort(), [...trained.vocab].sort());
    assert.equal(TextTokenizer.fromJson(json).decode(TextTokenizer.fromJson(json).encode("$'$&$$").ids), "$'$&$$");
  });

  it("splits documents on lines that hold only the record separator \\x1e", () => {
    assert.deepEqual(splitDocuments("one\n\x1e\ntwo\r\n\x1e\r\nthree\n"), ["one", "two", "three"]);
    assert.deepEqual(splitDocuments("\x1e\nfirst\n\x1e\n\x1e\nsecond"), ["first", "second"]);
    assert.deepEqual(splitDocuments("not a\x1e separator\n"), ["not a\x1e separator"]);
    assert.deepEqual(splitDocuments("keeps\n\ninner blank lines\n\x1e"), ["keeps\n\ninner blank lines"]);
  });

  it("writes a tokenizer.json of the documented kind", () => {
    const json = JSON.parse(SMALL_TOKENIZER_JSON);
    assert.equal(json.model.type, "BPE");
    assert.equal(json.model.byte_fallback, false);
    assert.deepEqual(json.pre_tokenizer, { type: "ByteLevel", add_prefix_space: false, trim_offsets: false, use_regex: true });
    assert.equal(json.decoder.type, "ByteLevel");
    assert.equal(json.post_processor.type, "ByteLevel", "a post-processor that adds no tokens");
    assert.equal(json.normalizer, null);
    assert.deepEqual(
      json.added_tokens.map((token: { id: number; content: string; special: boolean }) => [token.id, token.content, token.special]),
      [
        [0, "<|bos|>", true],
        [1, "<|eos|>", true],
        [2, "<|pad|>", true],
      ],
    );
    // In id order in the text (a parsed object lists integer-like keys such as "0" first).
    const idsInTextOrder = [...SMALL_TOKENIZER_JSON.slice(SMALL_TOKENIZER_JSON.indexOf('"vocab": {')).matchAll(/^ {6}".*": (\d+),?$/gm)].map((match) => Number(match[1]));
    assert.deepEqual(idsInTextOrder, [...Array(SMALL_VOCAB_SIZE).keys()], "the vocabulary is written in id order");
    assert.deepEqual(JSON.parse(JSON.stringify(toTokenizerJson(trainByteLevelBpe(splitDocuments(SMALL_CORPUS), { vocabSize: SMALL_VOCAB_SIZE })))), json);
  });
});

describe("TextTokenizer (src/model/tokenizer.ts)", () => {
  // Trained here from a few KB of prose and code, saved as tokenizer.json text, loaded back.
  const trained = trainByteLevelBpe(splitDocuments(SMALL_CORPUS), { vocabSize: SMALL_VOCAB_SIZE });
  const tokenizer = TextTokenizer.fromJson(serializeTokenizerJson(trained), "test tokenizer.json");

  it("knows its special tokens and size", () => {
    assert.equal(tokenizer.bosTokenId, 0);
    assert.equal(tokenizer.eosTokenId, 1);
    assert.equal(tokenizer.padTokenId, 2);
    assert.equal(tokenizer.vocabSize, SMALL_VOCAB_SIZE);
    assert.equal(tokenizer.tokenText(tokenizer.eosTokenId), "<|eos|>");
    assert.deepEqual(tokenizer.encode("<|eos|>").ids, [tokenizer.eosTokenId], "a special token typed in the text is that token");
  });

  it("adds <|bos|> only when asked, with the empty range [0, 0]", () => {
    const plain = tokenizer.encode("The cat");
    assert.notEqual(plain.ids[0], tokenizer.bosTokenId);
    const withBos = tokenizer.encode("The cat", { addBos: true });
    assert.deepEqual(withBos.ids, [tokenizer.bosTokenId, ...plain.ids]);
    assert.deepEqual(withBos.offsets, [[0, 0], ...plain.offsets]);
    assert.deepEqual(withBos.tokens, ["<|bos|>", ...plain.tokens]);
    assert.deepEqual(withBos.special, [true, ...plain.special]);
    assert.deepEqual(tokenizer.encode("", { addBos: true }), { ids: [0], tokens: ["<|bos|>"], offsets: [[0, 0]], special: [true] });
    assert.deepEqual(tokenizer.encode(""), { ids: [], tokens: [], offsets: [], special: [] });
  });

  it("round-trips prose, code, tabs, CRLF, accents, emoji and CJK exactly", () => {
    const texts = [...HAND_WRITTEN_STRINGS, ...splitDocuments(SMALL_CORPUS), ...randomHardStrings(300, 1)];
    for (const text of texts) {
      const expected = withLoneSurrogatesReplaced(text);
      assert.equal(tokenizer.decode(tokenizer.encode(text).ids), expected, JSON.stringify(text));
    }
    // Spaces before punctuation stay (the library would "clean them up" by default).
    assert.equal(tokenizer.decode(tokenizer.encode("a , b . c ' d n't").ids), "a , b . c ' d n't");
  });

  it("turns each lone surrogate into U+FFFD, and its range still covers the one code unit", () => {
    const text = "a\ud800b";
    const encoded = tokenizer.encode(text);
    assert.equal(tokenizer.decode(encoded.ids), "a\ufffdb");
    const covering = encoded.offsets.filter(([start, end]) => start <= 1 && end >= 2);
    assert.ok(covering.length > 0);
    for (const [start, end] of covering) assert.ok(end - start <= 2, "no range reaches past the surrogate's neighbours");
    assertOffsetsExact(tokenizer, text);
  });

  it("maps a token that holds part of a character to the whole character", () => {
    // 😀 is 4 bytes; this small vocabulary splits it, so its pieces share the emoji's range.
    const text = "x😀";
    const encoded = tokenizer.encode(text);
    const emojiTokens = encoded.offsets.filter(([start, end]) => end > 1 && start <= 1);
    assert.ok(emojiTokens.length >= 2, `expected the emoji in pieces, got ${JSON.stringify(encoded.tokens)}`);
    for (const [, end] of emojiTokens) assert.equal(end, 3);
    assert.ok(encoded.tokens.some((token) => token.includes("\ufffd")), "a piece of a character reads as U+FFFD");
  });

  it("gives exact, gap-free, monotonic offsets on hand-written and random hard strings", () => {
    for (const text of [...HAND_WRITTEN_STRINGS, ...randomHardStrings(500, 2)]) assertOffsetsExact(tokenizer, text);
  });

  it("computes byte-to-UTF-16 ranges for 1-, 2-, 3- and 4-byte characters and lone surrogates", () => {
    const { start, end } = characterRangesOfUtf8Bytes("aé漢😀\ud800");
    assert.deepEqual([...start], [0, 1, 1, 2, 2, 2, 3, 3, 3, 3, 5, 5, 5]);
    assert.deepEqual([...end], [1, 2, 2, 3, 3, 3, 5, 5, 5, 5, 6, 6, 6]);
  });

  it("decodes an empty list to an empty string and refuses ids outside the vocabulary", () => {
    assert.equal(tokenizer.decode([]), "");
    assert.throws(() => tokenizer.decode([5, 400]), /400 is not a token id; ids are integers from 0 to 399/);
    assert.throws(() => tokenizer.tokenText(-1), RangeError);
  });

  it("tokenText reads a token as text: spaces and newlines as themselves", () => {
    const space = tokenizer.encode(" the").ids;
    assert.equal(space.map((id) => tokenizer.tokenText(id)).join(""), " the");
    assert.equal(tokenizer.tokenText(byteId("\n")), "\n");
  });
});

describe("TextTokenizer against the Python tokenizers library", () => {
  const tokenizer = TextTokenizer.fromJson(SMALL_TOKENIZER_JSON, "small-tokenizer.json");

  for (const [index, testCase] of EXPECTED.cases.entries()) {
    it(`case ${index}: ${JSON.stringify(testCase.text).slice(0, 60)}`, () => {
      const encoded = tokenizer.encode(testCase.text);
      assert.deepEqual(encoded.ids, testCase.ids, "ids");
      assert.deepEqual(encoded.offsets, testCase.offsets, "offsets (converted to UTF-16)");
      assert.equal(tokenizer.decode(encoded.ids), testCase.decoded, "decoded text");
      assertOffsetsExact(tokenizer, testCase.text);
    });
  }
});

describe("TextTokenizer errors for a bad tokenizer.json", () => {
  const good = () => JSON.parse(SMALL_TOKENIZER_JSON) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

  const cases: [string, (json: Record<string, any>) => unknown, RegExp][] = [ // eslint-disable-line @typescript-eslint/no-explicit-any
    ["a WordPiece model", (json) => (json.model.type = "WordPiece"), /the model type is "WordPiece"; only byte-level BPE/],
    ["no model", (json) => delete json.model, /"model" must be an object/],
    ["byte fallback", (json) => (json.model.byte_fallback = true), /byte_fallback" is true/],
    ["a normalizer", (json) => (json.normalizer = { type: "NFC" }), /it has a normalizer \("NFC"\)/],
    ["a Metaspace pre-tokenizer", (json) => (json.pre_tokenizer = { type: "Metaspace" }), /the pre_tokenizer must be \{"type": "ByteLevel"\}, found "Metaspace"/],
    ["add_prefix_space", (json) => (json.pre_tokenizer.add_prefix_space = true), /add_prefix_space" is true/],
    ["a WordPiece decoder", (json) => (json.decoder = { type: "WordPiece" }), /the decoder must be \{"type": "ByteLevel"\}/],
    ["merges not an array", (json) => (json.model.merges = "a b"), /"model.merges" must be an array, found "a b"/],
    ["a merge of unknown tokens", (json) => json.model.merges.push("q zz"), /model.merges\[141\] \("q zz"\) needs the token "zz"/],
    ["a malformed merge", (json) => (json.model.merges[0] = 7), /model.merges\[0\] must be "left right"/],
    [
      "a missing byte",
      (json) => {
        json.model.vocab["ĠĠĠĠĠĠĠĠ"] = json.model.vocab["Ġ"]; // the id of the space byte given to another token
        delete json.model.vocab["Ġ"];
      },
      /the vocabulary lacks the token for the byte 0x20 \("Ġ"\); a byte-level vocabulary holds all 256 bytes/,
    ],
    ["a string id", (json) => (json.model.vocab.the = "5"), /gives the token "the" the id "5"/],
    ["a duplicate id", (json) => (json.model.vocab.zzz = 7), /gives the id 7 to two tokens/],
    ["a gap in the ids", (json) => (json.model.vocab.zzz = 500), /no token has the id 400, but ids go up to 500/],
    ["a token that is not byte-level", (json) => (json.model.vocab["a b"] = 400), /"a b" \(id 400\) holds " ", which is not a byte-level character/],
    ["no <|pad|>", (json) => (json.added_tokens = json.added_tokens.slice(0, 2)), /no <\|pad\|> in "added_tokens"/],
    ["an added token that disagrees with the vocabulary", (json) => (json.added_tokens[0].content = "<s>"), /gives the id 0 to "<s>", but "model.vocab" gives it to "<\|bos\|>"/],
    ["a stripping added token", (json) => (json.added_tokens[1].rstrip = true), /strips the whitespace around it/],
  ];
  for (const [name, corrupt, message] of cases) {
    it(`names what is wrong: ${name}`, () => {
      const json = good();
      corrupt(json);
      assertTokenizerRefused(json, message);
    });
  }

  it("names a file that is not JSON, or not an object", () => {
    assert.throws(() => TextTokenizer.fromJson('{"model": ', "t.json"), /^TokenizerError: t.json: it is not valid JSON \(.*\); the file may be truncated/);
    assert.throws(() => TextTokenizer.fromJson("[1, 2]", "t.json"), /t.json: expected a JSON object \(a Hugging Face tokenizer.json\), found an array/);
    assert.throws(() => TextTokenizer.fromJson("", "t.json"), /t.json: it is not valid JSON/);
  });
});
