/**
 * Compare mode's "align heads by best match" (webview/compare/head-alignment.ts): the Hungarian
 * algorithm against a search over every permutation, on random matrices, ties and the smallest
 * sizes; the pairing of heads on hand-made maps; and on a real model: the bundled MHA checkpoint
 * with its heads renumbered per layer (q_proj, k_proj, v_proj rows and o_proj columns moved together,
 * a true symmetry), written to a temporary folder and read back, both run on onnxruntime-web (wasm,
 * in Node) through the panel's LayeredDecoder: the logits are equal, and `alignHeads` finds the
 * renumbering with a cost of ~0 where by index the cost is large.
 */

import assert from "node:assert/strict";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { seededRandom } from "../../src/attention/seeded-random";
import { Tensor } from "../../src/attention/tensor";
import { parseModelConfig, type DecoderConfig } from "../../src/model/config";
import { readSafetensors } from "../../src/model/safetensors";
import { writeSafetensors } from "../../src/model/safetensors-writer";
import { TextTokenizer } from "../../src/model/tokenizer";
import { decoderWeightsFromTensors } from "../../src/model/weights";
import { LayeredDecoder } from "../../src/runtime/layered-decoder";
import { AttentionMapsBuilder, attentionMapsFromLayers, headMap, layerMaps, type AttentionMaps } from "../../webview/attention/attention-maps";
import { differenceMaps, layerSummaries } from "../../webview/compare/comparison";
import {
  alignedDifference,
  alignHeads,
  headCostMatrix,
  headPairsOf,
  inversePermutation,
  minimumCostAssignment,
  pairingByIndex,
} from "../../webview/compare/head-alignment";

/** Every permutation of 0 .. n-1 (n! of them). */
function permutations(n: number): number[][] {
  if (n === 0) return [[]];
  return permutations(n - 1).flatMap((rest) => Array.from({ length: n }, (_, at) => [...rest.slice(0, at), n - 1, ...rest.slice(at)]));
}

/** The smallest sum over i of cost[i][p(i)], by trying every permutation p. */
function bruteForceMinimum(cost: number[][]): number {
  return Math.min(...permutations(cost.length).map((permutation) => permutation.reduce((sum, column, row) => sum + cost[row][column], 0)));
}

function assertPermutation(values: readonly number[], n: number, label: string): void {
  assert.deepEqual([...values].sort((x, y) => x - y), Array.from({ length: n }, (_, index) => index), `${label}: not a permutation of 0..${n - 1}: ${values.join(", ")}`);
}

