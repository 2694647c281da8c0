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
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import type { FrameLocator } from "playwright-core";

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
const VERBOSE = process.env.ATTENTION_LENS_VERBOSE === "1";
const SCREENSHOTS = process.env.ATTENTION_LENS_SCREENSHOTS ?? join(REPOSITORY_ROOT, "media", "screenshots");
const MAX_SCREENSHOT_BYTES = 300 * 1024;
const SAMPLE_FILE = "attention.ts";
/** Lines 4 to 12 (1-based): the cursor on line 4, then Shift+Down nine times. */
const FIRST_LINE = 4;
const LINES_SELECTED = 9;
const LAYERS = 3;
const HEAD_DIM = 16;

/** Polls `probe` until it returns something other than undefined/false; fails naming `what`. */
async function until<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMilliseconds = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMilliseconds;
  while (Date.now() < deadline) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined && value !== false) return value;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`timed out after ${timeoutMilliseconds / 1000} s waiting for ${what}`);
}

describe("Compare Models in a real workbench, installed from the .vsix", function () {
  this.timeout(240_000);

  let profile: Profile | undefined;
  let workbench: Workbench | undefined;
  let tokens = 0;
  let broken: string | undefined;

  const view = (): FrameLocator => {
    assert.ok(workbench, "the workbench did not start");
    return workbench.webview();
  };

  before(async function () {
    this.timeout(300_000);
    profile = createProfile();
    await installVsix(VSIX, profile);
    const codeServer = await loadCodeServerScript();
    writeUserSettings(profile, userSettings(codeServer.DEFAULT_USER_SETTINGS, "dark", { "attentionLens.defaultModel": "attention-lens-mha" }));
    workbench = await startWorkbench({ profile, print: VERBOSE ? (line) => console.log(line) : undefined });

    const lines = readFileSync(join(SAMPLE_WORKSPACE, SAMPLE_FILE), "utf8").split("\n");
    const start = lines.slice(0, FIRST_LINE - 1).join("\n").length + 1;
    const selected = lines.slice(FIRST_LINE - 1, FIRST_LINE - 1 + LINES_SELECTED).join("\n") + "\n";
    tokens = referenceRun("attention-lens-mha", selected, start).tokens.tokens.length;
  });

  beforeEach(function () {
    if (broken) this.skip();
  });

  afterEach(async function () {
    if (this.currentTest?.state !== "failed") return;
    broken = this.currentTest.title;
    if (workbench) {
      await workbench.screenshot("/tmp/attention-lens-e2e-compare-failure.png").catch(() => undefined);
      console.error(`      last lines of code-server and the page:\n${workbench.log.slice(-25).map((line) => `        ${line}`).join("\n")}`);
    }
  });

  after(async function () {
    this.timeout(60_000);
    await workbench?.close();
    profile?.remove();
  });

  it('selects code and runs "Attention Lens: Compare Models"; the panel compares MHA with GQA', async () => {
    assert.ok(workbench);
    const page = workbench.page;
    await workbench.openFile(SAMPLE_FILE);
    await workbench.editor(SAMPLE_FILE).locator(".view-lines").click();
    await page.keyboard.press("Control+Home");
    for (let line = 1; line < FIRST_LINE; line++) await page.keyboard.press("ArrowDown");
    for (let line = 0; line < LINES_SELECTED; line++) await page.keyboard.press("Shift+ArrowDown");
    await page.keyboard.press("Control+B");
    await page.locator(".part.sidebar").waitFor({ state: "hidden", timeout: 10_000 });

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
    await workbench.page.mouse.move(0, 0);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const path = join(SCREENSHOTS, "compare-dark.png");
    await workbench.screenshot(path);
    const bytes = statSync(path).size;
    assert.ok(bytes < MAX_SCREENSHOT_BYTES, `${path} has ${bytes} bytes; keep it under ${MAX_SCREENSHOT_BYTES}`);
  });
});
