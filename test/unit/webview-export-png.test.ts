/**
 * The panel's PNG export and "Copy as image" in a real browser: Debian's Chromium (headless, driven
 * by playwright-core) on a page with the webview's Content-Security-Policy that runs the exporter
 * (webview/export/view-exporter.ts) over a made-up attention run (test/browser/export/export-page.ts).
 *
 *   - the PNG a view's "Save as PNG…" posts is exactly twice the figure's CSS size (its IHDR chunk),
 *     and the SVG of the same view says that CSS size;
 *   - the PNG shows the SVG's picture: the pixel at the centre of every unmasked cell has that
 *     cell's fill in the SVG;
 *   - "Copy as image" puts that PNG on the clipboard where the page may write to it, and where it
 *     may not, says so (and logs it) instead of failing silently.
 *
 * Skipped when Chromium is not installed (apt-get install -y chromium).
 */

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DOMParser, onWarningStopParsing, type Element } from "@xmldom/xmldom";
import * as esbuild from "esbuild";
import { chromium, type BrowserContext, type Page } from "playwright-core";

import { contentSecurityPolicy } from "../../src/extension/webview-html";
import type { ExportView } from "../../src/protocol";
import type { PostedExport } from "../browser/export/export-page";
import { CHROMIUM_PATH, chromiumFlags, chromiumIsInstalled } from "../browser/harness";
import { startStaticServer, type StaticServer } from "../browser/static-server";
import { pngHeader, pngPixels } from "./helpers/png-decode";

const NONCE = "ZXhwb3J0LXRlc3Qtbm9uY2U=";

async function bundlePage(): Promise<Uint8Array> {
  const result = await esbuild.build({
    entryPoints: [join(__dirname, "..", "browser", "export", "export-page.ts")],
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    write: false,
    logLevel: "silent",
  });
  return result.outputFiles[0].contents;
}

type PostedImage = Extract<PostedExport, { kind: "image" }>;

function assertImage(exported: PostedExport, format: "png" | "svg"): asserts exported is PostedImage {
  assert.equal(exported.kind, "image", `expected a ${format} image, the exporter posted ${JSON.stringify(exported).slice(0, 300)}`);
  assert.equal((exported as PostedImage).format, format);
}

/** Every cell of the SVG's maps (not the legend's narrow ramp, whose cells its border overlaps): its centre in CSS px and its fill. */
function svgCells(svg: string): { x: number; y: number; fill: string }[] {
  const document = new DOMParser({ onError: onWarningStopParsing }).parseFromString(svg, "image/svg+xml");
  const groups = Array.from(document.getElementsByTagName("g")).filter((group: Element) => ["heatmap", "thumbnail"].includes(group.getAttribute("data-role") ?? ""));
  return groups.flatMap((group) =>
    Array.from(group.getElementsByTagName("rect")).map((rect) => ({
      x: Number(rect.getAttribute("x")) + Number(rect.getAttribute("width")) / 2,
      y: Number(rect.getAttribute("y")) + Number(rect.getAttribute("height")) / 2,
      fill: rect.getAttribute("fill") ?? "",
    })),
  );
}

