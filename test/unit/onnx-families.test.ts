/**
 * The ONNX decoder graph of every family against Hugging Face transformers (eager attention), on the
 * fixtures of scripts/fixtures/make_family_fixtures.py: Llama with biases and llama3 / linear RoPE,
 * Mistral's sliding window, Qwen2 (biases, a sliding window on one layer; also saved in shards),
 * Qwen3 (q_norm / k_norm), GPT-2 (learned positions, LayerNorm, GELU), and bf16 / f16 copies.
 *
 * On onnxruntime-web (wasm, in Node): prefill logits, every attention map and every present key and
 * value; two cached decoding steps; a left-padded batch (real query rows: transformers gives pad
 * rows a uniform distribution, the graph zeros); masked cells exactly 0. On onnxruntime-node (CPU):
 * the same graph, prefill and batch. And the fused Attention-23 graph against the primitive one.
 *
 * Both decoders run every check on wasm: `OnnxDecoder` (one graph holding every weight) and
 * `LayeredDecoder` (one layer graph fed each layer's weights in turn, or one graph per layer holding
 * its weights, then the output head).
 */

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as ortNode from "onnxruntime-node";
import { Tensor } from "../../src/attention/tensor";
import * as ortWeb from "onnxruntime-web";
import { parseModelConfig } from "../../src/model/config";
import { buildDecoderGraph, encodeDecoderGraph, GraphNames } from "../../src/model/onnx/decoder-graph";
import { GraphBuilder } from "../../src/model/onnx/graph-builder";
import { buildActivation } from "../../src/model/onnx/graph-mlp";
import { DataType, encodeModel } from "../../src/model/onnx/onnx-proto";
import { prepareGraphStep, type GraphStep } from "../../src/model/onnx/graph-inputs";
import { randomDecoderWeights } from "../../src/model/weights";
import { LayeredDecoder, type LayeredDecoderCall } from "../../src/runtime/layered-decoder";
import { CachedDecoding } from "./helpers/cached-decoding";
import type { RuntimeSettings } from "../../src/runtime/model-runtime";
import { OnnxDecoder, type OnnxDecoderStep } from "../../src/runtime/onnx-decoder";
import { isMasked, loadFamilyFixture, maxDifferenceOnRows, type FamilyFixture } from "./helpers/family-fixtures";
import { FIXTURES, tensorFromJson, type TensorJson } from "./helpers/fixtures";

const TOLERANCE = 1e-4;
const wasm = { choice: "wasm" as const };

const FIXTURE_NAMES = [
  "llama-bias-llama3rope",
  "llama-bias-llama3rope-bf16",
  "llama-linear-rope",
  "mistral-sliding",
  "mistral-sliding-bf16",
  "qwen2",
  "qwen2-sharded",
  "qwen3",
  "qwen3-bf16",
  "qwen3-f16",
  "gpt2",
  "gpt2-bf16",
];

type Runtime = "wasm" | "node" | "fused" | "layered";

/** What the parity tests need of a decoder: a stateless one with the test's own cache (cachedOver). */
interface ParityDecoder {
  forward(inputIds: readonly (readonly number[])[], call?: LayeredDecoderCall): Promise<OnnxDecoderStep>;
  reset(): void;
  dispose(): Promise<void>;
  readonly backend: string;
  readonly length: number;
}
type CreateDecoder = (
  config: FamilyFixture["config"],
  weights: FamilyFixture["weights"],
  settings: RuntimeSettings,
  options?: { attention?: "primitive" | "fused" },
) => Promise<ParityDecoder>;

const DECODERS: { kind: string; runtime: Runtime; create: CreateDecoder }[] = [
  // The single graph's cache is kept in the runtime between steps (RuntimeKeyValues); the layered ones' as library Tensors, or in the runtime with the weights held.
  { kind: "single graph", runtime: "wasm", create: async (config, weights, settings, options) => cachedOver(await OnnxDecoder.create(config, weights, settings, options), { inRuntime: true }) },
  { kind: "layer by layer", runtime: "layered", create: async (config, weights, settings, options) => cachedOver(await LayeredDecoder.create(config, weights, settings, options)) },
  {
    kind: "layer by layer, a graph per layer holding its weights",
    runtime: "layered",
    create: async (config, weights, settings, options) => cachedOver(await LayeredDecoder.create(config, weights, settings, { ...options, weights: "initializers" }), { inRuntime: true }),
  },
];

