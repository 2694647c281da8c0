import assert from "node:assert/strict";
import { GroupedQueryAttention, repeatKeyValueHeads } from "../../src/attention/grouped-query-attention";
import { splitHeads } from "../../src/attention/heads";
import { LayerKeyValueCache } from "../../src/attention/kv-cache";
import { leftPad } from "../../src/attention/left-padding";
import { MultiHeadAttention } from "../../src/attention/multi-head-attention";
import { rmsNorm } from "../../src/attention/rms-norm";
import { RotaryEmbedding } from "../../src/attention/rotary-embedding";
import { scaledDotProductAttention } from "../../src/attention/scaled-dot-product-attention";
import { SelfAttention } from "../../src/attention/self-attention";
import { SlidingWindowAttention, slidingWindowMask } from "../../src/attention/sliding-window-attention";
import { concat, linear, matmul, scale, sliceAxis } from "../../src/attention/tensor-operations";
import { Tensor } from "../../src/attention/tensor";
import { assertClose, randomTensor, readFixture, tensorFromJson, type TensorJson } from "./helpers/fixtures";

/** Random weights for an attention layer: W_q (nh*hs, C), W_k/W_v (nkv*hs, C), W_o (C, nh*hs). */
function attentionWeights(modelDim: number, numHeads: number, numKeyValueHeads: number, headDim: number, seed: number) {
  return {
    query: randomTensor([numHeads * headDim, modelDim], seed, 0.3),
    key: randomTensor([numKeyValueHeads * headDim, modelDim], seed + 1, 0.3),
    value: randomTensor([numKeyValueHeads * headDim, modelDim], seed + 2, 0.3),
    output: randomTensor([modelDim, numHeads * headDim], seed + 3, 0.3),
  };
}

describe("scaled dot-product attention", () => {
  it("matches a case computed by hand: identity projections, two tokens, causal", () => {
    const identity = Tensor.fromNested([
      [1, 0],
      [0, 1],
    ]);
    const attention = new SelfAttention({ query: identity, key: identity, value: identity });
    const x = Tensor.fromNested([
      [
        [1, 0],
        [0, 1],
      ],
    ]); // (B=1, T=2, C=2)
    const { output, weights } = attention.forward(x);
    // Row 0 sees only itself. Row 1 scores: q1.k0 = 0, q1.k1 = 1, scaled by 1/sqrt(2).
    const a = 1 / (1 + Math.exp(1 / Math.SQRT2));
    const expectedWeights = Tensor.fromNested([[[[1, 0], [a, 1 - a]]]]);
    assertClose(weights, expectedWeights, 1e-7, "weights");
    assertClose(output, Tensor.fromNested([[[1, 0], [a, 1 - a]]]), 1e-7, "output");
  });

  interface SdpaFixture {
    numHeads: number;
    numKeyValueHeads: number;
    fullyMaskedRows: number[][][];
    query: TensorJson;
    key: TensorJson;
    value: TensorJson;
    mask: TensorJson;
    context: TensorJson;
    weights: TensorJson;
  }

  for (const name of ["gqa-causal-cache", "mqa-left-padded", "mha-bidirectional"]) {
    it(`equals torch scaled_dot_product_attention: ${name}`, () => {
      const fixture = readFixture<SdpaFixture>(`attention/sdpa-${name}.json`);
      const group = fixture.numHeads / fixture.numKeyValueHeads;
      const stages = scaledDotProductAttention(
        tensorFromJson(fixture.query),
        repeatKeyValueHeads(tensorFromJson(fixture.key), group),
        repeatKeyValueHeads(tensorFromJson(fixture.value), group),
        { mask: tensorFromJson(fixture.mask) },
      );
      assertClose(stages.context, tensorFromJson(fixture.context), 1e-5, "context");
      assertClose(stages.weights, tensorFromJson(fixture.weights), 1e-6, "weights");
      // Rows with no visible key are zeros (PyTorch would give NaN), and nowhere is NaN.
      assert.ok(!stages.context.data.some(Number.isNaN));
      const [batchSize, heads, length] = stages.weights.shape;
      for (let b = 0; b < batchSize; b++)
        for (let h = 0; h < heads; h++)
          for (let t = 0; t < length; t++) {
            const row = sliceAxis(sliceAxis(sliceAxis(stages.weights, 0, b, b + 1), 1, h, h + 1), 2, t, t + 1);
            const sum = row.data.reduce((total, value) => total + value, 0);
            assert.ok(Math.abs(sum - (fixture.fullyMaskedRows[b][h][t] ? 0 : 1)) < 1e-6, `row sum ${sum} at ${b},${h},${t}`);
          }
    });
  }

  it("records every stage: raw, scaled by 1/sqrt(hs), masked, softmax, dropout, context", () => {
    const query = randomTensor([1, 2, 3, 4], 1);
    const key = randomTensor([1, 2, 3, 4], 2);
    const value = randomTensor([1, 2, 3, 4], 3);
    const mask = Tensor.fromNested([
      [0, -Infinity, -Infinity],
      [0, 0, -Infinity],
      [0, 0, 0],
    ]);
    const stages = scaledDotProductAttention(query, key, value, { mask, dropout: { rate: 0.5, seed: 7 } });
    assertClose(stages.scaledScores, scale(stages.rawScores, 0.5), 1e-7, "scaled = raw / sqrt(4)");
    assert.equal(stages.maskedScores.at(0, 1, 0, 2), -Infinity);
    assert.equal(stages.maskedScores.at(0, 1, 2, 1), stages.scaledScores.at(0, 1, 2, 1));
    assert.equal(stages.weights.at(0, 0, 0, 0), 1);
    assertClose(stages.context, matmul(stages.weightsAfterDropout, value), 1e-6, "context = dropped weights x V");
    assert.notDeepEqual([...stages.weightsAfterDropout.data], [...stages.weights.data]);
  });
});

