/**
 * The bundled models (media/models/*): each loads, its tokenizer reproduces the token ids
 * transformers was given, and its logits from PyTorch (the training framework), the TypeScript
 * reference forward and the ONNX graph on onnxruntime-web agree within 1e-3 relative. The committed
 * head metrics are what the TypeScript code computes today.
 */

import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Tensor } from "../../src/attention/tensor";
import { parseModelConfig } from "../../src/model/config";
import { measureHeads, type ModelHeadMetrics } from "../../src/model/head-metrics";
import { DecoderModel } from "../../src/model/decoder-model";
import { readSafetensors } from "../../src/model/safetensors";
import { TextTokenizer } from "../../src/model/tokenizer";
import { OnnxDecoder } from "../../src/runtime/onnx-decoder";
import { FIXTURES } from "./helpers/fixtures";

const MODELS = join(__dirname, "..", "..", "media", "models");
const ids = readdirSync(MODELS).filter((name) => existsSync(join(MODELS, name, "config.json"))).sort();

/** max |actual - expected| <= tolerance x max |expected| */
function assertRelativelyClose(actual: Tensor, expected: Tensor, tolerance: number, label: string): void {
  assert.deepEqual(actual.shape, expected.shape, `${label}: shape`);
  let scale = 0;
  let worst = 0;
  for (let i = 0; i < expected.size; i++) {
    scale = Math.max(scale, Math.abs(expected.data[i]));
    worst = Math.max(worst, Math.abs(actual.data[i] - expected.data[i]));
  }
  assert.ok(worst <= tolerance * scale, `${label}: max difference ${worst} > ${tolerance} x ${scale}`);
}

describe("bundled models", function () {
  this.timeout(120_000);

  it("there are the three variants trained from scratch (MHA, GQA, MQA) and the GQA and MQA uptrained from MHA", () => {
    assert.deepEqual(ids, ["attention-lens-gqa", "attention-lens-gqa-uptrained", "attention-lens-mha", "attention-lens-mqa", "attention-lens-mqa-uptrained"]);
  });

  for (const id of ids) {
    describe(id, () => {
      const folder = join(MODELS, id);
      const config = parseModelConfig(JSON.parse(readFileSync(join(folder, "config.json"), "utf8")), `${id}/config.json`);
      const model = DecoderModel.fromTensors(config, readSafetensors(readFileSync(join(folder, "model.safetensors"))).tensors);
      const tokenizer = TextTokenizer.fromJson(readFileSync(join(folder, "tokenizer.json"), "utf8"));
      const fixture = readSafetensors(readFileSync(join(FIXTURES, "models", `${id}.safetensors`)));
      const expectedLogits = fixture.tensors.get("logits")!;
      const inputIds = JSON.parse(fixture.metadata.input_ids) as number[];

      it("the tokenizer gives the ids transformers was given", () => {
        assert.deepEqual(tokenizer.encode(fixture.metadata.text, { addBos: true }).ids, inputIds);
      });

      it("logits: PyTorch = TypeScript forward (1e-3 relative, float16 weights)", () => {
        assertRelativelyClose(model.forward([inputIds]).logits, expectedLogits, 1e-3, "TypeScript");
      });

      it("logits: PyTorch = ONNX graph on onnxruntime-web wasm (1e-3 relative)", async () => {
        const decoder = await OnnxDecoder.create(config, model.weights, { choice: "wasm" });
        try {
          assertRelativelyClose((await decoder.compute([inputIds])).logits, expectedLogits, 1e-3, "ONNX");
        } finally {
          await decoder.dispose();
        }
      });

      it("head-metrics.json is what src/model/head-metrics.ts computes", () => {
        const saved = JSON.parse(readFileSync(join(folder, "head-metrics.json"), "utf8")) as { text: string; repeatLength: number; seed: number; layers: ModelHeadMetrics };
        const metrics = measureHeads(model, {
          textIds: tokenizer.encode(saved.text, { addBos: true }).ids,
          firstTokenId: tokenizer.bosTokenId!,
          repeatLength: saved.repeatLength,
          seed: saved.seed,
        });
        metrics.forEach((heads, layer) =>
          heads.forEach((head, index) => {
            const savedHead = saved.layers[layer][index];
            for (const key of ["previousToken", "induction", "sinkMass", "entropy"] as const) {
              assert.ok(Math.abs(head[key] - savedHead[key]) < 1e-6, `layer ${layer} head ${index} ${key}`);
            }
          }),
        );
      });

      it("is small enough to ship (float16 weights under 10 MB)", () => {
        const bytes = readFileSync(join(folder, "model.safetensors")).byteLength;
        assert.ok(bytes < 10 * 1048576, `${bytes} bytes`);
      });
    });
  }
});
