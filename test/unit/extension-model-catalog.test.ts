import assert from "node:assert/strict";
import { budgetBytesOf, estimateRunMemory } from "../../src/extension/model-memory";
import { DEFAULT_SETTINGS } from "../../src/extension/settings";
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import {
  labelOfModel,
  localResourceRootsOf,
  MODEL_FILES,
  ModelCatalog,
  ModelCatalogError,
  readModelFolder,
  scanModels,
  toModelDescriptor,
} from "../../src/extension/model-catalog";
import { parseModelConfig } from "../../src/model/config";
import { writeSafetensors } from "../../src/model/safetensors-writer";
import { TextTokenizer } from "../../src/model/tokenizer";
import { decoderWeightsToTensors, parameterCount, randomDecoderWeights } from "../../src/model/weights";

const MODELS = join(__dirname, "..", "..", "media", "models");
const BUNDLED = readdirSync(MODELS, { withFileTypes: true }).filter((entry) => entry.isDirectory() && existsSync(join(MODELS, entry.name, "config.json")));

/** A temporary models folder holding copies of the real gqa model under the given names. */
function temporaryModels(names: string[]): string {
  const folder = mkdtempSync(join(tmpdir(), "attention-lens-models-"));
  for (const name of names) cpSync(join(MODELS, "attention-lens-gqa"), join(folder, name), { recursive: true });
  return folder;
}

