/**
 * The panel's exports as SVG (webview/export/), read back with a real XML parser (@xmldom/xmldom,
 * stopping at the first warning): every figure is a well-formed SVG of the size it says, with one
 * <rect> per map entry in row-major order, each filled with the colour the panel's canvas gives that
 * entry (heatmap/render.ts, compare/difference-colors.ts) or the masked hatch, the tokens' labels on
 * both axes, the title naming model, layer and head, and the colour legend of the scale in use.
 *
 * The PNG of the same figures is checked in Chromium: webview-export-png.test.ts.
 */

import assert from "node:assert/strict";
import { DOMParser, onWarningStopParsing, type Document, type Element } from "@xmldom/xmldom";

import { Tensor } from "../../src/attention/tensor";
import type { ColorScale, TokenInfo } from "../../src/protocol";
import { headMap, meanOfHeads, storeLayer, type AttentionMaps } from "../../webview/attention/attention-maps";
import { differenceTicks, renderDifferenceIntoImageData } from "../../webview/compare/difference-colors";
import { cacheHeadMap } from "../../webview/decode/cache-maps";
import { cacheFigure } from "../../webview/export/cache-figure";
import { headColor, planLines } from "../../webview/attention/attention-lines";
import { linesFigure } from "../../webview/export/lines-figure";
import { exportFileName, modelFileName, selectionFileName } from "../../webview/export/file-names";
import { heatmapFigure } from "../../webview/export/heatmap-figure";
import { LEGEND_STEPS } from "../../webview/export/legend-figure";
import { overviewCellsPerSide, overviewFigure } from "../../webview/export/overview-figure";
import { figureToSvg } from "../../webview/export/svg-writer";
import { legendTicks } from "../../webview/heatmap/color-scale";
import { maskFutureKeys, renderHeatmapIntoImageData } from "../../webview/heatmap/render";
import { tokenLabel } from "../../webview/heatmap/token-labels";

const MASKED = "url(#lens-masked)";
/** Viridis at 0 and at 1 (matplotlib): the ends of the weights' colour map. */
const VIRIDIS_0 = "#440154";
const VIRIDIS_1 = "#fde725";

function parseSvg(svg: string): Document {
  const document = new DOMParser({ onError: onWarningStopParsing }).parseFromString(svg, "image/svg+xml");
  assert.equal(document.documentElement?.tagName, "svg");
  assert.equal(document.documentElement?.getAttribute("xmlns"), "http://www.w3.org/2000/svg");
  return document;
}

function elements(document: Document): Element[] {
  return Array.from(document.getElementsByTagName("*"));
}

function byRole(document: Document, role: string): Element[] {
  return elements(document).filter((element) => element.getAttribute("data-role") === role);
}

function texts(document: Document, role: string): string[] {
  return byRole(document, role).map((element) => element.textContent ?? "");
}

function cellRects(group: Element): Element[] {
  return Array.from(group.getElementsByTagName("rect"));
}

/** "#rrggbb" of each cell of RGBA bytes, or the masked fill for alpha 0: what the SVG must say. */
function expectedFills(rgba: Uint8ClampedArray): string[] {
  const fills: string[] = [];
  for (let offset = 0; offset < rgba.length; offset += 4) {
    const hex = (value: number) => value.toString(16).padStart(2, "0");
    fills.push(rgba[offset + 3] === 0 ? MASKED : `#${hex(rgba[offset])}${hex(rgba[offset + 1])}${hex(rgba[offset + 2])}`);
  }
  return fills;
}

/** The canvas's colours of a (T, T) causal map of weights (components/HeatmapCanvas.svelte's steps). */
function canvasFills(values: Float32Array, tokens: number, scale: ColorScale, window: number | null = null): string[] {
  const rgba = new Uint8ClampedArray(tokens * tokens * 4);
  renderHeatmapIntoImageData(maskFutureKeys(values, tokens, tokens, window), tokens, tokens, scale, rgba);
  return expectedFills(rgba);
}

/** A causal (T, T) map whose rows are softmax-like: row q spreads over keys 0..q, key 0 of row 0 is 1. */
function causalMap(tokens: number, seed: number): Float32Array {
  const map = new Float32Array(tokens * tokens);
  for (let query = 0; query < tokens; query++) {
    let total = 0;
    for (let key = 0; key <= query; key++) total += (map[query * tokens + key] = 1 + ((query * 7 + key * 3 + seed) % 5));
    for (let key = 0; key <= query; key++) map[query * tokens + key] /= total;
  }
  return map;
}

