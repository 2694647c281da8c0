/**
 * The learning features inside a real extension host: every walkthrough "try it" command opens its
 * example and ends with the panel in the step's mode on the example's tokens; Show Attention Stages
 * reports the numbers of the library run here in Node on the same tokens; Show Batch and Masks gives
 * the left-padded batch and masks of the library; bad input (an empty line among others, a line
 * longer than the context, a dropout rate outside [0, 1)) gets a clear message and no run.
 *
 * The commands' contract, for tests: `attentionLens.tryIt.<step>` resolves to { step, mode, text,
 * report } (report: the panel's learning report, or the Show Attention / Compare Models /
 * Step Through Decoding result); `attentionLens.showStages` and `attentionLens.showBatch` resolve to
 * the learning report, or { mode, error } for input that cannot run.
 */

import * as assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as vscode from "vscode";

import { leftPad } from "../../src/attention/left-padding";
import { padBatch } from "../../src/attention/padded-batch";
import { tryItCommand, WALKTHROUGH_STEPS } from "../../src/extension/walkthrough";
import { parseModelConfig } from "../../src/model/config";
import { DecoderModel } from "../../src/model/decoder-model";
import { readSafetensors } from "../../src/model/safetensors";
import { inspectStages, traceModelStages } from "../../src/model/stage-inspection";
import { TextTokenizer } from "../../src/model/tokenizer";
import type { BatchReport, LearningReport, LensMode, StagesReport } from "../../src/protocol";
import { ApiPatches, attentionLens, EXTENSION_ID, testHook } from "./extension-hooks";


interface TryItResult {
  step: string;
  mode: LensMode;
  text: string;
  report: unknown;
}

function extensionPath(): string {
  return attentionLens().extensionPath;
}

/** Opens an untitled document with `text`, all of it selected. */
async function selectAllOf(text: string): Promise<void> {
  const document = await vscode.workspace.openTextDocument({ content: text, language: "plaintext" });
  const editor = await vscode.window.showTextDocument(document, vscode.ViewColumn.One);
  editor.selection = new vscode.Selection(document.positionAt(0), document.positionAt(text.length));
}

