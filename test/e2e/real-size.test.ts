/**
 * A model of real size in a real workbench, from the packaged .vsix: the exact shape of
 * SmolLM2-135M (30 layers, width 576, 9 query / 3 K/V heads, MLP 1536, vocabulary 49152, tied),
 * random bfloat16 weights written here (269 MB, as SmolLM2 ships them), with Llama 2's real
 * tokenizer files (its 32000 ids fit the vocabulary); attentionLens.defaultModel names the folder.
 *
 * Show Attention on 256 tokens of the sample draws the heatmaps of all 30 layers. The time from the
 * command to the first heatmap (the first layer's, while the others run: layer-preview.svelte.ts)
 * and to all of them is reported, not asserted (timings belong to the benchmarks): cold (a new
 * panel: fetching and reading the weights, creating the sessions) and warm (the model loaded,
 * another selection).
 */

import * as assert from "node:assert/strict";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FrameLocator } from "playwright-core";

import { Tensor } from "../../src/attention/tensor";
import { tokensOfText } from "../../src/extension/selection-tokens";
import { parseModelConfig } from "../../src/model/config";
import { writeSafetensors } from "../../src/model/safetensors-writer";
import { TextTokenizer } from "../../src/model/tokenizer";
import { checkpointTensorLayout } from "../../src/model/weight-names";
import { closeInstalledWorkbench, reportFailure, sampleSelection, startInstalledWorkbench, until, type InstalledWorkbench } from "./steps";
import { REPOSITORY_ROOT, type Workbench } from "./workbench";

const SAMPLE_FILE = "attention.ts";
const SAMPLE_LINES = 16;
const MAX_TOKENS = 256;
const MODEL_NAME = "smollm2-135m-shape";

/** SmolLM2-135M's config.json, as published (the fields the extension reads). */
const SMOLLM2_135M = {
  model_type: "llama",
  architectures: ["LlamaForCausalLM"],
  hidden_size: 576,
  intermediate_size: 1536,
  num_hidden_layers: 30,
  num_attention_heads: 9,
  num_key_value_heads: 3,
  max_position_embeddings: 8192,
  rms_norm_eps: 1e-5,
  rope_theta: 100000,
  tie_word_embeddings: true,
  vocab_size: 49152,
  bos_token_id: 1,
  eos_token_id: 2,
  hidden_act: "silu",
  torch_dtype: "bfloat16",
};

/** Random weights of the config's exact shapes (norm gains near 1), as bfloat16 safetensors bytes. */
function randomCheckpoint(): Uint8Array {
  const config = parseModelConfig(SMOLLM2_135M);
  let state = 0x9e3779b9;
  const uniform = () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32 - 0.5;
  };
  const tensors = new Map<string, Tensor>();
  for (const entry of checkpointTensorLayout(config)) {
    const data = new Float32Array(entry.shape.reduce((product, size) => product * size, 1));
    const isGain = entry.role === "norm";
    for (let index = 0; index < data.length; index++) data[index] = isGain ? 1 + 0.1 * uniform() : 0.07 * uniform();
    tensors.set(entry.name, new Tensor(data, entry.shape));
  }
  return writeSafetensors(tensors, { dtype: "BF16" });
}

