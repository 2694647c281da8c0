/**
 * The converted models the panel offers and the host names (src/converted-model.ts): ids that read
 * back, descriptors that read the original's files, and the conversions offered for each model.
 */

import assert from "node:assert/strict";

import { baseModelDescriptor, convertedModelDescriptor, convertedModelId, modelConversions, parseConvertedModelId } from "../../src/converted-model";
import type { ModelDescriptor } from "../../src/protocol";

const MHA: ModelDescriptor = {
  id: "attention-lens-mha",
  label: "MHA (8 heads)",
  source: "bundled",
  configUri: "https://files/mha/config.json",
  weightsUri: "https://files/mha/model.safetensors",
  tokenizerUri: "https://files/mha/tokenizer.json",
  numLayers: 3,
  numHeads: 8,
  numKeyValueHeads: 8,
  maxTokens: 512,
  headMetrics: [[{ previousToken: 0.8, induction: 0.3, sinkMass: 0.1, entropy: 1 }]],
};

describe("converted models", () => {
  it("ids name the model, the groups and the method, and read back; other ids are not conversions", () => {
    assert.equal(convertedModelId("attention-lens-mha", { groups: 2, method: "mean" }), "attention-lens-mha::kv2-mean");
    assert.deepEqual(parseConvertedModelId("attention-lens-mha::kv2-mean"), { baseId: "attention-lens-mha", conversion: { groups: 2, method: "mean" } });
    // A folder path with colons in it (Windows) keeps them in the base id.
    assert.deepEqual(parseConvertedModelId("C:\\models\\gpt2::kv1-first"), { baseId: "C:\\models\\gpt2", conversion: { groups: 1, method: "first" } });
    for (const id of ["attention-lens-mha", "HuggingFaceTB/SmolLM2-135M", "x::kv2-median", "::kv2-mean", "x::kv-mean", "x::kv2"]) assert.equal(parseConvertedModelId(id), null, id);
  });

  it("a converted descriptor reads the original's files, with fewer key/value heads and none of its head metrics", () => {
    const converted = convertedModelDescriptor(MHA, { groups: 2, method: "first" });
    assert.equal(converted.id, "attention-lens-mha::kv2-first");
    assert.equal(converted.label, "MHA (8 heads) → GQA (2 key/value groups), first head of each group");
    assert.equal(converted.numKeyValueHeads, 2);
    assert.equal(converted.numHeads, 8);
    assert.equal(converted.weightsUri, MHA.weightsUri);
    assert.equal(converted.tokenizerUri, MHA.tokenizerUri);
    assert.deepEqual(converted.conversion, { baseId: "attention-lens-mha", baseKeyValueHeads: 8, groups: 2, method: "first" });
    assert.equal(converted.headMetrics, undefined);
    assert.match(converted.headMetricsProblem!, /converted model has no measured head metrics/);
    const base = baseModelDescriptor(converted);
    assert.deepEqual([base.id, base.numKeyValueHeads, base.conversion], ["attention-lens-mha", 8, undefined]);
    assert.throws(() => convertedModelDescriptor(converted, { groups: 1, method: "mean" }), /already a converted model/);
    assert.throws(() => convertedModelDescriptor(MHA, { groups: 3, method: "mean" }), /attention-lens-mha: 8 key\/value heads cannot be split into 3/);
  });

  it("offers every smaller divisor with both methods, and nothing for a single key/value head", () => {
    assert.deepEqual(modelConversions(MHA).map((model) => model.id), [
      "attention-lens-mha::kv4-mean",
      "attention-lens-mha::kv4-first",
      "attention-lens-mha::kv2-mean",
      "attention-lens-mha::kv2-first",
      "attention-lens-mha::kv1-mean",
      "attention-lens-mha::kv1-first",
    ]);
    assert.deepEqual(modelConversions({ ...MHA, numKeyValueHeads: 3, numHeads: 9 }).map((model) => model.id), ["attention-lens-mha::kv1-mean", "attention-lens-mha::kv1-first"]);
    assert.deepEqual(modelConversions({ ...MHA, numKeyValueHeads: 1 }), []);
  });
});
