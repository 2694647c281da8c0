import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";

import {
  chooseText,
  lineAround,
  normalizeLineEndings,
  SELECT_TEXT_ADVICE,
  tokenIndexAtOffset,
  tokenizeInBudget,
  tokensOfSelection,
  tokensOfText,
  toOriginalOffset,
  type SelectionTokens,
  type SelectionTokensRequest,
} from "../../src/extension/selection-tokens";
import { TextTokenizer } from "../../src/model/tokenizer";

const TOKENIZER_PATH = join(__dirname, "..", "..", "media", "models", "attention-lens-gqa", "tokenizer.json");
const tokenizer = TextTokenizer.fromJson(readFileSync(TOKENIZER_PATH, "utf8"), TOKENIZER_PATH);

function select(documentText: string, selectionStart: number, selectionEnd = selectionStart, maxTokens = 512): SelectionTokens {
  const request: SelectionTokensRequest = { documentText, selectionStart, selectionEnd, tokenizer, maxTokens };
  const result = tokensOfSelection(request);
  if (result.kind !== "tokens") assert.fail(`expected tokens, got the message: ${result.message}`);
  return result.value;
}

/**
 * The invariants every result keeps, whatever the text:
 *   - <|bos|> first, with [0, 0] in the text and an empty range at the start in the document;
 *   - tokens tile the text in order (each starts where the previous ended, or shares the range of
 *     the previous one when both hold pieces of one character);
 *   - each token's document range holds the same text as its range in `text`, "\r\n" for "\n";
 *   - a whole token (not a piece of a character) reads exactly as its text.
 */
function assertConsistent(documentText: string, result: SelectionTokens): void {
  const { text, tokens, documentRanges } = result;
  assert.equal(tokens.length, documentRanges.length);
  assert.deepEqual([tokens[0].text, tokens[0].start, tokens[0].end], ["<|bos|>", 0, 0]);
  assert.deepEqual(documentRanges[0], [result.documentStart, result.documentStart]);
  let previousEnd = 0;
  for (let index = 1; index < tokens.length; index++) {
    const token = tokens[index];
    const sharesPrevious = token.start === tokens[index - 1].start && token.end === tokens[index - 1].end;
    assert.ok(token.start === previousEnd || sharesPrevious, `token ${index} starts at ${token.start}, previous ended at ${previousEnd}`);
    previousEnd = token.end;
    const [documentStart, documentEnd] = documentRanges[index];
    const inDocument = documentText.slice(documentStart, documentEnd).replace(/\r\n/g, "\n");
    assert.equal(inDocument, text.slice(token.start, token.end), `token ${index}: document range text`);
    if (!token.text.includes("\uFFFD")) assert.equal(text.slice(token.start, token.end), token.text, `token ${index}: its text`);
  }
  assert.equal(previousEnd, text.length, "the tokens cover the whole text");
  assert.equal(documentText.slice(result.documentStart, result.documentEnd).replace(/\r\n/g, "\n"), text);
}

describe("extension: which text is shown", () => {
  it("takes a non-empty selection as it is, in either direction", () => {
    const document = "const answer = 42;\nconsole.log(answer);\n";
    assert.deepEqual(chooseText(document, 6, 12), { kind: "text", start: 6, end: 12, usedCurrentLine: false });
    assert.deepEqual(chooseText(document, 12, 6), { kind: "text", start: 6, end: 12, usedCurrentLine: false });
    const result = select(document, 6, 12);
    assert.equal(result.text, "answer");
    assert.equal(result.usedCurrentLine, false);
    assertConsistent(document, result);
  });

  it("takes the line under the cursor when nothing is selected, without its line break", () => {
    const document = "first line\nsecond line\r\nthird";
    assert.deepEqual(chooseText(document, 14), { kind: "text", start: 11, end: 22, usedCurrentLine: true });
    assert.deepEqual(chooseText(document, 11), { kind: "text", start: 11, end: 22, usedCurrentLine: true }, "cursor at the line's start");
    assert.deepEqual(chooseText(document, 22), { kind: "text", start: 11, end: 22, usedCurrentLine: true }, "cursor at the line's end");
    assert.deepEqual(chooseText(document, 0), { kind: "text", start: 0, end: 10, usedCurrentLine: true });
    assert.deepEqual(chooseText(document, document.length), { kind: "text", start: 24, end: 29, usedCurrentLine: true }, "last line");
    const result = select(document, 14);
    assert.equal(result.text, "second line");
    assert.equal(result.usedCurrentLine, true);
    assertConsistent(document, result);
  });

  it("finds lines around any offset", () => {
    assert.deepEqual(lineAround("a\nb\n", 4), { start: 4, end: 4 });
    assert.deepEqual(lineAround("a\r\n\r\nb", 3), { start: 3, end: 3 });
    assert.deepEqual(lineAround("", 0), { start: 0, end: 0 });
  });

  it("refuses a whitespace-only selection with a message that says what to do", () => {
    for (const whitespace of ["   ", "\t\n  \r\n", "\u00a0\u2003"]) {
      const document = `x${whitespace}y`;
      const chosen = chooseText(document, 1, 1 + whitespace.length);
      assert.equal(chosen.kind, "nothing", JSON.stringify(whitespace));
      if (chosen.kind === "nothing") {
        assert.match(chosen.message, /only whitespace/);
        assert.ok(chosen.message.endsWith(SELECT_TEXT_ADVICE));
      }
    }
  });

  it("refuses an empty line or document under an empty selection", () => {
    const emptyLine = chooseText("code\n   \nmore", 6);
    assert.equal(emptyLine.kind, "nothing");
    if (emptyLine.kind === "nothing") assert.match(emptyLine.message, /line under the cursor is empty.*Select some text/);
    const emptyDocument = chooseText("", 0);
    assert.equal(emptyDocument.kind, "nothing");
    if (emptyDocument.kind === "nothing") assert.match(emptyDocument.message, /document is empty/);
    assert.equal(tokensOfSelection({ documentText: "a\n\nb", selectionStart: 2, selectionEnd: 2, tokenizer, maxTokens: 8 }).kind, "nothing");
  });
});

