/**
 * The export commands in the manifest, and Attention Lens: Export Attention Maps as JSON, host side
 * (src/extension/maps-export.ts): the maps
 * the panel sends are written as the document of `attention-lens maps` (src/cli/maps-document.ts),
 * and `readMapsDocument` — the reader of both — gives back exactly the run: every weight (float32
 * printed as the double it is), the tokens, the model described from its config.json, how the maps
 * were kept. The real panel run is test/integration/export.test.ts.
 */

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";

import { describeModel, readMapsDocument } from "../../src/cli/maps-document";
import { COMMANDS } from "../../src/extension/contributions";
import { readModelFolder, type CatalogModel } from "../../src/extension/model-catalog";
import { MAX_EXPORTED_WEIGHTS, MapsExportError, panelMapsDocument } from "../../src/extension/maps-export";
import type { ExportedMaps, TokenInfo } from "../../src/protocol";

const MODEL_ID = "attention-lens-gqa";
const MODEL_FOLDER = join(__dirname, "..", "..", "media", "models", MODEL_ID);

const TOKENS: TokenInfo[] = [
  { id: 0, text: "<|bos|>", start: 0, end: 0, special: true },
  { id: 1755, text: "def", start: 0, end: 3 },
  { id: 1032, text: " add", start: 3, end: 7 },
  { id: 250, text: "\ufffd", start: 7, end: 9, bytes: [0xf0, 0x9f] },
];

/** nh causal (T, T) maps per layer with awkward float32 values (not short decimals). */
function layersOf(layers: number, heads: number, tokens: number): Float32Array[] {
  return Array.from({ length: layers }, (_, layer) => {
    const data = new Float32Array(heads * tokens * tokens);
    for (let head = 0; head < heads; head++) {
      for (let query = 0; query < tokens; query++) {
        const row = (head * tokens + query) * tokens;
        let total = 0;
        for (let key = 0; key <= query; key++) total += data[row + key] = Math.exp(Math.sin(layer * 31 + head * 7 + query * 3 + key));
        for (let key = 0; key <= query; key++) data[row + key] /= total;
      }
    }
    return data;
  });
}

describe("extension: the export commands", () => {
  it("are contributed under the Attention Lens category with their titles, and in the palette", () => {
    const manifest = JSON.parse(readFileSync(join(__dirname, "..", "..", "package.json"), "utf8")) as {
      contributes: { commands: { command: string; title: string; category: string }[]; menus: { commandPalette: { command: string; when?: string }[] } };
    };
    const titles = new Map(manifest.contributes.commands.map((entry) => [entry.command, `${entry.category}: ${entry.title}`]));
    assert.equal(titles.get(COMMANDS.exportPng), "Attention Lens: Export View as PNG");
    assert.equal(titles.get(COMMANDS.exportSvg), "Attention Lens: Export View as SVG");
    assert.equal(titles.get(COMMANDS.exportMapsJson), "Attention Lens: Export Attention Maps as JSON");
    for (const command of [COMMANDS.exportPng, COMMANDS.exportSvg, COMMANDS.exportMapsJson]) {
      assert.ok(manifest.contributes.menus.commandPalette.some((entry) => entry.command === command && entry.when === undefined), `${command} in the palette, always (it says when there is nothing to export)`);
    }
  });
});

describe("extension: the attention maps exported as JSON", () => {
  let model: CatalogModel;
  before(async () => {
    model = await readModelFolder(MODEL_FOLDER, MODEL_ID);
  });

  function exported(overrides: Partial<ExportedMaps> = {}): ExportedMaps {
    return {
      modelId: MODEL_ID,
      backend: "webgpu",
      mapPrecision: "float16",
      text: "def add😀",
      source: "sample.py:1",
      documentUri: "file:///work/sample.py",
      tokens: TOKENS,
      heads: model.config.numAttentionHeads,
      layers: layersOf(model.config.numHiddenLayers, model.config.numAttentionHeads, TOKENS.length),
      ...overrides,
    };
  }

  it("reads back as the run: every weight, the tokens, the model, the panel's precision", () => {
    const maps = exported({ truncation: { keptTokens: 4, totalTokens: 9 } });
    const document = readMapsDocument(new TextDecoder().decode(panelMapsDocument(maps, model)));
    const tokens = TOKENS.length;
    assert.equal(document.schemaVersion, 1);
    assert.deepEqual(document.model, describeModel(MODEL_ID, MODEL_FOLDER, model.config), "the model as the command line describes it");
    assert.equal(document.backend, "webgpu");
    assert.deepEqual(document.input, { kind: "panel", source: "sample.py:1", document: "file:///work/sample.py" });
    assert.equal(document.text, "def add😀");
    assert.deepEqual(document.tokens, [
      { id: 0, text: "<|bos|>", start: 0, end: 0, special: true },
      { id: 1755, text: "def", start: 0, end: 3, special: false },
      { id: 1032, text: " add", start: 3, end: 7, special: false },
      { id: 250, text: "\ufffd", start: 7, end: 9, special: false },
    ]);
    assert.deepEqual(document.truncated, { totalTokens: 9, keptTokens: 4 });
    assert.equal(document.mapPrecision, "float16", "says how the panel kept the weights");
    assert.equal(document.lastLogits, undefined);
    // attentions[layer][head][query][key] is exactly the panel's float32 weight.
    maps.layers.forEach((layer, index) => {
      const expected = Array.from({ length: maps.heads }, (_, head) =>
        Array.from({ length: tokens }, (_, query) => Array.from(layer.subarray((head * tokens + query) * tokens, (head * tokens + query + 1) * tokens))),
      );
      assert.deepEqual(document.attentions[index], expected, `layer ${index}`);
    });
  });

  it("refuses maps that do not belong to the model, and maps too large for one file, saying what to do", () => {
    assert.throws(() => panelMapsDocument(exported({ heads: 3 }), model), (error: unknown) => error instanceof MapsExportError && /run Show Attention again/.test(error.message));
    const manyTokens = Math.ceil(Math.sqrt(MAX_EXPORTED_WEIGHTS / (model.config.numHiddenLayers * model.config.numAttentionHeads))) + 1;
    const long = Array.from({ length: manyTokens }, (_, index) => ({ id: index, text: "a", start: index, end: index + 1 }));
    assert.throws(
      () => panelMapsDocument(exported({ tokens: long, layers: [new Float32Array(0), new Float32Array(0), new Float32Array(0)] }), model),
      (error: unknown) => error instanceof MapsExportError && /Select fewer tokens, or run the command line.*attention-lens maps --model/.test(error.message),
    );
  });

  it("the reader refuses what is not a maps document, naming the field", () => {
    assert.throws(() => readMapsDocument(JSON.stringify({ schemaVersion: 2 })), /schemaVersion is 2/);
    const document = JSON.parse(new TextDecoder().decode(panelMapsDocument(exported(), model))) as { attentions: number[][][][] };
    document.attentions[1][2].pop();
    assert.throws(() => readMapsDocument(JSON.stringify(document)), /attentions\[1\]\[2\] is not 4 x 4/);
  });
});
