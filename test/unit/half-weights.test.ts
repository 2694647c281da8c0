/**
 * 16-bit checkpoints stay 16-bit (src/model/half-tensor.ts): bfloat16 is converted to float16 in
 * place, checked against the float32 route for all 65536 patterns; the reader keeps float16 matrices
 * as views of the file; the layer graphs take them as float16 inputs and Cast them; memory holds
 * half the bytes. The numbers of bf16/f16 checkpoints against transformers are checked with every
 * other family in onnx-families.test.ts (their weights are read this way there too).
 */

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";

import { Tensor } from "../../src/attention/tensor";
import { parseModelConfig } from "../../src/model/config";
import { bfloat16BitsToFloat32, decodeFloat16, encodeBfloat16, float16BitsToFloat32, float32ToFloat16Bits } from "../../src/model/float16";
import { bfloat16ToFloat16InPlace, copyRowsAsFloat32, float32Of, HalfTensor, storageOf, transposeWeight, weightRows } from "../../src/model/half-tensor";
import { buildLayerGraph } from "../../src/model/onnx/layer-graph";
import { readSafetensors, readWeightTensors } from "../../src/model/safetensors";
import { writeSafetensors } from "../../src/model/safetensors-writer";
import { decoderWeightsFromTensors, decoderWeightsToTensors, heldBytesOfCheckpoint, randomDecoderWeights } from "../../src/model/weights";
import { halfWeightInputsFor, LayeredDecoder } from "../../src/runtime/layered-decoder";
import type { WebGpuProbe } from "../../src/runtime/webgpu-probe";
import { float32WeightBytes, heldWeightBytes } from "../../src/runtime/weight-placement";
import { loadFamilyFixture, maxDifferenceOnRows } from "./helpers/family-fixtures";
import { FIXTURES } from "./helpers/fixtures";

function isNaNBits(half: number): boolean {
  return (half & 0x7c00) === 0x7c00 && (half & 0x3ff) !== 0;
}

describe("16-bit weights: bfloat16 to float16 in place", () => {
  it("gives, for every bfloat16 pattern within float16's range, the float16 that rounding its float32 value gives", () => {
    const all = Uint16Array.from({ length: 0x10000 }, (_, bits) => bits);
    const inRange = all.filter((bits) => {
      const exponent = (bits >>> 7) & 0xff;
      return exponent === 0xff || exponent <= 142;
    });
    const converted = inRange.slice();
    assert.equal(bfloat16ToFloat16InPlace(converted), true);
    let exact = 0;
    for (let index = 0; index < inRange.length; index++) {
      const expected = float32ToFloat16Bits(bfloat16BitsToFloat32(inRange[index]));
      if (isNaNBits(expected)) {
        assert.ok(isNaNBits(converted[index]), `pattern ${inRange[index].toString(16)}: NaN stays NaN`);
        continue;
      }
      assert.equal(converted[index], expected, `pattern 0x${inRange[index].toString(16)}`);
      if (float16BitsToFloat32(converted[index]) === bfloat16BitsToFloat32(inRange[index])) exact++;
    }
    // Every normal float16 value is exact (2 x 30 exponents x 128 mantissas), plus the small subnormals that happen to be.
    assert.ok(exact >= 2 * 30 * 128, `${exact} patterns convert exactly`);
  });

  it("the error below float16's normal range is under 3e-8, and values from 2^-14 up are exact", () => {
    const values = Float32Array.from([6.103515625e-5, 1e-3, -0.02, 0.5, 65280, -65280, 5e-5, -3e-6, 1e-7, 2e-8]);
    const bits = encodeBfloat16(values);
    const asBfloat = Array.from(bits, bfloat16BitsToFloat32);
    assert.equal(bfloat16ToFloat16InPlace(bits), true);
    const asHalf = decodeFloat16(bits);
    asBfloat.forEach((value, index) => {
      const error = Math.abs(asHalf[index] - value);
      if (Math.abs(value) >= 2 ** -14) assert.equal(error, 0, `${value} is exact`);
      else assert.ok(error < 3e-8, `${value}: error ${error}`);
    });
  });

  it("refuses (and leaves the bits unchanged) when a value is beyond float16's largest, 65504", () => {
    const bits = encodeBfloat16(Float32Array.from([1, 70000, -2]));
    const before = bits.slice();
    assert.equal(bfloat16ToFloat16InPlace(bits), false);
    assert.deepEqual(bits, before);
  });
});

