/**
 * The built webview in headless Chromium, as VS Code would show it: a page with the extension's
 * Content-Security-Policy and a stand-in for acquireVsCodeApi (test/browser/webview). The test plays
 * the host: it sends showAttention with real token ids of the bundled GQA model and checks what the
 * webview posts back and what it draws.
 *
 * Screenshots go to the system's temporary folder (attention-lens-webview-*.png), never the repo.
 */

import { PreviousTokenScores, type FirstHead } from "../../webview/attention/first-head";
import { DEFAULT_HEAD_METRIC_VIEW } from "../../webview/components/head-metric-order";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { parseModelConfig } from "../../src/model/config";
import { readSafetensors } from "../../src/model/safetensors";
import { TextTokenizer } from "../../src/model/tokenizer";
import { decoderWeightsFromTensors } from "../../src/model/weights";
import type { ComparisonSummary, ModelDescriptor, PanelReport, RunSummary, TokenInfo, WebviewToHostMessage } from "../../src/protocol";
import { OnnxDecoder } from "../../src/runtime/onnx-decoder";
import { attentionRollout } from "../../src/attention/attention-rollout";
import type { Tensor } from "../../src/attention/tensor";
import { valueVectorNorms, valueWeightedAttention } from "../../src/attention/value-weighted-attention";
import { LayeredDecoder } from "../../src/runtime/layered-decoder";
import { float32Of } from "../../src/model/half-tensor";
import {
  CHROMIUM_PATH,
  chromiumIsInstalled,
  loadBuildScript,
  MODELS_DIRECTORY,
  startWebviewHarness,
  type WebviewHarness,
} from "../browser/webview/webview-harness";

const MODEL_ID = "attention-lens-gqa";
const MODEL_DIRECTORY = join(MODELS_DIRECTORY, MODEL_ID);
const TEXT = `function average(values) {
\tlet total = 0;
\tfor (const value of values) total += value;
\treturn total / values.length;
}
// average([1, 2, 3]) === 2`;

type Posted<T extends WebviewToHostMessage["type"]> = Extract<WebviewToHostMessage, { type: T }>;
type ReportMessage<K extends PanelReport["kind"]> = { type: "report"; requestId: number; report: Extract<PanelReport, { kind: K }> };
const isType =
  <T extends WebviewToHostMessage["type"]>(type: T, requestId?: number) =>
  (message: WebviewToHostMessage): message is Posted<T> =>
    message.type === type && (requestId === undefined || !("requestId" in message) || message.requestId === requestId);

/** The page's report of `kind` on request `requestId`. */
const isReport =
  <K extends PanelReport["kind"]>(kind: K, requestId: number) =>
  (message: WebviewToHostMessage): message is ReportMessage<K> =>
    message.type === "report" && message.requestId === requestId && message.report.kind === kind;

/** The run report of request `requestId`. */
async function runOf(harness: WebviewHarness, requestId: number, options: { after?: number; timeout?: number } = {}): Promise<RunSummary> {
  return (await harness.waitForPosted(isReport("run", requestId), options)).report.summary;
}

/** Why the run of request `requestId` failed. */
async function failureOf(harness: WebviewHarness, requestId: number): Promise<string> {
  return (await harness.waitForPosted(isReport("failed", requestId))).report.message;
}

/** A head's map of the run on screen, as query rows, through the test hook. */
async function headRows(harness: WebviewHarness, requestId: number, layer = 0, head = 0): Promise<number[][]> {
  const before = (await harness.posted()).length;
  await harness.send({ type: "observe", requestId, request: { what: "headWeights", layer, head } });
  const { observation } = await harness.waitForPosted(isType("observed", requestId), { after: before });
  assert.ok(observation.what === "headWeights" && "rows" in observation, JSON.stringify(observation));
  return observation.rows;
}

function descriptor(id: string, origin: string, overrides: Partial<ModelDescriptor> = {}): ModelDescriptor {
  const kind = id.replace("attention-lens-", "").toUpperCase();
  return {
    id,
    label: `${kind} (8 query heads, ${{ MHA: 8, GQA: 2, MQA: 1 }[kind] ?? "?"} key/value heads)`,
    configUri: `${origin}/models/${id}/config.json`,
    weightsUri: `${origin}/models/${id}/model.safetensors`,
    numLayers: 3,
    numHeads: 8,
    numKeyValueHeads: { MHA: 8, GQA: 2, MQA: 1 }[kind] ?? 2,
    maxTokens: 512,
    ...overrides,
  };
}

function tokenize(text: string): TokenInfo[] {
  const tokenizer = TextTokenizer.fromJson(readFileSync(join(MODEL_DIRECTORY, "tokenizer.json"), "utf8"), `${MODEL_ID}/tokenizer.json`);
  const encoded = tokenizer.encode(text, { addBos: true });
  return encoded.ids.map((id, index) => ({ id, text: encoded.tokens[index], start: encoded.offsets[index][0], end: encoded.offsets[index][1] }));
}

/** Layer 0, head 0 of the same model on the same ids, in Node (onnxruntime-web, wasm). */
/**
 * Layer 0 head 0 as rows, the head the panel should open on, and each token's next-token loss
 * (log-sum-exp of the logits before it minus its own), from a Node run of the same ids.
 */
async function referenceRun(ids: number[]): Promise<{ firstHeadRows: number[][]; opensOn: FirstHead; losses: number[] }> {
  const config = parseModelConfig(JSON.parse(readFileSync(join(MODEL_DIRECTORY, "config.json"), "utf8")));
  const file = readSafetensors(new Uint8Array(readFileSync(join(MODEL_DIRECTORY, "model.safetensors"))));
  const decoder = await OnnxDecoder.create(config, decoderWeightsFromTensors(config, file.tensors), { choice: "wasm" });
  try {
    const step = await decoder.compute([ids]);
    const layer = step.attentions[0]; // (1, nh, T, T)
    const tokens = ids.length;
    const scores = new PreviousTokenScores(config.numAttentionHeads, tokens);
    step.attentions.forEach((attention, index) => scores.add(index, attention.data));
    const vocabulary = config.vocabSize;
    const losses = ids.slice(1).map((target, row) => {
      const logits = step.logits.data.subarray(row * vocabulary, (row + 1) * vocabulary);
      const largest = Math.max(...logits);
      return largest + Math.log(logits.reduce((sum, logit) => sum + Math.exp(logit - largest), 0)) - logits[target];
    });
    return {
      firstHeadRows: Array.from({ length: tokens }, (_, row) => Array.from(layer.data.subarray(row * tokens, (row + 1) * tokens))),
      opensOn: scores.choose(),
      losses,
    };
  } finally {
    await decoder.dispose();
  }
}

