/**
 * The webview's layout arithmetic, token labels and keyboard navigation, in plain Node.
 */

import assert from "node:assert/strict";

import { navigate, type NavigationPosition } from "../../webview/heatmap/keyboard-navigation";
import { cellSizeForWidth, hitTestCell, labelStride, visibleLabelIndices } from "../../webview/heatmap/layout";
import { labelledTokenOf, showWhitespace, tokenDescription, tokenLabel } from "../../webview/heatmap/token-labels";

describe("webview layout: cell size, label thinning, hit-testing", () => {
  it("cell size: the width shared by the cells, clamped, whole pixels from 4 px up", () => {
    assert.equal(cellSizeForWidth(500, 50), 10);
    assert.equal(cellSizeForWidth(100, 3), 28); // 33.3 capped at the default max
    assert.equal(cellSizeForWidth(45, 10), 4); // 4.5 rounded down
    assert.equal(cellSizeForWidth(10, 4), 2.5); // small sizes stay fractional
    assert.equal(cellSizeForWidth(500, 512), 2); // 0.98 raised to the default min
    assert.equal(cellSizeForWidth(500, 512, { min: 0.5 }), 500 / 512);
    assert.equal(cellSizeForWidth(0, 10), 2);
    assert.equal(cellSizeForWidth(300, 0), 2);
  });

  it("label stride: every k-th label so that labels are at least labelSpacing apart", () => {
    assert.equal(labelStride(13, 13), 1);
    assert.equal(labelStride(20, 13), 1);
    assert.equal(labelStride(6.5, 13), 2);
    assert.equal(labelStride(4, 13), 4); // ceil(3.25)
    assert.equal(labelStride(1, 13), 13);
    assert.throws(() => labelStride(0, 13), /cellSize must be > 0/);
  });

  it("visible labels: the regular ones, plus pinned ones that push their crowded neighbours out", () => {
    assert.deepEqual(visibleLabelIndices(10, 3), [0, 3, 6, 9]);
    assert.deepEqual(visibleLabelIndices(10, 3, [4]), [0, 4, 9]); // 3 and 6 are within 3 of 4
    assert.deepEqual(visibleLabelIndices(10, 3, [3]), [0, 3, 6, 9]);
    assert.deepEqual(visibleLabelIndices(5, 1, [2, null, undefined, 12]), [0, 1, 2, 3, 4]);
    assert.deepEqual(visibleLabelIndices(0, 4), []);
  });

  it("hit-testing: (x, y) in px to (row, col); boundaries belong to the next cell; outside is null", () => {
    assert.deepEqual(hitTestCell(15, 25, 10, 5, 5), { row: 2, col: 1 });
    assert.deepEqual(hitTestCell(10, 0, 10, 5, 5), { row: 0, col: 1 });
    assert.deepEqual(hitTestCell(0.4, 0.9, 1.5, 3, 3), { row: 0, col: 0 });
    assert.deepEqual(hitTestCell(49.9, 49.9, 10, 5, 5), { row: 4, col: 4 });
    assert.equal(hitTestCell(50, 10, 10, 5, 5), null);
    assert.equal(hitTestCell(-1, 10, 10, 5, 5), null);
    assert.equal(hitTestCell(Number.NaN, 10, 10, 5, 5), null);
  });
});

describe("webview layout: token labels", () => {
  it("shows whitespace: space ·, newline ⏎, tab ⇥, carriage return ␍; control characters escaped", () => {
    assert.equal(showWhitespace(" a\tb\r\n"), "·a⇥b␍⏎");
    assert.equal(showWhitespace("\u0000x\u200b"), "\\u{0}x\\u{200b}");
    assert.equal(showWhitespace("naïve 🙂"), "naïve·🙂");
  });

  it("abbreviates long tokens with an ellipsis, counting characters, not UTF-16 units", () => {
    assert.equal(tokenLabel("abcdefghijkl", 5), "abcd…");
    assert.equal(tokenLabel("abcde", 5), "abcde");
    assert.equal(tokenLabel("  return", 6), "··ret…");
    assert.equal(tokenLabel("🙂🙂🙂", 2), "🙂…");
    assert.equal(tokenLabel(""), "∅");
    assert.equal(tokenLabel("<|bos|>"), "<|bos|>");
  });

  it("labels a token holding part of a character by its bytes, and names the character in its description", () => {
    assert.equal(tokenLabel({ text: "\uFFFD", bytes: [0xf0] }), "<F0>");
    assert.equal(tokenLabel({ text: "\uFFFD", bytes: [0xf0, 0x9f] }), "<F0 9F>");
    assert.equal(tokenLabel({ text: "\uFFFD\uFFFD", bytes: [0xe4, 0xb8, 0xad, 0xe6] }, 6), "<E4 B…");
    assert.equal(tokenLabel({ text: " the" }), "·the", "a whole token keeps its text");
    assert.equal(tokenDescription(4, { text: "\uFFFD", bytes: [0x9f] }, "😀"), "#4 “<9F>”, part of “😀”");
    assert.equal(tokenDescription(2, { text: "中" }, "中"), "#2 “中”");
  });

  it("an id beyond the tokenizer's vocabulary (a model's padded rows) labels as #id instead of failing", () => {
    const tokenizer = { vocabSize: 3, tokenText: (id: number) => ["a", " b", "\uFFFD"][id], partialCharacterBytes: (id: number) => (id === 2 ? [0xf0] : undefined) };
    assert.deepEqual(labelledTokenOf(tokenizer, 1), { text: " b", bytes: undefined });
    assert.equal(tokenLabel(labelledTokenOf(tokenizer, 2)), "<F0>");
    assert.deepEqual(labelledTokenOf(tokenizer, 49219), { text: "#49219" });
  });

  it("whitespace-only candidates that differ in their spaces get different labels", () => {
    const labels = ["\n ", "\n  ", "\n   ", "\n\t"].map((text) => tokenLabel(text));
    assert.deepEqual(labels, ["⏎·", "⏎··", "⏎···", "⏎⇥"]);
    assert.equal(new Set(labels).size, labels.length);
  });
});