function token(id: number, text: string, options: Partial<TokenInfo> = {}): TokenInfo {
  return { id, text, start: 0, end: text.length, ...options };
}

const TOKENS: TokenInfo[] = [
  token(0, "<|bos|>", { special: true, end: 0 }),
  token(17, "def"),
  token(33, " add"),
  token(5, "\n"),
  token(250, "\ufffd", { bytes: [0xf0, 0x9f] }),
];

function assertNumericSize(document: Document, figure: { width: number; height: number }): void {
  const svg = document.documentElement!;
  assert.equal(svg.getAttribute("width"), String(figure.width));
  assert.equal(svg.getAttribute("height"), String(figure.height));
  assert.equal(svg.getAttribute("viewBox"), `0 0 ${figure.width} ${figure.height}`);
  assert.ok(Number.isInteger(figure.width) && Number.isInteger(figure.height) && figure.width > 100 && figure.height > 100, `size ${figure.width} x ${figure.height}`);
}

describe("webview export: SVG", () => {
  describe("a head's heatmap", () => {
    const values = causalMap(TOKENS.length, 1);
    const figureOf = (scale: ColorScale, window: number | null = null) =>
      heatmapFigure({ title: "attention-lens-mha · layer 1 · head 3", facts: "MHA · 5 tokens", values, tokens: TOKENS, paint: { kind: "weights", scale }, mask: { future: true, window } });

    it("has one rect per map entry, row-major, each with the canvas's colour, masked keys hatched", () => {
      for (const scale of ["linear", "sqrt", "log"] as const) {
        const figure = figureOf(scale);
        const document = parseSvg(figureToSvg(figure));
        assertNumericSize(document, figure);
        const [heatmap] = byRole(document, "heatmap");
        assert.equal(heatmap.getAttribute("data-rows"), "5");
        assert.equal(heatmap.getAttribute("data-cols"), "5");
        const cells = cellRects(heatmap);
        assert.equal(cells.length, 25, "one rect per (query, key)");
        assert.deepEqual(
          cells.map((cell) => cell.getAttribute("fill")),
          canvasFills(values, 5, scale),
          `${scale}: the canvas's colours`,
        );
        // Row-major: x grows along a row, y down the rows; cells are squares that tile the map.
        const at = (index: number, name: string) => Number(cells[index].getAttribute(name));
        const size = at(0, "width");
        assert.equal(at(0, "height"), size);
        assert.equal(at(1, "x") - at(0, "x"), size);
        assert.equal(at(5, "y") - at(0, "y"), size);
        assert.equal(at(5, "x"), at(0, "x"));
      }
      const linear = cellRects(byRole(parseSvg(figureToSvg(figureOf("linear"))), "heatmap")[0]).map((cell) => cell.getAttribute("fill"));
      assert.equal(linear[0], VIRIDIS_1, "query 0 attends only to itself: weight 1, the top of viridis");
      assert.equal(linear[1], MASKED, "query 0 cannot see key 1");
      assert.equal(linear.filter((fill) => fill === MASKED).length, 10, "the upper triangle (5 x 4 / 2) is masked");
    });

    it("hatches the keys outside a sliding window too", () => {
      const fills = cellRects(byRole(parseSvg(figureToSvg(figureOf("linear", 2))), "heatmap")[0]).map((cell) => cell.getAttribute("fill"));
      assert.deepEqual(fills, canvasFills(values, 5, "linear", 2));
      assert.equal(fills[4 * 5 + 0], MASKED, "query 4 with a window of 2 sees keys 3 and 4 only");
      assert.notEqual(fills[4 * 5 + 3], MASKED);
    });

    it("labels both axes with the tokens as the panel labels them, and names model, layer and head", () => {
      const document = parseSvg(figureToSvg(figureOf("linear")));
      const labels = TOKENS.map((entry) => tokenLabel(entry, 11));
      assert.deepEqual(labels, ["<|bos|>", "def", "·add", "⏎", "<F0 9F>"]);
      assert.deepEqual(texts(document, "row-label"), labels, "query tokens down the left");
      assert.deepEqual(texts(document, "col-label"), labels, "key tokens along the top");
      for (const label of byRole(document, "col-label")) assert.match(label.getAttribute("transform") ?? "", /^rotate\(-90 /, "column labels read upwards");
      assert.deepEqual(texts(document, "title"), ["attention-lens-mha · layer 1 · head 3"]);
      assert.deepEqual(texts(document, "facts"), ["MHA · 5 tokens"]);
      assert.match(document.getElementsByTagName("title")[0].textContent ?? "", /attention-lens-mha · layer 1 · head 3/);
    });

    it("draws the colour legend of the scale: the ramp from viridis 0 to 1, its ticks, the masked swatch", () => {
      for (const scale of ["linear", "sqrt", "log"] as const) {
        const document = parseSvg(figureToSvg(figureOf(scale)));
        const [ramp] = byRole(document, "legend-ramp");
        const fills = cellRects(ramp).map((cell) => cell.getAttribute("fill"));
        assert.equal(fills.length, LEGEND_STEPS);
        assert.equal(fills[0], VIRIDIS_0, `${scale}: the ramp starts at viridis 0`);
        assert.equal(fills[fills.length - 1], VIRIDIS_1, `${scale}: and ends at viridis 1`);
        assert.deepEqual(texts(document, "legend-tick"), legendTicks(scale).map((tick) => tick.label));
        assert.deepEqual(texts(document, "legend-scale"), [`colour scale: ${scale}`]);
        assert.equal(byRole(document, "legend-masked")[0]?.getAttribute("fill"), MASKED);
      }
    });

    it("escapes what XML cannot hold as text (a token \"<a&b>\", control characters)", () => {
      const odd = [token(0, "<a&b>"), token(1, "x\u0001y"), token(2, "\"'")];
      const figure = heatmapFigure({ title: "model <&> · layer 0 · head 0", facts: "a \u0007 bell", values: causalMap(3, 0), tokens: odd, paint: { kind: "weights", scale: "linear" }, mask: { future: true } });
      const document = parseSvg(figureToSvg(figure));
      assert.deepEqual(texts(document, "row-label"), odd.map((entry) => tokenLabel(entry, 11)));
      assert.deepEqual(texts(document, "title"), ["model <&> · layer 0 · head 0"]);
      assert.deepEqual(texts(document, "facts"), ["a \ufffd bell"]);
    });

    it("keeps the labels apart on a long map (every stride-th token), with one rect per entry still", () => {
      const tokens = Array.from({ length: 120 }, (_, index) => token(index, `t${index}`));
      const figure = heatmapFigure({ title: "t", facts: "f", values: causalMap(120, 2), tokens, paint: { kind: "weights", scale: "linear" }, mask: { future: true } });
      const document = parseSvg(figureToSvg(figure));
      assert.equal(cellRects(byRole(document, "heatmap")[0]).length, 120 * 120);
      const rows = byRole(document, "row-label").map((label) => Number(label.getAttribute("y")));
      assert.ok(rows.length < 120 && rows.length > 10, `${rows.length} row labels`);
      for (let index = 1; index < rows.length; index++) assert.ok(rows[index] - rows[index - 1] >= 13 - 1e-9, "labels at least 13 px apart");
    });
  });

  it("draws compare mode's |A − B| in the difference colours, with its own legend", () => {
    const a = causalMap(4, 1);
    const b = causalMap(4, 3);
    const difference = a.map((value, index) => Math.abs(value - b[index]));
    const max = Math.max(...difference);
    const figure = heatmapFigure({ title: "|A − B| · gqa vs mha · L0 H1", facts: "4 tokens", values: difference, tokens: TOKENS.slice(0, 4), paint: { kind: "difference", max }, mask: { future: true } });
    const document = parseSvg(figureToSvg(figure));
    const rgba = new Uint8ClampedArray(16 * 4);
    renderDifferenceIntoImageData(maskFutureKeys(difference, 4, 4), 4, 4, max, rgba);
    assert.deepEqual(cellRects(byRole(document, "heatmap")[0]).map((cell) => cell.getAttribute("fill")), expectedFills(rgba));
    const ramp = cellRects(byRole(document, "legend-ramp")[0]).map((cell) => cell.getAttribute("fill"));
    assert.deepEqual([ramp[0], ramp[ramp.length - 1]], ["#000004", "#fcfdbf"], "magma from 0 to the largest difference");
    assert.deepEqual(texts(document, "legend-tick"), differenceTicks(max).map((tick) => tick.label));
    assert.deepEqual(texts(document, "legend-caption"), ["|A − B|"]);
  });

  describe("the layers × heads overview", () => {
    /** L layers of nh heads over T tokens, float32. */
    function mapsOf(layers: number, heads: number, keyValueHeads: number, tokens: number): AttentionMaps {
      const stored = Array.from({ length: layers }, (_, layer) => {
        const data = new Float32Array(heads * tokens * tokens);
        for (let head = 0; head < heads; head++) data.set(causalMap(tokens, layer * heads + head), head * tokens * tokens);
        return storeLayer(data, tokens, "float32");
      });
      return { layers, heads, keyValueHeads, tokens, precision: "float32", stored };
    }

    it("has a small map per layer and head plus the layer's mean, one rect per entry, grouped by K/V head", () => {
      const maps = mapsOf(2, 4, 2, 6);
      const figure = overviewFigure({
        title: "gqa · layers × heads",
        facts: "f",
        layers: 2,
        heads: 4,
        keyValueHeads: 2,
        tokens: 6,
        mapOf: (layer, head) => (head === "mean" ? meanOfHeads(maps, layer) : headMap(maps, layer, head)),
        paint: { kind: "weights", scale: "sqrt" },
      });
      const document = parseSvg(figureToSvg(figure));
      assertNumericSize(document, figure);
      const thumbnails = byRole(document, "thumbnail");
      assert.deepEqual(
        thumbnails.map((thumbnail) => thumbnail.getAttribute("data-label")),
        [0, 1].flatMap((layer) => [...[0, 1, 2, 3].map((head) => `layer ${layer}, head ${head}`), `layer ${layer}, mean`]),
      );
      for (const thumbnail of thumbnails) {
        const [, layer, head] = /layer (\d+), (?:head )?(\w+)/.exec(thumbnail.getAttribute("data-label") ?? "") ?? [];
        const values = head === "mean" ? meanOfHeads(maps, Number(layer)) : headMap(maps, Number(layer), Number(head));
        assert.deepEqual(cellRects(thumbnail).map((cell) => cell.getAttribute("fill")), canvasFills(values, 6, "sqrt"), `layer ${layer}, ${head}`);
      }
      assert.deepEqual(texts(document, "group-label"), ["K/V 0", "K/V 1"]);
      assert.deepEqual(texts(document, "head-label"), ["H0", "H1", "H2", "H3", "mean"]);
      assert.deepEqual(texts(document, "layer-label"), ["L0", "L1"]);
      assert.deepEqual(texts(document, "legend-tick"), legendTicks("sqrt").map((tick) => tick.label));
    });

    it("max-pools a long map to a bounded number of cells, as the panel's thumbnails do", () => {
      const maps = mapsOf(1, 2, 2, 200);
      const figure = overviewFigure({ title: "t", facts: "f", layers: 1, heads: 2, keyValueHeads: 2, tokens: 200, mapOf: (layer, head) => (head === "mean" ? meanOfHeads(maps, layer) : headMap(maps, layer, head)), paint: { kind: "weights", scale: "linear" } });
      const perSide = overviewCellsPerSide(200, 48, 3);
      assert.equal(perSide, 96);
      const [first] = byRole(parseSvg(figureToSvg(figure)), "thumbnail");
      assert.equal(first.getAttribute("data-rows"), String(Math.ceil(200 / Math.ceil(200 / perSide))));
      assert.equal(cellRects(first).length, Number(first.getAttribute("data-rows")) ** 2);
    });
  });

  it("draws decode mode's KV cache: K and V per K/V head, one rect per cached number, the newest slots outlined", () => {
    const [keyValueHeads, slots, headSize] = [2, 7, 4];
    const keys = Tensor.fromFunction([keyValueHeads, slots, headSize], ([head, slot, dimension]) => Math.sin(head * 5 + slot * 1.3 + dimension));
    const values = Tensor.fromFunction([keyValueHeads, slots, headSize], ([head, slot, dimension]) => Math.cos(head * 3 + slot * 0.7 - dimension));
    const figure = cacheFigure({ title: "gqa · KV cache · layer 0", facts: "step 2", keys, values, heads: 8, appended: { start: 6, end: 7 } });
    const document = parseSvg(figureToSvg(figure));
    assertNumericSize(document, figure);
    for (const [role, tensor] of [["cache-keys", keys], ["cache-values", values]] as const) {
      const groups = byRole(document, role);
      assert.equal(groups.length, keyValueHeads);
      groups.forEach((group, head) => {
        const map = cacheHeadMap(tensor, head); // (hs, S) in [0, 1], as the cache view draws it
        assert.deepEqual([group.getAttribute("data-rows"), group.getAttribute("data-cols")], [String(headSize), String(slots)]);
        const rgba = new Uint8ClampedArray(headSize * slots * 4);
        renderHeatmapIntoImageData(map.data, headSize, slots, "linear", rgba);
        assert.deepEqual(cellRects(group).map((cell) => cell.getAttribute("fill")), expectedFills(rgba), `${role} of K/V head ${head}`);
      });
    }
    assert.deepEqual(texts(document, "kv-head-label"), ["K/V head 0 · read by query heads 0, 1, 2, 3", "K/V head 1 · read by query heads 4, 5, 6, 7"]);
    const outlines = byRole(document, "appended");
    assert.equal(outlines.length, 2 * keyValueHeads, "the newest slot outlined in every K and V map");
    const firstKeys = cellRects(byRole(document, "cache-keys")[0]);
    const cellWidth = Number(firstKeys[0].getAttribute("width"));
    assert.equal(Number(outlines[0].getAttribute("x")), Number(firstKeys[6].getAttribute("x")), "at slot 6");
    assert.equal(Number(outlines[0].getAttribute("width")), Math.max(3, cellWidth));
    assert.deepEqual(texts(document, "legend-tick"), ["−max|v|", "0", "+max|v|"]);
  });

  it("draws the lines view: one <line> per line the view plans, in its head's colour and opacity, the tokens in both columns", () => {
    const tokens = ["<|bos|>", "The", " cat", " sat", " on", " the", " mat"].map((text, index) => ({ id: index, text, start: 0, end: 0, special: index === 0 }));
    const T = tokens.length;
    const heads = 2;
    // Head 0 attends to the previous token, head 1 spreads evenly.
    const layer = new Float32Array(heads * T * T);
    for (let query = 0; query < T; query++) {
      layer[query * T + Math.max(0, query - 1)] = 1;
      for (let key = 0; key <= query; key++) layer[(T + query) * T + key] = 1 / (query + 1);
    }
    const plan = planLines({ layer, heads, tokens: T, shown: [0, 1], threshold: 0.2, focus: null });
    const figure = linesFigure({ title: "gqa · layer 0 · lines of heads 0, 1", facts: "7 tokens", tokens, heads: [0, 1], plan, focus: 3 });
    const document = parseSvg(figureToSvg(figure));
    assertNumericSize(document, figure);
    const lines = byRole(document, "attention-line");
    assert.equal(lines.length, plan.count);
    // Head 0: 7 lines of weight 1; head 1: weights 1/(q+1) >= 0.2 for queries 0..4 = 1 + 2 + 3 + 4 + 5 lines.
    assert.equal(plan.count, 7 + 15);
    const byColor = (color: string) => lines.filter((line) => line.getAttribute("stroke") === color);
    assert.equal(byColor(headColor(0)).length, 7);
    assert.equal(byColor(headColor(1)).length, 15);
    for (const line of byColor(headColor(0))) assert.equal(line.getAttribute("stroke-opacity"), "1");
    const faint = byColor(headColor(1)).map((line) => Number(line.getAttribute("stroke-opacity")));
    assert.ok(Math.min(...faint) >= 0.2 && Math.min(...faint) <= 0.25, `the faintest line (weight 0.2) is drawn at its level: ${Math.min(...faint)}`);
    assert.deepEqual(texts(document, "query-label"), tokens.map((token) => tokenLabel(token, 14)));
    assert.deepEqual(texts(document, "key-label"), tokens.map((token) => tokenLabel(token, 14)));
    assert.equal(byRole(document, "query-label")[3].getAttribute("font-weight"), "bold", "the locked query");
    assert.deepEqual(texts(document, "head-swatch-label"), ["H0", "H1"]);
    // A line goes from its query's row on the left to its key's row on the right.
    const rows = byRole(document, "query-label").map((label) => Number(label.getAttribute("y")));
    const first = byColor(headColor(0)).find((line) => Number(line.getAttribute("y1")) === rows[3])!;
    assert.equal(Number(first.getAttribute("y2")), rows[2], "query 3 of the previous-token head reads key 2");
  });

  it("suggests file names: the model, what the picture shows, no characters a file system refuses", () => {
    assert.equal(exportFileName([modelFileName({ id: "attention-lens-mha", source: "bundled" }), selectionFileName({ layer: 1, head: 3 })], "svg"), "attention-lens-mha layer 1 head 3.svg");
    assert.equal(exportFileName([modelFileName({ id: "HuggingFaceTB/SmolLM2-135M", source: "hub-cache" }), selectionFileName({ layer: 0, head: "mean" })], "png"), "HuggingFaceTB-SmolLM2-135M layer 0 mean.png");
    assert.equal(modelFileName({ id: "/home/ada/models/my-llama/", source: "folder" }), "my-llama");
    assert.equal(exportFileName(["a:b*c?", "d\u0001"], "json"), "a-b-c- d-.json");
    assert.equal(exportFileName(["..."], "png"), "attention-lens.png");
  });
});