describe("extension: line endings", () => {
  it("turns \\r\\n into \\n and maps offsets back, a lone \\r kept", () => {
    const normalized = normalizeLineEndings("a\r\nb\r\n\r\nc\rd");
    assert.equal(normalized.text, "a\nb\n\nc\rd");
    assert.deepEqual(normalized.droppedCarriageReturns, [1, 3, 4]);
    // normalized offsets 0..9 -> original offsets
    const mapped = Array.from({ length: normalized.text.length + 1 }, (_, offset) => toOriginalOffset(normalized, offset));
    assert.deepEqual(mapped, [0, 1, 3, 4, 6, 8, 9, 10, 11]);
  });

  it("gives CRLF documents document ranges that count \\r\\n as two, the \\n token covering both", () => {
    const document = "int main() {\r\n\treturn 0;\r\n}\r\n";
    const result = select(document, 0, document.length);
    assert.equal(result.text, "int main() {\n\treturn 0;\n}\n");
    assertConsistent(document, result);
    const newlineIndexes = result.tokens.flatMap((token, index) => (token.text.includes("\n") ? [index] : []));
    assert.ok(newlineIndexes.length > 0);
    for (const index of newlineIndexes) {
      const [start, end] = result.documentRanges[index];
      assert.ok(document.slice(start, end).includes("\r\n"), `token ${index} covers "\\r\\n" in the document`);
    }
    assert.equal(result.documentEnd, document.length);
  });

  it("maps a selection in the middle of a CRLF document to its document offsets", () => {
    const document = "line one\r\nline two\r\nline three\r\n";
    const start = document.indexOf("two");
    const end = document.indexOf("three") + 5;
    const result = select(document, start, end);
    assert.equal(result.text, "two\nline three");
    assertConsistent(document, result);
    assert.equal(result.documentStart, start);
    assert.equal(result.documentEnd, end);
  });
});

describe("extension: offsets of awkward characters", () => {
  it("emoji, CJK and tabs: ranges of whole characters, in UTF-16 code units", () => {
    const document = "\tlet 名前 = \"😀👍🏽\";\t// ok";
    const result = select(document, 0, document.length);
    assertConsistent(document, result);
    for (const [index, token] of result.tokens.entries()) {
      if (index === 0) continue;
      const piece = result.text.slice(token.start, token.end);
      // No range cuts a surrogate pair.
      assert.ok(!/^[\uDC00-\uDFFF]/.test(piece) && !/[\uD800-\uDBFF]$/.test(piece), `token ${index} cuts a pair: ${JSON.stringify(piece)}`);
    }
    const emojiStart = document.indexOf("😀");
    const underEmoji = tokenIndexAtOffset(result.documentRanges, emojiStart);
    assert.ok(underEmoji !== null);
    assert.ok(result.documentRanges[underEmoji][0] <= emojiStart && emojiStart < result.documentRanges[underEmoji][1]);
  });

  it("a token holding part of a character carries its bytes; together they are the character's UTF-8", () => {
    const document = "hi 😀 中文 مرحبا";
    const result = select(document, 0, document.length);
    const partial = result.tokens.filter((token) => token.bytes !== undefined);
    assert.ok(partial.length >= 4, `the bundled tokenizer splits the emoji into byte tokens: ${JSON.stringify(result.tokens)}`);
    for (const token of partial) assert.equal(token.text, "\uFFFD");
    for (const character of ["😀", "中", "文"]) {
      const start = result.text.indexOf(character);
      const pieces = result.tokens.filter((token) => token.bytes !== undefined && token.start === start);
      if (pieces.length === 0) continue; // a whole-character token
      assert.deepEqual(pieces.flatMap((token) => token.bytes ?? []), [...new TextEncoder().encode(character)], character);
    }
    assert.ok(result.tokens.every((token) => token.bytes === undefined || token.bytes.length > 0));
    assert.equal(result.tokens.filter((token) => token.text !== "\uFFFD" && token.bytes !== undefined).length, 0, "whole tokens carry no bytes");
  });

  it("a lone surrogate maps to its one code unit", () => {
    const document = "a\uD800b \uDC00c";
    const result = select(document, 0, document.length);
    assertConsistent(document, result);
    const loneHigh = result.tokens.findIndex((token, index) => index > 0 && token.start <= 1 && token.end > 1);
    assert.deepEqual(result.documentRanges[loneHigh], [1, 2]);
    const loneLow = result.tokens.findIndex((token) => token.start <= 4 && token.end > 4);
    assert.deepEqual(result.documentRanges[loneLow], [4, 5]);
  });

  it("a selection that starts after multi-byte text keeps document offsets in code units", () => {
    const document = "日本語のテキスト 😀 then English words";
    const start = document.indexOf("then");
    const result = select(document, start, document.length);
    assert.equal(result.text, "then English words");
    assert.equal(result.documentStart, start);
    assertConsistent(document, result);
  });
});