describe("16-bit weights: HalfTensor helpers", () => {
  const matrix = Tensor.fromFunction([3, 5], ([row, column]) => row * 0.25 - column * 0.125);
  const half = new HalfTensor(Uint16Array.from(matrix.data, float32ToFloat16Bits), [3, 5]);

  it("transposes at 16 bits, equal to the float32 transpose", () => {
    const transposed = transposeWeight(half);
    assert.ok(transposed instanceof HalfTensor);
    assert.deepEqual(transposed.shape, [5, 3]);
    assert.deepEqual(Array.from(float32Of(transposed).data), Array.from(float32Of(transposeWeight(matrix)).data));
  });

  it("rows are views of the same bits; copied rows are float32", () => {
    const rows = weightRows(half, 1, 3);
    assert.ok(rows instanceof HalfTensor);
    assert.equal(rows.bits.buffer, half.bits.buffer);
    const out = new Float32Array(10);
    copyRowsAsFloat32(half, 1, 3, out, 0);
    assert.deepEqual(Array.from(out), Array.from(matrix.data.subarray(5, 15)));
  });
});

describe("16-bit weights: read from a safetensors file", () => {
  it("keeps F16 and BF16 matrices as float16 views of the file, vectors and F32 as float32, with the values of readSafetensors", () => {
    const matrix = Tensor.fromFunction([4, 6], ([row, column]) => Math.sin(row * 6 + column) * 0.05);
    const vector = Tensor.fromFunction([6], ([index]) => 1 + index / 10);
    const bytes = writeSafetensors({ "a.f16": matrix, "b.bf16": matrix, "c.f32": matrix, "d.vector": vector }, { dtype: (name) => (name.endsWith("f32") ? "F32" : name.endsWith("bf16") ? "BF16" : "F16") });
    const expected = readSafetensors(bytes.slice()).tensors;
    const read = readWeightTensors(bytes, "test.safetensors");
    assert.deepEqual(read.widened, []);
    const [f16, bf16, f32, vectorRead] = ["a.f16", "b.bf16", "c.f32", "d.vector"].map((name) => read.tensors.get(name)!);
    assert.ok(f16 instanceof HalfTensor && bf16 instanceof HalfTensor);
    assert.ok(f32 instanceof Tensor && vectorRead instanceof Tensor);
    for (const tensor of [f16, bf16]) assert.equal((tensor as HalfTensor).bits.buffer, bytes.buffer, "a view of the file's bytes, no copy");
    assert.equal((f32 as Tensor).data.buffer, bytes.buffer);
    for (const name of ["a.f16", "b.bf16", "c.f32", "d.vector"]) {
      assert.deepEqual(Array.from(float32Of(read.tensors.get(name)!).data), Array.from(expected.get(name)!.data), name);
    }
    assert.equal(read.dtypes.get("b.bf16"), "BF16");
  });

  it("widens a BF16 matrix with a value beyond float16's range to float32, and says which", () => {
    const matrix = Tensor.fromNested([
      [1, 2],
      [3, 1e6],
    ]);
    const read = readWeightTensors(writeSafetensors({ big: matrix }, { dtype: "BF16" }));
    assert.deepEqual(read.widened, ["big"]);
    const tensor = read.tensors.get("big")!;
    assert.ok(tensor instanceof Tensor);
    assert.equal(tensor.data[3], bfloat16BitsToFloat32(encodeBfloat16(Float32Array.of(1e6))[0]));
  });

  it("one layer graph serves every layer: where one layer's matrix had to be widened, every layer's copy of it is float32", () => {
    const folder = join(FIXTURES, "families", "qwen3-bf16");
    const config = parseModelConfig(JSON.parse(readFileSync(join(folder, "config.json"), "utf8")));
    const tensors = decoderWeightsToTensors(config, randomDecoderWeights(config, 3));
    tensors.get("model.layers.1.mlp.up_proj.weight")!.data[0] = 1e6;
    const read = readWeightTensors(writeSafetensors(tensors, { dtype: "BF16" }));
    assert.deepEqual(read.widened, ["model.layers.1.mlp.up_proj.weight"]);
    const weights = decoderWeightsFromTensors(config, read.tensors);
    for (const layer of weights.layers) {
      assert.ok(layer.mlp.up instanceof Tensor, "up_proj float32 in every layer");
      assert.ok(layer.mlp.down instanceof HalfTensor, "the other matrices stay 16-bit");
    }
  });
});

