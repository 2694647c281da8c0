/**
 * The lines view in the real page (built bundle, Debian's Chromium, the bundled GQA model on wasm):
 * it draws as many lines as the run's weights at or above the threshold (counted here from the
 * map the test hook reads off the page), follows the selected head, the ticked heads, the threshold,
 * a hovered query (its row) and a hovered key (its column), locks a query on click, and exports as
 * SVG with one <line> per line drawn.
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

const MODEL_ID = "attention-lens-gqa";
const TEXT = "The quiet river runs past the old mill. The quiet river runs past the old mill.";

function tokenize(text: string): TokenInfo[] {
  const tokenizer = TextTokenizer.fromJson(readFileSync(join(MODELS_DIRECTORY, MODEL_ID, "tokenizer.json"), "utf8"), `${MODEL_ID}/tokenizer.json`);
  const encoded = tokenizer.encode(text, { addBos: true });
  return encoded.ids.map((id, index) => ({ id, text: encoded.tokens[index], start: encoded.offsets[index][0], end: encoded.offsets[index][1] }));
}

describe("the lines view in Chromium (built bundle, real GQA model)", function () {
  this.timeout(180_000);
  let harness: WebviewHarness;
  let tokens: TokenInfo[];
  const view = () => harness.page.locator(".lines-view");
  const drawn = async () => Number(await view().getAttribute("data-lines"));

  /** Head `head` of layer `layer` as the page holds it, through the test hook. */
  async function headRows(layer: number, head: number): Promise<number[][]> {
    const before = (await harness.posted()).length;
    await harness.send({ type: "observe", requestId: 1, request: { what: "headWeights", layer, head } });
    const { observation } = await harness.waitForPosted(
      (message): message is Extract<WebviewToHostMessage, { type: "observed" }> => message.type === "observed" && message.requestId === 1,
      { after: before },
    );
    assert.ok(observation.what === "headWeights" && "rows" in observation, JSON.stringify(observation));
    return observation.rows;
  }

  /** Lines at or above `threshold` of these heads' rows, optionally only query `query`'s row or key `key`'s column. */
  function expectedLines(maps: number[][][], threshold: number, only: { query?: number; key?: number } = {}): number {
    let count = 0;
    for (const rows of maps) {
      rows.forEach((row, query) =>
        row.forEach((weight, key) => {
          if (key > query || weight < threshold || weight <= 0) return;
          if (only.query !== undefined && query !== only.query) return;
          if (only.key !== undefined && key !== only.key) return;
          count++;
        }),
      );
    }
    return count;
  }

  before(async function () {
    if (!chromiumIsInstalled() || !existsSync(join(MODELS_DIRECTORY, MODEL_ID, "model.safetensors"))) {
      console.log("      (no Chromium or no bundled model: skipped)");
      this.skip();
    }
    tokens = tokenize(TEXT);
    harness = await startWebviewHarness({ theme: "dark" });
    const model: ModelDescriptor = {
      id: MODEL_ID,
      source: "bundled",
      label: "GQA (8 query heads, 2 key/value heads)",
      configUri: `${harness.origin}/models/${MODEL_ID}/config.json`,
      weightsUri: `${harness.origin}/models/${MODEL_ID}/model.safetensors`,
      tokenizerUri: `${harness.origin}/models/${MODEL_ID}/tokenizer.json`,
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
      source: "lines.txt:1",
      tokens,
      settings: { backend: "wasm", colorScale: "linear" },
      wasmPaths: `${harness.origin}/dist/ort/`,
    });
    await harness.waitForPosted((message): message is WebviewToHostMessage => message.type === "report" && message.report.kind === "run", { timeout: 120_000 });
    await harness.page.locator('.overview button[data-layer="1"][data-head="3"]').click();
    await harness.page.locator('.lines-view[data-layer="1"][data-heads="3"]').waitFor();
  });
  after(async () => harness?.close());

  it("draws the selected head's weights at or above the threshold (0.02 at first)", async () => {
    assert.equal(await drawn(), expectedLines([await headRows(1, 3)], 0.02));
    assert.match(await view().locator(".count").innerText(), new RegExp(`^${await drawn()} lines above the threshold$`));
  });

  it("follows the ticked heads and the threshold", async () => {
    await view().locator("button", { hasText: /^all$/ }).click();
    await harness.page.locator('.lines-view[data-heads="0,1,2,3,4,5,6,7"]').waitFor();
    const all: number[][][] = [];
    for (let head = 0; head < 8; head++) all.push(await headRows(1, head)); // one at a time: the answers are told apart by order
    assert.equal(await drawn(), expectedLines(all, 0.02));
    await view().locator('button.head[data-head="5"]').click();
    assert.equal(await view().getAttribute("data-heads"), "0,1,2,3,4,6,7");
    assert.equal(await view().locator('button.head[data-head="5"]').getAttribute("aria-pressed"), "false");
    await view().locator('input[type="range"]').fill("0.3");
    assert.equal(await view().locator(".threshold output").innerText(), "0.30");
    assert.equal(await drawn(), expectedLines([0, 1, 2, 3, 4, 6, 7].map((head) => all[head]), 0.3));
  });

  it("a hovered query keeps its row, a hovered key its column; a click locks the query", async () => {
    await view().locator("button", { hasText: /^none$/ }).click();
    await view().locator('button.head[data-head="3"]').click();
    await view().locator('input[type="range"]').fill("0");
    const rows = await headRows(1, 3);
    const canvas = view().locator(".lines");
    const box = (await canvas.boundingBox())!;
    const rowY = (row: number) => 2 + row * 16 + 8;
    await harness.page.mouse.move(box.x + 10, box.y + rowY(12));
    assert.equal(await view().getAttribute("data-focus"), "query:12");
    assert.equal(await drawn(), expectedLines([rows], 0, { query: 12 }));
    await harness.page.mouse.move(box.x + box.width - 10, box.y + rowY(4));
    assert.equal(await view().getAttribute("data-focus"), "key:4");
    assert.equal(await drawn(), expectedLines([rows], 0, { key: 4 }));
    await harness.page.mouse.click(box.x + 10, box.y + rowY(7));
    await harness.page.mouse.move(box.x + box.width / 2, box.y + box.height + 40);
    assert.equal(await view().getAttribute("data-focus"), "query:7", "the locked query stays after the mouse leaves");
    const state = (await harness.page.evaluate(() => window.vscodeStub.state)) as { lockedToken?: number | null };
    assert.equal(state.lockedToken, 7, "the lock is the panel's: saved with its state");
    await canvas.focus();
    await harness.page.keyboard.press("ArrowDown");
    assert.equal(await view().getAttribute("data-focus"), "query:8");
    await harness.page.keyboard.press("Escape");
    assert.equal(await view().getAttribute("data-focus"), "");
  });

  it("exports as SVG: one line per line drawn, in the head's colour", async () => {
    const before = (await harness.posted()).length;
    await harness.send({ type: "requestExport", exportId: 3, format: "svg", view: "lines" });
    const { export: exported } = await harness.waitForPosted(
      (message): message is Extract<WebviewToHostMessage, { type: "export" }> => message.type === "export" && message.exportId === 3,
      { after: before },
    );
    assert.equal(exported.kind, "image", JSON.stringify(exported).slice(0, 300));
    const image = exported as Extract<PanelExport, { kind: "image" }>;
    assert.equal(image.fileName, `${MODEL_ID} layer 1 lines.svg`);
    const svg = new DOMParser({ onError: onWarningStopParsing }).parseFromString(new TextDecoder().decode(image.bytes), "image/svg+xml");
    const lines = Array.from(svg.getElementsByTagName("line")).filter((line) => line.getAttribute("data-role") === "attention-line");
    assert.equal(lines.length, await drawn());
    assert.ok(lines.every((line) => line.getAttribute("stroke") === "#F0E442"), "head 3's colour");
  });
});