describe("the attention classes", () => {
  it("MultiHeadAttention equals torch.nn.MultiheadAttention (causal mask)", () => {
    const fixture = readFixture<Record<string, TensorJson> & { numHeads: number; causal: Record<string, TensorJson> }>(
      "attention/multihead-attention.json",
    );
    const attention = new MultiHeadAttention(
      {
        query: tensorFromJson(fixture.queryWeight),
        key: tensorFromJson(fixture.keyWeight),
        value: tensorFromJson(fixture.valueWeight),
        output: tensorFromJson(fixture.outputWeight),
      },
      { numHeads: fixture.numHeads },
    );
    const result = attention.forward(tensorFromJson(fixture.x));
    assertClose(result.output, tensorFromJson(fixture.causal.output), 1e-5, "output");
    assertClose(result.weights, tensorFromJson(fixture.causal.weights), 1e-6, "weights");
  });

  it("MultiHeadAttention equals torch.nn.MultiheadAttention (left padding, no causal mask)", () => {
    const fixture = readFixture<Record<string, TensorJson> & { numHeads: number; padded: { keyMask: number[][] } & Record<string, TensorJson> }>(
      "attention/multihead-attention.json",
    );
    const attention = new MultiHeadAttention(
      {
        query: tensorFromJson(fixture.queryWeight),
        key: tensorFromJson(fixture.keyWeight),
        value: tensorFromJson(fixture.valueWeight),
        output: tensorFromJson(fixture.outputWeight),
      },
      { numHeads: fixture.numHeads },
    );
    const result = attention.forward(tensorFromJson(fixture.x), { causal: false, keyMask: fixture.padded.keyMask });
    assertClose(result.output, tensorFromJson(fixture.padded.output), 1e-5, "output");
    assertClose(result.weights, tensorFromJson(fixture.padded.weights), 1e-6, "weights");
  });

  it("GroupedQueryAttention with numKeyValueHeads = numHeads equals MultiHeadAttention", () => {
    const weights = attentionWeights(16, 4, 4, 4, 10);
    const x = randomTensor([2, 6, 16], 11);
    const rotary = new RotaryEmbedding(4);
    const multiHead = new MultiHeadAttention(weights, { numHeads: 4, rotary }).forward(x);
    const grouped = new GroupedQueryAttention(weights, { numHeads: 4, numKeyValueHeads: 4, rotary }).forward(x);
    assert.deepEqual([...grouped.output.data], [...multiHead.output.data]);
    assert.deepEqual([...grouped.weights.data], [...multiHead.weights.data]);
  });

  it("MultiHeadAttention with one head (and W_o = I) equals SelfAttention", () => {
    const weights = attentionWeights(8, 1, 1, 8, 20);
    const identity = Tensor.fromFunction([8, 8], ([i, j]) => (i === j ? 1 : 0));
    const x = randomTensor([2, 5, 8], 21);
    const single = new SelfAttention(weights).forward(x);
    const multi = new MultiHeadAttention({ ...weights, output: identity }, { numHeads: 1 }).forward(x);
    assertClose(multi.output, single.output, 1e-6, "output");
    assertClose(multi.weights, single.weights, 0, "weights");
  });

  it("GroupedQueryAttention equals MultiHeadAttention whose K/V weights are repeated per group", () => {
    // nh = 4, nkv = 2: heads 0, 1 read K/V head 0; heads 2, 3 read K/V head 1.
    const weights = attentionWeights(16, 4, 2, 4, 30);
    const repeatRows = (w: Tensor) => concat([0, 0, 1, 1].map((kv) => sliceAxis(w, 0, kv * 4, kv * 4 + 4)), 0);
    const expanded = { ...weights, key: repeatRows(weights.key), value: repeatRows(weights.value) };
    const x = randomTensor([1, 7, 16], 31);
    const grouped = new GroupedQueryAttention(weights, { numHeads: 4, numKeyValueHeads: 2 });
    const multi = new MultiHeadAttention(expanded, { numHeads: 4 });
    const groupedResult = grouped.forward(x);
    assertClose(groupedResult.output, multi.forward(x).output, 1e-6, "output");
    assert.deepEqual(groupedResult.present.key.shape, [1, 2, 7, 4], "the cache keeps nkv = 2 heads");
    assert.deepEqual([0, 1, 2, 3].map((head) => grouped.keyValueHeadOf(head)), [0, 0, 1, 1]);
  });

  it("multi-query attention (nkv = 1) shares one K/V head among all query heads", () => {
    const attention = new GroupedQueryAttention(attentionWeights(16, 4, 1, 4, 40), { numHeads: 4, numKeyValueHeads: 1 });
    const result = attention.forward(randomTensor([1, 5, 16], 41), { trace: true });
    assert.deepEqual(result.present.key.shape, [1, 1, 5, 4]);
    const key = result.stages!.key; // (1, 4, 5, 4): the same head four times
    for (let head = 1; head < 4; head++) assertClose(sliceAxis(key, 1, head, head + 1), sliceAxis(key, 1, 0, 1), 0, `head ${head}`);
  });

  for (const [numKeyValueHeads, label] of [
    [4, "MHA"],
    [2, "GQA"],
    [1, "MQA"],
  ] as const) {
    it(`decoding token by token with the cache equals the full forward (${label}, RoPE)`, () => {
      const attention = new GroupedQueryAttention(attentionWeights(16, 4, numKeyValueHeads, 4, 50), {
        numHeads: 4,
        numKeyValueHeads,
        rotary: new RotaryEmbedding(4),
      });
      const x = randomTensor([2, 6, 16], 51);
      const full = attention.forward(x);
      const cache = new LayerKeyValueCache();
      attention.forward(sliceAxis(x, 1, 0, 3), { cache }); // prefill 3 tokens
      for (let token = 3; token < 6; token++) {
        const step = attention.forward(sliceAxis(x, 1, token, token + 1), { cache }); // (B, 1, C)
        assertClose(step.output, sliceAxis(full.output, 1, token, token + 1), 1e-5, `output at ${token}`);
        const fullRow = sliceAxis(sliceAxis(full.weights, 2, token, token + 1), 3, 0, token + 1);
        assertClose(step.weights, fullRow, 1e-5, `weights at ${token}`);
      }
      assert.equal(cache.length, 6);
      assert.equal(cache.bytesUsed(), 2 * 2 * numKeyValueHeads * 6 * 4 * 4);
    });
  }

  it("a left-padded batch gives, for the real tokens, what each sequence gives alone", () => {
    const attention = new GroupedQueryAttention(attentionWeights(16, 4, 2, 4, 60), {
      numHeads: 4,
      numKeyValueHeads: 2,
      rotary: new RotaryEmbedding(4),
    });
    const long = randomTensor([1, 6, 16], 61);
    const short = randomTensor([1, 4, 16], 62);
    const { attentionMask } = leftPad([[0, 0, 0, 0, 0, 0], [0, 0, 0, 0]], 0);
    const batch = concat([long, concat([Tensor.zeros([1, 2, 16]), short], 1)], 0); // (2, 6, 16), pads first
    const positions = [[0, 1, 2, 3, 4, 5], [0, 0, 0, 1, 2, 3]];
    const together = attention.forward(batch, { keyMask: attentionMask, positions });
    const alone = attention.forward(short);
    const realRows = sliceAxis(sliceAxis(together.output, 0, 1, 2), 1, 2, 6);
    assertClose(realRows, alone.output, 1e-6, "output of the short sequence");
    const realWeights = sliceAxis(sliceAxis(sliceAxis(together.weights, 0, 1, 2), 2, 2, 6), 3, 2, 6);
    assertClose(realWeights, alone.weights, 1e-6, "weights among real tokens");
    // Pad keys get no weight; pad queries see nothing and give zeros, never NaN.
    for (let query = 0; query < 6; query++) assert.equal(together.weights.at(1, 0, query, 0), 0);
    assert.ok(sliceAxis(sliceAxis(together.weights, 0, 1, 2), 2, 0, 2).data.every((w) => w === 0));
    assert.ok(!together.output.data.some(Number.isNaN));
  });

  it("can be extended by inheritance: SlidingWindowAttention overrides only the mask", () => {
    assert.deepEqual(slidingWindowMask(4, 4, 2).toNested(), [
      [0, -Infinity, -Infinity, -Infinity],
      [0, 0, -Infinity, -Infinity],
      [-Infinity, 0, 0, -Infinity],
      [-Infinity, -Infinity, 0, 0],
    ]);
    const weights = attentionWeights(16, 4, 2, 4, 70);
    const window = new SlidingWindowAttention(weights, { numHeads: 4, numKeyValueHeads: 2, window: 3 });
    const result = window.forward(randomTensor([1, 8, 16], 71));
    for (let query = 0; query < 8; query++)
      for (let key = 0; key < 8; key++) {
        const visible = key <= query && query - key < 3;
        assert.equal(result.weights.at(0, 2, query, key) > 0, visible, `query ${query}, key ${key}`);
      }
    // A window as wide as the sequence is plain causal grouped-query attention.
    const wide = new SlidingWindowAttention(weights, { numHeads: 4, numKeyValueHeads: 2, window: 8 });
    const plain = new GroupedQueryAttention(weights, { numHeads: 4, numKeyValueHeads: 2 });
    const x = randomTensor([1, 8, 16], 72);
    assertClose(wide.forward(x).output, plain.forward(x).output, 0, "wide window");
  });

  it("applies dropout only in training mode, reproducibly for a seed", () => {
    const weights = attentionWeights(16, 4, 2, 4, 80);
    const x = randomTensor([1, 6, 16], 81);
    const withDropout = new GroupedQueryAttention(weights, { numHeads: 4, numKeyValueHeads: 2, dropoutRate: 0.3 });
    const without = new GroupedQueryAttention(weights, { numHeads: 4, numKeyValueHeads: 2 });
    assertClose(withDropout.forward(x).output, without.forward(x).output, 0, "inference ignores dropout");
    const first = withDropout.forward(x, { training: true, dropoutSeed: 5, trace: true });
    const again = withDropout.forward(x, { training: true, dropoutSeed: 5 });
    const other = withDropout.forward(x, { training: true, dropoutSeed: 6 });
    assertClose(first.output, again.output, 0, "same seed");
    assert.notDeepEqual([...first.output.data], [...other.output.data]);
    assertClose(first.weights, without.forward(x).weights, 0, "the reported weights are before dropout");
    let dropped = 0;
    for (let i = 0; i < first.weights.size; i++) {
      const after = first.stages!.weightsAfterDropout.data[i];
      const before = first.weights.data[i];
      assert.ok(after === 0 || Math.abs(after - before / 0.7) < 1e-6, "kept weights are scaled by 1 / (1 - p)");
      if (after === 0 && before !== 0) dropped++;
    }
    assert.ok(dropped > 0, "some weights were dropped");
  });

  it("says what is wrong with bad shapes and head counts", () => {
    const weights = attentionWeights(16, 4, 2, 4, 90);
    assert.throws(
      () => new GroupedQueryAttention(attentionWeights(16, 4, 3, 4, 90), { numHeads: 4, numKeyValueHeads: 3 }),
      /numKeyValueHeads \(3\) must divide numHeads \(4\)/,
    );
    assert.throws(() => new MultiHeadAttention(weights, { numHeads: 3 }), /W_q has 16 rows, which do not split into 3 heads/);
    assert.throws(() => new MultiHeadAttention(weights, { numHeads: 4 }), /MultiHeadAttention weights.key: expected \(16, 16\) but got \(8, 16\)/);
    const attention = new GroupedQueryAttention(weights, { numHeads: 4, numKeyValueHeads: 2 });
    assert.throws(() => attention.forward(Tensor.zeros([1, 5, 8])), /GroupedQueryAttention.forward x: expected \(B, T, 16\) but got \(1, 5, 8\)/);
    assert.throws(() => attention.forward(Tensor.zeros([1, 3, 16]), { keyMask: [[1, 1]] }), /token mask must be \(1, 3\)/);
    assert.throws(() => new GroupedQueryAttention(weights, { numHeads: 4, numKeyValueHeads: 2, dropoutRate: 1 }), /dropout rate must be at least 0 and below 1, got 1/);
    assert.throws(
      () => new GroupedQueryAttention(weights, { numHeads: 4, numKeyValueHeads: 2, rotary: new RotaryEmbedding(8) }),
      /rotary embedding is for head size 8 but the heads have 4/,
    );
  });
});

