import assert from "node:assert/strict";
import { fromBinary } from "@bufbuild/protobuf";
import { ModelProtoSchema } from "onnx-buf";
import { parseModelConfig } from "../../src/model/config";
import { prepareGraphStep } from "../../src/model/onnx/graph-inputs";
import { encodeDecoderGraph } from "../../src/model/onnx/decoder-graph";
import { randomDecoderWeights } from "../../src/model/weights";

const config = parseModelConfig({
  hidden_size: 32,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  num_hidden_layers: 2,
  intermediate_size: 48,
  vocab_size: 40,
  max_position_embeddings: 16,
  rms_norm_eps: 1e-5,
});
const weights = randomDecoderWeights(config, 1);

/** Dims of a value info as written: numbers for fixed sizes, names for symbolic ones. */
function dimsOf(info: { type?: { value: { case?: string; value?: unknown } } }): (number | string)[] {
  const tensorType = info.type!.value.value as { shape: { dim: { value: { case: string; value: bigint | string } }[] } };
  return tensorType.shape.dim.map((dim) => (dim.value.case === "dimValue" ? Number(dim.value.value) : String(dim.value.value)));
}

describe("ONNX graph of the decoder (structure)", () => {
  const primitive = fromBinary(ModelProtoSchema, encodeDecoderGraph(config, weights));
  const fused = fromBinary(ModelProtoSchema, encodeDecoderGraph(config, weights, { attention: "fused" }));

  it("declares the Hugging Face style inputs and outputs with symbolic batch and sequence sizes", () => {
    const inputs = Object.fromEntries(primitive.graph!.input.map((info) => [info.name, dimsOf(info)]));
    assert.deepEqual(inputs, {
      input_ids: ["batch", "sequence"],
      attention_mask: ["batch", "total_sequence"],
      position_ids: ["batch", "sequence"],
      "past_key_values.0.key": ["batch", 2, "past_sequence", 8],
      "past_key_values.0.value": ["batch", 2, "past_sequence", 8],
      "past_key_values.1.key": ["batch", 2, "past_sequence", 8],
      "past_key_values.1.value": ["batch", 2, "past_sequence", 8],
    });
    const outputs = Object.fromEntries(primitive.graph!.output.map((info) => [info.name, dimsOf(info)]));
    assert.deepEqual(outputs, {
      logits: ["batch", "sequence", 40],
      "attentions.0": ["batch", 4, "sequence", "total_sequence"],
      "present.0.key": ["batch", 2, "total_sequence", 8],
      "present.0.value": ["batch", 2, "total_sequence", 8],
      "attentions.1": ["batch", 4, "sequence", "total_sequence"],
      "present.1.key": ["batch", 2, "total_sequence", 8],
      "present.1.value": ["batch", 2, "total_sequence", 8],
    });
  });

  it("writes attention with primitive operators only (opset 21), the fused variant with Attention-23", () => {
    const primitiveOps = new Set(primitive.graph!.node.map((node) => node.opType));
    assert.equal(primitive.opsetImport[0].version, 21n);
    assert.ok(!primitiveOps.has("Attention"));
    for (const op of ["MatMul", "Softmax", "Where", "Concat", "Expand"]) assert.ok(primitiveOps.has(op), op);
    const fusedOps = fused.graph!.node.map((node) => node.opType);
    assert.equal(fused.opsetImport[0].version, 23n);
    assert.equal(fusedOps.filter((op) => op === "Attention").length, 2, "one Attention per layer");
    assert.ok(!fusedOps.includes("Softmax"));
    assert.ok(!fused.graph!.output.some((info) => info.name.startsWith("attentions.")));
  });

  it("stores the weights once per layer, with Hugging Face names, transposed for MatMul", () => {
    const initializers = new Map(primitive.graph!.initializer.map((tensor) => [tensor.name, tensor.dims.map(Number)]));
    assert.deepEqual(initializers.get("model.embed_tokens.weight"), [40, 32]);
    assert.deepEqual(initializers.get("model.layers.1.self_attn.k_proj.weight^T"), [32, 16]);
    assert.deepEqual(initializers.get("model.layers.0.mlp.down_proj.weight^T"), [48, 32]);
    assert.deepEqual(initializers.get("lm_head.weight^T"), [32, 40]);
    assert.ok(primitive.graph!.node.every((node) => node.name.length > 0), "every node is named");
  });
});

describe("ONNX graph inputs (checked before the runtime)", () => {
  it("prefill: ids, mask and positions that skip left pads, and empty pasts", () => {
    const { feeds, positions, keyMask } = prepareGraphStep(config, { inputIds: [[5, 6, 7], [0, 8, 9]], attentionMask: [[1, 1, 1], [0, 1, 1]] });
    assert.deepEqual(positions, [[0, 1, 2], [0, 0, 1]]);
    assert.deepEqual(keyMask, [[1, 1, 1], [0, 1, 1]]);
    assert.deepEqual([...feeds.position_ids.data], [0n, 1n, 2n, 0n, 0n, 1n]);
    assert.deepEqual(feeds["past_key_values.1.value"].dims, [2, 2, 0, 8]);
  });

  it("decoding: positions continue from the real tokens cached in each row", () => {
    const past = Array.from({ length: 4 }, () => [2, 2, 3, 8]);
    const { feeds, keyMask } = prepareGraphStep(config, { inputIds: [[1], [2]], pastTokenMask: [[1, 1, 1], [0, 1, 1]], pastShapes: past });
    assert.deepEqual([...feeds.position_ids.data], [3n, 2n]);
    assert.deepEqual(keyMask, [[1, 1, 1, 1], [0, 1, 1, 1]]);
    assert.equal(feeds["past_key_values.0.key"], undefined, "the caller supplies the pasts it holds");
  });

  it("bad input: ids outside the vocabulary, too long, wrong past shapes, ragged", () => {
    assert.throws(() => prepareGraphStep(config, { inputIds: [[1, 40]] }), /token id 40 at \[0\]\[1\] is outside the vocabulary \(0 to 39\)/);
    assert.throws(() => prepareGraphStep(config, { inputIds: [new Array(17).fill(1)] }), /17 tokens long .* context is 16/);
    assert.throws(() => prepareGraphStep(config, { inputIds: [[1, 2], [3]] }), /sequence 1 has 1 tokens but sequence 0 has 2/);
    const past = Array.from({ length: 4 }, () => [1, 2, 3, 8]);
    assert.throws(
      () => prepareGraphStep(config, { inputIds: [[1]], pastTokenMask: [[1, 1, 1, 1]], pastShapes: past }),
      /the past key of layer 0 is \(1, 2, 3, 8\) but must be \(B=1, nkv=2, P=4, hs=8\)/,
    );
    assert.throws(() => prepareGraphStep(config, { inputIds: [[1]], pastTokenMask: [[1, 1, 1]], pastShapes: past.slice(0, 3) }), /holds 3 tensors but this model needs 4/);
    assert.throws(() => prepareGraphStep(config, { inputIds: [[1]], pastTokenMask: [[1, 1, 1]] }), /without the past keys and values/);
    assert.throws(
      () => prepareGraphStep(config, { inputIds: [new Array(3).fill(1)], pastTokenMask: [new Array(14).fill(1)], pastShapes: Array.from({ length: 4 }, () => [1, 2, 14, 8]) }),
      /17 tokens long \(14 cached \+ 3 new\)/,
    );
  });
});
