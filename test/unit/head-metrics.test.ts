import assert from "node:assert/strict";
import { Tensor } from "../../src/attention/tensor";
import { parseModelConfig } from "../../src/model/config";
import { inductionScoresOfLayer, measureHeads, randomTokens, textMetricsOfLayer } from "../../src/model/head-metrics";
import { DecoderModel } from "../../src/model/decoder-model";
import { randomDecoderWeights } from "../../src/model/weights";

/** A (1, heads, T, T) map whose head h puts all weight of query i on key `target(h, i)`. */
function oneHotMap(heads: number, length: number, target: (head: number, query: number) => number): Tensor {
  return Tensor.fromFunction([1, heads, length, length], ([, head, query, key]) => (key === target(head, query) ? 1 : 0));
}

describe("head metrics", () => {
  it("a previous-token head scores 1, a first-token sink head scores 1 on sink mass, both with entropy 0", () => {
    const map = oneHotMap(2, 6, (head, query) => (head === 0 ? Math.max(0, query - 1) : 0));
    const [previous, sink] = textMetricsOfLayer(map);
    assert.equal(previous.previousToken, 1);
    assert.equal(previous.entropy, 0);
    assert.equal(sink.sinkMass, 1);
    assert.equal(sink.previousToken, 1 / 5, "query 1's previous token is the first token");
  });

  it("uniform causal attention has entropy ln(i + 1) at query i", () => {
    const length = 5;
    const map = Tensor.fromFunction([1, 1, length, length], ([, , query, key]) => (key <= query ? 1 / (query + 1) : 0));
    const [metrics] = textMetricsOfLayer(map);
    const expected = [1, 2, 3, 4].reduce((sum, query) => sum + Math.log(query + 1), 0) / 4;
    assert.ok(Math.abs(metrics.entropy - expected) < 1e-6);
  });

  it("an induction head (second copy looks at the token after the earlier occurrence) scores 1", () => {
    const repeatLength = 4;
    const length = 1 + 2 * repeatLength;
    // head 0: induction; head 1: attends to the earlier occurrence itself (a "duplicate token" head).
    const map = oneHotMap(2, length, (head, query) =>
      query > repeatLength ? query - repeatLength + (head === 0 ? 1 : 0) : query,
    );
    assert.deepEqual(inductionScoresOfLayer(map, repeatLength), [1, 0]);
    assert.throws(() => inductionScoresOfLayer(map, 5), /covers 9 tokens but 1 \+ 2 x 5 were expected/);
  });

  it("random tokens skip the special ids and are reproducible", () => {
    const tokens = randomTokens(200, 50, 7);
    assert.ok(tokens.every((id) => id >= 3 && id < 50));
    assert.deepEqual(tokens, randomTokens(200, 50, 7));
  });

  it("measures every head of a model with the reference forward", () => {
    const config = parseModelConfig({
      hidden_size: 32, num_attention_heads: 4, num_key_value_heads: 2, num_hidden_layers: 2,
      intermediate_size: 48, vocab_size: 60, max_position_embeddings: 128, rms_norm_eps: 1e-5,
    });
    const metrics = measureHeads(new DecoderModel(config, randomDecoderWeights(config, 1, 0.2)), {
      textIds: [0, 5, 6, 7, 8, 9, 10, 11],
      firstTokenId: 0,
      repeatLength: 20,
    });
    assert.equal(metrics.length, 2);
    assert.equal(metrics[0].length, 4);
    for (const head of metrics.flat()) {
      for (const value of [head.previousToken, head.induction, head.sinkMass]) assert.ok(value >= 0 && value <= 1);
      assert.ok(head.entropy >= 0 && head.entropy <= Math.log(8));
    }
  });
});