describe("16-bit weights: what the memory plan counts", () => {
  it("the bytes the headers predict (heldBytesOfCheckpoint, for the host's plan) are the bytes the loaded weights hold", () => {
    for (const name of ["qwen3-bf16", "qwen3-f16", "gpt2-bf16", "mistral-sliding-bf16", "qwen2", "gpt2"]) {
      const fixture = loadFamilyFixture(name);
      const { dtypes } = readSafetensors(readFileSync(join(FIXTURES, "families", name, "model.safetensors")));
      assert.equal(heldBytesOfCheckpoint(fixture.config, dtypes), heldWeightBytes(fixture.weights), name);
      const sixteenBits = name.endsWith("16");
      assert.equal(heldWeightBytes(fixture.weights) < 0.6 * float32WeightBytes(fixture.weights), sixteenBits, `${name}: held at 16 bits or not`);
    }
  });
});

describe("16-bit weights: in the layer-by-layer decoder", function () {
  this.timeout(60000);

  it("a bf16 checkpoint is held in half the bytes, and its layer graph takes float16 inputs", () => {
    const fixture = loadFamilyFixture("qwen3-bf16");
    const { weights, config } = fixture;
    assert.ok(weights.layers[0].attention.query instanceof HalfTensor);
    assert.ok(weights.embedTokens instanceof HalfTensor);
    assert.ok(weights.layers[0].inputNorm instanceof Tensor, "norm gains are float32");
    const held = heldWeightBytes(weights);
    const float32 = float32WeightBytes(weights);
    assert.ok(held < 0.52 * float32, `held ${held} bytes, float32 ${float32}`);
    const graph = buildLayerGraph(config, null, weights.layers[0]);
    const fed = graph.weights.filter(({ tensor }) => tensor instanceof HalfTensor).map(({ name }) => name);
    assert.ok(fed.includes("model.layers.0.self_attn.q_proj.weight"));
    assert.ok(Buffer.from(graph.bytes).includes("model.layers.0.self_attn.q_proj.weight/float"), "a Cast after the float16 input");
  });

  it("gives the same logits as the same weights widened to float32 beforehand (to 1e-6)", async () => {
    const fixture = loadFamilyFixture("llama-bias-llama3rope-bf16");
    const { config, weights } = fixture;
    const widened = decoderWeightsFromTensors(config, readSafetensors(readFileSync(join(FIXTURES, "families", fixture.name, "model.safetensors"))).tensors);
    assert.ok(widened.layers[0].attention.query instanceof Tensor);
    const ids = fixture.expected.prefill.inputIds;
    const half = await LayeredDecoder.create(config, weights, { choice: "wasm" });
    const full = await LayeredDecoder.create(config, widened, { choice: "wasm" });
    try {
      const [fromHalf, fromFull] = [await half.compute(ids), await full.compute(ids)];
      assert.ok(maxDifferenceOnRows(fromHalf.logits, fromFull.logits, 1) < 1e-6);
      assert.ok(maxDifferenceOnRows(fromHalf.attentions[0], fromFull.attentions[0], 2) < 1e-6);
    } finally {
      await Promise.all([half.dispose(), full.dispose()]);
    }
  });

  it("float16 weights go in as float16 on wasm and on WebGPU with shader-f16, decoded without it", () => {
    const gpu = (shaderF16: boolean, isFallbackAdapter = false): WebGpuProbe => ({ available: true, isFallbackAdapter, description: "a stand-in adapter", shaderF16 });
    assert.equal(halfWeightInputsFor({ choice: "wasm" }), true);
    assert.equal(halfWeightInputsFor({ choice: "webgpu", webGpuProbe: gpu(true) }), true);
    assert.equal(halfWeightInputsFor({ choice: "webgpu", webGpuProbe: gpu(false) }), false);
    assert.equal(halfWeightInputsFor({ choice: "auto", webGpuProbe: gpu(false) }), false);
    assert.equal(halfWeightInputsFor({ choice: "auto", webGpuProbe: gpu(false, true) }), true, "auto skips a software adapter: wasm runs it");
    assert.equal(halfWeightInputsFor({ choice: "auto", webGpuProbe: { available: false, isFallbackAdapter: false, description: "" } }), true);
  });

  it("decoded per run (WebGPU without shader-f16; here it falls back to wasm), the logits are the float16 inputs' (to 1e-6)", async () => {
    const fixture = loadFamilyFixture("gpt2-bf16");
    const ids = fixture.expected.prefill.inputIds;
    const logs: string[] = [];
    const probe: WebGpuProbe = { available: true, isFallbackAdapter: false, description: "a stand-in adapter without shader-f16", shaderF16: false };
    const decoded = await LayeredDecoder.create(fixture.config, fixture.weights, { choice: "webgpu", webGpuProbe: probe, log: (line) => logs.push(line) }, { headSliceRows: 7 });
    const half = await LayeredDecoder.create(fixture.config, fixture.weights, { choice: "wasm" }, { headSliceRows: 7 });
    try {
      assert.ok(logs.some((line) => /lacks shader-f16/.test(line)), logs.join("\n"));
      const [fromDecoded, fromHalf] = [await decoded.compute(ids), await half.compute(ids)];
      assert.ok(maxDifferenceOnRows(fromDecoded.logits, fromHalf.logits, 1) < 1e-6);
    } finally {
      await Promise.all([decoded.dispose(), half.dispose()]);
    }
  });
});