describe("projection biases and the query/key norm", () => {
  /** (rows, C) -> (rows, C + 1) with `bias` as the new last column: x' W'^T = x W^T + b when x' ends in a 1. */
  function withBiasColumn(weight: Tensor, bias: Tensor): Tensor {
    const [rows, columns] = weight.shape;
    return Tensor.fromFunction([rows, columns + 1], ([row, column]) => (column < columns ? weight.at(row, column) : bias.data[row]));
  }

  it("q/k/v biases equal an extra input feature fixed at 1; the output bias is added to the output", () => {
    const weights = attentionWeights(16, 4, 2, 4, 100);
    const biases = { queryBias: randomTensor([16], 101), keyBias: randomTensor([8], 102), valueBias: randomTensor([8], 103), outputBias: randomTensor([16], 104) };
    const x = randomTensor([2, 5, 16], 105);
    const biased = new GroupedQueryAttention({ ...weights, ...biases }, { numHeads: 4, numKeyValueHeads: 2 }).forward(x);

    const xWithOne = Tensor.fromFunction([2, 5, 17], ([batch, token, feature]) => (feature < 16 ? x.at(batch, token, feature) : 1)); // (B, T, C + 1)
    const widened = {
      query: withBiasColumn(weights.query, biases.queryBias),
      key: withBiasColumn(weights.key, biases.keyBias),
      value: withBiasColumn(weights.value, biases.valueBias),
      output: Tensor.fromFunction([17, 16], ([row, column]) => (row < 16 ? weights.output.at(row, column) : 0)), // (C + 1, nh * hs)
    };
    const reference = new GroupedQueryAttention(widened, { numHeads: 4, numKeyValueHeads: 2 }).forward(xWithOne); // output (B, T, C + 1)
    assertClose(biased.weights, reference.weights, 1e-6, "weights");
    assertClose(biased.present.key, reference.present.key, 1e-6, "keys");
    const outputPlusBias = Tensor.fromFunction([2, 5, 16], ([batch, token, feature]) => reference.output.at(batch, token, feature) + biases.outputBias.data[feature]); // (B, T, C)
    assertClose(biased.output, outputPlusBias, 1e-6, "output");
  });

  it("normalizeQueryKey: with queryNorm/keyNorm every head is RMS-normalised over hs before RoPE", () => {
    const weights = attentionWeights(16, 4, 2, 4, 110);
    const queryNorm = Tensor.fromNested([1.2, 0.8, 1, 0.5]);
    const keyNorm = Tensor.fromNested([0.9, 1.1, 1.3, 0.7]);
    const x = randomTensor([1, 6, 16], 111);
    const rotary = new RotaryEmbedding(4);
    const normed = new GroupedQueryAttention({ ...weights, queryNorm, keyNorm }, { numHeads: 4, numKeyValueHeads: 2, rotary, queryKeyNormEpsilon: 1e-6 });
    const result = normed.forward(x, { trace: true });
    // By hand: project, split into heads, RMSNorm each head's hs features, then rotate.
    const positions = [[0, 1, 2, 3, 4, 5]];
    const byHand = (weight: Tensor, heads: number, gain: Tensor) => {
      const projected = splitHeads(linear(x, weight), heads); // (B, heads, T, hs)
      return rotary.apply(rmsNorm(projected, gain, 1e-6), positions); // (B, heads, T, hs)
    };
    assertClose(result.stages!.query, byHand(weights.query, 4, queryNorm), 1e-6, "normalised, rotated queries");
    assertClose(result.present.key, byHand(weights.key, 2, keyNorm), 1e-6, "normalised, rotated keys");
    // Without the norm weights the step is the identity.
    const plain = new GroupedQueryAttention(weights, { numHeads: 4, numKeyValueHeads: 2, rotary }).forward(x, { trace: true });
    assertClose(plain.stages!.query, rotary.apply(splitHeads(linear(x, weights.query), 4), positions), 1e-6, "identity without norms");
  });

  it("says which bias or norm weight is wrong", () => {
    const weights = attentionWeights(16, 4, 2, 4, 120);
    const settings = { numHeads: 4, numKeyValueHeads: 2 };
    assert.throws(() => new GroupedQueryAttention({ ...weights, keyBias: Tensor.zeros([16]) }, settings), /weights.keyBias: expected \(8\) but got \(16\)/);
    assert.throws(() => new GroupedQueryAttention({ ...weights, outputBias: Tensor.zeros([8]) }, settings), /weights.outputBias: expected \(16\) but got \(8\)/);
    assert.throws(() => new GroupedQueryAttention({ ...weights, queryNorm: Tensor.zeros([4]) }, settings), /queryNorm and weights.keyNorm come together/);
    assert.throws(() => new GroupedQueryAttention({ ...weights, queryNorm: Tensor.zeros([16]), keyNorm: Tensor.zeros([16]) }, settings), /weights.queryNorm: expected \(4\) but got \(16\)/);
  });
});