/** A stateless decoder with the test's own cache (test/unit/helpers/cached-decoding.ts), as a ParityDecoder. */
function cachedOver(decoder: LayeredDecoder | OnnxDecoder, options: { inRuntime?: boolean } = {}): ParityDecoder {
  const cached = new CachedDecoding(decoder, options);
  return {
    forward: (inputIds, call) => cached.step(inputIds, call),
    reset: () => cached.reset(),
    dispose: () => {
      cached.reset();
      return decoder.dispose();
    },
    get backend() {
      return decoder.backend;
    },
    get length() {
      return cached.length;
    },
  };
}
/** The worst difference seen per fixture and runtime, printed at the end for the record. */
const worstDifference = new Map<string, Record<Runtime, number>>();

/** Asserts a difference is within TOLERANCE and remembers it for the summary. */
function check(fixture: string, runtime: Runtime, difference: number, label: string): void {
  const row = worstDifference.get(fixture) ?? { wasm: 0, node: 0, fused: 0, layered: 0 };
  row[runtime] = Math.max(row[runtime], difference);
  worstDifference.set(fixture, row);
  assert.ok(difference <= TOLERANCE, `${fixture} on ${runtime}, ${label}: max |difference| ${difference} > ${TOLERANCE}`);
}

const rowAxis = { logits: 1, attention: 2 } as const;

/**
 * Every cell of attention (B, nh, T, S) that the mask hides must be exactly 0, and a query row that
 * is a pad (it sees only pads) all 0. Query row t is slot S - T + t.
 */
function assertMaskedCellsAreZero(attention: Tensor, window: number | null, keyMask: readonly (readonly number[])[], label: string): void {
  const [batchSize, heads, newLength, totalLength] = attention.shape;
  const pastLength = totalLength - newLength;
  for (let batch = 0; batch < batchSize; batch++) {
    for (let head = 0; head < heads; head++) {
      for (let row = 0; row < newLength; row++) {
        const query = pastLength + row;
        const queryIsPad = keyMask[batch][query] === 0;
        for (let key = 0; key < totalLength; key++) {
          if (!queryIsPad && !isMasked(query, key, window, keyMask[batch][key] === 1)) continue;
          const value = attention.data[((batch * heads + head) * newLength + row) * totalLength + key];
          assert.equal(value, 0, `${label}: batch ${batch}, head ${head}, query slot ${query}, key slot ${key} is ${value}, expected exactly 0`);
        }
      }
    }
  }
}

/** Runs one step of the graph on onnxruntime-node (CPU) and returns every output as a Tensor. */
async function runOnNode(session: ortNode.InferenceSession, fixture: FamilyFixture, step: GraphStep): Promise<Record<string, Tensor>> {
  const prepared = prepareGraphStep(fixture.config, step);
  const feeds: Record<string, ortNode.Tensor> = {};
  for (const [name, feed] of Object.entries(prepared.feeds)) feeds[name] = new ortNode.Tensor(feed.type, feed.data, feed.dims);
  const results = await session.run(feeds);
  const outputs: Record<string, Tensor> = {};
  for (const [name, tensor] of Object.entries(results)) outputs[name] = new Tensor(new Float32Array(tensor.data as Float32Array), tensor.dims);
  return outputs;
}