describe("GPT-2's Conv1D matrices held once", () => {
  it("with reuseStorage, the transposed and split matrices are written back into the file's bytes, with the values of fresh copies", () => {
    for (const name of ["gpt2", "gpt2-bf16"]) {
      const folder = join(FIXTURES, "families", name);
      const config = parseModelConfig(JSON.parse(readFileSync(join(folder, "config.json"), "utf8")));
      const fileBytes = () => new Uint8Array(readFileSync(join(folder, "model.safetensors")));
      const copied = decoderWeightsFromTensors(config, readWeightTensors(fileBytes()).tensors);
      const bytes = fileBytes();
      const reused = decoderWeightsFromTensors(config, readWeightTensors(bytes).tensors, name, { reuseStorage: true });
      for (const [layer, weights] of reused.layers.entries()) {
        for (const matrix of [weights.attention.query, weights.attention.key, weights.attention.value, weights.attention.output, weights.mlp.up, weights.mlp.down]) {
          assert.equal(storageOf(matrix).buffer, bytes.buffer, `${name} layer ${layer}: held in the file's bytes`);
        }
        const expected = copied.layers[layer];
        for (const field of ["query", "key", "value", "output"] as const) {
          assert.deepEqual(Array.from(float32Of(weights.attention[field]).data), Array.from(float32Of(expected.attention[field]).data), `${name} layer ${layer} ${field}`);
        }
        for (const field of ["up", "down"] as const) {
          assert.deepEqual(Array.from(float32Of(weights.mlp[field]).data), Array.from(float32Of(expected.mlp[field]).data), `${name} layer ${layer} mlp ${field}`);
        }
      }
      assert.equal(heldWeightBytes(reused), heldWeightBytes(copied));
    }
  });
});
