/**
 * Convert to GQA... in the real extension host: `attentionLens.convertHeads` runs the selection
 * through the current model (A) and through the same model with its key/value heads grouped in the
 * panel (B), in compare mode, and resolves to the comparison report. B's next-token loss is checked
 * against the project's TypeScript reference decoder run here on the same conversion
 * (src/model/key-value-conversion.ts, itself checked against PyTorch in the unit tests).
 */

import * as assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as vscode from "vscode";

import type { ComparisonResult } from "../../src/extension/command-results";
import { parseModelConfig } from "../../src/model/config";
import { DecoderModel } from "../../src/model/decoder-model";
import { convertKeyValueHeads } from "../../src/model/key-value-conversion";
import { readSafetensors } from "../../src/model/safetensors";
import { TextTokenizer } from "../../src/model/tokenizer";
import { decoderWeightsFromTensors } from "../../src/model/weights";
import { ApiPatches, attentionLens } from "./extension-hooks";
import { within } from "./within";

const CONVERT = "attentionLens.convertHeads";
const SETTLE_MS = 120_000;

function convert(argument?: unknown): Promise<ComparisonResult | undefined> {
  const run = argument === undefined ? vscode.commands.executeCommand<ComparisonResult | undefined>(CONVERT) : vscode.commands.executeCommand<ComparisonResult | undefined>(CONVERT, argument);
  return within(run, SETTLE_MS, `${CONVERT}(${JSON.stringify(argument)})`);
}

/** The mean next-token loss of the bundled MHA model converted by the reference decoder, on `text`. */
function referenceLoss(text: string, groups: number, method: "mean" | "first"): { tokens: number; loss: number } {
  const folder = join(attentionLens().extensionPath, "media", "models", "attention-lens-mha");
  const config = parseModelConfig(JSON.parse(readFileSync(join(folder, "config.json"), "utf8")));
  const weights = decoderWeightsFromTensors(config, readSafetensors(readFileSync(join(folder, "model.safetensors"))).tensors);
  const converted = convertKeyValueHeads(config, weights, { groups, method });
  const tokenizer = TextTokenizer.fromFiles(readFileSync(join(folder, "tokenizer.json"), "utf8"));
  const ids = tokenizer.encode(text, { addSpecialTokens: true }).ids;
  const logits = new DecoderModel(converted.config, converted.weights).forward([ids]).logits; // (1, T, V)
  const vocabulary = converted.config.vocabSize;
  let total = 0;
  for (let position = 0; position + 1 < ids.length; position++) {
    const row = logits.data.subarray(position * vocabulary, (position + 1) * vocabulary);
    const largest = Math.max(...row);
    const logSumExp = largest + Math.log(row.reduce((sum, value) => sum + Math.exp(value - largest), 0));
    total += logSumExp - row[ids[position + 1]];
  }
  return { tokens: ids.length, loss: total / (ids.length - 1) };
}

