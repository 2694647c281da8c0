/**
 * Grouping key/value heads without training (src/model/key-value-conversion.ts): by hand on a
 * small tensor, and against PyTorch on real checkpoints (scripts/fixtures/make_conversion_fixture.py
 * with training/key_value_conversion.py): the converted key and value projections, and the converted
 * model's logits run layer by layer on onnxruntime-web (wasm), for Llama, Qwen2 (biases), GPT-2
 * (fused c_attn) and SmolLM2's 9/3 head layout.
 */

import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

import { Tensor } from "../../src/attention/tensor";
import { parseModelConfig } from "../../src/model/config";
import {
  conversionProblem,
  convertKeyValueHeads,
  groupHeadRows,
  keyValueGroupChoices,
  type KeyValueConversionMethod,
} from "../../src/model/key-value-conversion";
import { readSafetensors } from "../../src/model/safetensors";
import { decoderWeightsFromTensors } from "../../src/model/weights";
import { LayeredDecoder } from "../../src/runtime/layered-decoder";
import { FIXTURES } from "./helpers/fixtures";
import { float32Of } from "../../src/model/half-tensor";

const ROOT = join(__dirname, "..", "..");
const CASES = join(FIXTURES, "conversion");

function maxDifference(actual: Float32Array, expected: Float32Array): number {
  assert.equal(actual.length, expected.length);
  let worst = 0;
  for (let index = 0; index < actual.length; index++) worst = Math.max(worst, Math.abs(actual[index] - expected[index]));
  return worst;
}