describe("extension: cutting to the token budget", () => {
  it("keeps everything, without truncation, when the text fits", () => {
    const document = "The quick brown fox jumps over the lazy dog.";
    const all = tokenizer.encode(document, { addBos: true });
    const result = select(document, 0, document.length, all.ids.length);
    assert.equal(result.tokens.length, all.ids.length);
    assert.equal(result.truncation, undefined);
  });

  it("cuts to maxTokens (<|bos|> included) and says how many there were", () => {
    const document = "The quick brown fox jumps over the lazy dog.";
    const all = tokenizer.encode(document, { addBos: true });
    const result = select(document, 0, document.length, 5);
    assert.equal(result.tokens.length, 5);
    assert.deepEqual(result.truncation, { keptTokens: 5, totalTokens: all.ids.length, totalIsEstimate: false });
    assert.deepEqual(result.tokens.map((token) => token.id), all.ids.slice(0, 5));
    assert.equal(result.text, document.slice(0, all.offsets[4][1]), "the text ends with the last kept token");
    assertConsistent(document, result);
  });

  it("the smallest budget, 2: <|bos|> and one token", () => {
    const result = select("hello world", 0, 11, 2);
    assert.equal(result.tokens.length, 2);
    assert.equal(result.truncation?.keptTokens, 2);
    assert.throws(() => tokenizeInBudget("hello", tokenizer, 1), /maxTokens must be an integer >= 2/);
  });

  it("a 100k-character selection is cut before tokenizing, with the same tokens as the whole text", () => {
    const source = readFileSync(join(__dirname, "..", "..", "src", "model", "tokenizer.ts"), "utf8").replace(/\n/g, "\r\n");
    let document = "";
    while (document.length < 100_000) document += source;
    document = document.slice(0, 100_000);
    const start = 7; // not at the document's start, to check the document offsets
    const calls: number[] = [];
    const countingTokenizer = {
      prefixTokenIds: tokenizer.prefixTokenIds,
      suffixTokenIds: tokenizer.suffixTokenIds,
      encode: (text: string, options?: { addBos?: boolean; addSpecialTokens?: boolean }) => {
        calls.push(text.length);
        return tokenizer.encode(text, options);
      },
    };
    const result = tokensOfSelection({ documentText: document, selectionStart: start, selectionEnd: document.length, tokenizer: countingTokenizer, maxTokens: 512 });
    assert.equal(result.kind, "tokens");
    if (result.kind !== "tokens") return;
    const value = result.value;

    assert.ok(Math.max(...calls) < 20_000, `tokenized at most a prefix, not 100k characters (lengths: ${calls.join(", ")})`);
    assert.equal(value.tokens.length, 512);
    assert.equal(value.truncation?.keptTokens, 512);
    assert.equal(value.truncation?.totalIsEstimate, true);
    assert.ok(value.truncation !== undefined && value.truncation.totalTokens > 10_000, `estimate ${value.truncation?.totalTokens}`);
    assertConsistent(document, value);

    // The kept tokens are exactly the first tokens of the whole (normalized) selection.
    const whole = tokenizer.encode(document.slice(start).replace(/\r\n/g, "\n"), { addBos: true });
    assert.deepEqual(value.tokens.map((token) => token.id), whole.ids.slice(0, 512));
    assert.equal(value.documentStart, start);
    assert.ok(value.documentEnd < 10_000 && value.documentEnd > start);
  });

  it("a long text without whitespace is still cut right (the prefix grows until it is safe)", () => {
    const text = "x".repeat(3000) + "😀".repeat(2000);
    const result = tokensOfText(text, tokenizer, 64);
    const whole = tokenizer.encode(text, { addBos: true });
    assert.equal(result.tokens.length, 64);
    assert.deepEqual(result.tokens.map((token) => token.id), whole.ids.slice(0, 64));
    assertConsistent(text, result);
  });

  it("a cut inside a word or a whitespace run never keeps a token that the whole text would tokenize differently", () => {
    const words = Array.from({ length: 400 }, (_, index) => (index % 7 === 0 ? "     indented" : index % 5 === 0 ? "\n\n" : `word${index}`)).join(" ");
    for (const maxTokens of [2, 3, 17, 64, 100, 255]) {
      const result = tokensOfText(words, tokenizer, maxTokens);
      const whole = tokenizer.encode(words, { addBos: true });
      assert.deepEqual(result.tokens.map((token) => token.id), whole.ids.slice(0, maxTokens), `maxTokens ${maxTokens}`);
      assert.deepEqual(result.tokens.map((token) => [token.start, token.end]), whole.offsets.slice(0, maxTokens));
    }
  });
});

