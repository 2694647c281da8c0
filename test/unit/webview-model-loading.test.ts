/**
 * Loading a model as the webview does (webview/runtime/model-loading.ts), in Node: fetching over
 * HTTP from a local server, the user-facing error for each broken file, and the decoder cache.
 */

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";

import type { ModelDescriptor, RunStage } from "../../src/protocol";
import { DecoderCache, fetchBytes, formatBytes, loadModelFiles, ModelFilesCache, ModelLoadError } from "../../webview/runtime/model-loading";
import { ReferenceModels } from "../../webview/reference-model/reference-model";
import { FIXTURES } from "./helpers/fixtures";
import { convertedModelDescriptor } from "../../src/converted-model";
import { DecoderModel } from "../../src/model/decoder-model";
import { convertKeyValueHeads } from "../../src/model/key-value-conversion";
import { float32Of } from "../../src/model/half-tensor";

const TINY = join(FIXTURES, "llama", "tiny-gqa");
const WASM_PATHS = join(__dirname, "..", "..", "node_modules", "onnxruntime-web", "dist") + "/";

describe("webview model loading", function () {
  this.timeout(60_000);
  let server: Server;
  let origin: string;
  const files = new Map<string, Uint8Array>();
  const requests: string[] = [];

  before(async () => {
    files.set("/tiny/config.json", new Uint8Array(readFileSync(join(TINY, "config.json"))));
    files.set("/tiny/model.safetensors", new Uint8Array(readFileSync(join(TINY, "model.safetensors"))));
    files.set("/broken-json/config.json", new TextEncoder().encode('{"hidden_size": 32,'));
    files.set("/no-heads/config.json", new TextEncoder().encode(JSON.stringify({ hidden_size: 32 })));
    files.set("/truncated/model.safetensors", files.get("/tiny/model.safetensors")!.slice(0, 2000));
    const otherConfig = JSON.parse(readFileSync(join(TINY, "config.json"), "utf8"));
    otherConfig.num_hidden_layers = 3;
    files.set("/three-layers/config.json", new TextEncoder().encode(JSON.stringify(otherConfig)));
    server = createServer((request, response) => {
      requests.push(request.url ?? "");
      const body = files.get(request.url ?? "");
      if (!body) {
        response.writeHead(404, "Not Found");
        response.end();
        return;
      }
      response.writeHead(200, { "Content-Length": body.byteLength });
      response.end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  function model(overrides: Partial<ModelDescriptor> = {}): ModelDescriptor {
    return {
      id: "tiny-gqa",
      label: "tiny GQA",
      configUri: `${origin}/tiny/config.json`,
      weightsUri: `${origin}/tiny/model.safetensors`,
      numLayers: 2,
      numHeads: 4,
      numKeyValueHeads: 2,
      maxTokens: 64,
      ...overrides,
    };
  }

  const quiet = () => {};

  it("formats sizes", () => {
    assert.equal(formatBytes(512), "512 B");
    assert.equal(formatBytes(2_500), "3 kB");
    assert.equal(formatBytes(2_183_952), "2.2 MB");
  });

  it("fetchBytes: the whole body, with progress against Content-Length", async () => {
    const seen: [number, number | undefined][] = [];
    const bytes = await fetchBytes(`${origin}/tiny/model.safetensors`, "tiny/model.safetensors", (loaded, total) => seen.push([loaded, total]));
    assert.deepEqual(bytes, files.get("/tiny/model.safetensors"));
    assert.ok(seen.length >= 1);
    assert.deepEqual(seen.at(-1), [bytes.byteLength, bytes.byteLength]);
  });

  it("fetchBytes: a missing file says which, that it was not found, and what to do", async () => {
    await assert.rejects(fetchBytes(`${origin}/nothing/model.safetensors`, "nothing/model.safetensors"), (error: Error) => {
      assert.ok(error instanceof ModelLoadError);
      assert.match(error.message, /^nothing\/model\.safetensors was not found \(HTTP 404 Not Found for http:\/\/127\.0\.0\.1:\d+\/nothing\/model\.safetensors\)/);
      assert.match(error.message, /reinstall Attention Lens/);
      return true;
    });
  });

  it("fetchBytes: a server that does not answer is a failed fetch", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    await assert.rejects(fetchBytes(`http://127.0.0.1:${port}/config.json`, "x/config.json"), /^ModelLoadError: Could not fetch x\/config\.json \(http:\/\/127\.0\.0\.1:\d+\/config\.json\): /);
  });

  it("loads config and weights, reports the stages, and warns where the host's numbers disagree", async () => {
    const stages: RunStage[] = [];
    const loaded = await loadModelFiles(model({ configUri: `${origin}/tiny/config.json`, numLayers: 5 }), (stage) => stages.push(stage));
    assert.equal(loaded.config.numHiddenLayers, 2);
    assert.equal(loaded.weights.layers.length, 2);
    assert.deepEqual([...new Set(stages)], ["loading-model", "building-graph"]);
    assert.deepEqual(loaded.warnings, ["tiny-gqa: the host says 5 layers, tiny-gqa/config.json says 2; using 2"]);
  });

  for (const [what, overrides, expected] of [
    ["config.json that is not JSON", { configUri: "/broken-json/config.json" }, /^tiny-gqa\/config\.json is not valid JSON \(.+\); the file is damaged\. The extension's bundled model files/],
    ["config.json without the sizes", { configUri: "/no-heads/config.json" }, /^tiny-gqa\/config\.json is missing "num_attention_heads", .*reinstall/],
    ["a truncated model.safetensors", { weightsUri: "/truncated/model.safetensors" }, /^tiny-gqa\/model\.safetensors: .*truncated.*reinstall/],
    ["weights of another config", { configUri: "/three-layers/config.json" }, /^tiny-gqa\/model\.safetensors lacks \d+ tensor\(s\) a llama model of this config\.json needs: model\.layers\.2\./],
  ] as const) {
    it(`${what}: a ModelLoadError naming the file`, async () => {
      const absolute = Object.fromEntries(Object.entries(overrides).map(([key, path]) => [key, `${origin}${path}`]));
      await assert.rejects(loadModelFiles(model(absolute), quiet), (error: Error) => {
        assert.ok(error instanceof ModelLoadError, `${error.name}: ${error.message}`);
        assert.match(error.message, expected);
        return true;
      });
    });
  }

  it("DecoderCache: one decoder per model and backend setting, loaded once, released on clear", async () => {
    const cache = new DecoderCache();
    const stages: RunStage[] = [];
    const settings = { backend: "wasm" as const, wasmPaths: WASM_PATHS, log: quiet };
    try {
      const first = await cache.get(model(), settings, (stage) => stages.push(stage));
      assert.equal(first.backend, "wasm");
      assert.deepEqual([...new Set(stages)], ["loading-model", "building-graph", "creating-session"]);
      assert.ok(cache.has(model(), "wasm"));
      assert.ok(!cache.has(model(), "auto"));
      const again = await cache.get(model(), settings, () => assert.fail("a cached model reports no loading"));
      assert.equal(again, first);

      const step = await first.compute([[1, 5, 9]]);
      assert.deepEqual(step.attentions[0].shape, [1, 4, 3, 3]);
    } finally {
      await cache.clear();
    }
    assert.ok(!cache.has(model(), "wasm"));
  });

  it("the decoder and the reference model share one read of the model's files: the weights are fetched once", async () => {
    const shared = new ModelFilesCache();
    const cache = new DecoderCache(undefined, shared);
    const references = new ReferenceModels(shared);
    requests.length = 0;
    try {
      const [decoder, reference] = await Promise.all([
        cache.get(model(), { backend: "wasm", wasmPaths: WASM_PATHS, log: quiet }, quiet),
        references.get(model(), quiet),
      ]);
      assert.deepEqual(requests.filter((path) => path.endsWith("model.safetensors")), ["/tiny/model.safetensors"], "one fetch of the weights");
      const [loaded, second] = await Promise.all([shared.get(model(), quiet), shared.get(model(), quiet)]);
      assert.equal(loaded, second);
      assert.equal(reference.weights, loaded.weights, "the reference model reads the same tensors");
      const step = await decoder.compute([[1, 5, 9]], { logits: "all" });
      const expected = reference.forward([[1, 5, 9]]);
      assert.ok(Math.max(...step.logits.data.map((value, index) => Math.abs(value - expected.logits.data[index]))) < 1e-4);
    } finally {
      await cache.clear();
    }
  });

  it("a converted model (Convert to GQA...) reads its original's files once and groups their key/value heads", async () => {
    const shared = new ModelFilesCache();
    const cache = new DecoderCache(undefined, shared);
    const converted = convertedModelDescriptor(model(), { groups: 1, method: "mean" });
    requests.length = 0;
    try {
      const [original, grouped] = await Promise.all([shared.get(model(), quiet), shared.get(converted, quiet)]);
      assert.deepEqual(requests.filter((path) => path.endsWith("model.safetensors")), ["/tiny/model.safetensors"], "one fetch of the weights for both");
      assert.equal(grouped.config.numKeyValueHeads, 1);
      assert.equal(original.config.numKeyValueHeads, 2, "the original keeps its heads");
      assert.equal(grouped.weights.layers[0].mlp, original.weights.layers[0].mlp, "everything but the key and value projections is shared");
      const expected = convertKeyValueHeads(original.config, original.weights, { groups: 1, method: "mean" });
      assert.deepEqual(Array.from(float32Of(grouped.weights.layers[1].attention.value).data), Array.from(float32Of(expected.weights.layers[1].attention.value).data));
      const decoder = await cache.get(converted, { backend: "wasm", wasmPaths: WASM_PATHS, log: quiet }, quiet);
      const step = await decoder.compute([[1, 5, 9]], { logits: "all" });
      const reference = new DecoderModel(expected.config, expected.weights).forward([[1, 5, 9]]);
      assert.ok(Math.max(...step.logits.data.map((value, index) => Math.abs(value - reference.logits.data[index]))) < 1e-4);
      // A conversion the model cannot take is a load error that says why.
      const impossible = { ...converted, id: "tiny-gqa::kv3-mean", conversion: { ...converted.conversion!, groups: 3 } };
      await assert.rejects(shared.get(impossible, quiet), /tiny-gqa cannot be converted: the model has 2 key\/value heads: grouping needs fewer than that, such as 1\./);
    } finally {
      await cache.clear();
    }
  });

  it("DecoderCache: a failed load is forgotten, so the next request tries again", async () => {
    const cache = new DecoderCache();
    const broken = model({ weightsUri: `${origin}/truncated/model.safetensors` });
    await assert.rejects(cache.get(broken, { backend: "wasm", wasmPaths: WASM_PATHS, log: quiet }, quiet), ModelLoadError);
    await new Promise((resolve) => setTimeout(resolve, 0));
    assert.ok(!cache.has(broken, "wasm"));
  });
});