describe("key/value head conversion", () => {
  it("pools consecutive heads' rows: the mean, or the first of each group (by hand)", () => {
    // 4 heads of 1 row x 2 columns: head i is [i, 10 i].
    const key = new Tensor(Float32Array.from([0, 0, 1, 10, 2, 20, 3, 30]), [4, 2]);
    assert.deepEqual(Array.from(groupHeadRows(key, 4, 2, "mean").data), [0.5, 5, 2.5, 25]);
    assert.deepEqual(Array.from(groupHeadRows(key, 4, 2, "first").data), [0, 0, 2, 20]);
    assert.deepEqual(Array.from(groupHeadRows(key, 4, 1, "mean").data), [1.5, 15]);
    assert.deepEqual(groupHeadRows(key, 4, 1, "mean").shape, [1, 2]);
    // A bias: (heads * hs) with hs = 2.
    const bias = new Tensor(Float32Array.from([1, 2, 3, 4, 5, 6]), [6]);
    assert.deepEqual(Array.from(groupHeadRows(bias, 3, 1, "mean").data), [3, 4]);
  });

  it("offers the divisors of the key/value heads and explains every other choice", () => {
    assert.deepEqual(keyValueGroupChoices(8), [4, 2, 1]);
    assert.deepEqual(keyValueGroupChoices(3), [1]);
    assert.deepEqual(keyValueGroupChoices(12), [6, 4, 3, 2, 1]);
    assert.deepEqual(keyValueGroupChoices(1), []);
    assert.equal(conversionProblem({ numKeyValueHeads: 8 }, { groups: 2, method: "mean" }), null);
    assert.match(conversionProblem({ numKeyValueHeads: 8 }, { groups: 3, method: "mean" })!, /8 key\/value heads cannot be split into 3 equal groups: pick 4, 2, 1/);
    assert.match(conversionProblem({ numKeyValueHeads: 8 }, { groups: 8, method: "mean" })!, /fewer than that, such as 4 or 2 or 1/);
    assert.match(conversionProblem({ numKeyValueHeads: 1 }, { groups: 1, method: "first" })!, /already has a single key\/value head/);
    assert.match(conversionProblem({ numKeyValueHeads: 4 }, { groups: 0, method: "mean" })!, /positive whole number/);
    assert.match(conversionProblem({ numKeyValueHeads: 4 }, { groups: 2, method: "median" as KeyValueConversionMethod })!, /unknown conversion method "median"/);
  });

  const cases = readdirSync(CASES).filter((name) => name.endsWith(".safetensors")).sort();
  it("has the PyTorch cases", () => assert.ok(cases.length >= 6, cases.join(", ")));

  for (const name of cases) {
    it(`${name.replace(".safetensors", "")}: the converted projections and logits equal PyTorch's (1e-4)`, async () => {
      const fixture = readSafetensors(readFileSync(join(CASES, name)));
      const folder = join(ROOT, fixture.metadata.source);
      const config = parseModelConfig(JSON.parse(readFileSync(join(folder, "config.json"), "utf8")), "config.json");
      const weights = decoderWeightsFromTensors(config, readSafetensors(readFileSync(join(folder, "model.safetensors"))).tensors);
      const groups = Number(fixture.metadata.groups);
      const method = fixture.metadata.method as KeyValueConversionMethod;
      const converted = convertKeyValueHeads(config, weights, { groups, method });

      assert.equal(converted.config.numKeyValueHeads, groups);
      assert.equal(converted.config.numAttentionHeads, config.numAttentionHeads);
      let worstWeight = 0;
      converted.weights.layers.forEach((layer, index) => {
        for (const field of ["key", "value", "keyBias", "valueBias"] as const) {
          const expected = fixture.tensors.get(`layers.${index}.${field}`);
          const actual = layer.attention[field];
          assert.equal(actual === undefined, expected === undefined, `layer ${index} ${field}: present in one only`);
          if (!expected || !actual) continue;
          assert.deepEqual(actual.shape, expected.shape, `layer ${index} ${field}`);
          worstWeight = Math.max(worstWeight, maxDifference(float32Of(actual).data, expected.data));
        }
        // Everything else is the original's tensor, not a copy.
        assert.equal(layer.attention.query, weights.layers[index].attention.query);
        assert.equal(layer.mlp, weights.layers[index].mlp);
      });
      assert.ok(worstWeight < 1e-6, `max |key/value - PyTorch| = ${worstWeight}`);
      // The original is left as it was.
      assert.equal(weights.layers[0].attention.key.shape[0], config.numKeyValueHeads * config.headDim);

      const ids = JSON.parse(fixture.metadata.input_ids) as number[];
      const decoder = await LayeredDecoder.create(converted.config, converted.weights, { choice: "wasm" });
      try {
        const step = await decoder.compute([ids], { logits: "all" });
        const expected = fixture.tensors.get("logits")!;
        const worst = maxDifference(step.logits!.data, expected.data);
        assert.ok(worst < 1e-4, `max |logits - PyTorch| = ${worst}`);
      } finally {
        await decoder.dispose();
      }
    });
  }

  it("changes what the model computes (mean-pooling is not a no-op) but keeps every query head", async () => {
    const folder = join(ROOT, "media", "models", "attention-lens-mha");
    const config = parseModelConfig(JSON.parse(readFileSync(join(folder, "config.json"), "utf8")), "config.json");
    const weights = decoderWeightsFromTensors(config, readSafetensors(readFileSync(join(folder, "model.safetensors"))).tensors);
    const mean = convertKeyValueHeads(config, weights, { groups: 2, method: "mean" });
    const first = convertKeyValueHeads(config, weights, { groups: 2, method: "first" });
    assert.ok(maxDifference(float32Of(mean.weights.layers[0].attention.key).data, float32Of(first.weights.layers[0].attention.key).data) > 1e-3);
    // The first head of group 0 is head 0 itself.
    assert.deepEqual(
      Array.from(float32Of(first.weights.layers[0].attention.key).data.subarray(0, config.headDim * config.hiddenSize)),
      Array.from(float32Of(weights.layers[0].attention.key).data.subarray(0, config.headDim * config.hiddenSize)),
    );
    assert.throws(() => convertKeyValueHeads(config, weights, { groups: 3, method: "mean" }), /cannot be split into 3 equal groups/);
  });
});