describe("Convert to GQA... in the extension host", () => {
  const shown: string[] = [];
  const patches = new ApiPatches();
  let text = "";

  before(async () => {
    const extension = attentionLens();
    await extension.activate();
    patches.wrap(vscode.window, "showWarningMessage", (original) =>
      ((message: string, ...rest: unknown[]) => {
        shown.push(message);
        return (original as (...args: unknown[]) => unknown).call(vscode.window, message, ...rest);
      }) as typeof original,
    );
    await vscode.commands.executeCommand("attentionLens.selectModel", "attention-lens-mha");
    const document = await vscode.workspace.openTextDocument(vscode.Uri.file(join(extension.extensionPath, "media", "sample", "attention.ts")));
    const editor = await vscode.window.showTextDocument(document);
    editor.selection = new vscode.Selection(0, 0, 8, 0);
    text = document.getText(editor.selection);
  });

  after(async () => {
    patches.undoAll();
    await vscode.commands.executeCommand("attentionLens.selectModel", "attention-lens-gqa");
    await vscode.commands.executeCommand("workbench.action.closeAllEditors");
  });

  beforeEach(() => shown.splice(0));

  it("MHA against itself mean-pooled into 2 groups: a quarter of the KV cache, the same query heads, a higher loss equal to the reference", async () => {
    const summary = await convert({ groups: 2, method: "mean" });
    assert.ok(summary, `${CONVERT} resolved to undefined; warnings: ${shown.join(" | ")}`);
    const [a, b] = summary.models;
    assert.deepEqual([a.modelId, b.modelId], ["attention-lens-mha", "attention-lens-mha::kv2-mean"]);
    assert.deepEqual([a.heads, b.heads, a.keyValueHeads, b.keyValueHeads], [8, 8, 8, 2]);
    assert.equal(summary.kvBytesRatio, 0.25);
    for (const [layer, difference] of summary.meanDifferenceByLayer.entries()) {
      assert.ok(difference > 1e-4, `layer ${layer}: grouping the key heads changes the attention (mean |A - B| ${difference})`);
    }
    const expected = referenceLoss(text, 2, "mean");
    assert.equal(a.tokens, expected.tokens);
    assert.ok(a.meanLoss !== undefined && b.meanLoss !== undefined, "both models' losses are reported");
    assert.ok(Math.abs(b.meanLoss - expected.loss) < 1e-3, `the panel's converted loss ${b.meanLoss} vs the reference decoder's ${expected.loss}`);
    assert.ok(b.meanLoss > a.meanLoss + 0.2, `without training the converted model knows the text worse: A ${a.meanLoss}, B ${b.meanLoss}`);
  });

  it("asks for the groups and the method when run from the palette, offering only the divisors", async () => {
    const offered: string[][] = [];
    const picks = [(items: { label: string }[]) => items.find((item) => item.label.startsWith("2 key/value groups")), (items: { label: string }[]) => items.find((item) => item.label.startsWith("Keep the first head"))];
    patches.wrap(vscode.window, "showQuickPick", () =>
      (async (items: readonly { label: string }[] | Thenable<readonly { label: string }[]>) => {
        const list = [...(await items)];
        offered.push(list.map((item) => item.label));
        return picks[offered.length - 1]?.(list);
      }) as unknown as typeof vscode.window.showQuickPick,
    );
    try {
      const summary = await convert();
      assert.ok(summary, `warnings: ${shown.join(" | ")}`);
      assert.equal(summary.models[1].modelId, "attention-lens-mha::kv2-first");
      assert.deepEqual(offered[0], ["4 key/value groups (GQA)", "2 key/value groups (GQA)", "1 key/value head (MQA)"]);
      assert.deepEqual(offered[1], ["Mean-pool each group's heads", "Keep the first head of each group"]);
      const expected = referenceLoss(text, 2, "first");
      assert.ok(Math.abs(summary.models[1].meanLoss! - expected.loss) < 1e-3, `${summary.models[1].meanLoss} vs ${expected.loss}`);
    } finally {
      patches.undoAll();
      patches.wrap(vscode.window, "showWarningMessage", (original) =>
        ((message: string, ...rest: unknown[]) => {
          shown.push(message);
          return (original as (...args: unknown[]) => unknown).call(vscode.window, message, ...rest);
        }) as typeof original,
      );
    }
  });

  it("refuses groups that do not divide the heads, and a model with a single key/value head, saying why", async () => {
    assert.equal(await convert({ groups: 3, method: "mean" }), undefined);
    assert.match(shown.join(" | "), /8 key\/value heads cannot be split into 3 equal groups: pick 4, 2, 1/);
    assert.equal(await convert({ groups: 2, method: "median" }), undefined);
    assert.match(shown.join(" | "), /"method" is "mean" or "first"/);
    await vscode.commands.executeCommand("attentionLens.selectModel", "attention-lens-mqa");
    shown.splice(0);
    assert.equal(await convert(), undefined);
    assert.match(shown.join(" | "), /already has a single key\/value head/);
    await vscode.commands.executeCommand("attentionLens.selectModel", "attention-lens-mha");
  });
});
