/**
 * Compare mode in the real extension host: `attentionLens.compareModels` runs the selection through
 * two bundled models in the panel and resolves to the webview's comparison report
 * (without its type): both models' facts, the per-layer mean |A - B| (heads paired by index, and the
 * same by best match) and the ratio of their KV caches.
 * It takes two optional arguments, the ids of model A and model B; a bad pair resolves to undefined
 * and shows a message that names the models. A pair over attentionLens.memoryBudgetMB is refused
 * before anything loads (src/extension/model-memory.ts, planComparisonMemory).
 */

import * as assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as vscode from "vscode";

import { within } from "./within";
import type { ComparisonResult } from "../../src/extension/attention-controller";
import { ApiPatches, attentionLens } from "./extension-hooks";

const COMPARE_MODELS = "attentionLens.compareModels";
const SETTLE_MS = 120_000;

type ComparisonSummary = ComparisonResult;

function compare(...modelIds: string[]): Promise<ComparisonSummary | undefined> {
  return within(vscode.commands.executeCommand<ComparisonSummary | undefined>(COMPARE_MODELS, ...modelIds), SETTLE_MS, `${COMPARE_MODELS}(${modelIds.join(", ")})`);
}

describe("Compare Models in the extension host", () => {
  const shown: { kind: "error" | "warning"; text: string }[] = [];
  const patches = new ApiPatches();

  before(async () => {
    const extension = attentionLens();
    await extension.activate();
    for (const [key, kind] of [
      ["showErrorMessage", "error"],
      ["showWarningMessage", "warning"],
    ] as const) {
      patches.wrap(vscode.window, key, (original) =>
        ((message: string, ...rest: unknown[]) => {
          shown.push({ kind, text: message });
          return (original as (...args: unknown[]) => unknown).call(vscode.window, message, ...rest);
        }) as typeof original,
      );
    }
    const document = await vscode.workspace.openTextDocument(vscode.Uri.file(join(extension.extensionPath, "media", "sample", "attention.ts")));
    const editor = await vscode.window.showTextDocument(document);
    editor.selection = new vscode.Selection(0, 0, Math.min(12, document.lineCount - 1), 0);
  });

  after(async () => {
    patches.undoAll();
    await vscode.commands.executeCommand("workbench.action.closeAllEditors");
  });

  beforeEach(() => shown.splice(0));

  it("runs MHA and GQA on the same tokens: both results arrive, their attention differs, GQA's KV cache is a quarter", async () => {
    const summary = await compare("attention-lens-mha", "attention-lens-gqa");
    assert.ok(summary, `${COMPARE_MODELS} resolved to ${String(summary)}; shown: ${JSON.stringify(shown)}`);
    const [a, b] = summary.models;
    assert.deepEqual([a.modelId, b.modelId], ["attention-lens-mha", "attention-lens-gqa"]);
    assert.ok(a.tokens > 10, `tokens: ${a.tokens}`);
    assert.equal(b.tokens, a.tokens, "the same tokens went through both models");
    assert.deepEqual([a.keyValueHeads, b.keyValueHeads], [8, 2]);
    assert.equal(summary.meanDifferenceByLayer.length, a.layers);
    for (const [layer, difference] of summary.meanDifferenceByLayer.entries()) {
      assert.ok(difference > 1e-3 && difference < 1, `layer ${layer}: mean |A - B| ${difference}; two differently trained models attend differently`);
    }
    // Heads paired by index unless the person picks "by best match" in the panel; both means are reported.
    assert.equal(summary.headAlignment, "index");
    for (const [layer, pairs] of summary.headPairs.entries()) {
      assert.deepEqual(pairs.map((pair) => pair.headB), [0, 1, 2, 3, 4, 5, 6, 7], `layer ${layer}`);
      assert.ok(summary.meanDifferenceByBestMatch[layer] <= summary.meanDifferenceByIndex[layer] + 1e-9, `layer ${layer}: best match is never worse than by index`);
    }
    // 2 x L x nkv x T x hs x 4 bytes, from the tensors the decoders returned.
    const headDim = 16;
    assert.equal(a.kvBytes, 2 * a.layers * 8 * a.tokens * headDim * 4);
    assert.equal(b.kvBytes, 2 * b.layers * 2 * b.tokens * headDim * 4);
    assert.equal(summary.kvBytesRatio, 0.25);
    assert.equal(a.kvBytesPerToken, a.kvBytes / a.tokens);
    assert.deepEqual(shown.filter((message) => message.kind === "error"), []);
  });

  it("MQA against GQA: the order of the arguments is model A, model B", async () => {
    const summary = await compare("attention-lens-mqa", "attention-lens-gqa");
    assert.ok(summary);
    assert.deepEqual(summary.models.map((model) => model.modelId), ["attention-lens-mqa", "attention-lens-gqa"]);
    assert.equal(summary.kvBytesRatio, 2);
  });

  it("refuses to compare a model with itself, saying so", async () => {
    const summary = await compare("attention-lens-gqa", "attention-lens-gqa");
    assert.equal(summary, undefined);
    assert.ok(
      shown.some((message) => message.kind === "warning" && /two different models.*both "attention-lens-gqa"/.test(message.text)),
      `shown: ${JSON.stringify(shown)}`,
    );
  });

  it("names an unknown model and lists the bundled ones", async () => {
    const summary = await compare("attention-lens-gqa", "attention-lens-xl");
    assert.equal(summary, undefined);
    const error = shown.find((message) => message.kind === "error");
    assert.ok(error, `no error shown: ${JSON.stringify(shown)}`);
    assert.match(error.text, /"attention-lens-xl" \(from Compare Models\) is not one of the models Attention Lens found in the bundled models .*: "attention-lens-mha", "attention-lens-gqa", "attention-lens-gqa-uptrained", "attention-lens-mqa", "attention-lens-mqa-uptrained"\..* Pick one of these with "Attention Lens: Select Model"\.$/);
  });

  it("a newer comparison supersedes an older one; closing the panel mid-run leaves nothing hanging", async () => {
    const first = compare("attention-lens-mha", "attention-lens-mqa");
    const second = compare("attention-lens-gqa", "attention-lens-mha");
    const [older, newer] = await Promise.all([first, second]);
    assert.equal(older, undefined, "the superseded comparison resolves to undefined");
    assert.ok(newer);
    assert.deepEqual(newer.models.map((model) => model.modelId), ["attention-lens-gqa", "attention-lens-mha"]);

    const running = compare("attention-lens-mha", "attention-lens-mqa");
    await new Promise((resolve) => setTimeout(resolve, 50));
    await vscode.commands.executeCommand("workbench.action.closeAllEditors");
    const closed = await running; // within() fails the test if it hangs
    // Either it finished before the panel closed or it was cancelled; it settles either way.
    assert.ok(closed === undefined || closed.models[0].modelId === "attention-lens-mha");
  });

  it("plans model B beside model A: a pair over the memory budget is refused with both models' parts; A's conversion, sharing A's tensors, fits", async () => {
    const settings = () => vscode.workspace.getConfiguration("attentionLens");
    const scratch = mkdtempSync(join(tmpdir(), "attention-lens-compare-"));
    try {
      // 128 tokens: the MHA model alone fits 18 MiB (float32 maps; its float16 file held at 16 bits), beside the GQA model it does not.
      await settings().update("maxTokens", 128, vscode.ConfigurationTarget.Global);
      await settings().update("memoryBudgetMB", 18, vscode.ConfigurationTarget.Global);
      const path = join(scratch, "budget.ts");
      writeFileSync(path, "const answer = 42; // a line of code to attend over\n".repeat(200));
      const editor = await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(vscode.Uri.file(path)));
      editor.selection = new vscode.Selection(0, 0, editor.document.lineCount, 0);

      assert.equal(await compare("attention-lens-mha", "attention-lens-gqa"), undefined, "nothing ran");
      const errors = shown.filter((message) => message.kind === "error").map((message) => message.text);
      assert.equal(errors.length, 1, JSON.stringify(shown));
      assert.match(
        errors[0],
        /^attention-lens-mha with attention-lens-gqa: Too large for the panel with model B: 128 tokens through both models need about \d+ MiB \(A: weights \d+ MiB, runtime \d+ MiB, .*; B: weights \d+ MiB, runtime \d+ MiB, .*\), more than the budget of 18 MiB \(attentionLens\.memoryBudgetMB\)\. Select less text \(up to about \d+ tokens fit for both\)/,
      );

      // B = A with 2 key/value groups adds only its grouped key/value projections: the same budget runs it.
      shown.splice(0);
      const converted = await within(
        vscode.commands.executeCommand<ComparisonSummary | undefined>("attentionLens.convertHeads", { groups: 2, method: "mean" }),
        SETTLE_MS,
        "attentionLens.convertHeads",
      );
      assert.ok(converted, `the conversion did not run within 18 MiB: ${JSON.stringify(shown)}`);
      assert.deepEqual(converted.models.map((model) => model.modelId), ["attention-lens-mha", "attention-lens-mha::kv2-mean"]);
      assert.equal(converted.models[0].tokens, 128);

      // With the tokens the refusal names, the pair runs.
      const fitting = Number(/up to about (\d+) tokens/.exec(errors[0])?.[1]);
      await settings().update("maxTokens", fitting, vscode.ConfigurationTarget.Global);
      const summary = await compare("attention-lens-mha", "attention-lens-gqa");
      assert.ok(summary, `no comparison at ${fitting} tokens within 18 MiB: ${JSON.stringify(shown)}`);
      assert.equal(summary.models[1].tokens, fitting);
      assert.deepEqual(shown.filter((message) => message.kind === "error"), []);
    } finally {
      await settings().update("memoryBudgetMB", undefined, vscode.ConfigurationTarget.Global);
      await settings().update("maxTokens", undefined, vscode.ConfigurationTarget.Global);
      rmSync(scratch, { recursive: true, force: true });
    }
  });
});