describe("extension: the model catalog, on the bundled models", () => {
  const temporaryFolders: string[] = [];
  const temporary = (names: string[]) => {
    const folder = temporaryModels(names);
    temporaryFolders.push(folder);
    return folder;
  };
  after(() => {
    for (const folder of temporaryFolders) rmSync(folder, { recursive: true, force: true });
  });

  it("finds every folder of media/models, MHA first, with labels from the config", async () => {
    const scan = await scanModels(MODELS);
    assert.deepEqual(scan.problems, []);
    assert.equal(scan.models.length, BUNDLED.length);
    assert.ok(scan.models.length >= 1);
    const keyValueHeads = scan.models.map((model) => model.config.numKeyValueHeads);
    assert.deepEqual(keyValueHeads, [...keyValueHeads].sort((a, b) => b - a), "ordered by key/value heads, most first");
    const gqa = scan.models.find((model) => model.id === "attention-lens-gqa");
    assert.ok(gqa, "the default model is bundled");
    assert.equal(gqa.label, labelOfModel(gqa.config));
    // An uptrained model says so: its kind alone would read like the one trained from scratch.
    const uptrained = scan.models.find((model) => model.id === "attention-lens-gqa-uptrained");
    assert.equal(uptrained?.label, `${labelOfModel(gqa.config)}, uptrained from MHA`);
    assert.match(gqa.description, /^\d+ layers?, width \d+, context \d+ tokens$/);
    assert.deepEqual([gqa.source, gqa.name, gqa.family, gqa.folder], ["bundled", "attention-lens-gqa", "llama", join(MODELS, "attention-lens-gqa")]);
    assert.deepEqual(gqa.weightFiles, [join(MODELS, "attention-lens-gqa", "model.safetensors")]);
    assert.equal(gqa.fileBytes, statSync(gqa.weightFiles[0]).size);
    assert.equal(gqa.parameterCount, parameterCount(gqa.config));
    const memory = estimateRunMemory(gqa.config, budgetBytesOf(DEFAULT_SETTINGS.memoryBudgetMB));
    assert.ok(memory.fits, memory.reason);
    assert.deepEqual(localResourceRootsOf(gqa), [gqa.folder]);
  });

  it("labels MHA, GQA and MQA by their head counts", () => {
    const config = (heads: number, keyValueHeads: number) =>
      parseModelConfig({
        hidden_size: 64,
        num_attention_heads: heads,
        num_key_value_heads: keyValueHeads,
        num_hidden_layers: 1,
        intermediate_size: 128,
        vocab_size: 100,
        max_position_embeddings: 64,
        rms_norm_eps: 1e-5,
      });
    assert.equal(labelOfModel(config(8, 8)), "MHA (8 heads)");
    assert.equal(labelOfModel(config(8, 2)), "GQA (8 query heads, 2 key/value heads)");
    assert.equal(labelOfModel(config(8, 1)), "MQA (8 query heads, 1 key/value head)");
  });

  it("builds descriptors with the URIs the caller's asWebviewUri gives", async () => {
    const scan = await scanModels(MODELS);
    const model = scan.models[0];
    const descriptor = toModelDescriptor(model, (path) => `https://webview.test/${path.replace(/\\/g, "/")}`);
    assert.equal(descriptor.id, model.id);
    assert.ok(descriptor.configUri.endsWith(`${model.id}/config.json`));
    assert.ok(descriptor.weightsUri.endsWith(`${model.id}/model.safetensors`));
    assert.ok(descriptor.tokenizerUri?.endsWith(`${model.id}/tokenizer.json`));
    assert.deepEqual([descriptor.source, descriptor.family, descriptor.weightShardUris, descriptor.tokenizerConfigUri], ["bundled", "llama", undefined, undefined]);
    assert.deepEqual(
      [descriptor.numLayers, descriptor.numHeads, descriptor.numKeyValueHeads, descriptor.maxTokens],
      [model.config.numHiddenLayers, model.config.numAttentionHeads, model.config.numKeyValueHeads, model.config.maxPositionEmbeddings],
    );
  });

  it("loads a model's tokenizer once, lazily, and it is the real one", async () => {
    const catalog = new ModelCatalog({ bundledModelsFolder: MODELS });
    await catalog.refresh();
    const model = catalog.require("attention-lens-gqa");
    const first = await catalog.tokenizer(model);
    assert.equal(await catalog.tokenizer(model), first, "cached");
    assert.ok(first instanceof TextTokenizer);
    assert.deepEqual(first.encode("hi", { addBos: true }).ids[0], first.bosTokenId);
  });

  it("says which models exist when the requested one does not", async () => {
    const catalog = new ModelCatalog({ bundledModelsFolder: MODELS });
    await catalog.refresh();
    assert.throws(
      () => catalog.require("attention-lens-nope"),
      (error: Error) =>
        error instanceof ModelCatalogError &&
        /"attention-lens-nope" \(from attentionLens\.defaultModel\) is not one of the models Attention Lens found in the bundled models \(.*media[\\/]models\): .*"attention-lens-gqa"/.test(error.message) &&
        /Attention Lens: Select Model/.test(error.message),
    );
  });

  it("a corrupt config.json: names the file, says it is not JSON, says what to do; other models still load", async () => {
    const folder = temporary(["good-model", "broken-model"]);
    writeFileSync(join(folder, "broken-model", MODEL_FILES.config), '{"hidden_size": 128, "num_attention');
    const scan = await scanModels(folder);
    assert.deepEqual(scan.models.map((model) => model.id), ["good-model"]);
    assert.equal(scan.problems.length, 1);
    assert.equal(scan.problems[0].modelId, "broken-model");
    const message = scan.problems[0].message;
    assert.ok(message.includes(join(folder, "broken-model", "config.json")), message);
    assert.match(message, /is not valid JSON/);
    assert.match(message, /Reinstall the Attention Lens extension/);

    const catalog = new ModelCatalog({ bundledModelsFolder: folder });
    await catalog.refresh();
    assert.throws(() => catalog.require("broken-model"), /The model "broken-model" cannot be used: .*config\.json is not valid JSON/);
  });

  it("a config.json without a required field: names the field", async () => {
    const folder = temporary(["model"]);
    writeFileSync(join(folder, "model", MODEL_FILES.config), JSON.stringify({ hidden_size: 64, model_type: "llama" }));
    await assert.rejects(readModelFolder(join(folder, "model"), "model"), (error: Error) => {
      return error instanceof ModelCatalogError && /config\.json is missing "num_attention_heads"/.test(error.message);
    });
  });

  it("a missing tokenizer.json, config.json or model.safetensors: names the file and says it is missing", async () => {
    for (const file of [MODEL_FILES.tokenizer, MODEL_FILES.config, MODEL_FILES.weights]) {
      const folder = temporary(["model"]);
      unlinkSync(join(folder, "model", file));
      await assert.rejects(readModelFolder(join(folder, "model"), "model"), (error: Error) => {
        assert.ok(error instanceof ModelCatalogError, String(error));
        assert.ok(error.message.startsWith(`${join(folder, "model", file)} is missing.`), error.message);
        assert.match(error.message, /media\/models\/model\//);
        return true;
      });
    }
  });

  it("a truncated model.safetensors or a Git LFS pointer: says which", async () => {
    const folder = temporary(["truncated", "pointer"]);
    writeFileSync(join(folder, "truncated", MODEL_FILES.weights), Buffer.from([0x00, 0x10, 0, 0, 0, 0, 0, 0, 0x7b]));
    writeFileSync(join(folder, "pointer", MODEL_FILES.weights), "version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 2183952\n");
    const scan = await scanModels(folder);
    assert.equal(scan.models.length, 0);
    const byId = new Map(scan.problems.map((problem) => [problem.modelId, problem.message]));
    assert.match(byId.get("truncated") ?? "", /model\.safetensors is not a valid safetensors file \(its header says 4096 bytes of JSON follow, but the file has 9 bytes/);
    assert.match(byId.get("pointer") ?? "", /model\.safetensors is a Git LFS pointer, not the weights\. Run "git lfs pull"/);

    const catalog = new ModelCatalog({ bundledModelsFolder: folder });
    await catalog.refresh();
    assert.throws(() => catalog.require("other"), /The model "other" cannot be used|found no usable model/);
  });

  it("a truncated tokenizer.json: the scan names the file and says it is not JSON", async () => {
    const folder = temporary(["model"]);
    const tokenizerPath = join(folder, "model", MODEL_FILES.tokenizer);
    writeFileSync(tokenizerPath, '{"model": {"type": "BPE", "vocab": {');
    const scan = await scanModels(folder);
    assert.equal(scan.models.length, 0);
    assert.ok(scan.problems[0].message.startsWith(`${tokenizerPath} is not valid JSON`), scan.problems[0].message);
    assert.match(scan.problems[0].message, /Reinstall the Attention Lens extension/);
  });

  it("a tokenizer.json of a kind that cannot be loaded: the error comes when the model is first used, and names the file", async () => {
    const folder = temporary(["model"]);
    const tokenizerPath = join(folder, "model", MODEL_FILES.tokenizer);
    writeFileSync(tokenizerPath, JSON.stringify({ model: { type: "Unigram", vocab: [] } }));
    const catalog = new ModelCatalog({ bundledModelsFolder: folder });
    await catalog.refresh();
    const model = catalog.require("model"); // the scan only checks that the file is JSON
    await assert.rejects(catalog.tokenizer(model), (error: Error) => {
      assert.ok(error instanceof ModelCatalogError);
      assert.ok(error.message.startsWith(`${tokenizerPath}: `), error.message);
      assert.match(error.message, /Reinstall the Attention Lens extension/);
      return true;
    });
    // Fixed on disk: the next use loads it (failures are not cached).
    cpSync(join(MODELS, "attention-lens-gqa", MODEL_FILES.tokenizer), tokenizerPath);
    assert.ok((await catalog.tokenizer(model)) instanceof TextTokenizer);
  });

  it("a tokenizer with more tokens than the model's vocab_size: says they do not belong together", async () => {
    const folder = temporary(["model"]);
    const configPath = join(folder, "model", MODEL_FILES.config);
    const configJson = { ...JSON.parse(readFileSync(configPath, "utf8")), vocab_size: 10 };
    writeFileSync(configPath, JSON.stringify(configJson));
    const config = parseModelConfig(configJson);
    writeFileSync(join(folder, "model", MODEL_FILES.weights), writeSafetensors(decoderWeightsToTensors(config, randomDecoderWeights(config, 1)), { dtype: "F16" }));
    const catalog = new ModelCatalog({ bundledModelsFolder: folder });
    await catalog.refresh();
    await assert.rejects(catalog.tokenizer(catalog.require("model")), /has \d+ tokens but .*config\.json says vocab_size 10: the tokenizer does not belong to this model/);
  });

  it("a missing models folder: one problem, and require() says no model is usable", async () => {
    const missing = join(tmpdir(), "attention-lens-no-such-folder");
    const scan = await scanModels(missing);
    assert.equal(scan.models.length, 0);
    assert.match(scan.problems[0].message, /models folder .* cannot be read/);
    const catalog = new ModelCatalog({ bundledModelsFolder: missing });
    await catalog.refresh();
    assert.throws(() => catalog.require("attention-lens-gqa"), /found no usable model in .*cannot be read/);
  });
});