describe("a model of real size (the SmolLM2-135M shape) in a real workbench", function () {
  this.timeout(600_000);

  let installed: InstalledWorkbench | undefined;
  let workbench: Workbench | undefined;
  let root: string;
  let folder: string;
  let tokenizer: TextTokenizer;
  let broken: string | undefined;

  const view = (): FrameLocator => {
    assert.ok(workbench, "the workbench did not start");
    return workbench.webview();
  };

  /** Tokens of lines first..first+count-1 of the sample, as the extension keeps them. */
  function tokenCount(firstLine: number, count: number): number {
    const selection = sampleSelection(SAMPLE_FILE, firstLine, count);
    return tokensOfText(selection.text, tokenizer, MAX_TOKENS, selection.start).tokens.length;
  }

  /** Show Attention on the lines; seconds from the command to the first layer's heatmap, and to all of them. */
  async function showAttention(firstLine: number, count: number): Promise<{ first: number | undefined; all: number }> {
    assert.ok(workbench);
    await workbench.selectLines(SAMPLE_FILE, firstLine, count);
    const tokens = tokenCount(firstLine, count);
    await workbench.runCommand("Attention Lens: Show Attention");
    const started = Date.now();
    let first: number | undefined;
    const outcome = await until(
      `the panel to draw ${tokens} tokens of ${MODEL_NAME} (or show an error)`,
      async () => {
        if (first === undefined && (await view().locator(".layer-preview canvas").isVisible().catch(() => false))) first = (Date.now() - started) / 1000;
        if (await view().locator(".error[role=alert]").isVisible().catch(() => false)) return `error: ${await view().locator(".error[role=alert]").innerText()}`;
        const header = await view().locator(".run-header").innerText().catch(() => "");
        const drawn = await view().locator("main.lens[aria-busy='false'] .head-view .map canvas").isVisible().catch(() => false);
        return drawn && header.includes(`${tokens} tokens`) ? "drawn" : undefined;
      },
      540_000,
      100,
    );
    const all = (Date.now() - started) / 1000;
    assert.equal(outcome, "drawn", `the panel shows an error instead of the heatmaps: ${outcome}`);
    return { first, all };
  }

  before(async function () {
    this.timeout(300_000);
    root = mkdtempSync(join(tmpdir(), "attention-lens-e2e-real-size-"));
    folder = join(root, "models", MODEL_NAME);
    mkdirSync(folder, { recursive: true });
    writeFileSync(join(folder, "config.json"), JSON.stringify(SMOLLM2_135M, null, 2));
    writeFileSync(join(folder, "model.safetensors"), randomCheckpoint());
    const tokenizerFiles = join(REPOSITORY_ROOT, "node_modules", "@lenml", "tokenizer-llama2", "models");
    for (const file of ["tokenizer.json", "tokenizer_config.json"]) copyFileSync(join(tokenizerFiles, file), join(folder, file));
    tokenizer = TextTokenizer.fromFiles(readFileSync(join(folder, "tokenizer.json"), "utf8"), readFileSync(join(folder, "tokenizer_config.json"), "utf8"));
    installed = await startInstalledWorkbench({
      settings: { "attentionLens.modelFolders": [join(root, "models")], "attentionLens.defaultModel": folder, "attentionLens.maxTokens": MAX_TOKENS },
      width: 1600,
      height: 900,
    });
    workbench = installed.workbench;
  });

  beforeEach(function () {
    if (broken) this.skip();
  });

  afterEach(async function () {
    if (this.currentTest?.state !== "failed") return;
    broken = this.currentTest.title;
    await reportFailure(workbench, "/tmp/attention-lens-e2e-real-size-failure.png");
  });

  after(async function () {
    this.timeout(60_000);
    await closeInstalledWorkbench(installed);
    rmSync(root, { recursive: true, force: true });
  });

  it("Show Attention on 256 tokens draws the heatmaps of all 30 layers: cold, then warm on another selection", async () => {
    assert.equal(tokenCount(1, SAMPLE_LINES), MAX_TOKENS, "the whole sample is more than 256 tokens, cut to 256");
    const cold = await showAttention(1, SAMPLE_LINES);
    const header = await view().locator(".run-header").innerText();
    assert.match(header, /GQA · 30 layers · 9 query \/ 3 K\/V heads/);
    assert.equal(await view().locator('.overview button[data-head]:not([data-head="mean"]) canvas').count(), 30 * 9);
    const warm = await showAttention(2, SAMPLE_LINES - 1);
    const seconds = (value: number | undefined) => (value === undefined ? "not seen" : `${value.toFixed(1)} s`);
    console.log(
      `      (command to heatmaps, ${MODEL_NAME} at ${MAX_TOKENS} tokens: cold: first layer ${seconds(cold.first)}, all ${seconds(cold.all)}; ` +
        `warm: first layer ${seconds(warm.first)}, all ${seconds(warm.all)})`,
    );
  });
});