describe("the webview in Chromium (built bundle, real GQA model)", function () {
  this.timeout(180_000);
  let harness: WebviewHarness;
  let tokens: TokenInfo[];
  let reference: number[][];
  let opensOn: FirstHead;
  let losses: number[];
  let requestId = 0;

  before(async function () {
    if (!chromiumIsInstalled()) {
      const message = `no Chromium at ${CHROMIUM_PATH}: install it with "apt-get update && apt-get install -y chromium"`;
      if (process.env.CI) throw new Error(`the browser tests need Chromium, and CI is set: ${message}`);
      console.log(`    skipping the webview page tests: ${message}`);
      this.skip();
    }
    if (!existsSync(join(MODEL_DIRECTORY, "model.safetensors"))) {
      console.log(`    skipping the webview page tests: ${MODEL_DIRECTORY} holds no model.safetensors (the bundled models are not committed yet)`);
      this.skip();
    }
    tokens = tokenize(TEXT);
    ({ firstHeadRows: reference, opensOn, losses } = await referenceRun(tokens.map((token) => token.id)));
    harness = await startWebviewHarness({ theme: "dark" });
  });
  after(async () => harness?.close());

  function showAttention(model: ModelDescriptor, overrides: Record<string, unknown> = {}) {
    requestId += 1;
    return {
      type: "showAttention" as const,
      requestId,
      model,
      models: ["attention-lens-mha", "attention-lens-gqa", "attention-lens-mqa"].map((id) => descriptor(id, harness.origin)),
      text: TEXT,
      source: "average.js:1-6",
      tokens,
      settings: { backend: "wasm" as const, colorScale: "linear" as const },
      wasmPaths: `${harness.origin}/dist/ort/`,
      ...overrides,
    };
  }

  it("says ready once, before anything else", async () => {
    const posted = await harness.posted();
    assert.equal(posted[0]?.type, "ready");
    assert.equal(posted.filter((message) => message.type === "ready").length, 1);
  });

  describe("a selection on wasm", () => {
    let computed: RunSummary;
    let id: number;

    before(async () => {
      const message = showAttention(descriptor(MODEL_ID, harness.origin), {
        truncation: { keptTokens: tokens.length, totalTokens: 2040, totalIsEstimate: true },
      });
      id = message.requestId;
      await harness.send(message);
      computed = await runOf(harness, id);
    });

    it("once reported, the page is not busy: the maps, then the text's losses, are on screen and the progress line is gone", async () => {
      // The maps come first and the losses are scored after them: neither step may leave the page busy.
      assert.equal(await harness.page.locator("main.lens").getAttribute("aria-busy"), "false");
      assert.ok(computed.meanLoss !== undefined);
      assert.equal(await harness.page.locator(".loss-view").count(), 1);
      assert.equal(await harness.page.locator(".scoring").count(), 0);
    });

    it("reports the run: wasm, the model's sizes, the time", () => {
      assert.equal(computed.backend, "wasm");
      assert.equal(computed.fallbackReason, undefined);
      assert.equal(computed.modelId, MODEL_ID);
      assert.deepEqual([computed.layers, computed.heads, computed.tokens], [3, 8, tokens.length]);
      assert.ok(computed.milliseconds > 0 && computed.milliseconds < 60_000, `${computed.milliseconds} ms`);
    });

    it("layer 0 head 0 (through the test hook) equals Node's, and every row sums to 1", async () => {
      const rows = await headRows(harness, id, 0, 0);
      assert.equal(rows.length, tokens.length);
      let worst = 0;
      rows.forEach((row, query) => {
        assert.equal(row.length, tokens.length);
        row.forEach((weight, key) => {
          worst = Math.max(worst, Math.abs(weight - reference[query][key]));
          if (key > query) assert.equal(weight, 0, `future key ${key} of query ${query}`);
        });
        const sum = row.reduce((total, weight) => total + weight, 0);
        assert.ok(Math.abs(sum - 1) < 1e-4, `row ${query} sums to ${sum}`);
      });
      assert.ok(worst < 1e-4, `max |webview - node| = ${worst}`);
    });

    it("says how well the model knows the text: each token's loss and the mean, as Node computes them, and the guesses on hover", async () => {
      const mean = losses.reduce((sum, loss) => sum + loss, 0) / losses.length;
      assert.ok(computed.meanLoss !== undefined && Math.abs(computed.meanLoss - mean) < 1e-4, `reported ${computed.meanLoss}, Node ${mean}`);
      const shownMean = Number(await harness.page.locator(".loss-view .summary").getAttribute("data-mean-loss"));
      assert.ok(Math.abs(shownMean - mean) < 1e-4, `shown ${shownMean}, Node ${mean}`);
      assert.match(await harness.page.locator(".loss-view .summary").innerText(), new RegExp(`perplexity ${Math.exp(mean).toFixed(1)}`));
      const shown = await harness.page.locator(".loss-view .token[data-loss]").evaluateAll((spans) => spans.map((span) => Number(span.getAttribute("data-loss"))));
      assert.equal(shown.length, tokens.length - 1, "every token after <|bos|> has a loss");
      shown.forEach((loss, index) => assert.ok(Math.abs(loss - losses[index]) < 1e-4, `token ${index + 1}: ${loss} vs ${losses[index]}`));
      const title = (await harness.page.locator('.loss-view .token[data-index="3"]').getAttribute("title")) ?? "";
      assert.match(title, /^#3 “.+”: loss \d+\.\d\d nats \(the model gave it \d+\.\d%\); its guesses here: “.+” \d+\.\d%, /);
    });

    it("reported progress through the stages, in order", async () => {
      const stages = (await harness.posted()).filter(isType("progress", id)).map((message) => message.stage);
      const order = ["loading-model", "building-graph", "creating-session", "running", "done"];
      const seen = order.filter((stage) => stages.includes(stage as never));
      assert.deepEqual(seen, order, `stages posted: ${stages.join(", ")}`);
      const firstIndex = order.map((stage) => stages.indexOf(stage as never));
      assert.deepEqual([...firstIndex].sort((a, b) => a - b), firstIndex);
    });

    it("loaded only the onnxruntime-web files the build copies", async () => {
      const { ORT_RUNTIME_FILES } = await loadBuildScript();
      const asked = [...new Set(harness.requests.filter((path) => path.startsWith("/dist/ort/")).map((path) => path.slice("/dist/ort/".length)))];
      assert.deepEqual(asked.sort(), [...ORT_RUNTIME_FILES].sort());
    });

    it("shows the header: model, backend, token count, truncation notice", async () => {
      const header = await harness.page.locator(".run-header").innerText();
      assert.match(header, /wasm/i);
      assert.match(header, new RegExp(`${tokens.length} tokens`));
      assert.match(header, new RegExp(`Kept ${tokens.length} of about 2,040 tokens`));
      assert.equal(await harness.page.locator(".run-header select").inputValue(), MODEL_ID);
    });

    it("draws the overview: a canvas for every layer x head (and a mean per layer)", async () => {
      assert.equal(await harness.page.locator('.overview button[data-head]:not([data-head="mean"]) canvas').count(), 3 * 8);
      assert.equal(await harness.page.locator('.overview button[data-head="mean"] canvas').count(), 3);
      const drawn = (selector: string) =>
        harness.page.evaluate((selector) => {
          const canvas = document.querySelector<HTMLCanvasElement>(selector)!;
          const pixels = canvas.getContext("2d")!.getImageData(0, 0, canvas.width, canvas.height).data;
          let opaque = 0;
          for (let index = 3; index < pixels.length; index += 4) if (pixels[index] === 255) opaque += 1;
          return { width: canvas.width, height: canvas.height, cssWidth: canvas.getBoundingClientRect().width, opaque };
        }, selector);
      // The head view: one pixel per cell; the lower triangle with the diagonal drawn, the future keys transparent.
      const head = await drawn(".head-view .map canvas");
      assert.deepEqual([head.width, head.height], [tokens.length, tokens.length]);
      assert.equal(head.opaque, (tokens.length * (tokens.length + 1)) / 2);
      // A thumbnail: max-pooled to about its size on screen.
      const thumbnail = await drawn('.overview button[data-layer="0"][data-head="0"] canvas');
      const block = Math.ceil(tokens.length / Math.ceil(thumbnail.cssWidth));
      assert.deepEqual([thumbnail.width, thumbnail.height], [Math.ceil(tokens.length / block), Math.ceil(tokens.length / block)]);
      assert.ok(thumbnail.opaque > 0);
    });

    it("groups the query heads under their 2 K/V heads", async () => {
      assert.equal(await harness.page.locator(".group-view [data-kv-head]").count(), 2);
      const members = await harness.page.locator('.group-view [data-kv-head="1"] .member').allInnerTexts();
      assert.deepEqual(members.map((text) => text.trim()), ["H4", "H5", "H6", "H7"]);
    });

    it("opens on the strongest previous-token head (computed in Node), names it, and keeps the overview one tab stop", async () => {
      assert.equal(opensOn.rule, "previous-token");
      assert.equal(await harness.page.locator(".first-head").getAttribute("data-first-head"), `${opensOn.layer}/${opensOn.head}`);
      assert.match(await harness.page.locator(".first-head").innerText(), /strongest previous-token head/);
      assert.match(await harness.page.locator(".head-view h2").innerText(), new RegExp(`Layer ${opensOn.layer} · head ${opensOn.head}\\b`));
      const stops = await harness.page.locator(".overview button[data-layer]").evaluateAll((buttons) => buttons.filter((button) => (button as HTMLElement).tabIndex >= 0).length);
      assert.equal(stops, 1, "one tab stop in the overview: the selected map");
      // Arrow keys move the selection and the focus; Enter takes the focus to the head map.
      await harness.page.locator(`.overview button[data-layer="${opensOn.layer}"][data-head="${opensOn.head}"]`).focus();
      await harness.page.keyboard.press("Home");
      await harness.page.keyboard.press("ArrowRight");
      const focused = () => harness.page.evaluate(() => [document.activeElement?.getAttribute("data-layer"), document.activeElement?.getAttribute("data-head")]);
      assert.deepEqual(await focused(), [String(opensOn.layer), "1"]);
      assert.match(await harness.page.locator(".head-view h2").innerText(), new RegExp(`Layer ${opensOn.layer} · head 1\\b`));
      await harness.page.keyboard.press("Enter");
      assert.equal(await harness.page.evaluate(() => document.activeElement?.classList.contains("map") && document.activeElement.closest(".head-view") !== null), true);
      assert.equal(await harness.page.locator(".first-head").count(), 0, "a head picked by the person: the first-head line goes");
    });

    it("hovering a cell posts tokenFocused with that query's row; clicking locks it", async () => {
      await harness.page.locator('.overview button[data-layer="0"][data-head="0"]').click(); // the head of the Node reference
      const row = Math.min(12, tokens.length - 1);
      const col = 3;
      const box = (await harness.page.locator(".head-view .map").boundingBox())!;
      const cell = box.width / tokens.length;
      const before = (await harness.posted()).length;
      await harness.page.mouse.move(box.x + (col + 0.5) * cell, box.y + (row + 0.5) * cell);
      const focused = await harness.waitForPosted(isType("tokenFocused", id), { after: before });
      assert.equal(focused.tokenIndex, row);
      assert.equal(focused.locked, false);
      assert.deepEqual(focused.selection, { layer: 0, head: 0 });
      focused.weights.forEach((weight, key) => assert.ok(Math.abs(weight - reference[row][key]) < 1e-4, `key ${key}`));
      assert.match(await harness.page.locator(".head-view .readout").innerText(), new RegExp(`query #${row}.*key #${col}`, "s"));

      const beforeClick = (await harness.posted()).length;
      await harness.page.mouse.click(box.x + (col + 0.5) * cell, box.y + (row + 0.5) * cell);
      const locked = await harness.waitForPosted(isType("tokenFocused", id), { after: beforeClick });
      assert.deepEqual([locked.tokenIndex, locked.locked], [row, true]);
      assert.equal(await harness.page.locator(`.token-view .token[data-index="${row}"].locked`).count(), 1);
    });

    it("the keyboard changes head (]) and layer (Shift+↓); the locked token's weights follow", async () => {
      await harness.page.locator(".head-view .map").focus();
      let before = (await harness.posted()).length;
      await harness.page.keyboard.press("]");
      const nextHead = await harness.waitForPosted(isType("tokenFocused", id), { after: before });
      assert.deepEqual(nextHead.selection, { layer: 0, head: 1 });
      assert.equal(nextHead.locked, true);
      before = (await harness.posted()).length;
      await harness.page.keyboard.press("Shift+ArrowDown");
      const nextLayer = await harness.waitForPosted(isType("tokenFocused", id), { after: before });
      assert.deepEqual(nextLayer.selection, { layer: 1, head: 1 });
      assert.match(await harness.page.locator(".head-view h2").innerText(), /Layer 1 · head 1/);
      const sum = nextLayer.weights.reduce((total, weight) => total + weight, 0);
      assert.ok(Math.abs(sum - 1) < 1e-4);
    });

    it("keeps the panel state for VS Code (model, text, selection, locked token)", async () => {
      const state = await harness.page.evaluate(() => window.vscodeStub.state);
      assert.deepEqual(state, {
        modelId: MODEL_ID,
        text: TEXT,
        source: "average.js:1-6",
        selection: { layer: 1, head: 1 },
        selectionChosen: true,
        lockedToken: Math.min(12, tokens.length - 1),
        mode: "attention",
        headMetricViews: { attention: DEFAULT_HEAD_METRIC_VIEW, compare: DEFAULT_HEAD_METRIC_VIEW },
      });
    });

    it("looks right (screenshots in the temporary folder)", async () => {
      await harness.page.keyboard.press("Escape");
      await harness.page.locator(".overview button[data-layer='0'][data-head='2']").click();
      const box = (await harness.page.locator(".head-view .map").boundingBox())!;
      const cell = box.width / tokens.length;
      await harness.page.mouse.move(box.x + 7.5 * cell, box.y + 20.5 * cell);
      const path = join(tmpdir(), "attention-lens-webview-dark.png");
      await harness.page.screenshot({ path, fullPage: true });
      console.log(`      screenshot: ${path}`);
      assert.deepEqual(harness.problems.filter((problem) => problem.startsWith("uncaught")), []);
    });
  });

  describe("maps within the memory budget", () => {
    it("maps kept as 8 bits per row when the host says so: the panel says it, and the layer on screen is exact, computed again when picked", async () => {
      const message = showAttention(descriptor(MODEL_ID, harness.origin), { mapPrecision: "uint8" });
      await harness.send(message);
      const computed = await runOf(harness, message.requestId);
      assert.equal(computed.mapPrecision, "uint8");
      // Layer 0 is on screen (picked in the tests before): computed again from its input, so exact, as in Node.
      (await headRows(harness, message.requestId, 0, 0)).forEach((row, query) => {
        row.forEach((weight, key) => assert.ok(Math.abs(weight - reference[query][key]) < 1e-4, `query ${query}, key ${key}: ${weight} vs ${reference[query][key]}`));
      });
      const notice = harness.page.locator(".run-header [data-map-precision='uint8']");
      await notice.waitFor({ state: "visible" });
      assert.match(await notice.innerText(), /Maps kept as 8 bits per row .* to fit the memory budget \(attentionLens\.memoryBudgetMB\)\.\s*Layer 0, on screen, is exact/);
      // Picking a head of layer 2 makes layer 2 the exact one.
      await harness.page.locator(".overview button[data-layer='2'][data-head='5']").click();
      await harness.page.locator(".run-header [data-exact-layer='2']").waitFor({ state: "visible" });
    });
  });

  describe("host messages and the model picker", () => {
    let id: number;

    before(async () => {
      const message = showAttention(descriptor(MODEL_ID, harness.origin));
      id = message.requestId;
      await harness.send(message);
      await runOf(harness, id);
    });

    it("focusToken (the editor's cursor) focuses that token and answers with its weights", async () => {
      const before = (await harness.posted()).length;
      await harness.send({ type: "focusToken", requestId: id, tokenIndex: 5 });
      const focused = await harness.waitForPosted(isType("tokenFocused", id), { after: before });
      assert.deepEqual([focused.tokenIndex, focused.locked], [5, false]);
      assert.equal(focused.weights.length, tokens.length);
      assert.equal(await harness.page.locator('.token-view .token[data-index="5"].query').count(), 1);
      // An old request's focus is ignored.
      await harness.send({ type: "focusToken", requestId: id - 1, tokenIndex: 2 });
      assert.equal(await harness.page.locator('.token-view .token[data-index="5"].query').count(), 1);
    });

    it("focusToken sent while the model runs applies to its result", async () => {
      const message = showAttention(descriptor(MODEL_ID, harness.origin));
      const before = (await harness.posted()).length;
      await harness.send(message);
      await harness.send({ type: "focusToken", requestId: message.requestId, tokenIndex: 7 });
      const focused = await harness.waitForPosted(isType("tokenFocused", message.requestId), { after: before });
      assert.equal(focused.tokenIndex, 7);
      // Announced once the run's maps are on screen: the weights are the result's row 7 (the run's
      // report follows once the text's losses are scored, with them).
      assert.equal(focused.weights.length, tokens.length);
      assert.ok(focused.weights.slice(8).every((weight) => weight === 0) && Math.abs(focused.weights.reduce((sum, weight) => sum + weight, 0) - 1) < 1e-4);
      const summary = await runOf(harness, message.requestId, { after: before });
      assert.ok(summary.meanLoss !== undefined, "the report carries the text's mean loss");
      id = message.requestId;
    });

    it("settingsChanged: a new colour scale redraws; a new backend runs again (WebGPU missing: wasm, and why)", async () => {
      await harness.send({ type: "settingsChanged", settings: { backend: "wasm", colorScale: "log" } });
      await harness.page.locator('.legend button[aria-checked="true"]', { hasText: "log" }).waitFor();
      const before = (await harness.posted()).length;
      await harness.send({ type: "settingsChanged", settings: { backend: "webgpu", colorScale: "log" } });
      const rerun = await runOf(harness, id, { after: before });
      assert.equal(rerun.backend, "wasm");
      assert.match(rerun.fallbackReason ?? "", /WebGPU is not available/);
      const header = await harness.page.locator(".run-header").innerText();
      assert.match(header, /Ran on wasm \(setting: webgpu\): WebGPU is not available/);
      let worst = 0;
      (await headRows(harness, id)).forEach((row, query) => row.forEach((weight, key) => (worst = Math.max(worst, Math.abs(weight - reference[query][key])))));
      assert.ok(worst < 1e-4);
      await harness.page.screenshot({ path: join(tmpdir(), "attention-lens-webview-fallback.png"), fullPage: true });
    });

    it("picking a model in the panel posts selectModel", async () => {
      const before = (await harness.posted()).length;
      await harness.page.locator(".run-header select").selectOption("attention-lens-mqa");
      const selected = await harness.waitForPosted(isType("selectModel"), { after: before });
      assert.equal(selected.modelId, "attention-lens-mqa");
    });

    it("cancel: a cancelled request is never answered", async () => {
      const message = showAttention(descriptor("attention-lens-mha", harness.origin));
      await harness.send(message);
      await harness.send({ type: "cancel", requestId: message.requestId });
      await new Promise((resolveWait) => setTimeout(resolveWait, 3000));
      const answered = (await harness.posted()).filter(
        (posted) => posted.type === "report" && posted.requestId === message.requestId,
      );
      assert.deepEqual(answered, []);
      assert.equal(await harness.page.locator(".status").count(), 0, "no progress line is left behind");
    });

    for (const theme of ["light", "high-contrast"] as const) {
      it(`renders in the ${theme} theme with its colours (screenshot)`, async () => {
        await harness.open(theme);
        const message = showAttention(descriptor(MODEL_ID, harness.origin));
        await harness.send(message);
        await runOf(harness, message.requestId);
        const background = await harness.page.evaluate(() => getComputedStyle(document.body).backgroundColor);
        assert.equal(background, theme === "light" ? "rgb(255, 255, 255)" : "rgb(0, 0, 0)");
        await harness.page.locator(".head-view .map").focus();
        await harness.page.keyboard.press("ArrowUp");
        const outline = await harness.page.evaluate(() => getComputedStyle(document.querySelector(".head-view .map")!).outlineStyle);
        assert.notEqual(outline, "none", "the focused heatmap shows a focus outline");
        await harness.page.screenshot({ path: join(tmpdir(), `attention-lens-webview-${theme}.png`), fullPage: true });
      });
    }
  });

  describe("WebGPU on a software adapter (SwiftShader)", () => {
    let gpuHarness: WebviewHarness;
    before(async () => {
      gpuHarness = await startWebviewHarness({ theme: "dark", webgpu: true });
    });
    after(async () => gpuHarness?.close());

    function gpuRequest(backend: "auto" | "webgpu") {
      const message = showAttention(descriptor(MODEL_ID, gpuHarness.origin));
      return { ...message, settings: { ...message.settings, backend }, wasmPaths: `${gpuHarness.origin}/dist/ort/` };
    }

    it('"auto" does not use a software adapter: wasm, and the reason', async () => {
      const message = gpuRequest("auto");
      await gpuHarness.send(message);
      const computed = await runOf(gpuHarness, message.requestId);
      assert.equal(computed.backend, "wasm");
      assert.match(computed.fallbackReason ?? "", /software fallback/);
    });

    it('"webgpu" runs on it (the bundle\'s WebGPU build from dist/ort) and matches Node within 1e-4', async () => {
      const message = gpuRequest("webgpu");
      await gpuHarness.send(message);
      const computed = await runOf(gpuHarness, message.requestId, { timeout: 170_000 });
      assert.equal(computed.backend, "webgpu", computed.fallbackReason);
      let worst = 0;
      (await headRows(gpuHarness, message.requestId)).forEach((row, query) => row.forEach((weight, key) => (worst = Math.max(worst, Math.abs(weight - reference[query][key])))));
      assert.ok(worst < 1e-4, `max |webgpu - node| = ${worst}`);
      assert.match(await gpuHarness.page.locator(".run-header .backend").innerText(), /webgpu/i);
    });
  });

  describe("errors the person can cause or meet", () => {
    before(() => harness.open("dark"));

    it("a corrupt model.safetensors: an error in the panel and {type: error} to the host", async () => {
      const bytes = new Uint8Array(readFileSync(join(MODEL_DIRECTORY, "model.safetensors")));
      const corrupt = bytes.slice(0, 5000); // the header promises far more bytes than follow
      const model = descriptor("attention-lens-corrupt", harness.origin, {
        configUri: `${harness.origin}/models/${MODEL_ID}/config.json`,
        weightsUri: harness.serveBytes("/blobs/corrupt/model.safetensors", corrupt),
      });
      const message = showAttention(model);
      await harness.send(message);
      const error = { message: await failureOf(harness, message.requestId) };
      assert.match(error.message, /attention-lens-corrupt\/model\.safetensors/);
      assert.match(error.message, /reinstall/i);
      const shown = await harness.page.locator(".error[role=alert]").innerText();
      assert.ok(shown.includes(error.message), `the panel shows: ${shown}`);
      await harness.page.screenshot({ path: join(tmpdir(), "attention-lens-webview-error.png"), fullPage: true });
    });

    it("a missing file: says which and that it was not found", async () => {
      const model = descriptor("attention-lens-missing", harness.origin, {
        weightsUri: `${harness.origin}/models/attention-lens-missing/model.safetensors`,
        configUri: `${harness.origin}/models/${MODEL_ID}/config.json`,
      });
      const message = showAttention(model);
      await harness.send(message);
      const error = { message: await failureOf(harness, message.requestId) };
      assert.match(error.message, /attention-lens-missing\/model\.safetensors was not found \(HTTP 404/);
    });

    it("a later request supersedes an earlier one: only the later one is answered (two models load at once)", async () => {
      const first = showAttention(descriptor("attention-lens-mqa", harness.origin));
      const second = showAttention(descriptor(MODEL_ID, harness.origin));
      await harness.send(first);
      await harness.send(second);
      const computed = await runOf(harness, second.requestId);
      assert.equal(computed.modelId, MODEL_ID);
      await new Promise((resolveWait) => setTimeout(resolveWait, 1500)); // let the first finish loading
      const late = (await harness.posted()).filter((posted) => posted.type === "report" && posted.requestId === first.requestId);
      assert.deepEqual(late, []);
      assert.equal(await harness.page.locator(".error[role=alert]").count(), 0);
    });
  });

  describe("compare mode: heads paired by index or by best match", () => {
    let id: number;
    let byIndex: ComparisonSummary;
    /** The comparison report posted after the first `after` messages. */
    const comparison = async (after = 0) => (await harness.waitForPosted(isReport("comparison", id), { after })).report.summary;
    const radio = (alignment: string) => harness.page.locator(`.compare [role=radio][data-alignment="${alignment}"]`);

    before(async () => {
      await harness.open("dark");
      const message = showAttention(descriptor(MODEL_ID, harness.origin), {
        mode: "compare",
        compareWith: "attention-lens-mha",
        comparableModels: ["attention-lens-mha", "attention-lens-gqa", "attention-lens-mqa"],
      });
      id = message.requestId;
      await harness.send(message);
      byIndex = await comparison();
    });

    it("by index at first: the report says so and pairs every head with its own index; best match is never worse", async () => {
      assert.deepEqual(byIndex.models.map((model) => model.modelId), [MODEL_ID, "attention-lens-mha"]);
      assert.equal(byIndex.headAlignment, "index");
      byIndex.meanDifferenceByLayer.forEach((mean, layer) => assert.ok(Math.abs(mean - byIndex.meanDifferenceByIndex[layer]) < 1e-6, `layer ${layer}: the mean shown is by index`));
      byIndex.headPairs.forEach((pairs, layer) => {
        assert.deepEqual(pairs.map((pair) => [pair.headA, pair.headB]), Array.from({ length: 8 }, (_, head) => [head, head]), `layer ${layer}`);
        assert.ok(byIndex.meanDifferenceByBestMatch[layer] <= byIndex.meanDifferenceByIndex[layer] + 1e-9, `layer ${layer}`);
      });
      assert.equal(await radio("index").getAttribute("aria-checked"), "true");
      assert.match(await harness.page.locator(".compare .overview .shown").innerText(), /^Shown: A head h ↔ B head h\./);
      assert.equal(await harness.page.locator(".compare .head-pairs").count(), 0, "no list of pairs by index");
    });

    it("“by best match” redraws from the same runs: the report, the listed pairs, the table and the selected pair say “A head i ↔ B head j”", async () => {
      const before = (await harness.posted()).length;
      await radio("bestMatch").click();
      const best = await comparison(before);
      assert.equal(best.headAlignment, "bestMatch");
      assert.deepEqual(best.meanDifferenceByIndex, byIndex.meanDifferenceByIndex, "the same runs");
      best.headPairs.forEach((pairs, layer) => {
        assert.deepEqual(pairs.map((pair) => pair.headA), [0, 1, 2, 3, 4, 5, 6, 7], `layer ${layer}: every head of A in order`);
        assert.deepEqual(pairs.map((pair) => pair.headB).sort(), [0, 1, 2, 3, 4, 5, 6, 7], `layer ${layer}: each head of B once`);
        const mean = pairs.reduce((sum, pair) => sum + pair.meanDifference, 0) / pairs.length;
        assert.ok(Math.abs(mean - best.meanDifferenceByBestMatch[layer]) < 1e-6, `layer ${layer}: ${mean} vs ${best.meanDifferenceByBestMatch[layer]}`);
        assert.ok(Math.abs(best.meanDifferenceByLayer[layer] - best.meanDifferenceByBestMatch[layer]) < 1e-6, `layer ${layer}: the mean shown is by best match`);
      });
      assert.equal((await harness.posted()).slice(before).filter((message) => message.type === "progress").length, 0, "no model ran again");
      assert.equal(await radio("bestMatch").getAttribute("aria-checked"), "true");

      // The pairs, listed per layer as the report has them.
      for (const [layer, pairs] of best.headPairs.entries()) {
        const listed = await harness.page
          .locator(`.compare .head-pairs li[data-layer="${layer}"] button`)
          .evaluateAll((buttons) => buttons.map((button) => [Number(button.getAttribute("data-head-a")), Number(button.getAttribute("data-head-b")), button.getAttribute("aria-label")]));
        assert.deepEqual(
          listed.map(([headA, headB]) => [headA, headB]),
          pairs.map((pair) => [pair.headA, pair.headB]),
          `layer ${layer}`,
        );
        const label = /^A head 0 ↔ B head (\d), mean \|A − B\| (\d\.\d{4})$/.exec(String(listed[0][2]));
        assert.ok(label && Number(label[1]) === pairs[0].headB && Math.abs(Number(label[2]) - pairs[0].meanDifference) < 2e-4, `layer ${layer}: ${listed[0][2]}`);
      }
      assert.match(await harness.page.locator('.compare .head-pairs li[data-layer="0"]').innerText(), /^layer 0:\s+A0↔B\d \d\.\d{3}/);
      // The overview's columns are A's heads, each thumbnail marked with its partner in B.
      const partner = best.headPairs[2][5].headB;
      const thumb = harness.page.locator('.compare .overview button[data-layer="2"][data-head="5"]');
      assert.equal(await thumb.getAttribute("data-head-b"), String(partner));
      assert.match((await thumb.getAttribute("title")) ?? "", new RegExp(`^Layer 2, A head 5 ↔ B head ${partner}: mean \\|A − B\\| `));
      // The table: both means per layer, the one shown marked.
      assert.equal(await harness.page.locator(".compare .layers th.shown").getAttribute("data-alignment"), "bestMatch");
      const shownMeans = await harness.page.locator('.compare .layers tbody td[data-alignment="bestMatch"]').allInnerTexts();
      assert.deepEqual(shownMeans.map((text) => text.trim()), best.meanDifferenceByBestMatch.map((mean) => mean.toFixed(4)));

      // A pair clicked in the list is shown large, each map labelled with its own head.
      const pair = best.headPairs[1][2];
      await harness.page.locator('.compare .head-pairs li[data-layer="1"] button[data-head-a="2"]').click();
      await harness.page.locator(".compare .pair h2", { hasText: `L1 · A head 2 ↔ B head ${pair.headB}` }).waitFor();
      assert.equal(await harness.page.locator('.compare .pair figure[data-side="B"]').getAttribute("data-head"), String(pair.headB));
      assert.equal(await harness.page.locator('.compare .pair figure[data-side="A"]').getAttribute("data-head"), "2");

      const state = (await harness.page.evaluate(() => window.vscodeStub.state)) as { headAlignment?: string; mode?: string };
      assert.equal(state.headAlignment, "bestMatch", "kept in the panel state");
      await harness.page.screenshot({ path: join(tmpdir(), "attention-lens-webview-compare-best-match.png"), fullPage: true });
    });

    it("back to “by index”: the report again, and the state forgets the choice", async () => {
      const before = (await harness.posted()).length;
      await radio("index").click();
      const again = await comparison(before);
      assert.equal(again.headAlignment, "index");
      assert.deepEqual(again.meanDifferenceByLayer, byIndex.meanDifferenceByLayer);
      assert.equal(await harness.page.locator(".compare .head-pairs").count(), 0);
      assert.match(await harness.page.locator(".compare .pair h2").innerText(), /^L1 H2\b/);
      const state = (await harness.page.evaluate(() => window.vscodeStub.state)) as { headAlignment?: string };
      assert.equal(state.headAlignment, undefined);
      assert.deepEqual(harness.problems.filter((problem) => problem.startsWith("uncaught")), []);
    });
  });

  describe("compare mode: the model converted to fewer key/value heads in the panel", () => {
    it("model B “A → GQA, mean-pooled” runs the MHA model's own files grouped: a quarter of the cache, its losses, and the note on uptraining", async () => {
      await harness.open("dark");
      const message = showAttention(descriptor("attention-lens-mha", harness.origin), {
        mode: "compare",
        compareWith: "attention-lens-mha::kv2-mean",
        comparableModels: ["attention-lens-mha", "attention-lens-gqa", "attention-lens-mqa"],
      });
      await harness.send(message);
      const summary = (await harness.waitForPosted(isReport("comparison", message.requestId))).report.summary;
      assert.deepEqual(summary.models.map((model) => model.modelId), ["attention-lens-mha", "attention-lens-mha::kv2-mean"]);
      assert.deepEqual(summary.models.map((model) => model.keyValueHeads), [8, 2]);
      assert.equal(summary.kvBytesRatio, 0.25);
      const [a, b] = summary.models.map((model) => model.meanLoss!);
      assert.ok(b > a, `the converted model, untrained, knows the text worse: A ${a}, B ${b}`);

      // The picker lists A's conversions under their own heading, the one shown selected.
      const options = await harness.page.locator('.compare select[aria-label="Model B"] optgroup option').allInnerTexts();
      assert.deepEqual(options.slice(0, 2), ["A → GQA (4 key/value groups), mean-pooled", "A → GQA (4 key/value groups), first head of each group"]);
      assert.equal(options.length, 6);
      assert.equal(await harness.page.locator('.compare select[aria-label="Model B"]').inputValue(), "attention-lens-mha::kv2-mean");
      // The loss table and the note: the same numbers as the report.
      const shownLosses = await harness.page.locator(".compare .loss td.loss").allInnerTexts();
      assert.deepEqual(shownLosses, [a.toFixed(3), b.toFixed(3)]);
      const note = await harness.page.locator(".compare .loss .conversion").innerText();
      assert.match(note, /B is A with its 8 key\/value heads grouped into 2 \(GQA \(2 key\/value groups\), mean-pooled\), without any training\. Query head h keeps its index/);
      assert.match(note, /The KV cache is 4× smaller/);

      // Another conversion from the picker: the first head of each group, into one.
      const before = (await harness.posted()).length;
      await harness.page.locator('.compare select[aria-label="Model B"]').selectOption("attention-lens-mha::kv1-first");
      const single = (await harness.waitForPosted(isReport("comparison", message.requestId), { after: before })).report.summary;
      assert.equal(single.models[1].modelId, "attention-lens-mha::kv1-first");
      assert.equal(single.kvBytesRatio, 0.125);
      assert.notEqual(single.models[1].meanLoss, b);
      assert.equal(((await harness.page.evaluate(() => window.vscodeStub.state)) as { compareWith?: string }).compareWith, "attention-lens-mha::kv1-first");
      assert.deepEqual(harness.problems.filter((problem) => problem.startsWith("uncaught")), []);
      await harness.page.screenshot({ path: join(tmpdir(), "attention-lens-webview-compare-converted.png"), fullPage: true });
    });
  });

  describe("compare mode: a model B too large beside A for the memory budget (the host's modelBMemory)", () => {
    const TOO_LARGE = "Too large for the panel with model B: (the host's plan, for this test).";
    const modelBMemory = [
      { modelId: "attention-lens-mha", fits: false, reason: TOO_LARGE },
      { modelId: "attention-lens-mqa", fits: true, reason: "Fits with model B: (the host's plan)." },
      { modelId: `${MODEL_ID}::kv1-mean`, fits: false, reason: TOO_LARGE },
    ];
    const picker = () => harness.page.locator('.compare select[aria-label="Model B"]');

    it("the picker marks it and disables it, the default B is one that fits, and a B chosen anyway fails with the host's reason", async () => {
      await harness.open("dark");
      const message = showAttention(descriptor(MODEL_ID, harness.origin), {
        mode: "compare",
        comparableModels: ["attention-lens-mha", "attention-lens-gqa", "attention-lens-mqa"],
        modelBMemory,
      });
      await harness.send(message);
      // By default B would be MHA (A is not MHA); it does not fit, so the default is MQA.
      const summary = (await harness.waitForPosted(isReport("comparison", message.requestId))).report.summary;
      assert.deepEqual(summary.models.map((model) => model.modelId), [MODEL_ID, "attention-lens-mqa"]);
      const mha = picker().locator('option[value="attention-lens-mha"]');
      assert.equal(await mha.innerText(), "MHA (8 query heads, 8 key/value heads) — too large with A for the memory budget");
      assert.equal(await mha.isDisabled(), true);
      assert.equal(await mha.getAttribute("title"), TOO_LARGE);
      const converted = picker().locator(`option[value="${MODEL_ID}::kv1-mean"]`);
      assert.match(await converted.innerText(), /^A → MQA \(1 key\/value head\), mean-pooled — too large with A for the memory budget$/);
      assert.equal(await converted.isDisabled(), true);
      assert.equal(await picker().locator('option[value="attention-lens-mqa"]').isDisabled(), false);
      assert.equal(await picker().inputValue(), "attention-lens-mqa");

      // A B chosen anyway (a request naming it, a restored panel): nothing runs, the reason is the error.
      const chosen = showAttention(descriptor(MODEL_ID, harness.origin), {
        mode: "compare",
        compareWith: "attention-lens-mha",
        comparableModels: ["attention-lens-mha", "attention-lens-gqa", "attention-lens-mqa"],
        modelBMemory,
      });
      await harness.send(chosen);
      const failed = (await harness.waitForPosted(isReport("failed", chosen.requestId))).report;
      assert.equal(failed.of, "comparison");
      assert.equal(failed.message, `MHA (8 query heads, 8 key/value heads): ${TOO_LARGE}`);
      assert.match(await harness.page.locator(".compare .error[role=alert]").innerText(), /too large|Too large/);
      assert.deepEqual(harness.problems.filter((problem) => problem.startsWith("uncaught")), []);
    });
  });

  describe("weightings: attention, value-weighted, rollout", () => {
    let id: number;
    let expected: { valueWeighted: Tensor[]; rollout: Tensor[] };
    const radio = (weighting: string) => harness.page.locator(`.weighting-control [role=radio][data-weighting="${weighting}"]`);
    const savedWeighting = async () => ((await harness.page.evaluate(() => window.vscodeStub.state)) as { attentionWeighting?: string }).attentionWeighting;
    /** The map the head view draws now, through the test hook. */
    async function shownMap() {
      const before = (await harness.posted()).length;
      await harness.send({ type: "observe", requestId: id, request: { what: "shownMap" } });
      const { observation } = await harness.waitForPosted(isType("observed", id), { after: before });
      assert.ok(observation.what === "shownMap" && "rows" in observation, JSON.stringify(observation));
      return observation;
    }
    /** The largest |rows - (T, T) map| over the causal cells, and 0 expected in the future ones. */
    function worstDifference(rows: number[][], map: Float32Array): number {
      const tokens = rows.length;
      let worst = 0;
      rows.forEach((row, query) => row.forEach((value, key) => (worst = Math.max(worst, Math.abs(value - (key <= query ? map[query * tokens + key] : 0))))));
      return worst;
    }

    before(async () => {
      expected = await weightingReference(tokens.map((token) => token.id));
      await harness.open("dark");
      const message = showAttention(descriptor(MODEL_ID, harness.origin));
      id = message.requestId;
      await harness.send(message);
      await runOf(harness, id);
      await harness.page.locator('.overview button[data-layer="1"][data-head="5"]').click();
      assert.equal(await radio("attention").getAttribute("aria-checked"), "true", "the attention weights first");
      assert.equal(await harness.page.locator(".weighting-control [role=radio][tabindex='0']").count(), 1, "one tab stop");
    });

    it("value-weighted: the views say so, and the map is Node's a·‖W_O^h v‖ (raw, and each row's shares), without running again", async () => {
      const before = (await harness.posted()).length;
      await radio("value-weighted").click();
      await harness.page.locator(".head-view h2", { hasText: "Layer 1 · head 5 · value-weighted ‖a·vW_O‖" }).waitFor();
      assert.equal(await radio("value-weighted").getAttribute("aria-checked"), "true");
      const observed = await shownMap();
      assert.ok(observed.what === "shownMap" && "rows" in observed && observed.raw);
      assert.equal(observed.weighting, "value-weighted");
      assert.deepEqual(observed.selection, { layer: 1, head: 5 });
      const tokenCount = tokens.length;
      const raw = expected.valueWeighted[1].data.subarray(5 * tokenCount * tokenCount, 6 * tokenCount * tokenCount); // (T, T) of head 5
      const rawWorst = worstDifference(observed.raw, raw);
      assert.ok(rawWorst < 1e-4, `max |page - node| of ‖a·vW_O‖ = ${rawWorst}`);
      const shares = raw.map((value, index) => {
        const row = Math.floor(index / tokenCount);
        const sum = raw.subarray(row * tokenCount, (row + 1) * tokenCount).reduce((total, cell) => total + cell, 0);
        return value / sum;
      });
      const sharesWorst = worstDifference(observed.rows, shares);
      assert.ok(sharesWorst < 1e-4, `max |page - node| of the shares = ${sharesWorst}`);
      // Labelled everywhere it draws: the overview's maps, the token view's caption, the legend.
      assert.equal(await harness.page.locator('.overview button[data-head]:not([data-head="mean"]) canvas').count(), 3 * 8);
      assert.match((await harness.page.locator('.overview button[data-layer="0"][data-head="2"]').getAttribute("title")) ?? "", /value-weighted ‖a·vW_O‖/);
      assert.match(await harness.page.locator(".token-view .caption").innerText(), /^value-weighted attention ‖a·vW_O‖ \(row shares\) from #/);
      assert.match(await harness.page.locator(".head-view .legend-note").innerText(), /shares of the row's sum/);
      assert.equal(await harness.page.locator('.token-view[data-weighting="value-weighted"]').count(), 1);
      assert.equal(await savedWeighting(), "value-weighted", "kept in the panel state");
      assert.deepEqual((await harness.posted()).slice(before).filter((message) => message.type === "progress"), [], "nothing ran again");
      await harness.page.screenshot({ path: join(tmpdir(), "attention-lens-webview-value-weighted.png"), fullPage: true });
    });

    it("rollout from the keyboard (→ in the control): one map per layer, the head view names the layers, the map is Node's", async () => {
      await radio("value-weighted").focus();
      await harness.page.keyboard.press("ArrowRight");
      await harness.page.locator(".head-view h2", { hasText: "Rollout through layers 0..1 · all heads averaged" }).waitFor();
      assert.equal(await radio("rollout").getAttribute("aria-checked"), "true");
      assert.equal(await harness.page.evaluate(() => document.activeElement?.getAttribute("data-weighting")), "rollout", "the focus follows the choice");
      assert.equal(await harness.page.locator(".overview .rollout-overview button[data-rollout-layer] canvas").count(), 3, "one map per layer");
      assert.equal(await harness.page.locator(".overview button[data-head]").count(), 0, "no per-head maps");
      let observed = await shownMap();
      assert.ok(observed.what === "shownMap" && "rows" in observed);
      assert.equal(observed.weighting, "rollout");
      assert.equal(observed.raw, undefined);
      let worst = worstDifference(observed.rows, expected.rollout[1].data);
      assert.ok(worst < 1e-4, `layer 1: max |page - node| = ${worst}`);
      observed.rows.forEach((row, query) => assert.ok(Math.abs(row.reduce((sum, value) => sum + value, 0) - 1) < 1e-4, `row ${query} sums to 1`));
      // ↓ in the rollout overview: layer 2, chained through every layer.
      await harness.page.locator('.rollout-overview button[data-rollout-layer="1"]').focus();
      await harness.page.keyboard.press("ArrowDown");
      await harness.page.locator(".head-view h2", { hasText: "Rollout through layers 0..2" }).waitFor();
      observed = await shownMap();
      assert.ok(observed.what === "shownMap" && "rows" in observed);
      worst = worstDifference(observed.rows, expected.rollout[2].data);
      assert.ok(worst < 1e-4, `layer 2: max |page - node| = ${worst}`);
      assert.match(await harness.page.locator(".token-view .caption").innerText(), /^rollout from #\d+ .* through layers 0\.\.2 \(all heads\)/s);
      assert.equal(await savedWeighting(), "rollout");
      await harness.page.screenshot({ path: join(tmpdir(), "attention-lens-webview-rollout.png"), fullPage: true });
    });

    it("back to the attention weights (Home): the head's weights again, and the state forgets the choice", async () => {
      await radio("rollout").focus();
      await harness.page.keyboard.press("Home");
      await harness.page.locator(".head-view h2", { hasText: /^Layer 2 · head 5$/ }).waitFor();
      const observed = await shownMap();
      assert.ok(observed.what === "shownMap" && "rows" in observed);
      assert.equal(observed.weighting, "attention");
      assert.deepEqual(observed.rows, await headRows(harness, id, 2, 5));
      assert.equal(await savedWeighting(), undefined);
      assert.equal(await harness.page.locator('.overview button[data-head]:not([data-head="mean"]) canvas').count(), 3 * 8);
      assert.deepEqual(harness.problems.filter((problem) => problem.startsWith("uncaught")), []);
    });
  });

  // A suite of its own, so that it runs after the others (mocha runs a suite's own tests before its child suites), which expect the first load.
  describe("while a run goes on", () => {
    it("its layers fill in: the first layer's mean map is on screen before the last layer is done, and leaves with the run", async () => {
      // Record every preview the page puts on screen, however briefly (the bundled model's layers take milliseconds).
      await harness.page.evaluate(() => {
        const seen: { caption: string; canvas: boolean; busy: string | null }[] = [];
        (window as unknown as { previewsSeen: typeof seen }).previewsSeen = seen;
        new MutationObserver(() => {
          const preview = document.querySelector(".layer-preview");
          const caption = preview?.querySelector(".caption")?.textContent ?? "";
          if (preview && !seen.some((entry) => entry.caption === caption)) {
            seen.push({ caption, canvas: preview.querySelector("canvas") !== null, busy: document.querySelector("main.lens")?.getAttribute("aria-busy") ?? null });
          }
        }).observe(document.body, { childList: true, subtree: true, characterData: true });
      });
      const message = showAttention(descriptor(MODEL_ID, harness.origin));
      await harness.send(message);
      const summary = await runOf(harness, message.requestId);
      const seen = await harness.page.evaluate(() => (window as unknown as { previewsSeen: { caption: string; canvas: boolean; busy: string | null }[] }).previewsSeen);
      assert.ok(seen.length >= 1, "a preview was shown");
      assert.match(seen[0].caption, new RegExp(`^Layer 1 of ${summary.layers}, the mean over its ${summary.heads} heads`));
      assert.ok(seen[0].canvas, "with its heatmap");
      assert.equal(seen[0].busy, "true", "while the page is busy with the run");
      assert.equal(await harness.page.locator(".layer-preview").count(), 0, "gone once the run is shown");
    });
  });
});

/**
 * The value-weighted maps (L x (nh, T, T)) and the rollout (L x (T, T)) of the GQA model on `ids`,
 * in Node: the layer-by-layer runtime on onnxruntime-web (wasm), as the page runs it, and the
 * attention library's formulas.
 */
async function weightingReference(ids: number[]): Promise<{ valueWeighted: Tensor[]; rollout: Tensor[] }> {
  const config = parseModelConfig(JSON.parse(readFileSync(join(MODEL_DIRECTORY, "config.json"), "utf8")));
  const weights = decoderWeightsFromTensors(config, readSafetensors(new Uint8Array(readFileSync(join(MODEL_DIRECTORY, "model.safetensors")))).tensors);
  const decoder = await LayeredDecoder.create(config, weights, { choice: "wasm" });
  const maps: Tensor[] = [];
  const values: Tensor[] = [];
  try {
    await decoder.compute([ids], {
      logits: "none",
      onAttention: (_layer, map) => maps.push(map.reshape(map.shape.slice(1))), // (nh, T, T)
      onValues: (_layer, layerValues) => values.push(layerValues.reshape(layerValues.shape.slice(1))), // (nkv, T, hs)
    });
  } finally {
    await decoder.dispose();
  }
  return {
    valueWeighted: maps.map((map, layer) => valueWeightedAttention(map, valueVectorNorms(values[layer], float32Of(weights.layers[layer].attention.output), config.numAttentionHeads))),
    rollout: attentionRollout(maps),
  };
}
