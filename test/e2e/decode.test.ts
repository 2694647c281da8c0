/**
 * Step Through Decoding end to end: the packaged extension installed in code-server, the workbench
 * in headless Chromium, keyboard and mouse only (test/e2e/workbench.ts):
 *
 *   1. attention.ts opened with Quick Open, lines 4-9 selected with the keyboard;
 *   2. F1 runs "Attention Lens: Step Through Decoding": the panel opens in decode mode with the
 *      selection cached as the prompt;
 *   3. five clicks on Step: the five generated token ids must equal greedy decoding by the
 *      TypeScript reference (DecoderModel with its KeyValueCache) in Node on the same tokens, and the
 *      cache view's bytes must be 2 x layers x nkv x length x head size x 4;
 *   4. Back then Step shows the same token again;
 *   5. screenshots: the window (decode-dark.png) and the cache view (cache-dark.png) in
 *      media/screenshots/ (or ATTENTION_LENS_SCREENSHOTS).
 *
 * Run with `npm run test:e2e -- --grep "Step Through Decoding"`.
 */

import * as assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { FrameLocator } from "playwright-core";
import { DecoderModel } from "../../src/model/decoder-model";
import { readSafetensors } from "../../src/model/safetensors";
import { referenceRun } from "./reference";
import { closeInstalledWorkbench, reportFailure, sampleSelection, saveScreenshot, startInstalledWorkbench, until, type InstalledWorkbench } from "./steps";
import { REPOSITORY_ROOT, type Workbench } from "./workbench";

const MODEL_ID = "attention-lens-gqa";
const SAMPLE_FILE = "attention.ts";
const FIRST_LINE = 4;
const LINES_SELECTED = 6;
const STEPS = 5;

/** Greedy decoding of `prompt` by the TypeScript reference with its KV cache. */
function referenceTokens(prompt: number[], steps: number): number[] {
  const run = referenceRun(MODEL_ID, "x", 0); // only for the config
  const folder = join(REPOSITORY_ROOT, "media", "models", MODEL_ID);
  const model = DecoderModel.fromTensors(run.config, readSafetensors(readFileSync(join(folder, "model.safetensors"))).tensors);
  const cache = model.createCache();
  let logits = model.forward([prompt], { cache }).logits.data;
  const generated: number[] = [];
  for (let step = 0; step < steps; step++) {
    const last = logits.subarray(logits.length - run.config.vocabSize);
    let best = 0;
    for (let id = 1; id < last.length; id++) if (last[id] > last[best]) best = id;
    generated.push(best);
    logits = model.forward([[best]], { cache }).logits.data;
  }
  return generated;
}

describe("Step Through Decoding in a real workbench, installed from the .vsix", function () {
  this.timeout(300_000);
  let installed: InstalledWorkbench | undefined;
  let workbench: Workbench | undefined;
  let prompt: number[] = [];

  before(async function () {
    installed = await startInstalledWorkbench();
    workbench = installed.workbench;
    const selection = sampleSelection(SAMPLE_FILE, FIRST_LINE, LINES_SELECTED);
    prompt = referenceRun(MODEL_ID, selection.text, selection.start).tokens.tokens.map((token) => token.id);
  });

  afterEach(async function () {
    if (this.currentTest?.state === "failed") await reportFailure(workbench, "/tmp/attention-lens-e2e-decode-failure.png");
  });

  after(async function () {
    this.timeout(60_000);
    await closeInstalledWorkbench(installed);
  });

  const webview = (): FrameLocator => {
    assert.ok(workbench, "the workbench did not start");
    return workbench.webview();
  };

  it("opens the decode view on the selection, steps five tokens equal to the reference, and saves the screenshots", async () => {
    assert.ok(workbench);
    await workbench.selectLines(SAMPLE_FILE, FIRST_LINE, LINES_SELECTED);
    await workbench.hideSideBar();

    await workbench.runCommand("Attention Lens: Step Through Decoding");
    const view = webview();
    const stepNumber = view.locator('[data-testid="decode-step"]');
    await until("the decode view's prefill", async () => (await stepNumber.textContent({ timeout: 1000 })) === "0", 120_000);

    const stepButton = view.locator('button[data-action="step"]');
    for (let step = 1; step <= STEPS; step++) {
      await until(`the Step button to be enabled (step ${step})`, async () => stepButton.isEnabled({ timeout: 1000 }));
      await stepButton.click();
      await until(`step ${step} on screen`, async () => (await stepNumber.textContent({ timeout: 1000 })) === String(step));
    }
    const shownIds = (await view.locator(".generated .token").evaluateAll((spans) => spans.map((span) => Number(span.getAttribute("data-id")))));
    assert.deepEqual(shownIds, referenceTokens(prompt, STEPS), "the generated tokens equal greedy decoding by the TypeScript reference");
    const bytes = Number(await view.locator('[data-testid="cache-bytes"]').textContent());
    assert.equal(bytes, 2 * 3 * 2 * (prompt.length + STEPS) * 16 * 4, "the cache view's bytes follow 2 x layers x nkv x length x hs x 4");

    // Back, then Step again: the same token comes back.
    await view.locator("button", { hasText: "Back" }).click();
    await until("step 4 after Back", async () => (await stepNumber.textContent({ timeout: 1000 })) === String(STEPS - 1));
    await stepButton.click();
    await until("step 5 again", async () => (await stepNumber.textContent({ timeout: 1000 })) === String(STEPS));
    const again = await view.locator(".generated .token").evaluateAll((spans) => spans.map((span) => Number(span.getAttribute("data-id"))));
    assert.deepEqual(again, shownIds);

    await saveScreenshot(workbench, "decode-dark.png");
    const cacheView = view.locator('[data-testid="cache-view"]');
    await cacheView.scrollIntoViewIfNeeded();
    await saveScreenshot(workbench, "cache-dark.png", cacheView);
  });
});