describe("learning: walkthrough, stages and batch in the extension host", function () {
  this.timeout(180_000);
  let tokenizer: TextTokenizer;
  let model: DecoderModel;

  before(async () => {
    const folder = join(extensionPath(), "media", "models", "attention-lens-gqa");
    tokenizer = TextTokenizer.fromJson(readFileSync(join(folder, "tokenizer.json"), "utf8"));
    const config = parseModelConfig(JSON.parse(readFileSync(join(folder, "config.json"), "utf8")));
    model = DecoderModel.fromTensors(config, readSafetensors(readFileSync(join(folder, "model.safetensors"))).tensors);
    await attentionLens().activate();
    await vscode.workspace.getConfiguration("attentionLens").update("defaultModel", "attention-lens-gqa", vscode.ConfigurationTarget.Global);
  });

  after(async () => {
    await vscode.commands.executeCommand("workbench.action.closeAllEditors");
  });

  for (const step of WALKTHROUGH_STEPS) {
    it(`${tryItCommand(step)} opens ${step.example} and the panel in ${step.action.kind} mode on its tokens`, async () => {
      const result = await vscode.commands.executeCommand<TryItResult | undefined>(tryItCommand(step));
      assert.ok(result, "the command resolved to nothing");
      assert.equal(result.step, step.id);
      assert.equal(result.mode, step.action.kind);
      const example = readFileSync(join(extensionPath(), "media", "walkthrough", step.example), "utf8");
      assert.equal(result.text, example);
      assert.equal(vscode.window.activeTextEditor?.document.getText(), example, "the example is open");
      const ids = tokenizer.encode(example, { addBos: true }).ids;
      const report = result.report as Record<string, unknown> | undefined;
      assert.ok(report, `${step.id}: the panel reported nothing`);
      assert.ok(!("error" in report), `${step.id}: ${String(report.error)}`);
      switch (step.action.kind) {
        case "stages": {
          const stages = report as unknown as StagesReport;
          assert.equal(stages.mode, "stages");
          assert.equal(stages.tokens, ids.length, "the example's tokens");
          assert.equal(stages.layer, step.action.choice.layer);
          assert.equal(stages.query, step.action.choice.query);
          break;
        }
        case "batch": {
          const batch = report as unknown as BatchReport;
          const lines = example.trimEnd().split("\n").map((line) => tokenizer.encode(line, { addBos: true }).ids);
          assert.deepEqual(batch.inputIds, leftPad(lines, tokenizer.padTokenId!).inputIds, "each line one left-padded sequence");
          break;
        }
        case "attention":
          assert.equal(report.tokens, ids.length);
          break;
        case "compare":
          assert.deepEqual((report.models as { modelId: string }[]).map((entry) => entry.modelId), [step.action.modelA, step.action.modelB]);
          break;
        case "decode":
          assert.ok(report.step, `decode: ${JSON.stringify(report)}`);
          break;
      }
    });
  }

  it("the walkthrough stays open while its steps open their examples", async () => {
    await vscode.commands.executeCommand("workbench.action.closeAllEditors");
    await vscode.commands.executeCommand("workbench.action.openWalkthrough", `${EXTENSION_ID}#attentionLens.learnAttention`, false);
    // The walkthrough's tab (its label in the tabs API lags behind: the workbench's own walkthrough's name at first).
    const walkthroughTabs = () =>
      vscode.window.tabGroups.all.flatMap((group) => group.tabs).filter((tab) => !(tab.input instanceof vscode.TabInputText) && !(tab.input instanceof vscode.TabInputWebview));
    const deadline = Date.now() + 20_000;
    while (walkthroughTabs().length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(walkthroughTabs().length, 1, "the walkthrough opened");
    for (const step of WALKTHROUGH_STEPS.slice(0, 2)) {
      const result = await vscode.commands.executeCommand<TryItResult | undefined>(tryItCommand(step));
      assert.ok(result?.report, `${step.id} ran`);
      const tabs = walkthroughTabs().map((tab) => tab.label);
      assert.equal(tabs.length, 1, `after "${step.title}" the walkthrough is still open; tabs: ${JSON.stringify(vscode.window.tabGroups.all.flatMap((group) => group.tabs.map((tab) => tab.label)))}`);
      assert.match(tabs[0], /Walkthrough/);
    }
  });

  it("after a walkthrough step sets model A, Select Model marks that model as current", async () => {
    const step = WALKTHROUGH_STEPS.find((candidate) => candidate.action.kind === "compare");
    assert.ok(step && step.action.kind === "compare");
    const result = await vscode.commands.executeCommand<TryItResult | undefined>(tryItCommand(step));
    assert.ok(result?.report, "the comparison ran");
    const patches = new ApiPatches();
    let marked: string[] | undefined;
    patches.wrap(vscode.window, "showQuickPick", () =>
      (async (items: readonly vscode.QuickPickItem[] | Thenable<readonly vscode.QuickPickItem[]>) => {
        marked = (await items).filter((item) => item.description?.includes("· current")).map((item) => (item as { modelId?: string }).modelId ?? item.label);
        return undefined; // dismissed
      }) as unknown as typeof vscode.window.showQuickPick,
    );
    try {
      assert.equal(await vscode.commands.executeCommand("attentionLens.selectModel"), undefined);
    } finally {
      patches.undoAll();
    }
    assert.deepEqual(marked, [step.action.modelA], "the panel shows model A; Select Model marks it as current");
  });

  it("Show Attention Stages reports the numbers of the library on the same tokens, with dropout", async () => {
    await vscode.commands.executeCommand("attentionLens.selectModel", "attention-lens-gqa"); // the model of the reference below
    const text = "const answer = 40 + 2;";
    await selectAllOf(text);
    const report = await vscode.commands.executeCommand<LearningReport | undefined>("attentionLens.showStages", {
      layer: 2,
      head: 6,
      query: 5,
      key: 1,
      dropoutRate: 0.3,
      dropoutSeed: 4,
    });
    assert.ok(report && !("error" in report) && report.mode === "stages", JSON.stringify(report));
    const ids = tokenizer.encode(text, { addBos: true }).ids;
    const inspection = inspectStages(model.config, traceModelStages(model, [ids]), { layer: 2, head: 6, query: 5, dropout: { rate: 0.3, seed: 4 } });
    const observation = await testHook().observe({ what: "stageRows" });
    assert.ok(observation && "rows" in observation, JSON.stringify(observation));
    const rows = observation.rows;
    for (const stage of ["rawScores", "scaledScores", "maskedScores", "weights", "weightsAfterDropout", "context"] as const) {
      inspection.trace[stage].forEach((value, index) => {
        const shown = rows[stage][index];
        if (!Number.isFinite(value)) assert.equal(shown, null, `${stage}[${index}]`);
        else assert.ok(shown !== null && Math.abs(shown - value) < 1e-5, `${stage}[${index}]: ${shown} vs ${value}`);
      });
    }
    const weights = rows.weights.filter((value): value is number => value !== null);
    assert.ok(Math.abs(weights.reduce((sum, value) => sum + value, 0) - 1) < 1e-5);
  });

  it("Show Batch and Masks gives the library's left-padded batch and masks", async () => {
    const lines = ["let a = 1;", "a += 2;", "console.log(a);"];
    await selectAllOf(lines.join("\n"));
    const report = await vscode.commands.executeCommand<LearningReport | undefined>("attentionLens.showBatch");
    assert.ok(report && !("error" in report) && report.mode === "batch", JSON.stringify(report));
    const expected = padBatch(lines.map((line) => tokenizer.encode(line, { addBos: true }).ids), tokenizer.padTokenId!);
    assert.deepEqual(report.inputIds, expected.inputIds);
    assert.deepEqual(report.tokenMask, expected.tokenMask);
    const traced = traceModelStages(model, expected.inputIds, expected.tokenMask);
    report.blocked.forEach((rows, row) =>
      rows.forEach((keys, query) => keys.forEach((blocked, key) => assert.equal(blocked, traced[0].mask!.at(row, 0, query, key) === -Infinity))),
    );
    assert.deepEqual(report.maxPadWeight, [0, 0, 0]);
  });

  describe("bad input: a clear message, no run", () => {
    it("an empty line among others", async () => {
      await selectAllOf("first line\n\nthird line");
      const report = await vscode.commands.executeCommand<LearningReport | undefined>("attentionLens.showBatch");
      assert.ok(report && "error" in report, JSON.stringify(report));
      assert.match(report.error, /^The selected lines cannot form a batch: line 2 is empty: every line becomes one sequence/);
    });

    it("a line longer than the context", async () => {
      await selectAllOf(`short\n${"word ".repeat(700)}`);
      const report = await vscode.commands.executeCommand<LearningReport | undefined>("attentionLens.showBatch");
      assert.ok(report && "error" in report, JSON.stringify(report));
      assert.match(report.error, /line 2 has \d+ tokens \(with <\|bos\|>\) but the model's context holds 512: shorten the line or split it/);
    });

    it("a dropout rate outside [0, 1)", async () => {
      await selectAllOf("some text");
      for (const dropoutRate of [1, -0.5, 2]) {
        const report = await vscode.commands.executeCommand<LearningReport | undefined>("attentionLens.showStages", { dropoutRate });
        assert.ok(report && "error" in report, JSON.stringify(report));
        assert.match(report.error, /the dropout rate must be at least 0 and below 1/);
      }
    });
  });
});
