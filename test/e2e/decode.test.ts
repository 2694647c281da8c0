/**
 * Step Through Decoding end to end: the packaged extension installed in code-server, the workbench
 * in headless Chromium, keyboard and mouse only (test/e2e/workbench.ts):
 *
 *   1. attention.ts opened with Quick Open, lines 4-9 selected with the keyboard;
 *   2. F1 runs "Attention Lens: Step Through Decoding": the panel opens in decode mode with the
 *      selection cached as the prompt;
 *   3. five clicks on Step: the five generated token ids must equal greedy decoding by the
 *      TypeScript reference (LlamaModel with its KeyValueCache) in Node on the same tokens, and the
 *      cache view's bytes must be 2 x layers x nkv x length x head size x 4;
 *   4. Back then Step shows the same token again;
 *   5. screenshots: the window (decode-dark.png) and the cache view (cache-dark.png) in
 *      media/screenshots/ (or ATTENTION_LENS_SCREENSHOTS).
 *
 * Run with `npm run test:e2e -- --grep "Step Through Decoding"`.
 */

import * as assert from "node:assert/strict";
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import type { FrameLocator } from "playwright-core";
import { LlamaModel } from "../../src/model/llama-model";
import { readSafetensors } from "../../src/model/safetensors";
import { referenceRun } from "./reference";
import {
  createProfile,
  DEFAULT_VSIX,
  installVsix,
  loadCodeServerScript,
  REPOSITORY_ROOT,
  SAMPLE_WORKSPACE,
  startWorkbench,
  userSettings,
  writeUserSettings,
  type Profile,
  type Workbench,
} from "./workbench";

const VSIX = process.env.ATTENTION_LENS_VSIX ?? DEFAULT_VSIX;
const SCREENSHOTS = process.env.ATTENTION_LENS_SCREENSHOTS ?? join(REPOSITORY_ROOT, "media", "screenshots");
const MAX_SCREENSHOT_BYTES = 300 * 1024;
const MODEL_ID = "attention-lens-gqa";
const SAMPLE_FILE = "attention.ts";
const FIRST_LINE = 4;
const LINES_SELECTED = 6;
const STEPS = 5;

/** Greedy decoding of `prompt` by the TypeScript reference with its KV cache. */
function referenceTokens(prompt: number[], steps: number): number[] {
  const run = referenceRun(MODEL_ID, "x", 0); // only for the config
  const folder = join(REPOSITORY_ROOT, "media", "models", MODEL_ID);
  const model = LlamaModel.fromTensors(run.config, readSafetensors(readFileSync(join(folder, "model.safetensors"))).tensors);
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

async function until<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMilliseconds = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMilliseconds;
  while (Date.now() < deadline) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined && value !== false) return value;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out after ${timeoutMilliseconds / 1000} s waiting for ${what}`);
}

describe("Step Through Decoding in a real workbench, installed from the .vsix", function () {
  this.timeout(300_000);
  let profile: Profile | undefined;
  let workbench: Workbench | undefined;
  let prompt: number[] = [];

  before(async function () {
    profile = createProfile();
    await installVsix(VSIX, profile);
    const codeServer = await loadCodeServerScript();
    writeUserSettings(profile, userSettings(codeServer.DEFAULT_USER_SETTINGS, "dark"));
    workbench = await startWorkbench({ profile });
    const lines = readFileSync(join(SAMPLE_WORKSPACE, SAMPLE_FILE), "utf8").split("\n");
    const start = lines.slice(0, FIRST_LINE - 1).join("\n").length + 1;
    const selected = lines.slice(FIRST_LINE - 1, FIRST_LINE - 1 + LINES_SELECTED).join("\n") + "\n";
    prompt = referenceRun(MODEL_ID, selected, start).tokens.tokens.map((token) => token.id);
  });

  after(async function () {
    this.timeout(60_000);
    await workbench?.close();
    profile?.remove();
  });

  const webview = (): FrameLocator => {
    assert.ok(workbench, "the workbench did not start");
    return workbench.webview();
  };

  it("opens the decode view on the selection, steps five tokens equal to the reference, and saves the screenshots", async () => {
    assert.ok(workbench);
    const page = workbench.page;
    await workbench.openFile(SAMPLE_FILE);
    await workbench.editor(SAMPLE_FILE).locator(".view-lines").click();
    await page.keyboard.press("Control+Home");
    for (let line = 1; line < FIRST_LINE; line++) await page.keyboard.press("ArrowDown");
    for (let line = 0; line < LINES_SELECTED; line++) await page.keyboard.press("Shift+ArrowDown");
    await page.keyboard.press("Control+B");

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

    const decodePath = join(SCREENSHOTS, "decode-dark.png");
    await workbench.screenshot(decodePath);
    const cachePath = join(SCREENSHOTS, "cache-dark.png");
    const cacheView = view.locator('[data-testid="cache-view"]');
    await cacheView.scrollIntoViewIfNeeded();
    await cacheView.screenshot({ path: cachePath });
    for (const path of [decodePath, cachePath]) {
      const size = statSync(path).size;
      assert.ok(size < MAX_SCREENSHOT_BYTES, `${path} has ${size} bytes; keep it under ${MAX_SCREENSHOT_BYTES}`);
    }
  });
});
