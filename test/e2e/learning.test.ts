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
import { parseModelConfig } from "../../src/model/config";
import { DecoderModel } from "../../src/model/decoder-model";
import { compareNextTokenReads } from "../../src/model/padding-comparison";
import { readSafetensors } from "../../src/model/safetensors";
import { inspectStages, traceModelStages } from "../../src/model/stage-inspection";
import { TextTokenizer } from "../../src/model/tokenizer";
import { closeInstalledWorkbench, reportFailure, saveScreenshot, startInstalledWorkbench, until, type InstalledWorkbench } from "./steps";
import { REPOSITORY_ROOT, type Workbench } from "./workbench";

const MODEL = join(REPOSITORY_ROOT, "media", "models", "attention-lens-gqa");
const WALKTHROUGH = join(REPOSITORY_ROOT, "media", "walkthrough");

const config = parseModelConfig(JSON.parse(readFileSync(join(MODEL, "config.json"), "utf8")));
const model = DecoderModel.fromTensors(config, readSafetensors(readFileSync(join(MODEL, "model.safetensors"))).tensors);
const tokenizer = TextTokenizer.fromJson(readFileSync(join(MODEL, "tokenizer.json"), "utf8"));

function step(id: string) {
  const found = WALKTHROUGH_STEPS.find((candidate) => candidate.id === id);
  assert.ok(found, id);
  return found;
}

describe("learning modes in the workbench (stages and batch, from the walkthrough's commands)", function () {
  this.timeout(240_000);
  let installed: InstalledWorkbench | undefined;
  let workbench: Workbench | undefined;

  before(async function () {
    this.timeout(300_000);
    installed = await startInstalledWorkbench({ settings: { "attentionLens.backend": "wasm" }, width: 1500, height: 1000 });
    workbench = installed.workbench;
  });

  after(async function () {
    this.timeout(60_000);
    await closeInstalledWorkbench(installed);
  });

  afterEach(async function () {
    if (this.currentTest?.state === "failed") await reportFailure(workbench, "/tmp/attention-lens-e2e-learning-failure.png");
  });

  it("the formula step opens the Stages tab; its formulas are the library's on the same tokens", async () => {
    assert.ok(workbench);
    const formula = step("formula");
    await workbench.runCommand(`Attention Lens: Walkthrough: ${formula.title}`);
    // More room for the panel: hide the side bar.
    await workbench.hideSideBar();
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
    await saveScreenshot(workbench, "stages-dark.png");
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
    const comparison = compareNextTokenReads(model, sequences, tokenizer.padTokenId!);
    const bits = await view.locator(".token-mask tr").evaluateAll((rows) =>
      rows.map((row) => Array.from(row.querySelectorAll(".mask-bit"), (cell) => Number(cell.textContent))),
    );
    assert.deepEqual(bits, comparison.left.batch.tokenMask);
    const wrongOnTheRight = await view.locator(".side[data-side=right] td.next.wrong").count();
    assert.equal(wrongOnTheRight, comparison.right.reads.filter((read) => read.readsPad || read.predictedTokenId !== read.expectedTokenId).length);
    assert.equal(await view.locator(".side[data-side=left] td.next.wrong").count(), 0, "left padding reads every row right");
    // The screenshot: the row with the fewest pads (but some), whose masks show real keys and pad
    // keys side by side; a wider panel; the view from its top (the lines, the left vs right
    // contrast with the read slot, the masks).
    const sequence = view.locator("label", { hasText: "Sequence" }).locator("select");
    const pads = (await sequence.locator("option").allInnerTexts()).map((text) => Number(/(\d+) pads\)/.exec(text)?.[1] ?? 0));
    const padded = pads.map((count, index) => ({ count, index })).filter((row) => row.count > 0);
    assert.ok(padded.length > 0, "some line is padded");
    const telling = padded.reduce((best, row) => (row.count < best.count ? row : best));
    await sequence.selectOption({ index: telling.index });
    await workbench.hideSideBar();
    await workbench.narrowFirstGroup(330);
    await view.locator(".batch").evaluate((element) => element.scrollIntoView({ block: "start" }));
    await workbench.page.mouse.move(0, 0);
    await new Promise((resolve) => setTimeout(resolve, 500));
    await saveScreenshot(workbench, "batch-dark.png");
  });

  it("Show Attention after the batch switches the panel back to the Attention tab and draws this text's maps", async () => {
    assert.ok(workbench);
    // The keyboard back in the padding example's editor, the cursor on its first line, then the command.
    await workbench.editor(step("padding").example).locator(".view-lines").click();
    await workbench.page.keyboard.press("Control+Home");
    await workbench.runCommand("Attention Lens: Show Attention");
    const view = workbench.webview();
    await until("the Attention tab, selected, with its head view drawn", async () => {
      const selected = (await view.locator('[role=tab][data-mode="attention"]').getAttribute("aria-selected")) === "true";
      return selected && (await view.locator("main.lens[aria-busy='false'] .head-view .map canvas").isVisible().catch(() => false));
    }, 60_000);
    assert.equal(await view.locator(".batch").count(), 0, "the batch view is gone");
  });
});
