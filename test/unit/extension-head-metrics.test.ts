/**
 * head-metrics.json: read and checked against the model's sizes (head-metrics-file.ts), carried by
 * the model catalog into the ModelDescriptor the webview gets; a missing or broken file leaves the
 * model usable and says why there are no metrics. And the catalog's tokenizer check: models
 * with identical tokenizer.json files may be compared on the same token ids, others not.
 */

import assert from "node:assert/strict";
import { cpSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { parseHeadMetrics, readHeadMetrics } from "../../src/checkpoint/head-metrics-file";
import { ModelCatalog, ModelCatalogError, scanModels, toModelDescriptor } from "../../src/extension/model-catalog";
import { parseModelConfig } from "../../src/model/config";
import { measureHeads } from "../../src/model/head-metrics";
import { DecoderModel } from "../../src/model/decoder-model";
import { readSafetensors } from "../../src/model/safetensors";
import { TextTokenizer } from "../../src/model/tokenizer";

const MODELS = join(__dirname, "..", "..", "media", "models");
const sizes = { numHiddenLayers: 3, numAttentionHeads: 8 };

describe("extension: head-metrics.json", function () {
  this.timeout(60_000);
  const temporaryFolders: string[] = [];
  const temporaryModels = (names: string[]) => {
    const folder = mkdtempSync(join(tmpdir(), "attention-lens-metrics-"));
    for (const name of names) cpSync(join(MODELS, name), join(folder, name), { recursive: true });
    temporaryFolders.push(folder);
    return folder;
  };
  after(() => {
    for (const folder of temporaryFolders) rmSync(folder, { recursive: true, force: true });
  });

  it("the bundled models carry their metrics into the descriptor the webview gets", async () => {
    const scan = await scanModels(MODELS);
    for (const model of scan.models) {
      assert.ok(model.headMetrics, `${model.id}: ${model.headMetricsProblem}`);
      assert.equal(model.headMetrics.length, model.config.numHiddenLayers);
      const descriptor = toModelDescriptor(model, (path) => `uri:${path}`);
      assert.deepEqual(descriptor.headMetrics, model.headMetrics);
      assert.equal(descriptor.headMetricsProblem, undefined);
    }
  });

  it("the file's numbers are what the extension's own code measures (TypeScript forward)", () => {
    const folder = join(MODELS, "attention-lens-mqa");
    const file = JSON.parse(readFileSync(join(folder, "head-metrics.json"), "utf8")) as { text: string; repeatLength: number; seed: number };
    const config = parseModelConfig(JSON.parse(readFileSync(join(folder, "config.json"), "utf8")));
    const model = DecoderModel.fromTensors(config, readSafetensors(readFileSync(join(folder, "model.safetensors"))).tensors);
    const tokenizer = TextTokenizer.fromJson(readFileSync(join(folder, "tokenizer.json"), "utf8"));
    const measured = measureHeads(model, { textIds: tokenizer.encode(file.text, { addBos: true }).ids, firstTokenId: tokenizer.bosTokenId!, repeatLength: file.repeatLength, seed: file.seed });
    const parsed = parseHeadMetrics(JSON.parse(readFileSync(join(folder, "head-metrics.json"), "utf8")), "mqa", config);
    parsed.forEach((layer, l) =>
      layer.forEach((head, h) => {
        for (const key of ["previousToken", "induction", "sinkMass", "entropy"] as const) {
          assert.ok(Math.abs(head[key] - measured[l][h][key]) < 1e-3, `layer ${l} head ${h} ${key}: ${head[key]} vs ${measured[l][h][key]}`);
        }
      }),
    );
  });

  it("says where a file is wrong: layers, heads, a missing or out-of-range number", () => {
    const head = { previousToken: 0.1, induction: 0.2, sinkMass: 0.3, entropy: 1 };
    const layers = (count: number, heads = 8) => Array.from({ length: count }, () => Array.from({ length: heads }, () => ({ ...head })));
    assert.equal(parseHeadMetrics({ layers: layers(3) }, "x.json", sizes).length, 3);
    assert.throws(() => parseHeadMetrics([], "x.json", sizes), /x\.json has no "layers" list/);
    assert.throws(() => parseHeadMetrics({ layers: layers(2) }, "x.json", sizes), /x\.json has metrics for 2 layers, but the model has 3/);
    assert.throws(() => parseHeadMetrics({ layers: layers(3, 4) }, "x.json", sizes), /layer 0 has 4 heads, but the model has 8 query heads per layer/);
    const missing = layers(3);
    delete (missing[1][2] as Partial<typeof head>).induction;
    assert.throws(() => parseHeadMetrics({ layers: missing }, "x.json", sizes), /x\.json: layer 1, head 2: "induction" is missing, not a number/);
    const outside = layers(3);
    outside[2][7].sinkMass = 1.5;
    assert.throws(() => parseHeadMetrics({ layers: outside }, "x.json", sizes), /layer 2, head 7: "sinkMass" is 1\.5, outside 0\.\.1/);
  });

  it("a model without the file, or with a broken one, is still usable and says why there are no metrics", async () => {
    const folder = temporaryModels(["attention-lens-gqa", "attention-lens-mha"]);
    unlinkSync(join(folder, "attention-lens-gqa", "head-metrics.json"));
    writeFileSync(join(folder, "attention-lens-mha", "head-metrics.json"), "{ not json");
    const scan = await scanModels(folder);
    assert.deepEqual(scan.problems, []);
    const gqa = scan.models.find((model) => model.id === "attention-lens-gqa");
    const mha = scan.models.find((model) => model.id === "attention-lens-mha");
    assert.equal(gqa?.headMetrics, undefined);
    assert.match(gqa?.headMetricsProblem ?? "", /attention-lens-gqa\/head-metrics\.json is missing, so the head metrics .* are not shown/);
    assert.match(mha?.headMetricsProblem ?? "", /attention-lens-mha\/head-metrics\.json is not valid JSON/);
    assert.match(toModelDescriptor(mha!, String).headMetricsProblem ?? "", /not valid JSON/);
    const reading = await readHeadMetrics(join(folder, "nowhere.json"), "m", sizes);
    assert.equal(reading.metrics, undefined);
  });

  it("models compare only when their tokenizer.json files are identical, else the message names both", async () => {
    const folder = temporaryModels(["attention-lens-gqa", "attention-lens-mha", "attention-lens-mqa"]);
    const path = join(folder, "attention-lens-mqa", "tokenizer.json");
    const json = JSON.parse(readFileSync(path, "utf8")) as { added_tokens: { content: string }[] };
    json.added_tokens[0].content = "<|start|>";
    writeFileSync(path, JSON.stringify(json));
    const catalog = new ModelCatalog({ bundledModelsFolder: folder });
    await catalog.refresh();
    const [mha, gqa, mqa] = ["attention-lens-mha", "attention-lens-gqa", "attention-lens-mqa"].map((id) => catalog.require(id));
    assert.deepEqual(catalog.modelsSharingTokenizer(gqa).map((model) => model.id), ["attention-lens-mha", "attention-lens-gqa"]);
    assert.doesNotThrow(() => catalog.requireSameTokenizer(mha, gqa));
    assert.throws(
      () => catalog.requireSameTokenizer(gqa, mqa),
      (error: unknown) => error instanceof ModelCatalogError && /"attention-lens-gqa" and "attention-lens-mqa" cannot be compared: their tokenizer\.json files differ/.test(error.message),
    );
  });
});