describe("head alignment: the Hungarian algorithm (minimum-cost assignment)", () => {
  it("the worked example of head-alignment.ts: A0↔B1, A1↔B2, A2↔B0, total 0.08", () => {
    const { columnOfRow, totalCost } = minimumCostAssignment([
      [0.3, 0.01, 0.2],
      [0.25, 0.4, 0.02],
      [0.05, 0.3, 0.35],
    ]);
    assert.deepEqual(columnOfRow, [1, 2, 0]);
    assert.ok(Math.abs(totalCost - 0.08) < 1e-12, `${totalCost}`);
  });

  it("equals a search over every permutation on random matrices, n = 1 .. 7", () => {
    const random = seededRandom(14);
    for (let n = 1; n <= 7; n++) {
      for (let trial = 0; trial < (n <= 5 ? 40 : 8); trial++) {
        // Uniform costs, and some with a wide spread and negative entries.
        const spread = trial % 2 === 0 ? 1 : 1000;
        const cost = Array.from({ length: n }, () => Array.from({ length: n }, () => (random() - (trial % 4 === 1 ? 0.5 : 0)) * spread));
        const { columnOfRow, totalCost } = minimumCostAssignment(cost);
        assertPermutation(columnOfRow, n, `n = ${n}, trial ${trial}`);
        const expected = bruteForceMinimum(cost);
        assert.ok(Math.abs(totalCost - expected) <= 1e-9 * Math.max(1, Math.abs(expected)), `n = ${n}, trial ${trial}: ${totalCost} vs brute force ${expected}`);
        assert.equal(totalCost, columnOfRow.reduce((sum, column, row) => sum + cost[row][column], 0), "the total is the sum of the chosen entries");
      }
    }
  });

  it("ties: costs of few distinct values, all equal, and several optimal permutations", () => {
    const random = seededRandom(3);
    for (let n = 2; n <= 7; n++) {
      for (let trial = 0; trial < 10; trial++) {
        const cost = Array.from({ length: n }, () => Array.from({ length: n }, () => Math.floor(random() * 3)));
        const { columnOfRow, totalCost } = minimumCostAssignment(cost);
        assertPermutation(columnOfRow, n, `n = ${n}`);
        assert.equal(totalCost, bruteForceMinimum(cost), `n = ${n}, trial ${trial}: ${JSON.stringify(cost)}`);
      }
    }
    const equal = minimumCostAssignment(Array.from({ length: 5 }, () => Array<number>(5).fill(0.25)));
    assertPermutation(equal.columnOfRow, 5, "all equal");
    assert.equal(equal.totalCost, 1.25);
    // Two optimal permutations (identity and swap, both 2): either one, with the minimum.
    assert.equal(minimumCostAssignment([[1, 1], [1, 1]]).totalCost, 2);
  });

  it("1 x 1 and 0 x 0", () => {
    assert.deepEqual(minimumCostAssignment([[0.7]]), { columnOfRow: [0], totalCost: 0.7 });
    assert.deepEqual(minimumCostAssignment([]), { columnOfRow: [], totalCost: 0 });
  });

  it("refuses a matrix that is not square or has a cost that is not a finite number", () => {
    assert.throws(() => minimumCostAssignment([[1, 2], [3]]), /must be square, but row 1 has 1 entries for 2 rows/);
    assert.throws(() => minimumCostAssignment([[1, Number.NaN], [3, 4]]), /cost\[0\]\[1\] is NaN/);
    assert.throws(() => minimumCostAssignment([[Infinity]]), /cost\[0\]\[0\] is Infinity/);
  });

  it("inversePermutation", () => {
    assert.deepEqual(inversePermutation([2, 0, 3, 1]), [1, 3, 0, 2]);
    assert.deepEqual(inversePermutation(inversePermutation([2, 0, 3, 1])), [2, 0, 3, 1]);
  });
});

/** Random causal maps: L layers of (nh, T, T), each row softmax-like (>= 0, summing to 1 over k <= q). */
function randomMaps(layers: number, heads: number, tokens: number, seed: number): Float32Array[] {
  const random = seededRandom(seed);
  return Array.from({ length: layers }, () => {
    const data = new Float32Array(heads * tokens * tokens);
    for (let head = 0; head < heads; head++) {
      for (let query = 0; query < tokens; query++) {
        const row = (head * tokens + query) * tokens;
        let sum = 0;
        for (let key = 0; key <= query; key++) sum += data[row + key] = random() ** 4;
        for (let key = 0; key <= query; key++) data[row + key] /= sum;
      }
    }
    return data;
  });
}

/** Layer data with head h taken from head from[h] of `data`: (nh, T, T) -> (nh, T, T). */
function renumberHeads(data: Float32Array, from: readonly number[], tokens: number): Float32Array {
  const size = tokens * tokens;
  const out = new Float32Array(data.length);
  from.forEach((source, head) => out.set(data.subarray(source * size, (source + 1) * size), head * size));
  return out;
}

const mapsOf = (layers: Float32Array[], heads: number, tokens: number): AttentionMaps =>
  attentionMapsFromLayers(
    layers.map((data) => ({ shape: [1, heads, tokens, tokens], data })),
    heads,
  );

