/**
 * Part of `npm run bench` (called by attention-bench.ts): tokens per second of cached decoding
 * against a full recompute, with the bundled MHA, GQA and MQA models, at a context of 128, 256 and
 * 512 tokens (512 is the models' max_position_embeddings, so "max context" is 512).
 *
 * At each context C the prompt is the first C - G tokens of the sample source (media/sample) and G
 * tokens are generated greedily, so the last one fills the context exactly. Three ways:
 *
 *   - recompute: every token runs all tokens so far from scratch (no cache), logits only;
 *   - cached, runtime: OnnxDecoder.compute with the cache kept in runtime tensors between steps
 *     (`keepPresent`, runtime-key-values.ts: the fastest path);
 *   - cached, panel: DecodingSession.step as the decode view runs it: the attention row of every
 *     layer and the whole cache read back for the cache view (recompute check off).
 *
 * KV bytes are the session's cache at C, read off the real tensors.
 */

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseModelConfig } from "../src/model/config";
import { DecoderModel } from "../src/model/decoder-model";
import { readSafetensors } from "../src/model/safetensors";
import { chooseToken } from "../src/model/sampling";
import { TextTokenizer } from "../src/model/tokenizer";
import { DecodingSession } from "../src/runtime/decoding-session";
import { OnnxDecoder } from "../src/runtime/onnx-decoder";

const ROOT = join(__dirname, "..");
const MODELS = join(ROOT, "media", "models");
const GREEDY = { kind: "greedy" } as const;

/** Median of the samples. */
function median(samples: number[]): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** The last position's logits of (1, T, V) logits data. */
function lastRow(data: Float32Array, vocabulary: number): Float32Array {
  return data.subarray(data.length - vocabulary);
}

/** Writes the section through `say`; `quick` measures one context with few tokens. */
export async function benchDecoding(say: (line?: string) => void, quick: boolean): Promise<void> {
  const contexts = quick ? [128] : [128, 256, 512];
  const generated = quick ? 4 : 16; // G tokens per run
  const repetitions = quick ? 1 : 3;
  const tokenizer = TextTokenizer.fromJson(readFileSync(join(MODELS, "attention-lens-gqa", "tokenizer.json"), "utf8"));
  const source = readFileSync(join(ROOT, "media", "sample", "attention.ts"), "utf8");
  const allIds = tokenizer.encode(source.repeat(4), { addBos: true }).ids;

  say();
  say("## Cached decoding vs recompute, bundled models (tokens/s, wasm)");
  say();
  say(
    `Greedy decoding of the last ${generated} tokens up to a context of C tokens (prompt: C - ${generated} tokens of media/sample/attention.ts); the bundled models (3 layers, width 128, nh=8, hs=16, vocabulary 4096) have a context of 512 (max_position_embeddings), so C = 512 is the max context. "cached, panel" is DecodingSession.step as the decode view runs it (every layer's new attention row and the whole cache read back for the cache view; recompute check off); "cached, runtime" keeps the cache in runtime tensors. Median of ${repetitions} run(s) after a warm-up.`,
  );
  say();
  say("| model | nkv | C | recompute | cached, runtime | cached, panel | runtime / recompute | panel / recompute | KV cache at C |");
  say("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");

  for (const id of ["attention-lens-mha", "attention-lens-gqa", "attention-lens-mqa"]) {
    const folder = join(MODELS, id);
    const config = parseModelConfig(JSON.parse(readFileSync(join(folder, "config.json"), "utf8")), `${id}/config.json`);
    const model = DecoderModel.fromTensors(config, readSafetensors(readFileSync(join(folder, "model.safetensors"))).tensors);
    const decoder = await OnnxDecoder.create(config, model.weights, { choice: "wasm" });
    const label = config.numKeyValueHeads === config.numAttentionHeads ? "MHA" : config.numKeyValueHeads === 1 ? "MQA" : "GQA";
    try {
      for (const context of contexts) {
        const prompt = allIds.slice(0, context - generated);

        const recompute = async () => {
          const ids = [...prompt];
          const started = performance.now();
          for (let step = 1; step <= generated; step++) {
            const result = await decoder.compute([ids], { fetchAttentions: false });
            ids.push(chooseToken(lastRow(result.logits.data, config.vocabSize), GREEDY, step).id);
          }
          return performance.now() - started;
        };
        const cachedRuntime = async () => {
          let result = await decoder.compute([prompt], { fetchAttentions: false, keepPresent: true });
          const started = performance.now();
          for (let step = 1; step <= generated; step++) {
            const next = chooseToken(lastRow(result.logits.data, config.vocabSize), GREEDY, step).id;
            const past = result.present;
            result = await decoder.compute([[next]], { past, fetchAttentions: false, keepPresent: true });
            past?.dispose();
          }
          const milliseconds = performance.now() - started;
          result.present?.dispose();
          return milliseconds;
        };
        let kvBytes = 0;
        const cachedPanel = async () => {
          const session = await DecodingSession.start(decoder, prompt, { verify: false });
          const started = performance.now();
          for (let step = 1; step <= generated; step++) await session.step();
          const milliseconds = performance.now() - started;
          kvBytes = session.cache.bytes;
          await session.dispose();
          return milliseconds;
        };

        const measure = async (run: () => Promise<number>) => {
          await run(); // warm-up
          const samples: number[] = [];
          for (let index = 0; index < repetitions; index++) samples.push(await run());
          return (generated * 1000) / median(samples); // tokens per second
        };
        const recomputeRate = await measure(recompute);
        const runtimeRate = await measure(cachedRuntime);
        const panelRate = await measure(cachedPanel);
        const maxNote = context === config.maxPositionEmbeddings ? " (max)" : "";
        say(
          `| ${label} | ${config.numKeyValueHeads} | ${context}${maxNote} | ${recomputeRate.toFixed(0)} | ${runtimeRate.toFixed(0)} | ${panelRate.toFixed(0)} | ${(runtimeRate / recomputeRate).toFixed(1)}x | ${(panelRate / recomputeRate).toFixed(1)}x | ${(kvBytes / 1024).toFixed(0)} KiB |`,
        );
      }
    } finally {
      await decoder.dispose();
    }
  }
  say();
  say("KV cache = 2 x layers x nkv x C x hs x 4 bytes: 2 x 3 x nkv x C x 16 x 4 (MHA 8 heads, GQA 2, MQA 1).");
}
