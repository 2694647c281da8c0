/**
 * What scoring the text costs the panel's run: the prefill as the Attention mode ran it before
 * (every map handed over and dropped, no logits) against the same prefill with every token's
 * next-token loss and top guesses (src/runtime/output-head.ts: the head run on every position, one
 * vocabulary slice at a time), side by side in one process, for the real-size shapes in
 * bench/.models/ (made by real-size-bench.ts's script). Writes its section of bench/RESULTS.md
 * between its markers; `--quick` runs 128 tokens and writes nothing.
 *
 *   tsx bench/next-token-loss-bench.ts [--quick]
 */

import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";

import { loadModelFolder } from "../src/cli/load-model-folder";
import { LayeredDecoder } from "../src/runtime/layered-decoder";

const ROOT = resolve(__dirname, "..");
const MODELS = join(ROOT, "bench", ".models");
const RESULTS = join(ROOT, "bench", "RESULTS.md");
const START = "<!-- next-token-loss: written by bench/next-token-loss-bench.ts -->";
const END = "<!-- /next-token-loss -->";
const QUICK = process.argv.includes("--quick");
const SHAPES = ["smollm2-135m-shape", "gpt2-small-shape", "qwen2.5-0.5b-shape"];
const LENGTHS = QUICK ? [128] : [128, 512];

async function main(): Promise<void> {
  const idsFile = join(MODELS, "ids.json");
  if (!existsSync(idsFile)) {
    console.log(`next-token-loss-bench: no ${idsFile}; run real-size-bench.ts first (it makes the checkpoints and the ids)`);
    return;
  }
  const ids = (JSON.parse(readFileSync(idsFile, "utf8")) as { ids: number[] }).ids;
  const rows: string[] = [];
  for (const shape of SHAPES) {
    const folder = join(MODELS, shape);
    if (!existsSync(join(folder, "config.json"))) continue;
    const model = await loadModelFolder(folder);
    const decoder = await LayeredDecoder.create(model.config, model.weights, { choice: "wasm" });
    const dropMaps = () => {};
    const inVocabulary = ids.map((id) => id % model.config.vocabSize);
    await decoder.compute([inVocabulary.slice(0, 8)], { logits: "none", onAttention: dropMaps }); // the sessions' set-up
    for (const tokens of LENGTHS) {
      const input = [inVocabulary.slice(0, tokens)];
      let started = performance.now();
      await decoder.compute(input, { logits: "none", onAttention: dropMaps });
      const plain = performance.now() - started;
      started = performance.now();
      await decoder.compute(input, { logits: "none", onAttention: dropMaps, nextToken: { top: 5 } });
      const scored = performance.now() - started;
      rows.push(`| ${shape} | ${model.config.vocabSize} | ${tokens} | ${plain.toFixed(0)} | ${scored.toFixed(0)} | ${(scored / plain).toFixed(2)} |`);
      console.log(rows[rows.length - 1]);
    }
    await decoder.dispose();
  }
  const body =
    `${START}\n## The next-token losses' cost (Node, wasm, 1 thread)\n\n` +
    `The Attention mode's prefill (maps handed over and dropped, no logits) without and with every token's next-token loss and top 5 guesses, ` +
    `in one process, one run each (${new Date().toISOString().slice(0, 10)}; noisy: read the ratios as orders of magnitude).\n\n` +
    `| shape | vocabulary | tokens | prefill (ms) | with losses (ms) | ratio |\n| --- | --- | --- | --- | --- | --- |\n${rows.join("\n")}\n${END}`;
  if (QUICK || rows.length === 0) {
    console.log(body);
    return;
  }
  const previous = readFileSync(RESULTS, "utf8");
  writeFileSync(RESULTS, previous.includes(START) ? previous.replace(new RegExp(`${START}[\\s\\S]*${END}`), body) : `${previous.trimEnd()}\n\n${body}\n`);
  console.log(body);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
});