describe("head alignment: pairing the heads of two models", () => {
  const [L, nh, T] = [3, 6, 9];
  const layersA = randomMaps(L, nh, T, 1);
  /** B's head h is A's head renumbered[layer][h], plus a little noise. */
  const renumbered = [
    [3, 0, 5, 1, 2, 4],
    [0, 1, 2, 3, 4, 5],
    [5, 4, 3, 2, 1, 0],
  ];
  const noise = randomMaps(L, nh, T, 2);
  const a = mapsOf(layersA, nh, T);
  const b = mapsOf(
    layersA.map((data, layer) => renumberHeads(data, renumbered[layer], T).map((value, index) => 0.97 * value + 0.03 * noise[layer][index])),
    nh,
    T,
  );

  it("the cost matrix is mean |A_i - B_j| over the visible cells; its diagonal is by index", () => {
    const cost = headCostMatrix(layerMaps(a, 0), layerMaps(b, 0), nh, T);
    const byIndex = layerSummaries(a, b)[0].meanDifference;
    assert.ok(Math.abs(cost.reduce((sum, row, head) => sum + row[head], 0) / nh - byIndex) < 1e-7);
    let sum = 0;
    const [mapA, mapB] = [headMap(a, 0, 2), headMap(b, 0, 4)];
    for (let query = 0; query < T; query++) for (let key = 0; key <= query; key++) sum += Math.abs(mapA[query * T + key] - mapB[query * T + key]);
    assert.ok(Math.abs(cost[2][4] - sum / ((T * (T + 1)) / 2)) < 1e-12);
    assert.throws(() => headCostMatrix(layerMaps(a, 0), layerMaps(b, 0).subarray(1), nh, T), /expected \(nh, T, T\) = \(6, 9, 9\)/);
  });

  it("alignHeads finds B's renumbering per layer; by best match costs less than by index", () => {
    const alignments = alignHeads(a, b);
    alignments.forEach((alignment, layer) => {
      // A's head i is B's head j where renumbered[j] = i.
      assert.deepEqual(alignment.headOfB, inversePermutation(renumbered[layer]), `layer ${layer}`);
      assert.ok(alignment.meanByBestMatch <= alignment.meanByIndex + 1e-12);
      assert.ok(Math.abs(alignment.meanByBestMatch - alignment.pairCosts.reduce((sum, value) => sum + value, 0) / nh) < 1e-12);
    });
    assert.ok(alignments[0].meanByIndex > 5 * alignments[0].meanByBestMatch, "a renumbered layer differs much more by index");
    assert.ok(Math.abs(alignments[1].meanByIndex - alignments[1].meanByBestMatch) < 1e-12, "layer 1 kept its numbering");
  });

  it("the aligned difference compares head h of A with its partner, and the layer summary follows", () => {
    const alignments = alignHeads(a, b);
    const best = alignedDifference(a, b, "bestMatch", alignments);
    const byIndex = alignedDifference(a, b, "index", alignments);
    assert.deepEqual(byIndex.headOfB, pairingByIndex(L, nh));
    assert.deepEqual(Array.from(layerMaps(byIndex.difference, 2)), Array.from(layerMaps(differenceMaps(a, b), 2)));
    const partner = best.headOfB[0][1];
    const expected = headMap(a, 0, 1).map((value, index) => Math.abs(value - headMap(b, 0, partner)[index]));
    assert.deepEqual(Array.from(headMap(best.difference, 0, 1)), Array.from(expected));
    best.layers.forEach((summary, layer) => {
      assert.ok(Math.abs(summary.meanDifference - alignments[layer].meanByBestMatch) < 1e-7, `layer ${layer}: best match`);
      assert.ok(Math.abs(byIndex.layers[layer].meanDifference - alignments[layer].meanByIndex) < 1e-7, `layer ${layer}: by index`);
      assert.equal(summary.entropyB, byIndex.layers[layer].entropyB, "entropy is a mean over heads: the pairing does not change it");
    });
    const pairs = headPairsOf(best);
    assert.deepEqual(pairs[0][1], { headA: 1, headB: partner, meanDifference: best.headDifferences[0][1] });
    assert.throws(() => differenceMaps(a, b, [[0, 1, 2, 3, 4, 9], [0, 1, 2, 3, 4, 5], [0, 1, 2, 3, 4, 5]]), /layer 0 pairs head 5 of A with head 9 of B, which does not exist/);
  });
});