describe("webview layout: keyboard navigation of the head view", () => {
  const bounds = { layers: 3, heads: 8, tokens: 6 };
  const at = (overrides: Partial<NavigationPosition> = {}): NavigationPosition => ({ layer: 0, head: 0, row: 3, col: 3, ...overrides });

  it("arrows move the cell; the column stays within the keys the query sees (0 .. row)", () => {
    assert.deepEqual(navigate(at(), "ArrowLeft", {}, bounds)?.position, at({ col: 2 }));
    assert.deepEqual(navigate(at(), "ArrowRight", {}, bounds)?.position, at()); // col 4 would be masked
    assert.deepEqual(navigate(at(), "ArrowUp", {}, bounds)?.position, at({ row: 2, col: 2 }));
    assert.deepEqual(navigate(at({ col: 1 }), "ArrowDown", {}, bounds)?.position, at({ row: 4, col: 1 }));
    assert.deepEqual(navigate(at({ row: 5, col: 0 }), "ArrowDown", {}, bounds)?.position, at({ row: 5, col: 0 }));
    assert.deepEqual(navigate(at({ row: 0, col: 0 }), "ArrowUp", {}, bounds)?.position, at({ row: 0, col: 0 }));
    assert.deepEqual(navigate(at({ col: 2 }), "Home", {}, bounds)?.position, at({ col: 0 }));
    assert.deepEqual(navigate(at({ col: 0 }), "End", {}, bounds)?.position, at({ col: 3 }));
  });

  it("[ ] and PageUp PageDown and Shift+← → step through the heads, then the mean", () => {
    assert.equal(navigate(at(), "]", {}, bounds)?.position.head, 1);
    assert.equal(navigate(at(), "PageDown", {}, bounds)?.position.head, 1);
    assert.equal(navigate(at({ head: 3 }), "[", {}, bounds)?.position.head, 2);
    assert.equal(navigate(at({ head: 3 }), "PageUp", {}, bounds)?.position.head, 2);
    assert.equal(navigate(at({ head: 0 }), "[", {}, bounds)?.position.head, 0);
    assert.equal(navigate(at({ head: 7 }), "]", {}, bounds)?.position.head, "mean");
    assert.equal(navigate(at({ head: "mean" }), "]", {}, bounds)?.position.head, "mean");
    assert.equal(navigate(at({ head: "mean" }), "[", {}, bounds)?.position.head, 7);
    assert.equal(navigate(at({ head: 2 }), "ArrowRight", { shift: true }, bounds)?.position.head, 3);
    assert.equal(navigate(at({ head: 2 }), "ArrowLeft", { shift: true }, bounds)?.position.head, 1);
  });

  it("Shift+↑ ↓ change the layer within 0 .. L-1 and keep the cell", () => {
    assert.deepEqual(navigate(at(), "ArrowDown", { shift: true }, bounds)?.position, at({ layer: 1 }));
    assert.deepEqual(navigate(at({ layer: 2 }), "ArrowDown", { shift: true }, bounds)?.position, at({ layer: 2 }));
    assert.deepEqual(navigate(at({ layer: 2 }), "ArrowUp", { shift: true }, bounds)?.position, at({ layer: 1 }));
  });

  it("Enter and Space toggle the lock, Escape releases it, other keys are not ours", () => {
    assert.equal(navigate(at(), "Enter", {}, bounds)?.lock, "toggle");
    assert.equal(navigate(at(), " ", {}, bounds)?.lock, "toggle");
    assert.equal(navigate(at(), "Escape", {}, bounds)?.lock, "release");
    assert.equal(navigate(at(), "a", {}, bounds), null);
    assert.equal(navigate(at(), "Tab", {}, bounds), null);
  });
});
