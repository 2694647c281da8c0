/**
 * Attention Lens end to end, as a person uses it: the extension packaged (`npm run package`) and
 * INSTALLED from attention-lens.vsix into a fresh code-server, the workbench in headless Chromium,
 * and only keyboard and mouse:
 *
 *   1. Ctrl+P opens media/sample/attention.ts; the keyboard selects lines 4-9 (the softmax function);
 *   2. F1 runs "Attention Lens: Show Attention"; the panel opens beside the editor and draws the maps;
 *   3. the panel opens on the strongest previous-token head of the run (the rule of
 *      webview/attention/first-head.ts on Node's maps); hovering cells of the head view reads out its
 *      weights, which must match the TypeScript decoder run in Node on the same tokens and weights
 *      (./reference.ts), within 1e-3;
 *      the same for one cell row of another head picked in the layers x heads overview;
 *   4. hovering a token in the panel draws its attention in the editor: the decorations in the
 *      editor's DOM must sit on the tokens' columns with the opacities src/extension/weight-buckets.ts
 *      gives the reference weights;
 *   5. screenshots of the whole window in the dark and the light theme go to media/screenshots/.
 *
 * Run with `npm run test:e2e` (scripts/run-e2e-tests.mjs: package, then mocha over test/e2e). On a
 * failure the window is saved to /tmp/attention-lens-e2e-*.png and the last lines of code-server's
 * output and the page's console are printed.
 *
 * Environment: ATTENTION_LENS_VSIX (default ./attention-lens.vsix), ATTENTION_LENS_SCREENSHOTS (a folder
 * for the screenshots instead of media/screenshots), ATTENTION_LENS_VERBOSE=1 (print code-server's
 * output and the page's console as they come), CHROMIUM_PATH.
 */

import * as assert from "node:assert/strict";
import type { FrameLocator, Locator, Page } from "playwright-core";

import { PreviousTokenScores } from "../../webview/attention/first-head";
import { expectedHighlights, positionAt, referenceRun, type ReferenceRun } from "./reference";
import {
  closeInstalledWorkbench,
  reportFailure,
  sampleSelection,
  saveScreenshot,
  startInstalledWorkbench,
  until,
  type InstalledWorkbench,
} from "./steps";
import { EXTENSION_ID, packageVersion, type ThemeKind, type Workbench } from "./workbench";

const MODEL_ID = "attention-lens-gqa";
const SAMPLE_FILE = "attention.ts";
/** Lines 4 to 9 (1-based), the softmax function: the cursor on line 4, then Shift+Down six times. */
const FIRST_LINE = 4;
const LINES_SELECTED = 6;
/** The read-out shows 4 decimals; the brief allows 1e-3 between the panel and Node. */
const WEIGHT_TOLERANCE = 1e-3;

/** The amber of the key highlights (src/extension/editor-highlights.ts), per theme kind. */
const HIGHLIGHT_RGB: Record<ThemeKind, [number, number, number]> = { dark: [255, 176, 46], light: [214, 120, 0] };

function parseRgba(color: string): { rgb: [number, number, number]; alpha: number } | undefined {
  const match = /^rgba?\((\d+),\s*(\d+),\s*(\d+)(?:,\s*([\d.]+))?\)$/.exec(color.trim());
  if (!match) return undefined;
  return { rgb: [Number(match[1]), Number(match[2]), Number(match[3])], alpha: match[4] === undefined ? 1 : Number(match[4]) };
}

/** The decorations the editor's DOM shows (view overlays), in page pixels relative to the text's left edge. */
interface EditorDecorations {
  /** 1-based line number -> top of that line, page pixels. */
  lineTops: Record<number, number>;
  characterWidth: number;
  decorations: { top: number; left: number; width: number; background: string; borderStyle: string; borderWidth: number }[];
}

