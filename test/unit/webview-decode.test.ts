/**
 * Decode mode of the built webview in headless Chromium (test/browser/webview), with the real
 * bundled models. The test plays the host: it sends showAttention in decode mode and decodeControl
 * messages, and checks what the page reports (decoding steps, stops; the cache through the test hook) against a Node run of
 * the same model (onnxruntime-web wasm, full recomputes without a cache) and what it draws.
 *
 * Screenshots go to the system's temporary folder (attention-lens-decode-*.png), never the repo.
 */

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseModelConfig } from "../../src/model/config";
import { readSafetensors } from "../../src/model/safetensors";
import { TextTokenizer } from "../../src/model/tokenizer";
import { decoderWeightsFromTensors } from "../../src/model/weights";
import type { DecodeAction, DecodeStepSummary, ModelDescriptor, TokenInfo, WebviewToHostMessage } from "../../src/protocol";
import { OnnxDecoder } from "../../src/runtime/onnx-decoder";
import { CHROMIUM_PATH, chromiumIsInstalled, MODELS_DIRECTORY, startWebviewHarness, type WebviewHarness } from "../browser/webview/webview-harness";

const TEXT = "/**\n * Scaled dot-product attention: each query";
const tokenizer = TextTokenizer.fromJson(readFileSync(join(MODELS_DIRECTORY, "attention-lens-gqa", "tokenizer.json"), "utf8"));

/** A decoding step as reported, with what the test hook reads of its cache. */
type Step = DecodeStepSummary & { cacheHash: string; attentionRows: number[][][] };
type StepMessage = { type: "report"; requestId: number; report: { kind: "decodeStep"; step: DecodeStepSummary } };
type StoppedMessage = { type: "report"; requestId: number; report: { kind: "decodeStopped"; message: string } };
const isStep =
  (requestId: number, index?: number) =>
  (message: WebviewToHostMessage): message is StepMessage =>
    message.type === "report" && message.requestId === requestId && message.report.kind === "decodeStep" && (index === undefined || message.report.step.index === index);
const isStopped =
  (requestId: number) =>
  (message: WebviewToHostMessage): message is StoppedMessage =>
    message.type === "report" && message.requestId === requestId && message.report.kind === "decodeStopped";

function descriptor(id: string, origin: string): ModelDescriptor {
  const keyValueHeads = { "attention-lens-mha": 8, "attention-lens-gqa": 2, "attention-lens-mqa": 1 }[id] ?? 2;
  return {
    id,
    label: `${id} (8 query heads, ${keyValueHeads} key/value heads)`,
    configUri: `${origin}/models/${id}/config.json`,
    weightsUri: `${origin}/models/${id}/model.safetensors`,
    tokenizerUri: `${origin}/models/${id}/tokenizer.json`,
    numLayers: 3,
    numHeads: 8,
    numKeyValueHeads: keyValueHeads,
    maxTokens: 512,
  };
}

function tokensOf(ids: number[]): TokenInfo[] {
  return ids.map((id) => ({ id, text: tokenizer.tokenText(id), start: 0, end: 0 }));
}

/** Greedy decoding in Node by full recomputes: the generated ids and, per step, every layer's last query row. */
async function recomputeInNode(id: string, prompt: number[], steps: number) {
  const folder = join(MODELS_DIRECTORY, id);
  const config = parseModelConfig(JSON.parse(readFileSync(join(folder, "config.json"), "utf8")));
  const weights = decoderWeightsFromTensors(config, readSafetensors(new Uint8Array(readFileSync(join(folder, "model.safetensors")))).tensors);
  const decoder = await OnnxDecoder.create(config, weights, { choice: "wasm" });
  try {
    const ids = [...prompt];
    const rows: number[][][][] = [];
    let logits = (await decoder.compute([ids])).logits.data;
    for (let step = 0; step < steps; step++) {
      const last = logits.subarray(logits.length - config.vocabSize);
      let best = 0;
      for (let token = 1; token < last.length; token++) if (last[token] > last[best]) best = token;
      ids.push(best);
      const full = await decoder.compute([ids]);
      logits = full.logits.data;
      const length = ids.length;
      rows.push(
        full.attentions.map((weights) =>
          Array.from({ length: config.numAttentionHeads }, (_, head) => {
            const from = (head * length + length - 1) * length;
            return Array.from(weights.data.subarray(from, from + length));
          }),
        ),
      );
    }
    return { generated: ids.slice(prompt.length), rows };
  } finally {
    await decoder.dispose();
  }
}

function maxDifference(a: number[][][], b: number[][][]): number {
  let worst = 0;
  a.forEach((layer, l) => layer.forEach((row, h) => row.forEach((value, k) => (worst = Math.max(worst, Math.abs(value - b[l][h][k]))))));
  return worst;
}