for (const name of FIXTURE_NAMES) for (const { kind, runtime: wasmRuntime, create } of DECODERS) {
  describe(`ONNX decoder (${kind}) equals transformers: ${name}`, function () {
    this.timeout(120000);
    const fixture = loadFamilyFixture(name);
    const { config, expected } = fixture;
    const windows = config.slidingWindows;
    let decoder: ParityDecoder;

    before(async () => {
      assert.deepEqual(windows, expected.layerWindows, "the config's sliding windows are transformers' layer windows");
      assert.equal(expected.maskedCellsAreZero, true, "transformers' masked cells are 0 too");
      decoder = await create(config, fixture.weights, wasm);
      assert.equal(decoder.backend, "wasm");
    });
    after(async () => decoder?.dispose());
    beforeEach(() => decoder.reset());

    it("prefill on wasm: logits, every attention map and every present key/value; masked cells exactly 0", async () => {
      const prefill = expected.prefill;
      const actual = await decoder.forward(prefill.inputIds, { fetchPresent: true });
      check(name, wasmRuntime, maxDifferenceOnRows(actual.logits, tensorFromJson(prefill.logits), rowAxis.logits), "prefill logits");
      assert.equal(actual.attentions.length, config.numHiddenLayers);
      actual.attentions.forEach((attention, layer) => {
        check(name, wasmRuntime, maxDifferenceOnRows(attention, tensorFromJson(prefill.attentions[layer]), rowAxis.attention), `prefill attention ${layer}`);
        assertMaskedCellsAreZero(attention, windows[layer], actual.keyMask, `prefill attention ${layer}`);
      });
      actual.presentKeyValues.forEach(({ key, value }, layer) => {
        check(name, wasmRuntime, maxDifferenceOnRows(key, tensorFromJson(prefill.presentKeys[layer]), 2), `present key ${layer}`);
        check(name, wasmRuntime, maxDifferenceOnRows(value, tensorFromJson(prefill.presentValues[layer]), 2), `present value ${layer}`);
      });
    });

    it("two cached decoding steps on wasm: logits and attention rows over every slot so far", async () => {
      await decoder.forward(expected.prefill.inputIds);
      for (const [index, step] of expected.decode.entries()) {
        const actual = await decoder.forward(step.inputIds);
        check(name, wasmRuntime, maxDifferenceOnRows(actual.logits, tensorFromJson(step.logits), rowAxis.logits), `decode ${index} logits`);
        actual.attentions.forEach((attention, layer) => {
          check(name, wasmRuntime, maxDifferenceOnRows(attention, tensorFromJson(step.attentions[layer]), rowAxis.attention), `decode ${index} attention ${layer}`);
          assertMaskedCellsAreZero(attention, windows[layer], actual.keyMask, `decode ${index} attention ${layer}`);
        });
      }
      assert.equal(decoder.length, expected.prefill.inputIds[0].length + expected.decode.length);
    });

    it("a left-padded batch on wasm: positions, and logits and attention of the real rows; pad rows see nothing", async () => {
      const batch = expected.batch;
      const actual = await decoder.forward(batch.inputIds, { attentionMask: batch.attentionMask });
      assert.deepEqual(actual.positions, batch.positionIds);
      const isReal = (row: number, slot: number) => batch.attentionMask[row][slot] === 1;
      check(name, wasmRuntime, maxDifferenceOnRows(actual.logits, tensorFromJson(batch.logits), rowAxis.logits, isReal), "batch logits");
      assert.ok(!actual.logits.data.some(Number.isNaN), "no NaN, not even in pad rows");
      actual.attentions.forEach((attention, layer) => {
        check(name, wasmRuntime, maxDifferenceOnRows(attention, tensorFromJson(batch.attentions[layer]), rowAxis.attention, isReal), `batch attention ${layer}`);
        assertMaskedCellsAreZero(attention, windows[layer], actual.keyMask, `batch attention ${layer}`);
      });
    });

    if (kind === "single graph") it("onnxruntime-node (CPU) runs the same graph: prefill (logits, maps, presents) and the padded batch", async () => {
      const session = await ortNode.InferenceSession.create(encodeDecoderGraph(config, fixture.weights), { intraOpNumThreads: 1, interOpNumThreads: 1 });
      try {
        const prefill = expected.prefill;
        const outputs = await runOnNode(session, fixture, { inputIds: prefill.inputIds });
        const compare = (output: string, json: TensorJson, axis: number, label: string, keepRow?: (batch: number, row: number) => boolean) =>
          check(name, "node", maxDifferenceOnRows(outputs[output], tensorFromJson(json), axis, keepRow), label);
        compare(GraphNames.logits, prefill.logits, rowAxis.logits, "prefill logits");
        for (let layer = 0; layer < config.numHiddenLayers; layer++) {
          compare(GraphNames.attentions(layer), prefill.attentions[layer], rowAxis.attention, `prefill attention ${layer}`);
          compare(GraphNames.presentKey(layer), prefill.presentKeys[layer], 2, `present key ${layer}`);
          compare(GraphNames.presentValue(layer), prefill.presentValues[layer], 2, `present value ${layer}`);
        }

        const batch = expected.batch;
        const batchOutputs = await runOnNode(session, fixture, { inputIds: batch.inputIds, attentionMask: batch.attentionMask });
        const isReal = (row: number, slot: number) => batch.attentionMask[row][slot] === 1;
        check(name, "node", maxDifferenceOnRows(batchOutputs[GraphNames.logits], tensorFromJson(batch.logits), rowAxis.logits, isReal), "batch logits");
        for (let layer = 0; layer < config.numHiddenLayers; layer++) {
          const attention = batchOutputs[GraphNames.attentions(layer)];
          check(name, "node", maxDifferenceOnRows(attention, tensorFromJson(batch.attentions[layer]), rowAxis.attention, isReal), `batch attention ${layer}`);
          assertMaskedCellsAreZero(attention, windows[layer], batch.attentionMask, `node batch attention ${layer}`);
        }
      } finally {
        await session.release();
      }
    });

    it("the fused Attention-23 graph gives the primitive graph's logits and presents: prefill, decoding, padded batch", async () => {
      const fused = await create(config, fixture.weights, wasm, { attention: "fused" });
      try {
        const compare = (actual: OnnxDecoderStep, reference: OnnxDecoderStep, label: string, keepRow?: (batch: number, row: number) => boolean) => {
          check(name, "fused", maxDifferenceOnRows(actual.logits, reference.logits, rowAxis.logits, keepRow), `${label} logits`);
          actual.presentKeyValues.forEach(({ key, value }, layer) => {
            check(name, "fused", maxDifferenceOnRows(key, reference.presentKeyValues[layer].key, 2), `${label} present key ${layer}`);
            check(name, "fused", maxDifferenceOnRows(value, reference.presentKeyValues[layer].value, 2), `${label} present value ${layer}`);
          });
        };
        const prefill = await fused.forward(expected.prefill.inputIds, { fetchPresent: true });
        assert.equal(prefill.attentions.length, 0, "the fused graph has no attention maps");
        compare(prefill, await decoder.forward(expected.prefill.inputIds, { fetchPresent: true }), "prefill");
        for (const [index, step] of expected.decode.entries()) {
          compare(await fused.forward(step.inputIds, { fetchPresent: true }), await decoder.forward(step.inputIds, { fetchPresent: true }), `decode ${index}`);
        }
        // Against transformers too, so the fused graph is not only as right as the primitive one.
        check(name, "fused", maxDifferenceOnRows(prefill.logits, tensorFromJson(expected.prefill.logits), rowAxis.logits), "prefill logits vs transformers");

        const batch = expected.batch;
        fused.reset();
        decoder.reset();
        const fusedBatch = await fused.forward(batch.inputIds, { attentionMask: batch.attentionMask });
        const primitiveBatch = await decoder.forward(batch.inputIds, { attentionMask: batch.attentionMask });
        assert.ok(!fusedBatch.logits.data.some(Number.isNaN), "no NaN in the fused graph's logits, not even in pad rows");
        // Pad rows too: onnxruntime's Attention gives a row that sees nothing zeros, as the primitive graph does.
        compare(fusedBatch, primitiveBatch, "batch");
        // One step after the padded batch: the pad slots of the cache stay hidden.
        compare(await fused.forward([[5], [6]]), await decoder.forward([[5], [6]]), "batch decode");
      } finally {
        await fused.dispose();
      }
    });
  });
}