async function readEditorDecorations(editor: Locator, measureLine: number): Promise<EditorDecorations> {
  // No named functions inside: tsx's esbuild would wrap them in a `__name` helper the page lacks.
  return editor.evaluate((element, measureLine) => {
    const lineTops: Record<number, number> = {};
    for (const number of Array.from(element.querySelectorAll(".margin-view-overlays .line-numbers"))) {
      lineTops[Number(number.textContent?.trim())] = number.getBoundingClientRect().top;
    }
    const viewLines = element.querySelector(".view-lines");
    if (!viewLines) throw new Error("the editor has no .view-lines");
    const contentLeft = viewLines.getBoundingClientRect().left;
    // A monospace font: the width of a line's text over its length.
    const measured = Array.from(viewLines.querySelectorAll(".view-line")).find((line) => Math.abs(line.getBoundingClientRect().top - lineTops[measureLine]) < 1);
    const text = measured?.textContent ?? "";
    const span = measured?.querySelector("span");
    if (!span || text.length === 0) throw new Error(`line ${measureLine} is not rendered in the editor`);
    const characterWidth = span.getBoundingClientRect().width / text.length;
    const decorations = Array.from(element.querySelectorAll(".view-overlays .cdr")).map((decoration) => {
      const style = getComputedStyle(decoration);
      const box = decoration.getBoundingClientRect();
      return {
        top: (decoration.parentElement ?? decoration).getBoundingClientRect().top,
        left: box.left - contentLeft,
        width: box.width,
        background: style.backgroundColor,
        borderStyle: style.borderTopStyle,
        borderWidth: parseFloat(style.borderTopWidth) || 0,
      };
    });
    return { lineTops, characterWidth, decorations };
  }, measureLine);
}

function isHighlight(background: string, theme: ThemeKind): boolean {
  const color = parseRgba(background);
  return color !== undefined && color.rgb.every((channel, index) => channel === HIGHLIGHT_RGB[theme][index]) && color.alpha > 0;
}

