/**
 * The exports in the real extension host: Show Attention on a sample, then the export commands with
 * a file as their argument (no save dialog), as a keybinding or a script would call them.
 *
 *   attentionLens.exportMapsJson   the file read back (readMapsDocument, the reader of the command
 *                                  line's JSON too) equals the run: every layer's and head's map as
 *                                  the panel shows it (the test hook), the tokens, the model, the precision
 *   attentionLens.exportSvg / Png  the head view round-trips page -> host -> file: an SVG with one
 *                                  cell per map entry and a label per token, a PNG twice its size
 *   no panel, a cancelled dialog   nothing is written; the first says what to do
 */

import * as assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DOMParser, onWarningStopParsing } from "@xmldom/xmldom";
import * as vscode from "vscode";

import { readMapsDocument } from "../../src/cli/maps-document";
import type { AttentionSummary } from "../../src/extension/attention-controller";
import { ApiPatches, attentionLens, shownHeadWeights } from "./extension-hooks";
import { within } from "./within";

const SHOW_ATTENTION = "attentionLens.showAttention";
const EXPORT_JSON = "attentionLens.exportMapsJson";
const EXPORT_SVG = "attentionLens.exportSvg";
const EXPORT_PNG = "attentionLens.exportPng";
const SETTLE_MS = 90_000;

function run<T>(command: string, ...args: unknown[]): Promise<T> {
  return within(vscode.commands.executeCommand<T>(command, ...args), SETTLE_MS, command);
}

/** Width and height from a PNG's IHDR chunk (bytes 16..23, big-endian). */
function pngSize(bytes: Uint8Array): [number, number] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  assert.equal(String.fromCharCode(...bytes.subarray(12, 16)), "IHDR", "a PNG starts with its IHDR chunk");
  return [view.getUint32(16), view.getUint32(20)];
}

