/**
 * What a new user hit in the panel, each checked the way they met it: the packaged extension in
 * code-server, the workbench in headless Chromium, the keyboard and the mouse.
 *
 *   1. tokens of emoji, CJK and Arabic text: the head view's axis labels show the characters, or the
 *      bytes of a token that holds part of one ("<F0>"), never U+FFFD or an empty label;
 *   2. the Batch tab opened from the tabs shows the selected lines as a batch, and Show Batch and
 *      Masks refusing an empty line says in the panel which line, as its notification does;
 *   3. a panel hidden behind another editor comes back as it was: the same page (no new run), the
 *      head picked, the sort order and the colour scale;
 *   4. the head map is a few Tab presses away (the overview is one tab stop);
 *   5. next-token candidates that differ only in whitespace show it (·, ⏎), not as blanks.
 *
 * Run with `npm run test:e2e -- --grep "new user"` (scripts/run-e2e-tests.mjs packages the .vsix first).
 */

import * as assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";

import { closeInstalledWorkbench, reportFailure, startInstalledWorkbench, until, type InstalledWorkbench } from "./steps";
import { SAMPLE_WORKSPACE, type Workbench } from "./workbench";

describe("what a new user hit, in a real workbench", function () {
  this.timeout(240_000);
  let installed: InstalledWorkbench | undefined;
  let workbench: Workbench | undefined;

  before(async function () {
    this.timeout(300_000);
    installed = await startInstalledWorkbench({ settings: { "attentionLens.backend": "wasm" }, width: 1500, height: 1000 });
    workbench = installed.workbench;
    await workbench.hideSideBar();
  });

  after(async function () {
    this.timeout(60_000);
    await closeInstalledWorkbench(installed);
  });

  afterEach(async function () {
    if (this.currentTest?.state === "failed") await reportFailure(workbench, "/tmp/attention-lens-e2e-new-user-failure.png");
  });

  /** Runs a command and waits until the Attention tab has drawn its head view. */
  async function showAttention(): Promise<void> {
    assert.ok(workbench);
    await workbench.runCommand("Attention Lens: Show Attention");
    const view = workbench.webview();
    await until(
      "the head view drawn",
      async () => (await view.locator("main.lens[aria-busy='false'] .head-view .map canvas").isVisible().catch(() => false)) && (await view.locator(".error[role=alert]").count()) === 0,
      120_000,
      200,
    );
  }

  it("labels emoji, CJK and Arabic tokens by their characters or bytes, never U+FFFD or a blank", async () => {
    assert.ok(workbench);
    const lines = readFileSync(join(SAMPLE_WORKSPACE, "greetings.md"), "utf8").trimEnd().split("\n");
    await workbench.selectLines("greetings.md", 3, lines.length - 2);
    await showAttention();
    const view = workbench.webview();
    const labels = await view.locator(".head-view .col-label, .head-view .row-label").allInnerTexts();
    assert.ok(labels.length > 10, `axis labels: ${JSON.stringify(labels)}`);
    assert.deepEqual(labels.filter((label) => label.includes("\uFFFD") || label.trim() === "" || label === "∅"), [], "no replacement characters or blank labels");
    assert.ok(labels.some((label) => /^<[0-9A-F]{2}( [0-9A-F]{2})*>$/.test(label)), `a token holding part of a character shows its bytes: ${JSON.stringify(labels)}`);
    const partial = view.locator(".token-view span.token[title*='part of']").first();
    assert.match((await partial.getAttribute("title")) ?? "", /“<[0-9A-F ]+>”, part of “.+”/u, "the token view's tooltip names the character");
  });

  it("the Batch tab opened from the tabs shows the selected lines as a batch", async () => {
    assert.ok(workbench);
    await workbench.selectLines("story.txt", 1, 3);
    await showAttention();
    const view = workbench.webview();
    await view.locator('[role=tab][data-mode="batch"]').click();
    await view.locator(".contrast").waitFor({ state: "visible", timeout: 120_000 });
    const rows = await view.locator(".token-mask tr").count();
    assert.equal(rows, 3, "one row per selected line");
    assert.equal(await view.getByText("select two or more lines").count(), 0);
  });

  it("Show Batch and Masks refusing an empty line names the line in the panel, as its notification does", async () => {
    assert.ok(workbench);
    await workbench.selectLines("greetings.md", 1, 3); // the heading, an empty line, a sentence
    await workbench.runCommand("Attention Lens: Show Batch and Masks");
    const notification = workbench.page.locator(".notifications-toasts .notification-list-item-message", { hasText: "line 2 is empty" });
    await notification.first().waitFor({ state: "visible", timeout: 30_000 });
    const view = workbench.webview();
    const message = view.locator('[role=tabpanel] [role=alert]', { hasText: "line 2 is empty" });
    await message.first().waitFor({ state: "visible", timeout: 60_000 });
    assert.equal(await view.locator('[role=tab][aria-selected="true"]').getAttribute("data-mode"), "batch");
  });

  it("a panel hidden behind another editor comes back as it was: the same page, head, sort and colour scale", async () => {
    assert.ok(workbench);
    const page = workbench.page;
    await workbench.selectLines("attention.ts", 4, 6);
    await showAttention();
    const view = workbench.webview();
    await view.locator('[role=tab][data-mode="attention"]').click();
    await view.locator('.overview button.thumb[data-layer="1"][data-head="2"]').click();
    await view.locator(".metric-controls select").first().selectOption("induction");
    await view.locator('.scales button[role=radio]', { hasText: "sqrt" }).click();
    await view.locator("body").evaluate(() => ((window as unknown as { pageMark: number }).pageMark = 42));

    // Cover the panel with another editor in its group, then bring it back.
    await page.locator('.tab[data-resource-name="story.txt"]').first().click(); // open since the batch test
    await workbench.runCommand("View: Move Editor into Next Group");
    await until("the panel to be hidden", async () => !(await page.locator("iframe.webview.ready").first().isVisible().catch(() => false)), 10_000);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    await page.locator(".tab", { hasText: "Attention:" }).first().click();

    await until("the head view back", async () => view.locator(".head-view .map canvas").isVisible().catch(() => false), 30_000);
    assert.equal(await view.locator("body").evaluate(() => (window as unknown as { pageMark?: number }).pageMark), 42, "the same page: it was not loaded again, nothing ran again");
    assert.equal(await view.locator(".head-view h2").innerText(), "Layer 1 · head 2");
    assert.equal(await view.locator(".metric-controls select").first().inputValue(), "induction");
    assert.equal(await view.locator('.scales button[aria-checked="true"]').innerText(), "sqrt");
  });

  it("the head map is a few Tab presses from the mode tabs: the overview is one tab stop", async () => {
    assert.ok(workbench);
    const view = workbench.webview();
    await view.locator('[role=tab][data-mode="attention"]').focus();
    let presses = 0;
    while (presses < 40) {
      await workbench.page.keyboard.press("Tab");
      presses++;
      const atMap = await view.locator(".head-view .map").evaluate((element) => element === document.activeElement);
      if (atMap) break;
    }
    console.log(`      (${presses} presses of Tab from the mode tabs to the head map)`);
    // 16 today: the run header's controls, the weighting control, the overview's export button and
    // metric controls, the overview (one stop, however many heads), the K/V groups (one stop), the head view's own.
    assert.ok(presses <= 18, `${presses} presses of Tab to reach the head map`);
  });

  it("next-token candidates show their whitespace (·, ⏎), so those that differ only in it look different", async () => {
    assert.ok(workbench);
    await workbench.selectLines("attention.ts", 4, 3);
    await workbench.runCommand("Attention Lens: Step Through Decoding");
    const view = workbench.webview();
    await view.locator("[data-testid=decode-view]").waitFor({ state: "visible", timeout: 60_000 });
    await until("the prefill", async () => (await view.locator(".candidates").innerText().catch(() => "")).includes("Step generates"), 120_000, 200);
    const labels: string[] = [];
    for (let step = 1; step <= 4; step++) {
      await view.locator('button[data-action="step"]').click();
      await until(`step ${step}'s candidates`, async () => (await view.locator(".candidates .label").first().innerText().catch(() => "")).includes(`token ${step} chosen`), 60_000, 200);
      labels.push(...(await view.locator(".candidate code").allInnerTexts()));
    }
    console.log(`      (candidates: ${labels.map((label) => JSON.stringify(label)).join(" ")})`);
    assert.ok(labels.length >= 4, `candidates: ${JSON.stringify(labels)}`);
    assert.deepEqual(labels.filter((label) => /\s/.test(label)), [], "no candidate shows raw whitespace");
  });
});
