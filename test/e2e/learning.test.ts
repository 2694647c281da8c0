/**
 * The learning modes end to end: the packaged extension installed into code-server, the workbench in
 * headless Chromium, driven from the command palette like a person following the walkthrough:
 *
 *   1. "Attention Lens: Walkthrough: The formula..." opens media/walkthrough/formula.txt and the panel
 *      in the Stages tab; the formulas it shows equal the library's (src/attention/stage-formulas.ts)
 *      run in Node on the same tokens; a screenshot goes to media/screenshots/stages-dark.png;
 *   2. "Attention Lens: Walkthrough: Padding..." opens padding.txt and the Batch tab; its token mask
 *      and its next-token reads equal the library's left/right padded runs in Node; a screenshot goes
 *      to media/screenshots/batch-dark.png.
 *
 * Run with `npm run test:e2e -- --grep learning` (scripts/run-e2e-tests.mjs packages the .vsix first).
 * ATTENTION_LENS_SCREENSHOTS names another folder for the screenshots (CI keeps the committed ones).
 */

import * as assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";

import { stageFormulas } from "../../src/attention/stage-formulas";
import { WALKTHROUGH_STEPS } from "../../src/extension/walkthrough";
import { parseLlamaConfig } from "../../src/model/config";
import { LlamaModel } from "../../src/model/llama-model";
import { compareNextTokenReads } from "../../src/model/padding-comparison";
import { readSafetensors } from "../../src/model/safetensors";
import { inspectStages, traceModelStages } from "../../src/model/stage-inspection";
import { TextTokenizer } from "../../src/model/tokenizer";
import {
  createProfile,
  DEFAULT_VSIX,
  installVsix,
  loadCodeServerScript,
  REPOSITORY_ROOT,
  startWorkbench,
  userSettings,
  writeUserSettings,
  type Profile,
  type Workbench,
} from "./workbench";

const VSIX = process.env.ATTENTION_LENS_VSIX ?? DEFAULT_VSIX;
const SCREENSHOTS = process.env.ATTENTION_LENS_SCREENSHOTS ?? join(REPOSITORY_ROOT, "media", "screenshots");
const VERBOSE = process.env.ATTENTION_LENS_VERBOSE === "1";
const MODEL = join(REPOSITORY_ROOT, "media", "models", "attention-lens-gqa");
const WALKTHROUGH = join(REPOSITORY_ROOT, "media", "walkthrough");

const config = parseLlamaConfig(JSON.parse(readFileSync(join(MODEL, "config.json"), "utf8")));
const model = LlamaModel.fromTensors(config, readSafetensors(readFileSync(join(MODEL, "model.safetensors"))).tensors);
const tokenizer = TextTokenizer.fromJson(readFileSync(join(MODEL, "tokenizer.json"), "utf8"));

function step(id: string) {
  const found = WALKTHROUGH_STEPS.find((candidate) => candidate.id === id);
  assert.ok(found, id);
  return found;
}

describe("learning modes in the workbench (stages and batch, from the walkthrough's commands)", function () {
  this.timeout(240_000);
  let profile: Profile | undefined;
  let workbench: Workbench | undefined;

  before(async function () {
    this.timeout(300_000);
    profile = createProfile();
    await installVsix(VSIX, profile);
    const codeServer = await loadCodeServerScript();
    writeUserSettings(profile, userSettings(codeServer.DEFAULT_USER_SETTINGS, "dark", { "attentionLens.backend": "wasm" }));
    workbench = await startWorkbench({ profile, width: 1500, height: 1000, print: VERBOSE ? (line) => console.log(line) : undefined });
  });

  after(async function () {
    this.timeout(60_000);
    await workbench?.close();
    profile?.remove();
  });

  afterEach(async function () {
    if (this.currentTest?.state === "failed" && workbench) {
      const path = `/tmp/attention-lens-e2e-learning-failure.png`;
      await workbench.screenshot(path).catch(() => undefined);
      console.error(`      screenshot at the failure: ${path}\n${workbench.log.slice(-25).map((line) => `        ${line}`).join("\n")}`);
    }
  });

  it("the formula step opens the Stages tab; its formulas are the library's on the same tokens", async () => {
    assert.ok(workbench);
    const formula = step("formula");
    await workbench.runCommand(`Attention Lens: Walkthrough: ${formula.title}`);
    // More room for the panel: hide the side bar.
    await workbench.page.keyboard.press("Control+B");
    await workbench.page.locator(".part.sidebar").waitFor({ state: "hidden", timeout: 10_000 });
    const view = workbench.webview();
    await view.locator('[data-stage="context"] .substituted').waitFor({ state: "visible", timeout: 120_000 });
    assert.equal(await view.locator('[role="tab"][aria-selected="true"]').getAttribute("data-mode"), "stages");

    const text = readFileSync(join(WALKTHROUGH, formula.example), "utf8");
    const ids = tokenizer.encode(text, { addBos: true }).ids;
    const choice = formula.action.kind === "stages" ? formula.action.choice : {};
    const inspection = inspectStages(config, traceModelStages(model, [ids]), { layer: choice.layer!, head: choice.head!, query: choice.query! });
    const expected = stageFormulas(inspection.trace, { key: choice.key! });
    for (const stage of ["rawScores", "scaledScores", "maskedScores", "weights"] as const) {
      const shown = (await view.locator(`[data-stage="${stage}"] .substituted`).innerText()).trim();
      assert.equal(shown, expected.find((candidate) => candidate.stage === stage)!.substituted, stage);
    }
    await workbench.screenshot(join(SCREENSHOTS, "stages-dark.png"));
  });

  it("the padding step opens the Batch tab; its masks and next-token reads are the library's", async () => {
    assert.ok(workbench);
    const padding = step("padding");
    await workbench.runCommand(`Attention Lens: Walkthrough: ${padding.title}`);
    const view = workbench.webview();
    await view.locator(".contrast").waitFor({ state: "visible", timeout: 120_000 });
    assert.equal(await view.locator('[role="tab"][aria-selected="true"]').getAttribute("data-mode"), "batch");

    const lines = readFileSync(join(WALKTHROUGH, padding.example), "utf8").trimEnd().split("\n");
    const sequences = lines.map((line) => tokenizer.encode(line, { addBos: true }).ids);
    const comparison = compareNextTokenReads(model, sequences, tokenizer.padTokenId);
    const bits = await view.locator(".token-mask tr").evaluateAll((rows) =>
      rows.map((row) => Array.from(row.querySelectorAll(".mask-bit"), (cell) => Number(cell.textContent))),
    );
    assert.deepEqual(bits, comparison.left.batch.tokenMask);
    const wrongOnTheRight = await view.locator(".side[data-side=right] td.next.wrong").count();
    assert.equal(wrongOnTheRight, comparison.right.reads.filter((read) => read.readsPad || read.predictedTokenId !== read.expectedTokenId).length);
    assert.equal(await view.locator(".side[data-side=left] td.next.wrong").count(), 0, "left padding reads every row right");
    // The combined mask and the weights with their pad rows and columns at zero.
    await view.locator(".grids table").nth(2).scrollIntoViewIfNeeded();
    await workbench.screenshot(join(SCREENSHOTS, "batch-dark.png"));
  });
});