describe("Export in the extension host", () => {
  const shown: { kind: "error" | "warning" | "information"; text: string }[] = [];
  const patches = new ApiPatches();
  let scratch: string;

  before(async () => {
    await attentionLens().activate();
    for (const [key, kind] of [
      ["showErrorMessage", "error"],
      ["showWarningMessage", "warning"],
      ["showInformationMessage", "information"],
    ] as const) {
      patches.wrap(vscode.window, key, (original) =>
        ((message: string, ...rest: unknown[]) => {
          shown.push({ kind, text: message });
          return (original as (...args: unknown[]) => unknown).call(vscode.window, message, ...rest);
        }) as typeof original,
      );
    }
    scratch = mkdtempSync(join(tmpdir(), "attention-lens-export-"));
  });

  after(async () => {
    patches.undoAll();
    rmSync(scratch, { recursive: true, force: true });
    await vscode.commands.executeCommand("workbench.action.closeAllEditors");
  });

  beforeEach(() => shown.splice(0));

  it("with no panel open, writes nothing and says what to do", async () => {
    await vscode.commands.executeCommand("workbench.action.closeAllEditors"); // the panel too
    const target = join(scratch, "nothing.json");
    assert.equal(await run(EXPORT_JSON, vscode.Uri.file(target)), undefined);
    assert.equal(existsSync(target), false);
    assert.ok(
      shown.some((message) => message.kind === "warning" && /No Attention Lens panel is open.*Show Attention/.test(message.text)),
      `shown: ${JSON.stringify(shown)}`,
    );
  });

  describe("after Show Attention", () => {
    let summary: AttentionSummary;

    before(async () => {
      const document = await vscode.workspace.openTextDocument(vscode.Uri.file(join(attentionLens().extensionPath, "media", "sample", "attention.ts")));
      const editor = await vscode.window.showTextDocument(document);
      editor.selection = new vscode.Selection(3, 0, 9, 0);
      const result = await run<AttentionSummary | undefined>(SHOW_ATTENTION);
      assert.ok(result, `${SHOW_ATTENTION} resolved to ${String(result)}`);
      summary = result;
    });

    it("exports the run's maps as JSON that reads back equal to the maps the panel shows", async () => {
      const target = vscode.Uri.file(join(scratch, "maps.json"));
      const written = await run<vscode.Uri | undefined>(EXPORT_JSON, target);
      assert.equal(written?.toString(), target.toString(), `shown: ${JSON.stringify(shown)}`);
      const document = readMapsDocument(readFileSync(target.fsPath, "utf8"));
      assert.equal(document.model.id, summary.modelId);
      assert.deepEqual([document.model.numLayers, document.model.numHeads], [summary.layers, summary.heads]);
      assert.equal(document.tokens.length, summary.tokens);
      assert.equal(document.tokens[0].special, true, "<|bos|> first");
      assert.equal(document.backend, summary.backend);
      assert.equal(document.mapPrecision, summary.mapPrecision);
      assert.equal(document.input.kind, "panel");
      for (let layer = 0; layer < summary.layers; layer++) {
        for (let head = 0; head < summary.heads; head++) {
          assert.deepEqual(document.attentions[layer][head], await shownHeadWeights(layer, head), `layer ${layer}, head ${head}`);
        }
      }
      assert.ok(shown.some((message) => message.kind === "information" && message.text.startsWith("Attention Lens exported maps.json")), `shown: ${JSON.stringify(shown)}`);
    });

    it("exports the head view as SVG (a cell per entry, a label per token) and as PNG at twice its size", async () => {
      const svgFile = vscode.Uri.file(join(scratch, "head.svg"));
      assert.equal((await run<vscode.Uri | undefined>(EXPORT_SVG, { target: svgFile, view: "head" }))?.toString(), svgFile.toString(), `shown: ${JSON.stringify(shown)}`);
      const svg = new DOMParser({ onError: onWarningStopParsing }).parseFromString(readFileSync(svgFile.fsPath, "utf8"), "image/svg+xml").documentElement!;
      const all = Array.from(svg.getElementsByTagName("*"));
      const heatmap = all.find((element) => element.getAttribute("data-role") === "heatmap");
      assert.ok(heatmap, "the SVG has the heatmap's cells");
      assert.equal(heatmap.getElementsByTagName("rect").length, summary.tokens * summary.tokens);
      const rowLabels = all.filter((element) => element.getAttribute("data-role") === "row-label");
      const colLabels = all.filter((element) => element.getAttribute("data-role") === "col-label");
      // As on screen: every stride-th token, labels at least 13 px apart (heatmap/layout.ts).
      const stride = Math.max(1, Math.ceil(13 / Number(heatmap.getElementsByTagName("rect")[0].getAttribute("width")) - 1e-9));
      assert.equal(rowLabels.length, Math.ceil(summary.tokens / stride), `a label every ${stride} tokens down the left`);
      assert.equal(colLabels.length, rowLabels.length, "and along the top");
      assert.equal(rowLabels[0].textContent, "<|bos|>");
      assert.match(all.find((element) => element.getAttribute("data-role") === "title")?.textContent ?? "", new RegExp(`^${summary.modelId} · layer \\d+ · head \\d+$`));

      const pngFile = vscode.Uri.file(join(scratch, "head.png"));
      assert.equal((await run<vscode.Uri | undefined>(EXPORT_PNG, pngFile.fsPath))?.toString(), pngFile.toString(), "the Attention tab's main view is the head view");
      const size = [Number(svg.getAttribute("width")), Number(svg.getAttribute("height"))];
      assert.deepEqual(pngSize(readFileSync(pngFile.fsPath)), [2 * size[0], 2 * size[1]]);
    });

    it("writes nothing when the save dialog is cancelled", async () => {
      const asked: vscode.SaveDialogOptions[] = [];
      patches.wrap(vscode.window, "showSaveDialog", () => (options?: vscode.SaveDialogOptions) => {
        asked.push(options ?? {});
        return Promise.resolve(undefined);
      });
      try {
        assert.equal(await run(EXPORT_SVG), undefined);
      } finally {
        patches.undoAll(); // the message patches go too: this is the last test
      }
      assert.equal(asked.length, 1, "the dialog was shown once");
      assert.deepEqual(asked[0].filters, { "SVG image": ["svg"] });
      assert.match(asked[0].defaultUri?.path ?? "", new RegExp(`/${summary.modelId} layer \\d+ head \\d+\\.svg$`), "named after the model and the head");
    });
  });
});
