/**
 * The transformers fixtures of every decoder family (test/fixtures/families/<name>/, written by
 * scripts/fixtures/make_family_fixtures.py): the checkpoint as `save_pretrained` wrote it, loaded the
 * way the extension loads one, and the reference tensors of expected.json.
 *
 * Also the rules a comparison with them needs: which query rows of the left-padded batch are real
 * (transformers gives pad query rows a uniform distribution; the graph gives zeros, so those rows
 * are skipped), and which attention cells are masked (causal, padding, sliding window).
 */

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { formatShape, type Tensor } from "../../../src/attention/tensor";
import type { WeightTensor } from "../../../src/model/half-tensor";
import { parseModelConfig, type DecoderConfig } from "../../../src/model/config";
import { readWeightTensors } from "../../../src/model/safetensors";
import { decoderWeightsFromTensors, type DecoderWeights } from "../../../src/model/weights";
import { FIXTURES, readFixture, type TensorJson } from "./fixtures";

export interface FamilyExpected {
  family: string;
  layerWindows: (number | null)[];
  maskedCellsAreZero: boolean;
  prefill: { inputIds: number[][]; logits: TensorJson; attentions: TensorJson[]; presentKeys: TensorJson[]; presentValues: TensorJson[] };
  decode: { inputIds: number[][]; logits: TensorJson; attentions: TensorJson[] }[];
  batch: { inputIds: number[][]; attentionMask: number[][]; positionIds: number[][]; logits: TensorJson; attentions: TensorJson[] };
}

export interface FamilyFixture {
  name: string;
  config: DecoderConfig;
  weights: DecoderWeights;
  expected: FamilyExpected;
}

/**
 * config.json, the weights (model.safetensors, or every shard of model.safetensors.index.json
 * merged) and expected.json. The weights are read as the extension reads them: a bf16 or f16
 * checkpoint's matrices stay 16-bit (src/model/half-tensor.ts).
 */
export function loadFamilyFixture(name: string): FamilyFixture {
  const folder = join(FIXTURES, "families", name);
  const config = parseModelConfig(JSON.parse(readFileSync(join(folder, "config.json"), "utf8")), `${name}/config.json`);
  const files = shardFiles(folder);
  const tensors = new Map<string, WeightTensor>();
  for (const file of files) {
    for (const [tensorName, tensor] of readWeightTensors(readFileSync(join(folder, file)), `${name}/${file}`).tensors) tensors.set(tensorName, tensor);
  }
  const weights = decoderWeightsFromTensors(config, tensors, `${name}/${files.join(" + ")}`, { reuseStorage: true });
  return { name, config, weights, expected: readFixture<FamilyExpected>(`families/${name}/expected.json`) };
}

function shardFiles(folder: string): string[] {
  try {
    const index = JSON.parse(readFileSync(join(folder, "model.safetensors.index.json"), "utf8")) as { weight_map: Record<string, string> };
    return [...new Set(Object.values(index.weight_map))].sort();
  } catch {
    return ["model.safetensors"];
  }
}

/** Whether key slot `key` is hidden from query slot `query` (causal, outside the window, or a pad). */
export function isMasked(query: number, key: number, window: number | null, keyIsReal = true): boolean {
  return key > query || (window !== null && query - key >= window) || !keyIsReal;
}

/**
 * The largest |actual - expected| over the query rows `keepRow(batch, row)` accepts, for tensors
 * whose axis 0 is the batch and `rowAxis` the query rows: logits (B, T, V) axis 1, attention
 * (B, nh, T, S) axis 2. NaN counts as Infinity. Throws on different shapes.
 */
export function maxDifferenceOnRows(actual: Tensor, expected: Tensor, rowAxis: number, keepRow: (batch: number, row: number) => boolean = () => true): number {
  if (formatShape(actual.shape) !== formatShape(expected.shape)) {
    throw new Error(`shape ${formatShape(actual.shape)} differs from the expected ${formatShape(expected.shape)}`);
  }
  const strides = actual.shape.map((_, axis) => actual.shape.slice(axis + 1).reduce((product, size) => product * size, 1));
  let worst = 0;
  for (let index = 0; index < actual.size; index++) {
    const batch = Math.floor(index / strides[0]) % actual.shape[0];
    const row = Math.floor(index / strides[rowAxis]) % actual.shape[rowAxis];
    if (!keepRow(batch, row)) continue;
    const difference = Math.abs(actual.data[index] - expected.data[index]);
    worst = Math.max(worst, Number.isNaN(difference) ? Infinity : difference);
  }
  return worst;
}