describe("head alignment on a real model: the bundled MHA model with its heads renumbered", function () {
  this.timeout(120_000);
  const MODEL = join(__dirname, "..", "..", "media", "models", "attention-lens-mha");
  /** Per layer, the original head each head of the copy is: copy head h = original head renumbered[layer][h]. */
  const renumbered = [
    [3, 7, 0, 5, 1, 6, 2, 4],
    [1, 2, 3, 4, 5, 6, 7, 0],
    [6, 4, 7, 2, 0, 3, 5, 1],
  ];
  let folder: string;
  const decoders: LayeredDecoder[] = [];

  before(() => {
    folder = mkdtempSync(join(tmpdir(), "attention-lens-renumbered-"));
  });
  after(async () => {
    for (const decoder of decoders) await decoder.dispose();
    rmSync(folder, { recursive: true, force: true });
  });

  /** Rows [h*hs, (h+1)*hs) of a (nh*hs, C) projection, taken from head renumbered[h]: (nh*hs, C) -> (nh*hs, C). */
  function renumberRows(tensor: Tensor, from: readonly number[], headDim: number): Tensor {
    const [rows, columns] = tensor.shape;
    assert.equal(rows, from.length * headDim);
    const data = new Float32Array(tensor.data.length);
    from.forEach((source, head) => data.set(tensor.data.subarray(source * headDim * columns, (source + 1) * headDim * columns), head * headDim * columns));
    return new Tensor(data, [rows, columns]);
  }

  /** The same for the columns of o_proj, (C, nh*hs): the output reads head h's context from columns [h*hs, (h+1)*hs). */
  function renumberColumns(tensor: Tensor, from: readonly number[], headDim: number): Tensor {
    const [rows, columns] = tensor.shape;
    assert.equal(columns, from.length * headDim);
    const data = new Float32Array(tensor.data.length);
    for (let row = 0; row < rows; row++) {
      from.forEach((source, head) => data.set(tensor.data.subarray(row * columns + source * headDim, row * columns + (source + 1) * headDim), row * columns + head * headDim));
    }
    return new Tensor(data, [rows, columns]);
  }

  /** Writes the renumbered copy (config.json, model.safetensors at the original dtypes, tokenizer.json) and returns its folder. */
  function writeRenumberedCopy(config: DecoderConfig): string {
    const original = readSafetensors(readFileSync(join(MODEL, "model.safetensors")));
    const tensors = new Map(original.tensors);
    for (let layer = 0; layer < config.numHiddenLayers; layer++) {
      const name = (projection: string) => `model.layers.${layer}.self_attn.${projection}.weight`;
      for (const projection of ["q_proj", "k_proj", "v_proj"]) {
        tensors.set(name(projection), renumberRows(original.tensors.get(name(projection))!, renumbered[layer], config.headDim));
      }
      tensors.set(name("o_proj"), renumberColumns(original.tensors.get(name("o_proj"))!, renumbered[layer], config.headDim));
    }
    const copy = join(folder, "attention-lens-mha-renumbered");
    mkdirSync(copy);
    writeFileSync(join(copy, "model.safetensors"), writeSafetensors(tensors, { dtype: (tensorName) => original.dtypes.get(tensorName)!, metadata: original.metadata }));
    for (const file of ["config.json", "tokenizer.json"]) copyFileSync(join(MODEL, file), join(copy, file));
    return copy;
  }

  async function run(config: DecoderConfig, weightsFile: string, ids: number[]) {
    const weights = decoderWeightsFromTensors(config, readSafetensors(readFileSync(weightsFile), weightsFile).tensors, weightsFile);
    const decoder = await LayeredDecoder.create(config, weights, { choice: "wasm" });
    decoders.push(decoder);
    const maps = new AttentionMapsBuilder(config.numKeyValueHeads);
    const step = await decoder.compute([ids], { logits: "last", onAttention: (layer, weights) => maps.add(layer, weights) });
    return { maps: maps.finish(), logits: step.logits };
  }

  it("the renumbered copy gives the same logits; alignHeads recovers the renumbering at ~0 cost, where by index the cost is large", async () => {
    const config = parseModelConfig(JSON.parse(readFileSync(join(MODEL, "config.json"), "utf8")), "attention-lens-mha/config.json");
    assert.equal(config.numKeyValueHeads, config.numAttentionHeads, "renumbering heads this way is a symmetry of MHA (every head its own K/V)");
    assert.equal(renumbered.length, config.numHiddenLayers);
    const copy = writeRenumberedCopy(config);
    const copiedConfig = parseModelConfig(JSON.parse(readFileSync(join(copy, "config.json"), "utf8")), "attention-lens-mha-renumbered/config.json");

    const tokenizer = TextTokenizer.fromJson(readFileSync(join(MODEL, "tokenizer.json"), "utf8"));
    const ids = tokenizer.encode(readFileSync(join(__dirname, "..", "..", "media", "sample", "attention.ts"), "utf8").slice(0, 300), { addBos: true }).ids;
    const original = await run(config, join(MODEL, "model.safetensors"), ids);
    const renumberedRun = await run(copiedConfig, join(copy, "model.safetensors"), ids);

    // A true symmetry: the same logits (o_proj sums the same products in another order).
    let scale = 0;
    let worst = 0;
    original.logits.data.forEach((value, index) => {
      scale = Math.max(scale, Math.abs(value));
      worst = Math.max(worst, Math.abs(value - renumberedRun.logits.data[index]));
    });
    assert.ok(worst <= 1e-5 * scale, `max |logits - renumbered logits| = ${worst} (largest logit ${scale})`);
    // ... and the maps renumbered exactly.
    for (let layer = 0; layer < config.numHiddenLayers; layer++) {
      for (let head = 0; head < config.numAttentionHeads; head++) {
        const copied = headMap(renumberedRun.maps, layer, head);
        const source = headMap(original.maps, layer, renumbered[layer][head]);
        const largest = copied.reduce((max, value, index) => Math.max(max, Math.abs(value - source[index])), 0);
        assert.ok(largest < 1e-5, `layer ${layer}, head ${head}: max |copy - original head ${renumbered[layer][head]}| = ${largest}`);
      }
    }

    const alignments = alignHeads(original.maps, renumberedRun.maps);
    alignments.forEach((alignment, layer) => {
      assert.deepEqual(alignment.headOfB, inversePermutation(renumbered[layer]), `layer ${layer}: A head i ↔ the copy's head that was head i`);
      assert.ok(alignment.meanByBestMatch < 1e-6, `layer ${layer}: mean |A - B| by best match ${alignment.meanByBestMatch}`);
      assert.ok(alignment.meanByIndex > 5e-3 && alignment.meanByIndex > 1e3 * alignment.meanByBestMatch, `layer ${layer}: mean |A - B| by index ${alignment.meanByIndex}`);
      alignment.pairCosts.forEach((cost, head) => assert.ok(cost < 1e-6, `layer ${layer}, A head ${head}: ${cost}`));
    });
    // The other way round: the copy's head h is the original's head renumbered[h].
    alignHeads(renumberedRun.maps, original.maps).forEach((alignment, layer) => assert.deepEqual(alignment.headOfB, renumbered[layer]));

    const best = alignedDifference(original.maps, renumberedRun.maps, "bestMatch", alignments);
    assert.ok(best.maxDifference < 1e-5, `by best match the difference maps are ~0 everywhere: ${best.maxDifference}`);
    const byIndex = alignedDifference(original.maps, renumberedRun.maps, "index", alignments);
    assert.ok(byIndex.maxDifference > 0.3, `by index they are not: ${byIndex.maxDifference}`);
  });
});
