/**
 * `npm run bench`: speed and memory of the decoder, side by side in one run, as ratios.
 *
 *   1. Prefill at T = 64, 256, 1024: the TypeScript reference forward, the ONNX graph on
 *      onnxruntime-web wasm (primitive attention, with every attention map as an output), the graph
 *      with the fused ONNX Attention-23 operator (no maps), and onnxruntime-node on the CPU.
 *   2. One cached decoding step against a full recompute, at T = 128 and 512.
 *   3. Bytes of the attention maps and of the KV cache, for MHA, GQA and MQA, read off the real
 *      output tensors.
 *   4. Tokens per second of cached decoding against recompute with the bundled MHA, GQA and MQA
 *      models at a context of 128, 256 and 512 (their max), with the KV bytes (decoding-bench.ts).
 *
 * The model has random weights (speed does not depend on them) and the shape of the bundled
 * models' big brother: 4 layers, C = 256, 8 query heads, MLP 1024, vocabulary 4096. Every runtime
 * is single-threaded (a VS Code webview has no wasm threads), so the ratios compare engines, not
 * thread counts. The table is printed and written to bench/RESULTS.md.
 */

import { writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { join } from "node:path";
import * as ortNode from "onnxruntime-node";
import * as ortWeb from "onnxruntime-web";
import { parseModelConfig, type DecoderConfig } from "../src/model/config";
import { DecoderModel } from "../src/model/decoder-model";
import { prepareGraphStep } from "../src/model/onnx/graph-inputs";
import { encodeDecoderGraph } from "../src/model/onnx/decoder-graph";
import { randomDecoderWeights } from "../src/model/weights";
import { OnnxDecoder } from "../src/runtime/onnx-decoder";
import { benchDecoding } from "./decoding-bench";

const quick = process.argv.includes("--quick"); // a fast smoke run: fewer repetitions, smaller T
const prefillLengths = quick ? [64, 256] : [64, 256, 1024];
const decodeLengths = quick ? [128] : [128, 512];

function benchConfig(numKeyValueHeads: number): DecoderConfig {
  return parseModelConfig({
    hidden_size: 256,
    num_attention_heads: 8,
    num_key_value_heads: numKeyValueHeads,
    num_hidden_layers: 4,
    intermediate_size: 1024,
    vocab_size: 4096,
    max_position_embeddings: 1024,
    rms_norm_eps: 1e-5,
  });
}

function tokens(length: number, seed = 1): number[] {
  let state = seed;
  return Array.from({ length }, () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state % 4096;
  });
}

/** Median milliseconds of `repetitions` runs after one warm-up run. */
async function time(repetitions: number, run: () => unknown): Promise<number> {
  await run();
  const samples: number[] = [];
  for (let i = 0; i < repetitions; i++) {
    const started = performance.now();
    await run();
    samples.push(performance.now() - started);
  }
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)];
}

function repetitionsFor(length: number): number {
  if (quick) return 2;
  return length <= 64 ? 15 : length <= 256 ? 7 : 3;
}

const format = (milliseconds: number) => (milliseconds >= 100 ? milliseconds.toFixed(0) : milliseconds.toFixed(2));
const ratio = (value: number) => `${value >= 10 ? value.toFixed(0) : value.toFixed(2)}x`;
const mebibytes = (bytes: number) => `${(bytes / 1048576).toFixed(2)} MiB`;