describe("ONNX decoder graph structure by family", () => {
  const opNames = (name: string, options: Parameters<typeof buildDecoderGraph>[2] = {}) => {
    const fixture = loadFamilyFixture(name);
    return buildDecoderGraph(fixture.config, fixture.weights, options).graph.nodes;
  };

  it("builds each distinct sliding-window mask once: Qwen2 a full and a 4-slot mask, Mistral only the 4-slot one", () => {
    const masks = (name: string) => opNames(name).filter((node) => node.name.endsWith("/additive")).map((node) => node.name);
    assert.deepEqual(masks("qwen2"), ["mask/additive", "mask/window_4/additive"]);
    assert.deepEqual(masks("mistral-sliding"), ["mask/window_4/additive"]);
    assert.deepEqual(masks("llama-bias-llama3rope"), ["mask/additive"]);
    const fused = opNames("qwen2", { attention: "fused" });
    const attentionMasks = fused.filter((node) => node.opType === "Attention").map((node) => node.inputs[3]);
    assert.deepEqual(attentionMasks, ["mask/additive:0", "mask/window_4/additive:0"], "layer 0 full, layer 1 sliding, in the fused graph too");
  });

  it("GPT-2: learned positions and LayerNorm, no RoPE; Qwen3: q_norm and k_norm before RoPE", () => {
    const gpt2 = opNames("gpt2");
    assert.ok(gpt2.some((node) => node.name === "model.embed_positions"), "position embeddings gathered");
    assert.equal(gpt2.filter((node) => node.opType === "LayerNormalization").length, 2 * 2 + 1, "two per layer and the final one");
    assert.ok(!gpt2.some((node) => node.name.startsWith("rope/") || node.name.endsWith("/rotary")), "no RoPE");
    assert.ok(gpt2.some((node) => node.opType === "Tanh"), "gelu_new uses tanh");
    const qwen3 = opNames("qwen3").map((node) => node.name);
    for (const head of ["q", "k"]) {
      const norm = qwen3.indexOf(`model.layers.0.self_attn.${head}_norm/gain`);
      const rotary = qwen3.indexOf(`model.layers.0.self_attn/${head === "q" ? "query" : "key"}/rotary`);
      assert.ok(norm >= 0 && rotary > norm, `${head}_norm comes before RoPE`);
    }
  });

  it("refuses weights of another config with a message that says what to do", () => {
    const fixture = loadFamilyFixture("qwen2");
    const config = parseModelConfig({
      ...JSON.parse(readFileSync(join(FIXTURES, "families", "qwen2", "config.json"), "utf8")),
      num_hidden_layers: 3,
      layer_types: undefined,
    });
    assert.throws(() => buildDecoderGraph(config, fixture.weights), /the weights have 2 layers but the config has 3; load the weights with the config\.json they belong to/);
    const gpt2 = loadFamilyFixture("gpt2");
    const { positionEmbeddings: _dropped, ...withoutPositions } = gpt2.weights;
    assert.throws(() => buildDecoderGraph(gpt2.config, withoutPositions), /no position embeddings/);
  });
});

