/**
 * Step Through Decoding inside a real extension host (code-server's; see
 * scripts/run-integration-tests.mjs), on the sample workspace media/sample/.
 *
 * The contract, for tests: `attentionLens.stepThroughDecoding` resolves, once the panel has cached
 * the selection as the prompt, to `{ requestId, step }` with step index 0 (the decoding step report
 * message of src/protocol.ts); `attentionLens.decodeControl` with "step", "back", "reset" resolves
 * to the decoding's next state, or to `{ stopped }` with the reason when it stopped.
 *
 * Checked here: the generated tokens and attention rows equal greedy decoding by full recomputes of
 * the TypeScript reference (DecoderModel, no cache) in this process; the cache bytes follow
 * 2 x layers x nkv x length x hs x 4; back then forward restores the same cache bit for bit (hash)
 * and the same rows; a control with nothing open or a bad action resolves to undefined.
 */

import * as assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as vscode from "vscode";

import { parseModelConfig } from "../../src/model/config";
import { DecoderModel } from "../../src/model/decoder-model";
import { readSafetensors } from "../../src/model/safetensors";
import type { DecodeStepSummary } from "../../src/protocol";
import { attentionLens, testHook } from "./extension-hooks";

/** A decoding step as reported, with its cache's hash and newest rows read through the test hook. */
type ObservedStep = DecodeStepSummary & { cacheHash: string; attentionRows: number[][][] };

async function withCache(step: DecodeStepSummary): Promise<ObservedStep> {
  const observation = await testHook().observe({ what: "decodeState" });
  assert.ok(observation && "cacheHash" in observation, `the panel shows no decoding: ${JSON.stringify(observation)}`);
  return { ...step, cacheHash: observation.cacheHash, attentionRows: observation.attentionRows };
}

const STEP_THROUGH = "attentionLens.stepThroughDecoding";
const CONTROL = "attentionLens.decodeControl";
const SELECT_MODEL = "attentionLens.selectModel";

interface DecodeReport {
  requestId: number;
  step?: DecodeStepSummary;
  stopped?: string;
}

function extensionPath(): string {
  return attentionLens().extensionPath;
}

function loadReference(id: string): DecoderModel {
  const folder = join(extensionPath(), "media", "models", id);
  const config = parseModelConfig(JSON.parse(readFileSync(join(folder, "config.json"), "utf8")));
  return DecoderModel.fromTensors(config, readSafetensors(readFileSync(join(folder, "model.safetensors"))).tensors);
}

/** Greedy decoding by full recomputes (no cache): per step the token and every layer's last query row. */
function recompute(model: DecoderModel, prompt: number[], steps: number): { ids: number[]; rows: number[][][][] } {
  const ids = [...prompt];
  const rows: number[][][][] = [];
  let logits = model.forward([ids]).logits.data;
  for (let step = 0; step < steps; step++) {
    const last = logits.subarray(logits.length - model.config.vocabSize);
    let best = 0;
    for (let id = 1; id < last.length; id++) if (last[id] > last[best]) best = id;
    ids.push(best);
    const full = model.forward([ids]);
    logits = full.logits.data;
    const length = ids.length;
    rows.push(
      full.attentions.map((weights) =>
        Array.from({ length: model.config.numAttentionHeads }, (_, head) => {
          const from = (head * length + length - 1) * length;
          return Array.from(weights.data.subarray(from, from + length));
        }),
      ),
    );
  }
  return { ids: ids.slice(prompt.length), rows };
}

async function control(action: string): Promise<ObservedStep> {
  const report = await vscode.commands.executeCommand<DecodeReport | undefined>(CONTROL, action);
  assert.ok(report?.step, `${CONTROL} ${action} resolved to ${JSON.stringify(report)}`);
  return withCache(report.step);
}

describe("Step Through Decoding in the extension host", function () {
  this.timeout(180_000);

  before(async () => {
    await attentionLens().activate();
    await vscode.commands.executeCommand(SELECT_MODEL, "attention-lens-gqa");
  });

  after(async () => {
    await vscode.commands.executeCommand("workbench.action.closeAllEditors");
  });

  it("is registered and contributed to the palette", async () => {
    const commands = await vscode.commands.getCommands(true);
    assert.ok(commands.includes(STEP_THROUGH) && commands.includes(CONTROL));
    const contributed = (attentionLens().packageJSON.contributes.commands ?? []) as { command: string; title: string }[];
    assert.equal(contributed.find((entry) => entry.command === STEP_THROUGH)?.title, "Step Through Decoding");
  });

  it("five cached steps equal five full recomputes; bytes follow the formula; back then forward is identical", async () => {
    const document = await vscode.workspace.openTextDocument(vscode.Uri.file(join(extensionPath(), "media", "sample", "attention.ts")));
    const editor = await vscode.window.showTextDocument(document);
    editor.selection = new vscode.Selection(3, 0, 9, 0);
    const started = await vscode.commands.executeCommand<DecodeReport | undefined>(STEP_THROUGH);
    assert.ok(started?.step, `${STEP_THROUGH} resolved to ${JSON.stringify(started)}`);
    const prefill = await withCache(started.step);
    assert.equal(prefill.index, 0);
    assert.equal(prefill.modelId, "attention-lens-gqa");
    assert.equal(prefill.cacheLength, prefill.promptIds.length);

    const model = loadReference("attention-lens-gqa");
    const expected = recompute(model, prefill.promptIds, 5);
    const steps: ObservedStep[] = [];
    for (let index = 0; index < 5; index++) steps.push(await control("step"));
    steps.forEach((step, index) => {
      assert.equal(step.index, index + 1);
      assert.deepEqual(step.generatedIds, expected.ids.slice(0, index + 1), `tokens after step ${index + 1}`);
      let worst = 0;
      step.attentionRows.forEach((layer, l) => layer.forEach((row, h) => row.forEach((value, k) => (worst = Math.max(worst, Math.abs(value - expected.rows[index][l][h][k]))))));
      assert.ok(worst < 1e-4, `attention rows of step ${index + 1} differ from the reference by ${worst}`);
      const { numHiddenLayers, numKeyValueHeads, headDim } = model.config;
      assert.equal(step.cacheBytes, 2 * numHiddenLayers * numKeyValueHeads * step.cacheLength * headDim * 4);
      assert.ok(step.logitsMaxDifference !== undefined && step.logitsMaxDifference < 1e-4);
    });

    const back = await control("back");
    assert.equal(back.index, 4);
    assert.equal(back.cacheHash, steps[3].cacheHash);
    const forward = await control("step");
    assert.equal(forward.cacheHash, steps[4].cacheHash);
    assert.deepEqual(forward.generatedIds, steps[4].generatedIds);
    assert.deepEqual(forward.attentionRows, steps[4].attentionRows);
    const reset = await control("reset");
    assert.equal(reset.cacheHash, prefill.cacheHash);
  });

  it("a bad action resolves to undefined (and says so) without throwing", async () => {
    assert.equal(await vscode.commands.executeCommand(CONTROL, "fly"), undefined);
  });
});
