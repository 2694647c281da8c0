import assert from "node:assert/strict";

import { describeFirstHead, PreviousTokenScores } from "../../webview/attention/first-head";

/** (nh, T, T) causal weights: head `line` attends fully to the previous token, the others uniformly. */
function layerWeights(heads: number, tokens: number, line: number | null, strength = 1): Float32Array {
  const weights = new Float32Array(heads * tokens * tokens);
  for (let head = 0; head < heads; head++) {
    for (let query = 0; query < tokens; query++) {
      const row = head * tokens * tokens + query * tokens;
      for (let key = 0; key <= query; key++) weights[row + key] = 1 / (query + 1);
      if (head === line && query > 0) {
        for (let key = 0; key <= query; key++) weights[row + key] *= 1 - strength;
        weights[row + query - 1] += strength;
      }
    }
  }
  return weights;
}

describe("webview: the head a panel opens on", () => {
  it("is the head with the most weight on the previous token, found in any layer", () => {
    const scores = new PreviousTokenScores(4, 6);
    scores.add(0, layerWeights(4, 6, null));
    scores.add(1, layerWeights(4, 6, 2, 0.7));
    scores.add(2, layerWeights(4, 6, 3, 0.9));
    const first = scores.choose();
    assert.deepEqual([first.layer, first.head, first.rule], [2, 3, "previous-token"]);
    // By hand: queries 1..5 give the token before 0.9 + 0.1 / (q + 1).
    const expected = [1, 2, 3, 4, 5].reduce((sum, query) => sum + 0.9 + 0.1 / (query + 1), 0) / 5;
    assert.ok(Math.abs(first.score - expected) < 1e-6, `${first.score} vs ${expected}`);
    assert.match(describeFirstHead(first), /layer 2 · head 3, the strongest previous-token head on this text: on average 9\d% /);
  });

  it("a uniform model scores 1/(q+1) per query and keeps the first head on a tie", () => {
    const scores = new PreviousTokenScores(2, 4);
    scores.add(0, layerWeights(2, 4, null));
    const first = scores.choose();
    assert.deepEqual([first.layer, first.head], [0, 0]);
    assert.ok(Math.abs(first.score - (1 / 2 + 1 / 3 + 1 / 4) / 3) < 1e-6);
  });

  it("opens on layer 0, head 0 with fewer than three tokens, and says why", () => {
    const scores = new PreviousTokenScores(2, 2);
    scores.add(0, layerWeights(2, 2, 1));
    assert.deepEqual(scores.choose(), { layer: 0, head: 0, score: 0, rule: "too-few-tokens" });
    assert.match(describeFirstHead(scores.choose()), /too few tokens/);
  });

  it("refuses a layer of the wrong size", () => {
    assert.throws(() => new PreviousTokenScores(2, 3).add(0, new Float32Array(10)), /expected 2 x 3 x 3/);
  });
});
