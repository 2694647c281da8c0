/**
 * The catalog on people's own models: a folder of model folders (attentionLens.modelFolders) and a
 * Hugging Face hub cache, both real trees on disk built from the transformers-saved fixtures. Each
 * broken folder gives its own message, and the good ones are still listed.
 */

import assert from "node:assert/strict";
import { budgetBytesOf, estimateRunMemory } from "../../src/extension/model-memory";
import { DEFAULT_SETTINGS } from "../../src/extension/settings";
import { cpSync, mkdirSync, readFileSync, rmSync, statSync, symlinkSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import { localResourceRootsOf, ModelCatalog, ModelCatalogError, toModelDescriptor, type CatalogModel, type ModelScan } from "../../src/extension/model-catalog";
import { parseModelConfig } from "../../src/model/config";
import { readSafetensors } from "../../src/model/safetensors";
import { writeSafetensors } from "../../src/model/safetensors-writer";
import { TextTokenizer } from "../../src/model/tokenizer";
import { expectedWeightShapes } from "../../src/model/weights";
import {
  checkpointFiles,
  copyFixtureModel,
  FAMILY_FIXTURES,
  fixtureFiles,
  GPT2_TOKENIZER_FOLDER,
  rawSafetensors,
  removeTemporaryFolders,
  SMALL_TOKENIZER,
  temporaryFolder,
  writeFolder,
  writeHubRepository,
} from "./helpers/model-folders";

const COMMIT = "0123456789abcdef0123456789abcdef01234567";
const SMALL_TOKENIZER_IDS = TextTokenizer.fromJson(readFileSync(SMALL_TOKENIZER, "utf8")).vocabSize;

/** The messages of the problems of the folder (or model id) `id`, joined. */
function problemOf(scan: ModelScan, id: string): string {
  const messages = scan.problems.filter((problem) => problem.modelId === id).map((problem) => problem.message);
  assert.ok(messages.length > 0, `no problem for ${id}; problems: ${JSON.stringify(scan.problems, null, 1)}`);
  return messages.join(" | ");
}

function modelOf(scan: ModelScan, id: string): CatalogModel {
  const model = scan.models.find((candidate) => candidate.id === id);
  assert.ok(model, `${id} is not listed; problems: ${JSON.stringify(scan.problems, null, 1)}`);
  return model;
}

/** A folder of model folders: the good fixtures and one broken folder per kind of mistake. */
function buildModelsParent(): string {
  const parent = temporaryFolder("attention-lens-own-models-");
  for (const family of ["qwen2", "gpt2", "qwen2-sharded", "llama-bias-llama3rope-bf16"]) copyFixtureModel(family, join(parent, family));

  copyFixtureModel("qwen2-sharded", join(parent, "truncated-shard"));
  const truncated = join(parent, "truncated-shard", "model-00002-of-00003.safetensors");
  truncateSync(truncated, Math.floor(statSync(truncated).size / 2));

  copyFixtureModel("qwen2-sharded", join(parent, "missing-shard"));
  rmSync(join(parent, "missing-shard", "model-00003-of-00003.safetensors"));

  // One tensor renamed: the model lacks q_proj's bias and holds a tensor it does not use.
  copyFixtureModel("qwen2", join(parent, "renamed-tensor"));
  const { tensors } = readSafetensors(readFileSync(join(FAMILY_FIXTURES, "qwen2", "model.safetensors")));
  const renamed = new Map([...tensors].map(([name, tensor]) => [name === "model.layers.0.self_attn.q_proj.bias" ? "model.layers.0.self_attn.q_bias" : name, tensor]));
  writeFileSync(join(parent, "renamed-tensor", "model.safetensors"), writeSafetensors(renamed));

  const pickle = copyFixtureModel("qwen2", join(parent, "pickle-only"));
  rmSync(join(pickle, "model.safetensors"));
  writeFileSync(join(pickle, "pytorch_model.bin"), Buffer.from([0x80, 0x02, 0x8a, 0x0a])); // a pickle's first bytes

  writeFolder(join(parent, "gguf-only"), new Map([["SmolLM2-135M-Q4_K_M.gguf", Buffer.from("GGUF\x03\x00\x00\x00")]]));

  const onnx = copyFixtureModel("qwen2", join(parent, "onnx-only"));
  rmSync(join(onnx, "model.safetensors"));
  writeFolder(onnx, new Map([["onnx/model.onnx", Buffer.from([0x08, 0x07])], ["onnx/model_quantized.onnx", Buffer.from([0x08, 0x07])]]));

  copyFixtureModel("qwen2", join(parent, "broken-tokenizer"));
  writeFileSync(join(parent, "broken-tokenizer", "tokenizer.json"), '{"model": {"type": "BPE", "vocab": {');

  const bert = copyFixtureModel("qwen2", join(parent, "bert"));
  writeFileSync(join(bert, "config.json"), JSON.stringify({ model_type: "bert", hidden_size: 32, num_attention_heads: 4, num_hidden_layers: 2, vocab_size: 100 }));

  const quantized = copyFixtureModel("qwen2", join(parent, "quantized"));
  const config = parseModelConfig(JSON.parse(readFileSync(join(quantized, "config.json"), "utf8")));
  const int8 = [...expectedWeightShapes(config)].map(([name, shape]) =>
    name.endsWith("proj.weight") ? { name, dtype: "I8", shape, elementBytes: 1 } : { name, dtype: "F32", shape, elementBytes: 4 },
  );
  writeFileSync(join(quantized, "model.safetensors"), rawSafetensors(int8));

  const pointer = copyFixtureModel("qwen2", join(parent, "lfs-pointer"));
  writeFileSync(join(pointer, "model.safetensors"), "version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 90288\n");

  writeFolder(join(parent, "notes"), new Map([["README.md", "not a model"]])); // skipped: no model files
  return parent;
}

describe("extension: people's own models (model folders and the Hugging Face cache)", function () {
  this.timeout(60_000);
  after(removeTemporaryFolders);

  describe("a folder of model folders", () => {
    let parent: string;
    let scan: ModelScan;
    before(async () => {
      parent = buildModelsParent();
      scan = await new ModelCatalog({ modelFolders: [parent] }).refresh();
    });

    it("lists every good model, by folder name, with its family, sizes, dtype and files", () => {
      assert.deepEqual(
        scan.models.map((model) => [model.name, model.source, model.family, model.dtype]),
        [
          ["gpt2", "folder", "gpt2", "F32"],
          ["llama-bias-llama3rope-bf16", "folder", "llama", "BF16"],
          ["qwen2", "folder", "qwen2", "F32"],
          ["qwen2-sharded", "folder", "qwen2", "F32"],
        ],
      );
      const qwen2 = modelOf(scan, join(parent, "qwen2"));
      assert.equal(qwen2.folder, join(parent, "qwen2"));
      assert.equal(qwen2.label, "GQA (4 query heads, 2 key/value heads)");
      assert.equal(qwen2.description, "2 layers, width 32, context 64 tokens");
      assert.equal(qwen2.fileBytes, statSync(join(FAMILY_FIXTURES, "qwen2", "model.safetensors")).size);
      assert.deepEqual(qwen2.weightFiles, [join(parent, "qwen2", "model.safetensors")]);
      assert.equal(qwen2.weightIndexFile, undefined);
      assert.deepEqual(qwen2.generation, { bosTokenId: 1, eosTokenIds: [2] });
      const memory = estimateRunMemory(qwen2.config, budgetBytesOf(DEFAULT_SETTINGS.memoryBudgetMB));
      assert.ok(memory.fits, memory.reason);
      assert.equal(memory.weightsBytes, qwen2.parameterCount * 4);
      assert.match(qwen2.headMetricsProblem ?? "", /measured roles .* come with the bundled models; .*a head-metrics\.json beside its config\.json would add them/);
    });

    it("sharded weights: the shards in order, their bytes together, and the index", () => {
      const sharded = modelOf(scan, join(parent, "qwen2-sharded"));
      const shards = [1, 2, 3].map((shard) => join(parent, "qwen2-sharded", `model-0000${shard}-of-00003.safetensors`));
      assert.deepEqual(sharded.weightFiles, shards);
      assert.equal(sharded.weightIndexFile, join(parent, "qwen2-sharded", "model.safetensors.index.json"));
      assert.equal(sharded.fileBytes, shards.reduce((total, shard) => total + statSync(shard).size, 0));
      const descriptor = toModelDescriptor(sharded, (path) => `webview:${path}`);
      assert.equal(descriptor.weightsUri, `webview:${sharded.weightIndexFile}`);
      assert.deepEqual(descriptor.weightShardUris, shards.map((shard) => `webview:${shard}`));
      assert.deepEqual([descriptor.source, descriptor.family, descriptor.tokenizerConfigUri], ["folder", "qwen2", undefined]);
      assert.deepEqual(localResourceRootsOf(sharded), [join(parent, "qwen2-sharded")]);
    });

    it("a truncated shard: says which file, that it is truncated, and to download again", () => {
      const message = problemOf(scan, join(parent, "truncated-shard"));
      assert.match(message, /model-00002-of-00003\.safetensors is not a valid safetensors file \(its header places tensor data up to byte \d+, but the file has \d+ bytes\): it is truncated/);
      assert.match(message, /hf download/);
    });

    it("a shard the index names but the folder lacks: names the shard, says the download is incomplete", () => {
      const message = problemOf(scan, join(parent, "missing-shard"));
      assert.match(message, /model\.safetensors\.index\.json names the shard model-00003-of-00003\.safetensors, but .*model-00003-of-00003\.safetensors is missing: the download is incomplete/);
    });

    it("a missing and an extra tensor: both named", () => {
      const message = problemOf(scan, join(parent, "renamed-tensor"));
      assert.match(message, /lacks 1 tensor\(s\) a qwen2 model of this config\.json needs: model\.layers\.0\.self_attn\.q_proj\.bias/);
      assert.match(message, /holds 1 tensor\(s\) a qwen2 model of this config\.json does not use: model\.layers\.0\.self_attn\.q_bias/);
    });

    it("refused formats say how to get safetensors: a pickle, a GGUF, ONNX only", () => {
      const pickle = problemOf(scan, join(parent, "pickle-only"));
      assert.match(pickle, /holds PyTorch pickle weights \(pytorch_model\.bin\) but no model\.safetensors/);
      assert.match(pickle, /never opens a pickle/);
      assert.match(pickle, /AutoModelForCausalLM\.from_pretrained\(".*pickle-only"\)\.save_pretrained\(".*pickle-only", safe_serialization=True\)/);
      assert.match(pickle, /hf download .*--include "\*\.json" "\*\.safetensors"/);

      const gguf = problemOf(scan, join(parent, "gguf-only"));
      assert.match(gguf, /SmolLM2-135M-Q4_K_M\.gguf is a GGUF file\. GGUF is a llama\.cpp format .*use the original Hugging Face repository's safetensors/);

      const onnx = problemOf(scan, join(parent, "onnx-only"));
      assert.match(onnx, /holds only ONNX files \(onnx\/\), no safetensors.*cannot run an exported one/);
    });

    it("a tokenizer.json that does not load, an unsupported model_type, quantized weights, a Git LFS pointer", () => {
      assert.match(problemOf(scan, join(parent, "broken-tokenizer")), /broken-tokenizer\/tokenizer\.json is not valid JSON .*truncated or damaged/);
      const bert = problemOf(scan, join(parent, "bert"));
      assert.match(bert, /bert\/config\.json: model_type "bert" is not supported; Attention Lens runs "llama", "mistral", "qwen2", "qwen3", "gpt2" models/);
      const quantized = problemOf(scan, join(parent, "quantized"));
      assert.match(quantized, /stores 14 tensor\(s\) as I8 \(.*\); Attention Lens reads only float32, float16 and bfloat16 weights/);
      const pointer = problemOf(scan, join(parent, "lfs-pointer"));
      assert.match(pointer, /model\.safetensors is a Git LFS pointer, not the weights\. The repository was cloned without Git LFS: run "git lfs install" and then "git lfs pull"/);
    });

    it("never tells a person to reinstall Attention Lens about their own model; a folder without model files is skipped", () => {
      assert.equal(new Set(scan.problems.map((problem) => problem.folder)).size, 10, JSON.stringify(scan.problems.map((problem) => problem.folder)));
      for (const problem of scan.problems) assert.doesNotMatch(problem.message, /reinstall/i, problem.message);
      assert.ok(!scan.problems.some((problem) => problem.folder.endsWith("notes")));
    });

    it("require(): a broken folder says why; an unknown path says how to add it", async () => {
      const catalog = new ModelCatalog({ modelFolders: [parent] });
      await catalog.refresh();
      assert.throws(() => catalog.require(join(parent, "gguf-only")), /cannot be used: .*GGUF is a llama\.cpp format/);
      assert.throws(
        () => catalog.require("/elsewhere/model"),
        (error: Error) =>
          error instanceof ModelCatalogError &&
          error.message.includes(`is not one of the models Attention Lens found in attentionLens.modelFolders (${parent})`) &&
          /add it to attentionLens\.modelFolders or open it with "Attention Lens: Open Model Folder\.\.\."/.test(error.message),
      );
    });
  });

  describe("the places together", () => {
    it("mixed dtypes read as F32+F16; a missing place and a folder reached twice", async () => {
      const parent = temporaryFolder();
      const mixed = writeFolder(join(parent, "mixed"), checkpointFiles("qwen2", {}, (name) => (name.includes("norm") ? "F32" : "F16")));
      cpSync(SMALL_TOKENIZER, join(mixed, "tokenizer.json"));
      symlinkSync(mixed, join(parent, "mixed-link"));
      const catalog = new ModelCatalog({ modelFolders: [mixed, join(parent, "mixed-link"), "~/nowhere", "relative/path"], rememberedFolders: [mixed], homeFolder: parent });
      const scan = await catalog.refresh();
      assert.deepEqual(scan.models.map((model) => [model.id, model.dtype]), [[mixed, "F32+F16"]]);
      assert.equal(catalog.require("~/mixed").id, mixed, "a folder's id may be written with ~");
      assert.match(problemOf(scan, join(parent, "nowhere")), /The model folder .*nowhere \(listed in attentionLens\.modelFolders\) does not exist\. Fix the path in attentionLens\.modelFolders, or remove it\./);
      assert.ok(scan.problems.some((problem) => /"relative\/path" .* is not an absolute path/.test(problem.message)));
    });

    it("a hub cache listed as a model folder: says it is a cache and how to use it", async () => {
      const cache = temporaryFolder();
      writeHubRepository(cache, "TinyOrg/qwen2-tiny", COMMIT, fixtureFiles("qwen2"));
      const scan = await new ModelCatalog({ modelFolders: [cache] }).refresh();
      assert.equal(scan.models.length, 0);
      assert.match(problemOf(scan, cache), /is a Hugging Face hub cache, not a model folder\. .*set HF_HUB_CACHE to this folder/);
    });

    it("a model folder with links to files elsewhere: the webview may read their real folders", async () => {
      const parent = temporaryFolder();
      const store = copyFixtureModel("gpt2", join(parent, "store"));
      const linked = join(parent, "linked");
      mkdirSync(linked);
      for (const name of ["config.json", "model.safetensors", "tokenizer.json"]) symlinkSync(join(store, name), join(linked, name));
      const scan = await new ModelCatalog({ modelFolders: [linked] }).refresh();
      assert.deepEqual(localResourceRootsOf(modelOf(scan, linked)), [linked, store]);
    });
  });

  describe("a Hugging Face hub cache", () => {
    let cache: string;
    let scan: ModelScan;
    let catalog: ModelCatalog;
    before(async () => {
      cache = temporaryFolder("attention-lens-hub-");
      writeHubRepository(cache, "TinyOrg/qwen2-tiny", COMMIT, fixtureFiles("qwen2"));
      writeHubRepository(cache, "TinyOrg/qwen2-sharded", COMMIT, fixtureFiles("qwen2-sharded"));
      writeHubRepository(cache, "TinyOrg/partial", COMMIT, fixtureFiles("qwen2-sharded"), { danglingFiles: ["model-00003-of-00003.safetensors"] });
      const pickled = fixtureFiles("qwen2");
      pickled.delete("model.safetensors");
      pickled.set("pytorch_model.bin", Buffer.from([0x80, 0x02, 0x8a, 0x0a])); // a pickle's first bytes
      writeHubRepository(cache, "TinyOrg/pickled", COMMIT, pickled);
      // GPT-2's real tokenizer files, and an embedding padded to 50304 rows as nanoGPT pads it.
      const gpt2 = checkpointFiles("gpt2", { vocab_size: 50304 }, "F16");
      gpt2.set("tokenizer.json", readFileSync(join(GPT2_TOKENIZER_FOLDER, "tokenizer.json")));
      gpt2.set("tokenizer_config.json", readFileSync(join(GPT2_TOKENIZER_FOLDER, "tokenizer_config.json")));
      writeHubRepository(cache, "openai-community/gpt2-padded", COMMIT, gpt2);
      catalog = new ModelCatalog({ hubCacheFolder: cache });
      scan = await catalog.refresh();
    });

    it("lists each repository by its id, from its snapshot; the webview may read the whole repository folder", () => {
      assert.deepEqual(scan.models.map((model) => [model.id, model.source]), [
        ["openai-community/gpt2-padded", "hub-cache"],
        ["TinyOrg/qwen2-sharded", "hub-cache"],
        ["TinyOrg/qwen2-tiny", "hub-cache"],
      ]);
      const tiny = modelOf(scan, "TinyOrg/qwen2-tiny");
      const repositoryFolder = join(cache, "models--TinyOrg--qwen2-tiny");
      assert.equal(tiny.name, "TinyOrg/qwen2-tiny");
      assert.equal(tiny.repositoryId, "TinyOrg/qwen2-tiny");
      assert.equal(tiny.folder, join(repositoryFolder, "snapshots", COMMIT));
      assert.deepEqual(localResourceRootsOf(tiny), [repositoryFolder]);
      const sharded = modelOf(scan, "TinyOrg/qwen2-sharded");
      assert.equal(sharded.weightFiles.length, 3);
    });

    it("a shard whose blob never arrived (a dangling link): names the shard, says the download is incomplete and how to finish it", () => {
      const message = problemOf(scan, "TinyOrg/partial");
      assert.match(message, /names the shard model-00003-of-00003\.safetensors, but .*snapshots\/[0-9a-f]+\/model-00003-of-00003\.safetensors is a link to \.\.\/\.\.\/blobs\/[0-9a-f]{64}, which is not there/);
      assert.match(message, /which is not there: the download is incomplete\. Download the model again: `hf download TinyOrg\/partial`/);
      assert.doesNotMatch(message, /reinstall/i);
    });

    it("a repository of pickles only: how to convert it from the hub, and the command that opens the result", () => {
      const message = problemOf(scan, "TinyOrg/pickled");
      assert.match(message, /AutoModelForCausalLM\.from_pretrained\("TinyOrg\/pickled"\)\.save_pretrained\(folder, safe_serialization=True\)/);
      assert.match(message, /then open that folder with "Attention Lens: Open Model Folder\.\.\."/);
      assert.match(message, /`hf download TinyOrg\/pickled --include "\*\.json" "\*\.safetensors"`/);
    });

    it("a real tokenizer loads with its tokenizer_config.json; a config vocab_size larger than the tokenizer (padding rows) is fine", async () => {
      const gpt2 = modelOf(scan, "openai-community/gpt2-padded");
      assert.equal(gpt2.config.vocabSize, 50304);
      assert.equal(gpt2.dtype, "F16");
      assert.ok(gpt2.tokenizerConfigFile?.endsWith("tokenizer_config.json"));
      assert.ok(toModelDescriptor(gpt2, (path) => path).tokenizerConfigUri?.endsWith("tokenizer_config.json"));
      const tokenizer = await catalog.tokenizer(gpt2);
      assert.equal(tokenizer.vocabSize, 50257);
      assert.deepEqual(tokenizer.encode("Hello world").ids, [15496, 995]);
      assert.equal(await catalog.tokenizer(gpt2), tokenizer, "cached");
    });

    it("the same models from a model folder and the cache: listed once", async () => {
      const snapshot = join(cache, "models--TinyOrg--qwen2-tiny", "snapshots", COMMIT);
      const both = await new ModelCatalog({ modelFolders: [snapshot], hubCacheFolder: cache }).refresh();
      assert.equal(both.models.filter((model) => model.folder === snapshot).length, 1);
      assert.equal(both.models.length, 3);
    });

    it("require() of a repository that is not in the cache says how to download it", () => {
      assert.throws(() => catalog.require("HuggingFaceTB/SmolLM2-135M"), /To use the Hugging Face model HuggingFaceTB\/SmolLM2-135M, download it into the cache: `hf download HuggingFaceTB\/SmolLM2-135M`/);
    });
  });

  describe("tokenizers of a person's model", () => {
    it("loads when vocab_size is larger than the tokenizer; refuses a tokenizer with more ids than vocab_size", async () => {
      const parent = temporaryFolder();
      const padded = writeFolder(join(parent, "padded"), checkpointFiles("qwen2", { vocab_size: SMALL_TOKENIZER_IDS + 48 }));
      const small = writeFolder(join(parent, "too-small"), checkpointFiles("qwen2", { vocab_size: 300 }));
      for (const folder of [padded, small]) cpSync(SMALL_TOKENIZER, join(folder, "tokenizer.json"));
      const catalog = new ModelCatalog({ modelFolders: [parent] });
      await catalog.refresh();
      // config.json says bos_token_id 1, the tokenizer's <|bos|> is 0: a person's model is not refused for that.
      assert.ok((await catalog.tokenizer(catalog.require(padded))) instanceof TextTokenizer);
      await assert.rejects(catalog.tokenizer(catalog.require(small)), (error: Error) => {
        assert.ok(error instanceof ModelCatalogError);
        assert.match(error.message, new RegExp(`has ${SMALL_TOKENIZER_IDS} tokens but .*too-small/config\\.json says vocab_size 300: the tokenizer does not belong to this model`));
        assert.doesNotMatch(error.message, /reinstall/i);
        return true;
      });
    });
  });
});
