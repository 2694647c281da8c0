/**
 * Decode mode's pure helpers: generated text with characters split over tokens (the real tokenizer
 * of the bundled models), the cache view's maps and GQA groups (hand-computed), the cache hash, and
 * the keyboard shortcuts.
 */

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Tensor } from "../../src/attention/tensor";
import { TextTokenizer } from "../../src/model/tokenizer";
import { cacheHash } from "../../webview/decode/cache-hash";
import { cacheHeadMap, formatKibibytes, queryHeadsOf, queryRowsOf } from "../../webview/decode/cache-maps";
import { decodeKeyAction } from "../../webview/decode/decode-keys";
import { generatedText } from "../../webview/decode/generated-text";

const tokenizer = TextTokenizer.fromJson(readFileSync(join(__dirname, "..", "..", "media", "models", "attention-lens-gqa", "tokenizer.json"), "utf8"));
const bytesOf = (id: number) => tokenizer.tokenBytesOf(id);

describe("decode mode: generated text", () => {
  it("a character split over tokens shows once, at the token that completes it; the pieces join to the decoded text", () => {
    const text = " naïve 🙂 日本語 ok";
    const ids = tokenizer.encode(text).ids;
    const split = ids.filter((id) => /\uFFFD/.test(tokenizer.tokenText(id)));
    assert.ok(split.length >= 2, "the sample has characters split over tokens");
    const prompt = tokenizer.encode("x", { addBos: true }).ids;
    const { pieces, pendingBytes } = generatedText(bytesOf, prompt, ids);
    assert.equal(pendingBytes, 0);
    assert.equal(pieces.map((piece) => piece.text).join(""), text);
    assert.ok(pieces.every((piece) => !piece.text.includes("\uFFFD")), "no replacement characters");
    assert.ok(pieces.some((piece) => piece.partial && piece.text === ""), "a token holding part of a character shows nothing");
  });

  it("bytes of an unfinished character at the end are pending, not shown", () => {
    const ids = tokenizer.encode("🙂").ids;
    assert.ok(ids.length >= 2, "the emoji is split over tokens");
    const partial = generatedText(bytesOf, [], ids.slice(0, -1));
    assert.ok(partial.pendingBytes > 0);
    assert.equal(partial.pieces.map((piece) => piece.text).join(""), "");
    assert.equal(generatedText(bytesOf, [], ids).pieces.map((piece) => piece.text).join(""), "🙂");
  });

  it("a character begun in the prompt is finished by the first generated token", () => {
    const ids = tokenizer.encode("日").ids;
    assert.ok(ids.length >= 2);
    const { pieces } = generatedText(bytesOf, ids.slice(0, 1), ids.slice(1));
    assert.equal(pieces.map((piece) => piece.text).join(""), "日");
  });
});

describe("decode mode: the cache view's maps", () => {
  it("transposes one K/V head to (hs, S) and maps values around 0 by max |v| (hand-computed)", () => {
    // (nkv=2, S=2, hs=3): head 1 holds [[1, -2, 0], [4, 0, -4]], max |v| = 4
    const tensor = new Tensor(Float32Array.from([9, 9, 9, 9, 9, 9, 1, -2, 0, 4, 0, -4]), [2, 2, 3]);
    const map = cacheHeadMap(tensor, 1);
    assert.equal(map.maxAbs, 4);
    assert.deepEqual([map.rows, map.cols], [3, 2]);
    assert.deepEqual(Array.from(map.data), [0.625, 1, 0.25, 0.5, 0.5, 0]);
    assert.throws(() => cacheHeadMap(tensor, 2), /head 2/);
  });

  it("query heads of each K/V head follow repeat_kv: [K0, K0, K1, K1]", () => {
    assert.deepEqual(queryHeadsOf(1, 8, 2), [4, 5, 6, 7]);
    assert.deepEqual(queryHeadsOf(0, 8, 1), [0, 1, 2, 3, 4, 5, 6, 7]);
    assert.deepEqual(queryHeadsOf(5, 8, 8), [5]);
    const rows = new Tensor(Float32Array.from([0, 1, 2, 3, 4, 5, 6, 7]), [4, 2]);
    assert.deepEqual(Array.from(queryRowsOf(rows, [2, 3])), [4, 5, 6, 7]);
  });

  it("the cache hash changes with one bit and not otherwise", () => {
    const a = new Tensor(Float32Array.from([1, 2, 3, 4]), [1, 2, 2]);
    const b = new Tensor(Float32Array.from([1, 2, 3, 4]), [1, 2, 2]);
    const flipped = Float32Array.from([1, 2, 3, 4]);
    new Uint32Array(flipped.buffer)[3] ^= 1;
    assert.equal(cacheHash([{ key: a, value: a }]), cacheHash([{ key: b, value: b }]));
    assert.notEqual(cacheHash([{ key: a, value: a }]), cacheHash([{ key: a, value: new Tensor(flipped, [1, 2, 2]) }]));
    assert.equal(formatKibibytes(16896), "17 KiB");
  });
});

describe("decode mode: keys", () => {
  it("maps the shortcuts to controls", () => {
    assert.equal(decodeKeyAction("ArrowRight", false), "step");
    assert.equal(decodeKeyAction("b", false), "back");
    assert.equal(decodeKeyAction(" ", false), "play");
    assert.equal(decodeKeyAction(" ", true), "pause");
    assert.equal(decodeKeyAction("Home", false), "reset");
    assert.equal(decodeKeyAction("]", false), "next-layer");
    assert.equal(decodeKeyAction("x", false), null);
  });
});