describe("decode mode in the webview (Chromium, built bundle, real models)", function () {
  this.timeout(240_000);
  let harness: WebviewHarness;
  let requestId = 100;
  const prompt = tokenizer.encode(TEXT, { addBos: true }).ids;

  before(async function () {
    if (!chromiumIsInstalled()) {
      const message = `no Chromium at ${CHROMIUM_PATH}: install it with "apt-get update && apt-get install -y chromium"`;
      if (process.env.CI) throw new Error(`the browser tests need Chromium, and CI is set: ${message}`);
      console.log(`    skipping the decode page tests: ${message}`);
      this.skip();
    }
    harness = await startWebviewHarness({ theme: "dark", width: 1100, height: 1400 });
  });
  after(async () => harness?.close());

  /** The reported step with its cache's hash and newest rows, read through the test hook. */
  async function withCache(requestId: number, message: StepMessage): Promise<Step> {
    const after = (await harness.posted()).length;
    await harness.send({ type: "observe", requestId, request: { what: "decodeState" } });
    const observed = await harness.waitForPosted(
      (posted): posted is Extract<WebviewToHostMessage, { type: "observed" }> => posted.type === "observed" && posted.requestId === requestId,
      { after },
    );
    const { observation } = observed;
    assert.ok(observation.what === "decodeState" && "cacheHash" in observation, JSON.stringify(observation));
    return { ...message.report.step, cacheHash: observation.cacheHash, attentionRows: observation.attentionRows };
  }

  async function openDecode(id: string, ids: number[]): Promise<{ requestId: number; prefill: Step }> {
    requestId += 1;
    const after = (await harness.posted()).length;
    await harness.send({
      type: "showAttention",
      requestId,
      model: descriptor(id, harness.origin),
      models: ["attention-lens-mha", "attention-lens-gqa", "attention-lens-mqa"].map((model) => descriptor(model, harness.origin)),
      text: TEXT,
      source: "prompt.ts:1-2",
      tokens: tokensOf(ids),
      settings: { backend: "wasm", colorScale: "linear" },
      wasmPaths: `${harness.origin}/dist/ort/`,
      mode: "decode",
    });
    return { requestId, prefill: await withCache(requestId, await harness.waitForPosted(isStep(requestId, 0), { after })) };
  }

  async function control(id: number, action: DecodeAction): Promise<Step> {
    const after = (await harness.posted()).length;
    await harness.send({ type: "decodeControl", requestId: id, action });
    return withCache(id, await harness.waitForPosted(isStep(id), { after }));
  }

  it("five steps give the tokens and attention rows of five full recomputes in Node; the cache bytes follow the formula", async () => {
    const { requestId: id, prefill } = await openDecode("attention-lens-gqa", prompt);
    assert.equal(prefill.cacheLength, prompt.length);
    assert.deepEqual(prefill.promptIds, prompt);
    const expected = await recomputeInNode("attention-lens-gqa", prompt, 5);
    const steps: Step[] = [];
    for (let index = 0; index < 5; index++) steps.push(await control(id, "step"));
    steps.forEach((step, index) => {
      assert.equal(step.index, index + 1);
      assert.deepEqual(step.generatedIds, expected.generated.slice(0, index + 1), `tokens after step ${index + 1}`);
      assert.equal(step.cacheBytes, 2 * 3 * 2 * step.cacheLength * 16 * 4, "2 x layers x nkv x S x hs x 4");
      const difference = maxDifference(step.attentionRows, expected.rows[index]);
      assert.ok(difference < 1e-5, `attention rows of step ${index + 1} differ from Node by ${difference}`);
      assert.ok(step.logitsMaxDifference !== undefined && step.logitsMaxDifference < 1e-4, `recompute check ${step.logitsMaxDifference}`);
    });
    await harness.page.waitForFunction(() => document.querySelector('[data-testid="decode-step"]')?.textContent === "5");
    const shownBytes = await harness.page.textContent('[data-testid="cache-bytes"]');
    assert.equal(Number(shownBytes), steps[4].cacheBytes);
    assert.equal(await harness.page.locator('[data-testid="cache-view"] canvas').count(), 2 * 2, "K and V of 2 K/V heads");
    await harness.page.screenshot({ path: join(tmpdir(), "attention-lens-decode-gqa.png"), fullPage: true });

    // Back then forward: the same state, bit for bit.
    const back = await control(id, "back");
    assert.equal(back.index, 4);
    assert.equal(back.cacheHash, steps[3].cacheHash);
    assert.deepEqual(back.attentionRows, steps[3].attentionRows);
    const again = await control(id, "step");
    assert.equal(again.cacheHash, steps[4].cacheHash);
    assert.deepEqual(again.generatedIds, steps[4].generatedIds);
    assert.deepEqual(again.attentionRows, steps[4].attentionRows);
    const reset = await control(id, "reset");
    assert.equal(reset.index, 0);
    assert.equal(reset.cacheHash, prefill.cacheHash);
  });

  it("the keyboard steps and steps back", async () => {
    const { requestId: id } = await openDecode("attention-lens-mqa", prompt);
    await harness.page.focus('[data-testid="decode-view"]');
    const after = (await harness.posted()).length;
    await harness.page.keyboard.press("ArrowRight");
    const step = (await harness.waitForPosted(isStep(id, 1), { after })).report.step;
    assert.equal(step.cacheLength, prompt.length + 1);
    const afterStep = (await harness.posted()).length;
    await harness.page.keyboard.press("ArrowLeft");
    const back = (await harness.waitForPosted(isStep(id, 0), { after: afterStep })).report.step;
    assert.equal(back.cacheLength, prompt.length);
  });

  it("play stops at the context length with a clear message", async () => {
    const long = tokenizer.encode(readFileSync(join(__dirname, "..", "..", "media", "sample", "attention.ts"), "utf8").repeat(4), { addBos: true }).ids.slice(0, 509);
    const { requestId: id } = await openDecode("attention-lens-mqa", long);
    const after = (await harness.posted()).length;
    await harness.send({ type: "decodeControl", requestId: id, action: "play" });
    const stopped = await harness.waitForPosted(isStopped(id), { after });
    assert.match(stopped.report.message, /context is full.*512/);
    const steps = (await harness.posted()).filter(isStep(id));
    assert.equal(steps[steps.length - 1].report.step.cacheLength, 512);
    await harness.page.waitForSelector('[data-testid="decode-notice"]');
    assert.match((await harness.page.textContent('[data-testid="decode-notice"]')) ?? "", /context is full/);
    assert.ok(await harness.page.isDisabled('button[data-action="step"]'), "Step is disabled at the context's end");
  });

  it("a cancel mid-play stops the loop; another model mid-play resets to its own prefill", async () => {
    const first = await openDecode("attention-lens-gqa", prompt);
    await harness.send({ type: "decodeControl", requestId: first.requestId, action: "play" });
    await harness.waitForPosted(isStep(first.requestId, 2));
    await harness.send({ type: "cancel", requestId: first.requestId });
    await new Promise((resolve) => setTimeout(resolve, 300)); // a step in flight may still land
    const countAfterCancel = (await harness.posted()).filter(isStep(first.requestId)).length;
    await new Promise((resolve) => setTimeout(resolve, 1200));
    assert.equal((await harness.posted()).filter(isStep(first.requestId)).length, countAfterCancel, "no step after the cancel");

    const second = await openDecode("attention-lens-gqa", prompt);
    await harness.send({ type: "decodeControl", requestId: second.requestId, action: "play" });
    await harness.waitForPosted(isStep(second.requestId, 2));
    const third = await openDecode("attention-lens-mha", prompt); // the person picks another model
    assert.equal(third.prefill.modelId, "attention-lens-mha");
    assert.equal(third.prefill.cacheBytes, 2 * 3 * 8 * prompt.length * 16 * 4);
    await new Promise((resolve) => setTimeout(resolve, 1200));
    const all = await harness.posted();
    const oldSteps = all.map((message, position) => (isStep(second.requestId)(message) && message.report.step.index > 0 ? position : -1));
    const lastOld = Math.max(...oldSteps);
    const newPrefill = all.findIndex(isStep(third.requestId, 0));
    assert.ok(lastOld >= 0 && newPrefill > lastOld, `no step of the old model after the new model's prefill (last old step at ${lastOld}, new prefill at ${newPrefill})`);
    await harness.page.waitForFunction(() => document.querySelector('[data-testid="decode-step"]')?.textContent === "0");
    assert.equal(await harness.page.locator('[data-testid="cache-view"] canvas').count(), 2 * 8, "K and V of 8 K/V heads");
    assert.deepEqual(harness.problems.filter((line) => !/404|favicon/.test(line)), []);
  });

  it("the page going away (pagehide) stops a playing decode and releases the models without an error", async () => {
    const playing = await openDecode("attention-lens-gqa", prompt);
    await harness.send({ type: "decodeControl", requestId: playing.requestId, action: "play" });
    await harness.waitForPosted(isStep(playing.requestId, 2));
    await harness.page.evaluate(() => window.dispatchEvent(new PageTransitionEvent("pagehide", { persisted: false })));
    await new Promise((resolve) => setTimeout(resolve, 300)); // a step in flight may still land
    const countAfterHide = (await harness.posted()).filter(isStep(playing.requestId)).length;
    await new Promise((resolve) => setTimeout(resolve, 1200));
    assert.equal((await harness.posted()).filter(isStep(playing.requestId)).length, countAfterHide, "no step after pagehide");
    assert.deepEqual(harness.problems.filter((line) => !/404|favicon/.test(line)), []);
  });
});