describe("extension: the prefix cut, on random texts", () => {
  const TRIALS = 60; // 3000 pass too; 60 keep the suite quick

  it("keeps exactly the first tokens of the whole text (seeded random texts and budgets)", () => {
    let state = 12345;
    const random = (n: number) => {
      state = (state * 1103515245 + 12345) % 2147483648;
      return state % n;
    };
    const pieces = [" ", "  ", "\t", "\n", "\r\n", "    ", "a", "word", "Word", "'s", "42", "3.14", "(", ")", "{", "=>", "é", "名前", "😀", "\uD800", "_x", "--", "'", "\u00a0"];
    for (let trial = 0; trial < TRIALS; trial++) {
      let text = "";
      const length = 100 + random(1500);
      while (text.length < length) text += pieces[random(pieces.length)];
      const maxTokens = 2 + random(40);
      const result = tokensOfText(text, tokenizer, maxTokens);
      const whole = tokenizer.encode(normalizeLineEndings(text).text, { addBos: true });
      const expected = whole.ids.slice(0, maxTokens);
      assert.deepEqual(result.tokens.map((token) => token.id), expected, `trial ${trial}: ${JSON.stringify(text.slice(0, 80))}...`);
      assert.equal(result.truncation !== undefined, whole.ids.length > maxTokens, `trial ${trial}: truncated or not`);
      if (result.truncation && !result.truncation.totalIsEstimate) assert.equal(result.truncation.totalTokens, whole.ids.length);
      assertConsistent(text, result);
    }
  });
});

describe("extension: the token under the cursor", () => {
  const document = "  alpha beta\ngamma";
  const shown = select(document, 2, document.length);

  it("is the token holding the character after the cursor", () => {
    for (let index = 1; index < shown.tokens.length; index++) {
      const [start, end] = shown.documentRanges[index];
      for (let offset = start; offset < end; offset++) assert.equal(tokenIndexAtOffset(shown.documentRanges, offset), index);
    }
  });

  it("is the last token right after the text, and null outside it (and never <|bos|>)", () => {
    assert.equal(tokenIndexAtOffset(shown.documentRanges, document.length), shown.tokens.length - 1);
    assert.equal(tokenIndexAtOffset(shown.documentRanges, 0), null);
    assert.equal(tokenIndexAtOffset(shown.documentRanges, 1), null);
    assert.equal(tokenIndexAtOffset(shown.documentRanges, document.length + 1), null);
    assert.equal(tokenIndexAtOffset([[5, 5]], 5), null, "only <|bos|>");
  });

  it("is the first of the tokens that share one character's range", () => {
    assert.equal(tokenIndexAtOffset([[0, 0], [0, 2], [0, 2], [2, 3]], 1), 1);
    assert.equal(tokenIndexAtOffset([[0, 0], [0, 2], [0, 2], [2, 3]], 2), 3);
  });

  it("counts \\r\\n as two in a CRLF document", () => {
    const crlf = "ab\r\ncd";
    const result = select(crlf, 0, crlf.length);
    const cIndex = tokenIndexAtOffset(result.documentRanges, 4);
    assert.ok(cIndex !== null);
    assert.equal(crlf.slice(...result.documentRanges[cIndex]).startsWith("c"), true);
    const newline = tokenIndexAtOffset(result.documentRanges, 2);
    assert.ok(newline !== null);
    assert.equal(crlf.slice(...result.documentRanges[newline]), "\r\n");
  });
});