async function main(): Promise<void> {
  ortNode.env.logLevel = "error";
  ortWeb.env.logLevel = "error";
  const lines: string[] = [];
  const say = (line = "") => {
    lines.push(line);
    console.log(line);
  };

  const config = benchConfig(2);
  const weights = randomDecoderWeights(config, 1, 0.05);
  const reference = new DecoderModel(config, weights);
  const primitive = await OnnxDecoder.create(config, weights, { choice: "wasm" });
  const fused = await OnnxDecoder.create(config, weights, { choice: "wasm" }, { attention: "fused" });
  const nodeSession = await ortNode.InferenceSession.create(encodeDecoderGraph(config, weights), {
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
  });

  say("# Benchmarks");
  say();
  say(`Machine: ${cpus()[0]?.model ?? "unknown CPU"}, ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB; Node ${process.version}; onnxruntime-web ${ortWeb.env.versions.web}, onnxruntime-node ${ortNode.env.versions.node ?? ortNode.env.versions.common}; ${new Date().toISOString().slice(0, 10)}.`);
  say(`Model: random weights, ${config.numHiddenLayers} layers, C=${config.hiddenSize}, nh=${config.numAttentionHeads}, nkv=${config.numKeyValueHeads} (GQA), hs=${config.headDim}, MLP ${config.intermediateSize}, vocabulary ${config.vocabSize}; batch 1; every engine single-threaded; median of several runs after a warm-up.`);
  say();
  say("## Prefill (ms; ratio = time / wasm primitive)");
  say();
  say("| T | TS reference | wasm primitive (all maps) | wasm fused Attention-23 | onnxruntime-node CPU | TS / wasm | primitive / fused | node / wasm |");
  say("| --- | --- | --- | --- | --- | --- | --- | --- |");
  const results = new Map<number, { reference: number; primitive: number; fused: number; node: number }>();
  for (const length of prefillLengths) {
    const ids = [tokens(length)];
    const repetitions = repetitionsFor(length);
    const referenceMs = await time(length >= 1024 ? 1 : Math.max(1, Math.floor(repetitions / 3)), () => reference.forward(ids));
    const primitiveMs = await time(repetitions, () => primitive.compute(ids));
    const fusedMs = await time(repetitions, () => fused.compute(ids));
    const prepared = prepareGraphStep(config, { inputIds: ids });
    const feeds = Object.fromEntries(Object.entries(prepared.feeds).map(([name, feed]) => [name, new ortNode.Tensor(feed.type, feed.data, feed.dims)]));
    const nodeMs = await time(repetitions, () => nodeSession.run(feeds));
    results.set(length, { reference: referenceMs, primitive: primitiveMs, fused: fusedMs, node: nodeMs });
    say(`| ${length} | ${format(referenceMs)} | ${format(primitiveMs)} | ${format(fusedMs)} | ${format(nodeMs)} | ${ratio(referenceMs / primitiveMs)} | ${ratio(primitiveMs / fusedMs)} | ${ratio(nodeMs / primitiveMs)} |`);
  }

  say();
  say("## One cached decoding step vs a full recompute (wasm primitive, ms)");
  say();
  say("| past T | cached step (1 token, past T) | recompute (T + 1 tokens) | recompute / step |");
  say("| --- | --- | --- | --- |");
  const decodeRatios = new Map<number, number>();
  for (const length of decodeLengths) {
    const ids = tokens(length + 1);
    // The step alone: prefill T tokens (the cache kept in the runtime), then time one more token; repeated on a fresh cache.
    const samples: number[] = [];
    for (let i = 0; i < (quick ? 3 : 15); i++) {
      const prefill = await primitive.compute([ids.slice(0, length)], { fetchAttentions: false, keepPresent: true });
      const started = performance.now();
      await primitive.compute([ids.slice(length)], { past: prefill.present });
      samples.push(performance.now() - started);
      prefill.present?.dispose();
    }
    const stepMs = samples.sort((a, b) => a - b)[Math.floor(samples.length / 2)];
    const recomputeMs = await time(quick ? 2 : 5, () => primitive.compute([ids]));
    decodeRatios.set(length, recomputeMs / stepMs);
    say(`| ${length} | ${format(stepMs)} | ${format(recomputeMs)} | ${ratio(recomputeMs / stepMs)} |`);
  }

  say();
  say("## Memory: attention maps and KV cache, read off the output tensors (float32)");
  say();
  const memoryLength = 256;
  say(`Prefill of T = ${memoryLength} tokens; KV bytes per token = 2 x layers x nkv x hs x 4.`);
  say();
  say("| variant | nkv | KV cache per token | KV cache at T | KV cache at 1024 | attention maps at T (all layers) | KV vs MHA |");
  say("| --- | --- | --- | --- | --- | --- | --- |");
  let mhaBytes = 0;
  for (const [numKeyValueHeads, label] of [
    [8, "MHA"],
    [2, "GQA"],
    [1, "MQA"],
  ] as const) {
    const variantConfig = benchConfig(numKeyValueHeads);
    const decoder = await OnnxDecoder.create(variantConfig, randomDecoderWeights(variantConfig, 2, 0.05), { choice: "wasm" });
    const result = await decoder.compute([tokens(memoryLength)], { fetchPresent: true });
    const kvBytes = result.presentKeyValues.reduce((sum, { key, value }) => sum + 4 * (key.size + value.size), 0);
    const mapBytes = result.attentions.reduce((sum, weights) => sum + 4 * weights.size, 0);
    await decoder.dispose();
    if (label === "MHA") mhaBytes = kvBytes;
    const perToken = kvBytes / memoryLength;
    say(`| ${label} | ${numKeyValueHeads} | ${(perToken / 1024).toFixed(1)} KiB | ${mebibytes(kvBytes)} | ${mebibytes(perToken * 1024)} | ${mebibytes(mapBytes)} | ${ratio(kvBytes / mhaBytes)} |`);
  }

  await benchDecoding(say, quick);

  const at256 = results.get(256);
  const decodeGoalLength = decodeRatios.has(512) ? 512 : decodeLengths[decodeLengths.length - 1];
  const at512 = decodeRatios.get(decodeGoalLength);
  say();
  say("## Goals");
  say();
  const goalNote = decodeGoalLength === 512 ? "" : " (the goal is stated for T=512)";
  say(`- Cached step at T=${decodeGoalLength} at least 20x cheaper than a recompute${goalNote}: ${at512 === undefined ? "not measured" : `${ratio(at512)} — ${at512 >= 20 ? "met" : "not met"}`}.`);
  if (at256) {
    const primitiveVsFused = at256.primitive / at256.fused;
    say(`- Primitive graph within 1.2x of the fused Attention graph on wasm (T=256): ${ratio(primitiveVsFused)} — ${primitiveVsFused <= 1.2 ? "met" : "not met"}.`);
    const speedup = at256.reference / at256.primitive;
    say(`- Graph on wasm at least 5x faster than the TS reference at T=256: ${ratio(speedup)} — ${speedup >= 5 ? "met" : "not met"}.`);
  }

  say();
  say("Notes: the TypeScript reference is the readable teaching implementation (plain loops over");
  say("`Float32Array`s), not an optimised one. a \"node / wasm\" ratio below 1 means onnxruntime-node is faster than");
  say("onnxruntime-web's single-threaded wasm. The machine is shared and noisy: compare ratios within one");
  say("run, and re-run `npm run bench` before quoting a figure.");

  await primitive.dispose();
  await fused.dispose();
  await nodeSession.release();
  if (!quick) writeFileSync(join(__dirname, "RESULTS.md"), lines.join("\n") + "\n");
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
