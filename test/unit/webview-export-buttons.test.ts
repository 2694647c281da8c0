/**
 * The export buttons of the built webview in Chromium (test/browser/webview/webview-harness.ts), on
 * a real run of the bundled GQA model, driven from the keyboard as a person without a mouse would:
 * the head view's "Export ▾" opens its menu with Enter, the arrows move, Enter saves, Esc closes and
 * gives the focus back. What the page posts to the host is checked: an SVG of the head on screen
 * with one cell per map entry; and the host's `requestExport` (an export command) is answered with
 * the same export id, a PNG twice the figure's size.
 *
 * Skipped without Chromium or the bundled model.
 */

import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { DOMParser, onWarningStopParsing } from "@xmldom/xmldom";

import { TextTokenizer } from "../../src/model/tokenizer";
import type { ModelDescriptor, PanelExport, TokenInfo, WebviewToHostMessage } from "../../src/protocol";
import { chromiumIsInstalled, MODELS_DIRECTORY, startWebviewHarness, type WebviewHarness } from "../browser/webview/webview-harness";
import { pngHeader } from "./helpers/png-decode";

const MODEL_ID = "attention-lens-gqa";
const TEXT = "def add(a, b):\n    return a + b";

type ExportMessage = Extract<WebviewToHostMessage, { type: "export" }>;
const isExport =
  (exportId?: number) =>
  (message: WebviewToHostMessage): message is ExportMessage =>
    message.type === "export" && message.exportId === exportId;

function tokenize(text: string): TokenInfo[] {
  const tokenizer = TextTokenizer.fromJson(readFileSync(join(MODELS_DIRECTORY, MODEL_ID, "tokenizer.json"), "utf8"), `${MODEL_ID}/tokenizer.json`);
  const encoded = tokenizer.encode(text, { addBos: true });
  return encoded.ids.map((id, index) => ({ id, text: encoded.tokens[index], start: encoded.offsets[index][0], end: encoded.offsets[index][1] }));
}

function imageOf(exported: PanelExport): Extract<PanelExport, { kind: "image" }> {
  assert.equal(exported.kind, "image", JSON.stringify(exported).slice(0, 300));
  return exported as Extract<PanelExport, { kind: "image" }>;
}

describe("the webview's export buttons in Chromium (built bundle, real GQA model)", function () {
  this.timeout(180_000);
  let harness: WebviewHarness;
  let tokens: TokenInfo[];

  before(async function () {
    if (!chromiumIsInstalled() || !existsSync(join(MODELS_DIRECTORY, MODEL_ID, "model.safetensors"))) {
      console.log("      (no Chromium or no bundled model: skipped)");
      this.skip();
    }
    tokens = tokenize(TEXT);
    harness = await startWebviewHarness({ theme: "light" });
    const model: ModelDescriptor = {
      id: MODEL_ID,
      source: "bundled",
      label: "GQA (8 query heads, 2 key/value heads)",
      configUri: `${harness.origin}/models/${MODEL_ID}/config.json`,
      weightsUri: `${harness.origin}/models/${MODEL_ID}/model.safetensors`,
      numLayers: 3,
      numHeads: 8,
      numKeyValueHeads: 2,
      maxTokens: 512,
    };
    await harness.send({
      type: "showAttention",
      requestId: 1,
      model,
      models: [model],
      text: TEXT,
      source: "add.py:1-2",
      tokens,
      settings: { backend: "wasm", colorScale: "linear" },
      wasmPaths: `${harness.origin}/dist/ort/`,
    });
    await harness.waitForPosted((message): message is WebviewToHostMessage => message.type === "report" && message.report.kind === "run", { timeout: 120_000 });
  });
  after(async () => harness?.close());

  it("opens the head view's menu from the keyboard, saves the head as SVG, and gives the focus back on Esc", async () => {
    const { page } = harness;
    const button = page.locator("button[data-export-view=head]");
    await button.focus();
    await page.keyboard.press("Enter");
    const items = page.locator("[role=menu] [role=menuitem]");
    assert.deepEqual(await items.allTextContents(), ["Save as PNG…", "Save as SVG…", "Copy as image", "Save attention maps as JSON…"]);
    assert.equal(await button.getAttribute("aria-expanded"), "true");
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), "Save as PNG…", "the first item takes the focus");
    await page.keyboard.press("ArrowDown");
    const before = (await harness.posted()).length;
    await page.keyboard.press("Enter");
    const { export: exported } = await harness.waitForPosted(isExport(undefined), { after: before });
    const svg = imageOf(exported);
    assert.equal(svg.format, "svg");
    assert.equal(svg.view, "head");
    const heading = await page.locator(".head-view h2").textContent(); // "Layer 1 · head 3"
    const [, layer, head] = /Layer (\d+) · head (\d+)/.exec(heading ?? "") ?? [];
    assert.equal(svg.fileName, `${MODEL_ID} layer ${layer} head ${head}.svg`, "named after the head on screen");
    const parsed = new DOMParser({ onError: onWarningStopParsing }).parseFromString(new TextDecoder().decode(svg.bytes), "image/svg+xml");
    const heatmap = Array.from(parsed.getElementsByTagName("g")).find((group) => group.getAttribute("data-role") === "heatmap");
    assert.equal(heatmap?.getElementsByTagName("rect").length, tokens.length ** 2, "one cell per (query, key)");
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute("data-export-view")), "head", "the focus is back on the button");

    await page.keyboard.press("ArrowDown");
    assert.equal(await items.count(), 4);
    await page.keyboard.press("Escape");
    assert.equal(await items.count(), 0, "Esc closes the menu");
    assert.equal(await button.getAttribute("aria-expanded"), "false");
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute("data-export-view")), "head");
  });

  it("has an export button on the overview too", async () => {
    assert.equal(await harness.page.locator("button[data-export-view=overview]").count(), 1);
  });

  it("answers an export command's requestExport with its id: the mode's main view as a PNG at twice its size", async () => {
    const before = (await harness.posted()).length;
    await harness.send({ type: "requestExport", exportId: 7, format: "png" });
    const png = imageOf((await harness.waitForPosted(isExport(7), { after: before })).export);
    assert.equal(png.view, "head");
    const header = pngHeader(png.bytes);
    assert.deepEqual([header.width, header.height], [2 * png.width, 2 * png.height]);
  });

  it("answers a requestExport of a view with nothing on screen with what to do", async () => {
    await harness.send({ type: "requestExport", exportId: 8, format: "svg", view: "cache" });
    const answer = (await harness.waitForPosted(isExport(8))).export;
    assert.equal(answer.kind, "failed");
    assert.match(answer.kind === "failed" ? answer.message : "", /No decoding is on screen/);
  });
});