describe("Attention Lens in a real workbench, installed from the .vsix", function () {
  this.timeout(180_000);

  let installed: InstalledWorkbench | undefined;
  let workbench: Workbench | undefined;
  let installedAs = "";
  let documentText = "";
  let selectedText = "";
  let selectionStart = 0;
  let reference: ReferenceRun;
  /** Set when a step fails: the later steps build on it and are skipped. */
  let broken: string | undefined;
  let failureCount = 0;

  const page = (): Page => {
    assert.ok(workbench, "the workbench did not start");
    return workbench.page;
  };
  const webview = (): FrameLocator => {
    assert.ok(workbench, "the workbench did not start");
    return workbench.webview();
  };
  const editor = (): Locator => {
    assert.ok(workbench, "the workbench did not start");
    return workbench.editor(SAMPLE_FILE);
  };
  const tokenCount = () => reference.tokens.tokens.length;

  before(async function () {
    this.timeout(300_000);
    const started = Date.now();
    installed = await startInstalledWorkbench();
    workbench = installed.workbench;
    installedAs = installed.installedAs;

    ({ documentText, start: selectionStart, text: selectedText } = sampleSelection(SAMPLE_FILE, FIRST_LINE, LINES_SELECTED));
    assert.equal(documentText.slice(selectionStart, selectionStart + selectedText.length), selectedText);
    reference = referenceRun(MODEL_ID, selectedText, selectionStart);
    console.log(`      (installed ${installedAs}; workbench and Node reference ready in ${((Date.now() - started) / 1000).toFixed(1)} s)`);
  });

  beforeEach(function () {
    if (broken) {
      console.log(`      (skipped: an earlier step failed: ${broken})`);
      this.skip();
    }
  });

  afterEach(async function () {
    const test = this.currentTest;
    if (test?.state !== "failed") return;
    broken = test.title;
    failureCount++;
    await reportFailure(workbench, `/tmp/attention-lens-e2e-failure-${failureCount}.png`);
  });

  after(async function () {
    this.timeout(60_000);
    await closeInstalledWorkbench(installed);
  });

  it("installs the packaged extension with code-server --install-extension", () => {
    assert.equal(installedAs.toLowerCase(), `${EXTENSION_ID}@${packageVersion()}`);
  });

  it("opens attention.ts with Quick Open and selects lines 4-9 with the keyboard", async () => {
    assert.ok(workbench);
    await workbench.selectLines(SAMPLE_FILE, FIRST_LINE, LINES_SELECTED);
    // The status bar says where the selection ends and how many characters it holds.
    const status = page().locator('[id="status.editor.selection"]');
    const expected = `Ln ${FIRST_LINE + LINES_SELECTED}, Col 1 (${selectedText.length} selected)`;
    await until(`the status bar to read "${expected}"`, async () => (await status.innerText()).includes(expected), 10_000);
    // More room for the editor and the panel side by side.
    await workbench.hideSideBar();
  });

  it('runs "Attention Lens: Show Attention" from the command palette; the panel draws the heatmaps', async () => {
    assert.ok(workbench);
    await workbench.runCommand("Attention Lens: Show Attention");
    const commandRan = Date.now();
    const view = webview();
    const done = await until(
      "the panel to draw the head view (or show an error)",
      async () => {
        if (await view.locator(".error[role=alert]").isVisible().catch(() => false)) {
          return `error: ${await view.locator(".error[role=alert]").innerText()}`;
        }
        return (await view.locator("main.lens[aria-busy='false'] .head-view .map canvas").isVisible().catch(() => false)) ? "drawn" : undefined;
      },
      120_000,
      250,
    );
    assert.equal(done, "drawn", `the panel shows an error instead of the heatmaps: ${done}`);
    // Reported, not asserted: timings belong to the benchmarks.
    console.log(`      (command to first heatmap, ${MODEL_ID} in a new panel, cold: ${((Date.now() - commandRan) / 1000).toFixed(1)} s)`);

    const source = `${SAMPLE_FILE}:${FIRST_LINE}-${FIRST_LINE + LINES_SELECTED - 1}`;
    await page().locator(".tab", { hasText: `Attention: ${source}` }).waitFor({ state: "visible", timeout: 10_000 });
    const header = await view.locator(".run-header").innerText();
    assert.ok(header.includes(`${tokenCount()} tokens`), `the panel's header says "${header}", expected ${tokenCount()} tokens (Node tokenizes the selection so)`);
    assert.ok(header.includes(source), `the panel's header says "${header}", expected the source ${source}`);
    assert.equal(await view.locator(".run-header select").inputValue(), MODEL_ID);
    const backend = await view.locator(".run-header [data-backend]").getAttribute("data-backend");
    assert.ok(backend === "wasm" || backend === "webgpu", `backend shown: ${backend}`);

    // The panel's text is the selection, token by token, after <|bos|>.
    const pieces = await view.locator(".token-view .text span.token").evaluateAll((spans) =>
      spans.map((span) => ({ special: span.classList.contains("special"), text: span.textContent ?? "" })),
    );
    assert.equal(pieces.length, tokenCount(), "one span per token in the token view");
    assert.deepEqual(pieces.filter((piece) => piece.special).map((piece) => piece.text), ["<|bos|>"]);
    const shown = pieces.filter((piece) => !piece.special).map((piece) => piece.text.replaceAll("⏎\n", "\n")).join("");
    assert.equal(shown, selectedText, "the token view shows exactly the selected text");

    // The head view's canvas holds one pixel per (query, key), the causal half of them coloured.
    const painted = await view.locator(".head-view .map canvas").evaluate((canvas: HTMLCanvasElement) => {
      const context = canvas.getContext("2d");
      if (!context) return { width: canvas.width, height: canvas.height, opaque: -1 };
      const pixels = context.getImageData(0, 0, canvas.width, canvas.height).data;
      let opaque = 0;
      for (let index = 3; index < pixels.length; index += 4) if (pixels[index] > 0) opaque++;
      return { width: canvas.width, height: canvas.height, opaque };
    });
    const count = tokenCount();
    assert.deepEqual([painted.width, painted.height], [count, count], "the head view's canvas has a pixel per (query, key)");
    assert.equal(painted.opaque, (count * (count + 1)) / 2, "every cell on or below the diagonal is painted, none above");
    const thumbnails = await view.locator(".overview button.thumb").count();
    assert.equal(thumbnails, reference.config.numHiddenLayers * (reference.config.numAttentionHeads + 1), "a thumbnail per layer and head, and a mean per layer");
  });

  /** Moves the mouse onto cell (row, col) of the head view and returns the read-out's weight. */
  async function hoverCell(map: { x: number; y: number; cell: number }, row: number, col: number): Promise<{ weight: number; text: string } | "masked"> {
    await page().mouse.move(map.x + (col + 0.5) * map.cell, map.y + (row + 0.5) * map.cell);
    const readout = webview().locator(".head-view .readout");
    return until(
      `the head view's read-out for query #${row}, key #${col}`,
      async () => {
        const shown = await readout.evaluate((element) => ({
          query: element.querySelector(".query")?.textContent ?? "",
          key: element.querySelector(".key")?.textContent ?? "",
          weight: element.querySelector(".weight")?.textContent ?? "",
          hint: element.querySelector(".hint")?.textContent ?? "",
        }));
        if (col > row) return shown.hint.includes("masked") && shown.hint.includes(`#${row} `) && shown.hint.includes(`#${col} `) ? ("masked" as const) : undefined;
        const query = /#(\d+)/.exec(shown.query)?.[1];
        const key = /#(\d+)/.exec(shown.key)?.[1];
        if (Number(query) !== row || Number(key) !== col || shown.weight === "") return undefined;
        return { weight: Number(shown.weight), text: shown.weight };
      },
      5_000,
      20,
    );
  }

  /** The head view's map in page pixels, scrolled fully into the panel's view. */
  async function headMapGeometry(): Promise<{ x: number; y: number; cell: number }> {
    const canvas = webview().locator(".head-view .map canvas");
    await webview().locator(".head-view").evaluate((element) => element.scrollIntoView({ block: "start" }));
    const box = await canvas.boundingBox();
    const frame = await page().locator("iframe.webview.ready").boundingBox();
    assert.ok(box && frame, "the head view's canvas and the webview have a size");
    assert.ok(
      box.y >= frame.y - 0.5 && box.y + box.height <= frame.y + frame.height + 0.5 && box.x + box.width <= frame.x + frame.width + 0.5,
      `the head map (${JSON.stringify(box)}) does not fit in the panel (${JSON.stringify(frame)}): cannot hover every cell`,
    );
    return { x: box.x, y: box.y, cell: box.width / tokenCount() };
  }

  async function compareCells(layer: number, head: number, cells: [number, number][]): Promise<number> {
    const map = await headMapGeometry();
    let largest = 0;
    for (const [row, col] of cells) {
      const shown = await hoverCell(map, row, col);
      if (col > row) {
        assert.equal(shown, "masked", `cell (${row}, ${col}) is above the diagonal: the read-out should say it is masked`);
        continue;
      }
      assert.notEqual(shown, "masked");
      if (shown === "masked") continue;
      const expected = reference.weight(layer, head, row, col);
      const difference = Math.abs(shown.weight - expected);
      largest = Math.max(largest, difference);
      assert.ok(
        difference <= WEIGHT_TOLERANCE,
        `layer ${layer} head ${head}, query #${row} ${JSON.stringify(reference.tokens.tokens[row].text)} -> key #${col} ` +
          `${JSON.stringify(reference.tokens.tokens[col].text)}: the panel shows ${shown.text}, Node computes ${expected.toFixed(6)} (difference ${difference.toExponential(2)})`,
      );
    }
    return largest;
  }

  it("opens on the strongest previous-token head found in Node, and reads out its weights as Node computes them (hovering cells)", async () => {
    const view = webview();
    const { layer, head } = firstHead();
    assert.equal(await view.locator(".head-view h2").innerText(), `Layer ${layer} · head ${head}`);
    assert.equal(await view.locator(".first-head").getAttribute("data-first-head"), `${layer}/${head}`);
    const count = tokenCount();
    const rows = [...new Set([0, 1, 2, Math.floor(count / 2), count - 2, count - 1])];
    const cells: [number, number][] = [];
    for (const row of rows) for (let col = 0; col <= row; col++) cells.push([row, col]);
    for (let row = 3; row < count - 2; row += 7) cells.push([row, row], [row, 0], [row, Math.floor(row / 2)]);
    cells.push([0, 1], [1, 2], [Math.floor(count / 2), count - 1]); // masked: later keys
    const largest = await compareCells(layer, head, cells);
    console.log(`      (${cells.length} cells of layer ${layer} / head ${head} read; largest difference from Node ${largest.toExponential(2)})`);
  });

  /** The head the panel opens on (webview/attention/first-head.ts's rule), from Node's maps. */
  function firstHead(): { layer: number; head: number } {
    const scores = new PreviousTokenScores(reference.config.numAttentionHeads, tokenCount());
    reference.attentions.forEach((attention, layer) => scores.add(layer, attention.data));
    return scores.choose();
  }

  /** The index of the last token whose text is `text` (throws when there is none). */
  function lastToken(text: string): number {
    const index = reference.tokens.tokens.map((token) => token.text).lastIndexOf(text);
    assert.ok(index > 0, `no token ${JSON.stringify(text)} in ${JSON.stringify(reference.tokens.tokens.map((token) => token.text))}`);
    return index;
  }

  /** Checks the editor's decorations against what the host should draw for `weights` of token `focused`. */
  async function assertEditorHighlights(theme: ThemeKind, focused: number, weights: readonly number[]): Promise<void> {
    const expected = expectedHighlights(documentText, reference, weights);
    assert.ok(expected.length > 0, `token #${focused}'s weights give no highlight on a single line: pick another token for this check`);
    const focusedStart = positionAt(documentText, reference.tokens.documentRanges[focused][0]);
    const focusedEnd = positionAt(documentText, reference.tokens.documentRanges[focused][1]);
    const near = (a: number, b: number, tolerance: number) => Math.abs(a - b) <= tolerance;
    assert.equal(focusedStart.line, focusedEnd.line, "the focused token lies on one line");

    /**
     * What is wrong with the drawn decorations, [] when nothing. The editor merges neighbouring
     * ranges of one decoration type into one box, so a key's range must lie INSIDE a box of its
     * opacity on its line, not be one.
     */
    const problems = (found: EditorDecorations): string[] => {
      const width = found.characterWidth;
      const lineTop = (line: number) => found.lineTops[line + 1];
      const wrong: string[] = [];
      const bordered = found.decorations.filter((decoration) => decoration.borderStyle === "solid" && decoration.borderWidth >= 1);
      const focusBox = bordered[0];
      if (
        bordered.length !== 1 ||
        !near(focusBox.top, lineTop(focusedStart.line), 1) ||
        !near(focusBox.left, focusedStart.column * width, 2) ||
        !near(focusBox.width, (focusedEnd.column - focusedStart.column) * width, 3)
      ) {
        wrong.push(
          `the focused token #${focused} ${JSON.stringify(reference.tokens.tokens[focused].text)} (line ${focusedStart.line + 1}, columns ` +
            `${focusedStart.column}-${focusedEnd.column}) should have one bordered decoration there; found ${JSON.stringify(bordered)} ` +
            `(line top ${lineTop(focusedStart.line)}, character width ${width.toFixed(2)})`,
        );
      }
      const highlights = found.decorations.filter((decoration) => isHighlight(decoration.background, theme));
      for (const entry of expected) {
        const left = entry.startColumn * width;
        const right = entry.endColumn * width;
        const covered = highlights.some((decoration) => {
          const alpha = parseRgba(decoration.background)?.alpha ?? -1;
          // Chromium keeps colour alpha in 8 bits: 0.535 reads back as 136/255 = 0.533.
          const alphaStep = 1 / 255;
          const opacityMatches = near(alpha, entry.opacity, alphaStep) || (entry.alternativeOpacity !== undefined && near(alpha, entry.alternativeOpacity, alphaStep));
          return opacityMatches && near(decoration.top, lineTop(entry.line), 1) && decoration.left <= left + 2 && decoration.left + decoration.width >= right - 2;
        });
        if (!covered && !entry.optional) {
          wrong.push(
            `no highlight of opacity ${entry.opacity} (rgb ${HIGHLIGHT_RGB[theme].join(", ")}) over token #${entry.tokenIndex} ` +
              `${JSON.stringify(reference.tokens.tokens[entry.tokenIndex].text)} at line ${entry.line + 1}, columns ${entry.startColumn}-${entry.endColumn}`,
          );
        }
      }
      return wrong;
    };

    let last: string[] = [];
    let lastDecorations: EditorDecorations | undefined;
    await until(
      `the editor to draw token #${focused}'s attention (${expected.length} single-line key highlights and the focused token)`,
      async () => {
        lastDecorations = await readEditorDecorations(editor(), FIRST_LINE);
        last = problems(lastDecorations);
        return last.length === 0;
      },
      15_000,
    ).catch((error: unknown) => {
      throw new Error(
        `${error instanceof Error ? error.message : String(error)}:\n  ${last.join("\n  ")}\n  the editor's decorations: ${JSON.stringify(lastDecorations?.decorations)}`,
      );
    });
    console.log(`      (token #${focused}: the focused token and ${expected.length} key highlights found where the weights put them, ${theme} theme)`);
  }

  it("hovering a token in the panel draws its attention in the editor (decorations in the editor's DOM)", async () => {
    const view = webview();
    // Off the panel: nothing focused, nothing drawn.
    await page().mouse.move(5, 400);
    await until(
      "the editor to drop its attention highlights once the mouse left the panel",
      async () => {
        const found = await readEditorDecorations(editor(), FIRST_LINE);
        return found.decorations.every((decoration) => !isHighlight(decoration.background, "dark") && decoration.borderStyle !== "solid");
      },
      10_000,
    );

    // The query whose row in the shown head gives the editor the most highlights to check.
    const { layer, head } = firstHead();
    const focused = reference.tokens.tokens
      .map((_, index) => ({ index, count: index === 0 ? -1 : expectedHighlights(documentText, reference, reference.row(layer, head, index)).length }))
      .reduce((best, candidate) => (candidate.count > best.count ? candidate : best)).index;
    await view.locator(`.token-view span.token[data-index="${focused}"]`).hover();
    const caption = await view.locator(".token-view .caption").innerText();
    assert.ok(caption.includes(`#${focused} `), `the token view's caption names the hovered token #${focused}: "${caption}"`);
    await assertEditorHighlights("dark", focused, reference.row(layer, head, focused));
  });

  it("picking layer 2 / head 5 in the overview shows that head's weights, as in Node", async () => {
    const view = webview();
    await view.locator('.overview button.thumb[data-layer="2"][data-head="5"]').click();
    await until("the head view to show layer 2 / head 5", async () => (await view.locator(".head-view h2").innerText()) === "Layer 2 · head 5", 10_000);
    const sharing = await view.locator(".head-view .sharing").innerText();
    const group = Math.floor(5 / (reference.config.numAttentionHeads / reference.config.numKeyValueHeads));
    assert.equal(sharing, `K/V head ${group} of ${reference.config.numKeyValueHeads}`);
    const last = tokenCount() - 1;
    const cells: [number, number][] = [];
    for (let col = 0; col <= last; col++) cells.push([last, col]);
    const largest = await compareCells(2, 5, cells);
    console.log(`      (${cells.length} cells of layer 2 / head 5 read; largest difference from Node ${largest.toExponential(2)})`);
  });

  /**
   * For the screenshots: locks the query " total" in the head view, gives the keyboard back to the
   * editor (its tab: the selection stays and shows as active) and hovers the query's strongest key,
   * so the read-out, the locked row and the editor highlights all show.
   */
  async function composeScreenshot(): Promise<{ focused: number; layer: number; head: number }> {
    const layer = 2;
    const head = 5;
    const focused = lastToken(" total");
    const row = reference.row(layer, head, focused);
    const strongest = row.slice(1).reduce((best, weight, index) => (weight > row[best] ? index + 1 : best), 1);
    const map = await headMapGeometry();
    const view = webview();
    if ((await view.locator(".head-view .row-band.locked").count()) === 0) {
      await page().mouse.click(map.x + (focused + 0.5) * map.cell, map.y + (focused + 0.5) * map.cell);
      await view.locator(".head-view .row-band.locked").waitFor({ state: "attached", timeout: 10_000 });
    }
    await page().locator(`.tab[data-resource-name="${SAMPLE_FILE}"]`).click();
    await editor().locator("textarea").first().evaluate((textarea) => {
      if (document.activeElement !== textarea) throw new Error("the editor did not take the keyboard focus");
    });
    await hoverCell(map, focused, strongest);
    return { focused, layer, head };
  }

  async function saveThemeScreenshot(theme: ThemeKind): Promise<void> {
    assert.ok(workbench);
    await page().waitForTimeout(300); // let the last hover repaint
    await saveScreenshot(workbench, `show-attention-${theme}.png`);
  }

  it("saves a screenshot in the dark theme (Default Dark Modern)", async () => {
    assert.ok(await page().locator(".monaco-workbench.vs-dark").isVisible(), "the workbench is in a dark theme");
    const { focused, layer, head } = await composeScreenshot();
    await assertEditorHighlights("dark", focused, reference.row(layer, head, focused));
    await saveThemeScreenshot("dark");
  });

  it("follows a switch to the light theme (Default Light Modern) and saves a screenshot", async () => {
    assert.ok(workbench);
    await workbench.pickColorTheme("Light Modern"); // "workbench.colorTheme": "Default Light Modern"
    await until("the workbench to switch to the light theme", async () => page().locator(".monaco-workbench.vs:not(.vs-dark)").isVisible(), 30_000, 200);
    await until(
      "the panel to switch to the light theme (body.vscode-light)",
      async () => (await webview().locator("body").getAttribute("class"))?.includes("vscode-light"),
      30_000,
      200,
    );
    const { focused, layer, head } = await composeScreenshot();
    await assertEditorHighlights("light", focused, reference.row(layer, head, focused));
    await saveThemeScreenshot("light");
  });
});
