/**
 * Compare mode in a real workbench, from the packaged .vsix: select code in media/sample/attention.ts,
 * run "Attention Lens: Compare Models" from the command palette with model A = MHA (the
 * defaultModel setting) and model B chosen by the extension (GQA), and check what the panel shows:
 * the Compare tab selected, both models' maps of the selected pair and their difference drawn, one
 * summary row per layer with a non-zero mean difference, and KV-cache sizes that follow
 * 2 x layers x K/V heads x tokens x head size x 4 bytes for the token count Node computes. The tab
 * bar works with the arrow keys. Then a screenshot in the dark theme: media/screenshots/compare-dark.png
 * (or in ATTENTION_LENS_SCREENSHOTS).
 */

import * as assert from "node:assert/strict";
import type { FrameLocator } from "playwright-core";

import { referenceRun } from "./reference";
import { closeInstalledWorkbench, reportFailure, sampleSelection, saveScreenshot, startInstalledWorkbench, until, type InstalledWorkbench } from "./steps";
import type { Workbench } from "./workbench";

const SAMPLE_FILE = "attention.ts";
/** Lines 4 to 12 (1-based): the cursor on line 4, then Shift+Down nine times. */
const FIRST_LINE = 4;
const LINES_SELECTED = 9;
const LAYERS = 3;
const HEAD_DIM = 16;

describe("Compare Models in a real workbench, installed from the .vsix", function () {
  this.timeout(240_000);

  let installed: InstalledWorkbench | undefined;
  let workbench: Workbench | undefined;
  let tokens = 0;
  let broken: string | undefined;

  const view = (): FrameLocator => {
    assert.ok(workbench, "the workbench did not start");
    return workbench.webview();
  };

  before(async function () {
    this.timeout(300_000);
    installed = await startInstalledWorkbench({ settings: { "attentionLens.defaultModel": "attention-lens-mha" }, width: 1600, height: 900 });
    workbench = installed.workbench;
    const selection = sampleSelection(SAMPLE_FILE, FIRST_LINE, LINES_SELECTED);
    tokens = referenceRun("attention-lens-mha", selection.text, selection.start).tokens.tokens.length;
  });

  beforeEach(function () {
    if (broken) this.skip();
  });

  afterEach(async function () {
    if (this.currentTest?.state !== "failed") return;
    broken = this.currentTest.title;
    await reportFailure(workbench, "/tmp/attention-lens-e2e-compare-failure.png");
  });

  after(async function () {
    this.timeout(60_000);
    await closeInstalledWorkbench(installed);
  });

  it('selects code and runs "Attention Lens: Compare Models"; the panel compares MHA with GQA', async () => {
    assert.ok(workbench);
    await workbench.selectLines(SAMPLE_FILE, FIRST_LINE, LINES_SELECTED);
    await workbench.hideSideBar();

    await workbench.runCommand("Attention Lens: Compare Models");
    const outcome = await until(
      "the compare view to draw (or show an error)",
      async () => {
        const error = view().locator(".compare .error[role=alert]");
        if (await error.isVisible()) return `error: ${await error.innerText()}`;
        return (await view().locator(".compare .pair .maps canvas").count()) === 3 && !(await view().locator(".compare .status").isVisible()) ? "drawn" : undefined;
      },
      150_000,
    );
    assert.equal(outcome, "drawn");
    assert.equal(await view().locator('[role=tab][data-mode="compare"]').getAttribute("aria-selected"), "true");
    assert.equal(await view().locator(".compare select[aria-label='Model B']").inputValue(), "attention-lens-gqa");
  });

  it("shows a mean difference per layer and KV-cache sizes that follow the formula", async () => {
    const rows = view().locator(".compare .layers tbody tr");
    assert.equal(await rows.count(), LAYERS);
    for (let layer = 0; layer < LAYERS; layer++) {
      const mean = Number((await rows.nth(layer).locator("td").first().innerText()).trim());
      assert.ok(mean > 1e-3 && mean < 1, `layer ${layer}: mean |A - B| ${mean}`);
    }
    const formulas = await view().locator(".compare .memory .formula").allInnerTexts();
    const expectA = 2 * LAYERS * 8 * tokens * HEAD_DIM * 4;
    const expectB = 2 * LAYERS * 2 * tokens * HEAD_DIM * 4;
    assert.match(formulas[0], new RegExp(`A: 2 × 3 layers × 8 K/V heads × ${tokens} tokens × 16 × 4 B = ${expectA.toLocaleString("en-US")} B`));
    assert.match(formulas[1], new RegExp(`B: 2 × 3 layers × 2 K/V heads × ${tokens} tokens × 16 × 4 B = ${expectB.toLocaleString("en-US")} B`));
    assert.match(await view().locator(".compare .memory .ratio").innerText(), /B \/ A = 0\.250 \(B keeps 4× less\)/);
  });

  it("sorting by induction ranks each model's heads; the tabs move with the arrow keys", async () => {
    await view().locator(".compare .overview select").selectOption("induction");
    await until("the ranked heads of both models", async () => (await view().locator(".compare .rankings ol").count()) === 2);
    await view().locator(".compare .overview select").selectOption("layer");

    const compareTab = view().locator('[role=tab][data-mode="compare"]');
    await compareTab.focus();
    await compareTab.press("ArrowLeft");
    await until("the attention mode", async () => (await view().locator('[role=tab][data-mode="attention"]').getAttribute("aria-selected")) === "true");
    await until("the attention views", async () => view().locator(".head-view").isVisible());
    await view().locator('[role=tab][data-mode="attention"]').press("ArrowRight");
    await until("the compare mode again, with its result kept", async () => (await view().locator(".compare .pair .maps canvas").count()) === 3);
  });

  it("saves a screenshot in the dark theme", async () => {
    assert.ok(workbench);
    // The strongest previous-token head of A, enlarged beside B's head of the same index.
    await view().locator(".compare .overview select").selectOption("previousToken");
    await view().locator(".compare .rankings .ranking").first().locator("button.ranked").first().click();
    await view().locator(".compare .overview select").selectOption("layer");
    // A panel wide enough for the two-column layout: the overview beside the large pair (A, B,
    // |A - B|), the per-layer summary and the KV cache under them; the view scrolled to its top.
    await workbench.narrowFirstGroup(420);
    await until("the compare view's two columns", async () => {
      const [pair, overview] = await Promise.all([view().locator(".compare .pair").boundingBox(), view().locator(".compare .overview").boundingBox()]);
      return pair !== null && overview !== null && pair.x > overview.x + overview.width - 1;
    });
    await view().locator(".compare .pair").evaluate((element) => element.scrollIntoView({ block: "start" }));
    await workbench.page.mouse.move(0, 0);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const layers = await view().locator(".compare .layers").boundingBox();
    assert.ok(layers && layers.y + layers.height <= 900, `the per-layer summary is in the window (${JSON.stringify(layers)})`);
    await saveScreenshot(workbench, "compare-dark.png");
  });
});