describe("webview export: PNG and the clipboard, in Chromium", function () {
  this.timeout(120_000);
  let server: StaticServer | undefined;
  let context: BrowserContext | undefined;
  let page: Page;
  let profile: string | undefined;

  before(async function () {
    if (!chromiumIsInstalled()) {
      console.log(`      (no Chromium at ${CHROMIUM_PATH}: skipped)`);
      this.skip();
    }
    const script = await bundlePage();
    let origin = "";
    server = await startStaticServer((path) => {
      if (path === "/") {
        return {
          bytes: `<!DOCTYPE html><html><head><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" content="${contentSecurityPolicy(origin, NONCE)}"></head><body><script type="module" nonce="${NONCE}" src="/export-page.js"></script></body></html>`,
        };
      }
      if (path === "/export-page.js") return { bytes: script };
      return path === "/favicon.ico" ? { empty: true } : undefined;
    });
    origin = server.origin;
    profile = mkdtempSync(join(tmpdir(), "attention-lens-export-chromium-"));
    context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM_PATH, headless: true, args: chromiumFlags(false) });
    page = context.pages()[0] ?? (await context.newPage());
    page.on("pageerror", (error) => console.error(`[chromium uncaught] ${error.message}`));
    await page.goto(`${origin}/`);
    await page.waitForFunction(() => window.exportHarness !== undefined, undefined, { timeout: 30_000 });
  });

  after(async () => {
    await context?.close().catch(() => undefined);
    await server?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  const save = (view: ExportView, format: "png" | "svg") => page.evaluate(([view, format]) => window.exportHarness.save(view, format), [view, format] as const);

  for (const view of ["head", "overview"] as const) {
    it(`saves the ${view} view as a PNG of twice its CSS size, showing the SVG's cells`, async () => {
      const png = await save(view, "png");
      const svg = await save(view, "svg");
      assertImage(png, "png");
      assertImage(svg, "svg");
      assert.deepEqual([png.width, png.height], [svg.width, svg.height], "one figure, two files");
      assert.match(png.fileName, view === "head" ? /^attention-lens-gqa layer 1 head 2\.png$/ : /^attention-lens-gqa layers x heads\.png$/);

      const bytes = Uint8Array.from(png.bytes);
      const header = pngHeader(bytes);
      assert.deepEqual([header.width, header.height], [2 * png.width, 2 * png.height], "the PNG is drawn at 2 device pixels per CSS pixel");

      const svgText = new TextDecoder().decode(Uint8Array.from(svg.bytes));
      assert.match(svgText, new RegExp(`<svg [^>]*width="${svg.width}" height="${svg.height}"`), "the SVG says the same CSS size");
      const { rgba } = pngPixels(bytes);
      const cells = svgCells(svgText).filter((cell) => cell.fill.startsWith("#"));
      assert.ok(cells.length >= (view === "head" ? 15 : 100), `${cells.length} unmasked cells`);
      for (const cell of cells) {
        const offset = (Math.floor(cell.y * 2) * header.width + Math.floor(cell.x * 2)) * 4;
        const actual = Array.from(rgba.subarray(offset, offset + 3));
        const expected = [1, 3, 5].map((start) => parseInt(cell.fill.slice(start, start + 2), 16));
        assert.ok(
          actual.every((value, index) => Math.abs(value - expected[index]) <= 1),
          `the PNG's pixel at the centre of the cell at (${cell.x}, ${cell.y}) is rgb(${actual.join(", ")}), the SVG says ${cell.fill}`,
        );
      }
    });
  }

  it("says what to do when the view has nothing to export", async () => {
    const exported = await save("cache", "png");
    assert.equal(exported.kind, "failed");
    assert.match(exported.kind === "failed" ? exported.message : "", /No decoding is on screen\. Select a prompt and run "Attention Lens: Step Through Decoding" first\./);
  });

  it("copies the view as a PNG where the page may write to the clipboard", async () => {
    await context!.grantPermissions(["clipboard-read", "clipboard-write"], { origin: new URL(page.url()).origin });
    await page.bringToFront();
    const status = await page.evaluate(() => window.exportHarness.copy("head"));
    assert.match(status, /^Copied as a PNG image \(\d+ × \d+ pixels\)\.$/);
    const copied = await page.evaluate(() => window.exportHarness.clipboardPng());
    assert.ok(Array.isArray(copied), `the clipboard: ${String(copied)}`);
    const saved = await save("head", "png");
    assertImage(saved, "png");
    const [copiedHeader, savedHeader] = [pngHeader(Uint8Array.from(copied)), pngHeader(Uint8Array.from(saved.bytes))];
    assert.deepEqual([copiedHeader.width, copiedHeader.height], [savedHeader.width, savedHeader.height], "the picture of Save as PNG (the clipboard may add an alpha channel)");
  });

  it("says clearly, and logs, when the webview refuses the clipboard", async () => {
    const status = await page.evaluate(() => {
      // As a webview without clipboard permission answers.
      navigator.clipboard.write = () => Promise.reject(new DOMException("Write permission denied.", "NotAllowedError"));
      return window.exportHarness.copy("head");
    });
    assert.equal(status, 'Could not copy the image: the webview refused to write the image to the clipboard (Write permission denied). Use "Save as PNG…" instead.');
    const logs = await page.evaluate(() => window.exportHarness.logs());
    assert.ok(logs.includes(status), `logged for the output channel: ${JSON.stringify(logs)}`);
  });
});