describe("MLP activations of the graph on onnxruntime-node and onnxruntime-web", () => {
  const inputs = [-4, -2.5, -1, -0.3, 0, 0.2, 0.7, 1.5, 3, 6];
  // Exact GELU, 0.5 x (1 + erf(x / sqrt 2)), from Python's math.erf (JavaScript has no erf).
  const exactGelu = [
    -0.00012668496733247991, -0.015524163314440398, -0.15865525393145707, -0.1146265733433142, 0, 0.11585194188782061, 0.5306254434438489,
    1.399789198096713, 2.99595030590511, 5.999999994080474,
  ];
  const expected = {
    silu: inputs.map((x) => x / (1 + Math.exp(-x))),
    "gelu-tanh": inputs.map((x) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)))),
    gelu: exactGelu,
  } as const;

  for (const activation of ["silu", "gelu-tanh", "gelu"] as const) {
    it(`${activation} matches its formula to 1e-6`, async () => {
      const graph = new GraphBuilder();
      buildActivation(graph, "x", activation, "act");
      const last = graph.nodes[graph.nodes.length - 1];
      const bytes = encodeModel({
        irVersion: 10,
        opsetImports: [{ domain: "", version: 21 }],
        producerName: "attention-lens-test",
        producerVersion: "1",
        graph: {
          name: activation,
          nodes: graph.nodes,
          initializers: graph.initializers,
          inputs: [{ name: "x", elementType: DataType.FLOAT, shape: [inputs.length] }],
          outputs: [{ name: last.outputs[0], elementType: DataType.FLOAT, shape: [inputs.length] }],
        },
      });
      for (const ort of [ortNode, ortWeb] as const) {
        const session = await (ort as typeof ortNode).InferenceSession.create(bytes);
        const result = await session.run({ x: new ort.Tensor("float32", Float32Array.from(inputs), [inputs.length]) as ortNode.Tensor });
        await session.release();
        const values = result[last.outputs[0]].data as Float32Array;
        values.forEach((value, index) => assert.ok(Math.abs(value - expected[activation][index]) <= 1e-6, `${activation}(${inputs[index]}) = ${value}, expected ${expected[activation][index]}`));
      }
    });
  }

  it("a GPT-2 config with exact GELU builds a graph with Erf that runs", async () => {
    const config = parseModelConfig({ model_type: "gpt2", n_embd: 16, n_head: 2, n_layer: 1, n_positions: 16, vocab_size: 20, activation_function: "gelu" });
    const decoder = await OnnxDecoder.create(config, randomDecoderWeights(config, 3, 0.2), wasm);
    try {
      const step = await decoder.compute([[1, 2, 3]]);
      assert.deepEqual(step.logits.shape, [1, 3, 20]);
      assert.ok(!step.logits.data.some(Number.isNaN));
    } finally {
      await decoder.dispose();
    }
    const ops = buildDecoderGraph(config, randomDecoderWeights(config, 3)).graph.nodes.map((node) => node.opType);
    assert.ok(ops.includes("Erf") && !ops.includes("Tanh"));
  });
});

after(() => {
  const lines = [...worstDifference].map(
    ([fixture, row]) =>
      `  ${fixture.padEnd(28)} wasm ${row.wasm.toExponential(2)}  layer by layer ${row.layered.toExponential(2)}  node ${row.node.toExponential(2)}  fused (vs primitive, and prefill vs transformers) ${row.fused.toExponential(2)}`,
  );
  console.log(`\n  Worst |difference| per fixture (tolerance ${TOLERANCE}):\n${lines.join("\n")}`);
});
