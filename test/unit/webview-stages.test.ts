/**
 * The stages and batch modes of the built webview in headless Chromium (test/browser/webview): the
 * test plays the host, sends showAttention in "stages" or "batch" mode with real token ids of the
 * bundled GQA model, and checks what the page reports (its learning report; the rows through the test hook) against the library run
 * in Node on the same ids, what it draws, "show me the code", and its messages for bad input.
 * Also the pure parts of those modes (webview/stages/stages-report.ts, webview/batch/batch-report.ts)
 * and of the host's batch (src/extension/batch-lines.ts).
 *
 * Screenshots go to the system's temporary folder, never the repository.
 */

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { queryKeyBreakdown } from "../../src/attention/query-key-breakdown";
import { formatNumber, stageFormulas } from "../../src/attention/stage-formulas";
import { batchOfText } from "../../src/extension/batch-lines";
import { parseModelConfig } from "../../src/model/config";
import { DecoderModel } from "../../src/model/decoder-model";
import { compareNextTokenReads } from "../../src/model/padding-comparison";
import { readSafetensors } from "../../src/model/safetensors";
import { inspectStages, traceModelStages } from "../../src/model/stage-inspection";
import { TextTokenizer } from "../../src/model/tokenizer";
import type { BatchReport, LearningReport, ModelDescriptor, StagesReport, TokenInfo, WebviewToHostMessage } from "../../src/protocol";
import { blockedCells, maxPadWeights } from "../../webview/batch/batch-report";
import { divergingColorAt, divergingPosition, symmetricLimit } from "../../webview/heatmap/diverging-color-map";
import { featureRows, headsByKeyValueHead, queryKeySteps, spokenStrip, vectorNames } from "../../webview/stages/query-key-display";
import { clampSelection, jsonRow, parseDropout } from "../../webview/stages/stages-report";
import { CHROMIUM_PATH, chromiumIsInstalled, MODELS_DIRECTORY, startWebviewHarness, type WebviewHarness } from "../browser/webview/webview-harness";

const MODEL_ID = "attention-lens-gqa";
const FOLDER = join(MODELS_DIRECTORY, MODEL_ID);
const config = parseModelConfig(JSON.parse(readFileSync(join(FOLDER, "config.json"), "utf8")));
const model = DecoderModel.fromTensors(config, readSafetensors(readFileSync(join(FOLDER, "model.safetensors"))).tensors);
const tokenizer = TextTokenizer.fromJson(readFileSync(join(FOLDER, "tokenizer.json"), "utf8"));

const TEXT = "The cat sat on the mat because it was tired.";
const BATCH_TEXT = "The cat sat on the mat.\nA dog barked.\nfor (let i = 0; i < items.length; i++) {\nreturn total;\n";

function tokensOf(text: string): TokenInfo[] {
  const encoded = tokenizer.encode(text, { addBos: true });
  return encoded.ids.map((id, index) => ({ id, text: encoded.tokens[index], start: encoded.offsets[index][0], end: encoded.offsets[index][1] }));
}

function assertRowsClose(actual: readonly (number | null)[], expected: readonly (number | null)[], tolerance: number, label: string): void {
  assert.equal(actual.length, expected.length, `${label}: length`);
  actual.forEach((value, index) => {
    const other = expected[index];
    if (value === null || other === null) assert.equal(value, other, `${label}[${index}]`);
    else assert.ok(Math.abs(value - other) <= tolerance, `${label}[${index}]: ${value} vs ${other}`);
  });
}

describe("stages and batch modes: the pure parts", () => {
  it("a choice is kept inside the model and the text", () => {
    assert.deepEqual(clampSelection(undefined, 3, 8, 10), { layer: 0, head: 0, query: 9, key: 0 });
    assert.deepEqual(clampSelection({ layer: 7, head: -1, query: 4, key: 40 }, 3, 8, 10), { layer: 2, head: 0, query: 4, key: 9 });
  });

  it("the dropout controls: a rate outside [0, 1) and a bad seed get messages", () => {
    assert.deepEqual(parseDropout("0.25", "3"), { rate: 0.25, seed: 3 });
    assert.deepEqual(parseDropout("", ""), { rate: 0, seed: 0 });
    for (const rate of ["1", "1.5", "-0.1", "abc"]) {
      const parsed = parseDropout(rate, "0");
      assert.ok("error" in parsed && parsed.error.startsWith("The dropout rate must be a number from 0 up to but not including 1"), rate);
    }
    const seed = parseDropout("0.1", "2.5");
    assert.ok("error" in seed && /The dropout seed must be a whole number/.test(seed.error));
    assert.deepEqual(jsonRow([1, -Infinity, 0]), [1, null, 0]);
  });

  it("the query · key section: names of q and k per family, strips that wrap, the steps and the grouping written out", () => {
    assert.deepEqual(vectorNames(config), { query: "q after RoPE", key: "k after RoPE" });
    assert.deepEqual(vectorNames({ positionEncoding: "rope", queryKeyNorm: true }), { query: "q after q_norm and RoPE", key: "k after k_norm and RoPE" });
    assert.deepEqual(vectorNames({ positionEncoding: "learned", queryKeyNorm: false }), { query: "q", key: "k" });
    assert.deepEqual(featureRows(16), [{ start: 0, end: 16 }]);
    assert.deepEqual(featureRows(128).map((row) => row.end - row.start), [32, 32, 32, 32]);
    assert.deepEqual(featureRows(80).at(-1), { start: 64, end: 80 });
    assert.equal(spokenStrip("q after RoPE", [0.5, -1.25, -Infinity]), "q after RoPE, 3 features: 0.5, -1.25, -inf");
    // The diverging scale: blue below 0, near-white at 0, red above; symmetric about 0.
    assert.equal(symmetricLimit([0.5, -2, -Infinity, 1]), 2);
    assert.equal(symmetricLimit([0, 0]), 1);
    assert.deepEqual([divergingPosition(-2, 2), divergingPosition(0, 2), divergingPosition(1, 2), divergingPosition(9, 2)], [0, 0.5, 0.75, 1]);
    assert.deepEqual(divergingColorAt(0, 1), [247, 247, 247]);
    const [red, , blue] = divergingColorAt(0.8, 1);
    assert.ok(red > blue, "positive is red");
    const [redNegative, , blueNegative] = divergingColorAt(-0.8, 1);
    assert.ok(blueNegative > redNegative, "negative is blue");

    const ids = tokensOf(TEXT).map((token) => token.id);
    const layerStages = traceModelStages(model, [ids])[1];
    const breakdown = queryKeyBreakdown(layerStages, config.numKeyValueHeads, { batch: 0, query: 4, key: 2 });
    assert.deepEqual(
      headsByKeyValueHead(breakdown).map((group) => [group.keyValueHead, group.heads.map((head) => head.head)]),
      [[0, [0, 1, 2, 3]], [1, [4, 5, 6, 7]]],
    );
    const cell = breakdown.heads[6];
    const steps = queryKeySteps(breakdown, cell);
    assert.deepEqual(steps.map((step) => step.name), ["score", "scaled", "masked", "weight"]);
    assert.deepEqual(steps.map((step) => step.result), [cell.productSum, cell.scaledScore, cell.maskedScore, cell.weight]);
    assert.equal(steps[1].substituted, `${formatNumber(cell.rawScore)} x 0.25 = ${formatNumber(cell.scaledScore)}`);
    assert.equal(
      steps[3].substituted,
      `exp(${formatNumber(cell.maskedScore)} - ${formatNumber(cell.rowMaximum)}) / ${formatNumber(cell.exponentialSum)} = ${formatNumber(cell.exponential)} / ${formatNumber(cell.exponentialSum)} = ${formatNumber(cell.weight)}`,
    );
    const future = queryKeyBreakdown(layerStages, config.numKeyValueHeads, { batch: 0, query: 4, key: 5 });
    const futureSteps = queryKeySteps(future, future.heads[6]);
    assert.equal(futureSteps[2].note, "key 5 comes after query 4: the causal mask hides it");
    assert.match(futureSteps[3].substituted, /^exp\(-inf\) \/ .* = 0$/);
  });

  it("the host's batch: one sequence per line, or a message naming the bad line", () => {
    const batch = batchOfText(tokenizer, "a = 1\r\nb = 22\n", 7, 512);
    assert.ok(!("error" in batch));
    assert.deepEqual(batch.lines.map((line) => [line.text, line.lineNumber]), [["a = 1", 7], ["b = 22", 8]]);
    assert.deepEqual(batch.lines[1].tokens.map((token) => token.id), tokenizer.encode("b = 22", { addBos: true }).ids);
    assert.equal(batch.padTokenId, tokenizer.padTokenId);
    const empty = batchOfText(tokenizer, "first\n\nthird", 3, 512);
    assert.deepEqual(empty, { error: "The selected lines cannot form a batch: line 4 is empty: every line becomes one sequence of the batch and needs some text; remove the empty line from the selection or write something on it." });
    const long = batchOfText(tokenizer, `short\n${"word ".repeat(600)}`, 1, 512);
    assert.ok("error" in long && /line 2 has \d+ tokens \(with <\|bos\|>\) but the model's context holds 512/.test(long.error), JSON.stringify(long));
  });

  it("the batch report's blocked cells and pad weights come from the model's batch", () => {
    const sequences = BATCH_TEXT.trim().split("\n").map((line) => tokenizer.encode(line, { addBos: true }).ids);
    const comparison = compareNextTokenReads(model, sequences, tokenizer.padTokenId!);
    const blocked = blockedCells(comparison.left.batch);
    const mask = comparison.left.forward; // the model's own key mask
    blocked.forEach((rows, row) =>
      rows.forEach((keys, query) =>
        keys.forEach((isBlocked, key) => assert.equal(isBlocked, key > query || mask.keyMask[row][key] === 0, `${row} ${query} ${key}`)),
      ),
    );
    assert.deepEqual(maxPadWeights(comparison.left.batch, comparison.left.forward.attentions), sequences.map(() => 0));
  });
});

describe("stages and batch modes in Chromium (built bundle, real GQA model)", function () {
  this.timeout(180_000);
  let harness: WebviewHarness;
  let requestId = 100;

  before(async function () {
    if (!chromiumIsInstalled()) {
      const message = `no Chromium at ${CHROMIUM_PATH}: install it with "apt-get update && apt-get install -y chromium"`;
      if (process.env.CI) throw new Error(`the browser tests need Chromium, and CI is set: ${message}`);
      console.log(`    skipping the stages and batch page tests: ${message}`);
      this.skip();
    }
    harness = await startWebviewHarness({ theme: "dark", width: 1200, height: 1000 });
  });
  after(async () => harness?.close());

  function descriptor(): ModelDescriptor {
    return {
      id: MODEL_ID,
      label: "GQA (8 query heads, 2 key/value heads)",
      configUri: `${harness.origin}/models/${MODEL_ID}/config.json`,
      weightsUri: `${harness.origin}/models/${MODEL_ID}/model.safetensors`,
      tokenizerUri: `${harness.origin}/models/${MODEL_ID}/tokenizer.json`,
      numLayers: 3,
      numHeads: 8,
      numKeyValueHeads: 2,
      maxTokens: 512,
    };
  }

  async function show(mode: "stages" | "batch", text: string, learning: object): Promise<LearningReport> {
    requestId += 1;
    const before = (await harness.posted()).length;
    await harness.send({
      type: "showAttention",
      requestId,
      model: descriptor(),
      models: [descriptor()],
      text,
      source: "example.txt:1",
      tokens: tokensOf(text),
      settings: { backend: "wasm", colorScale: "linear" },
      wasmPaths: `${harness.origin}/dist/ort/`,
      mode,
      learning,
    });
    const isReport = (message: WebviewToHostMessage): message is { type: "report"; requestId: number; report: { kind: "learning"; report: LearningReport } } =>
      message.type === "report" && message.requestId === requestId && message.report.kind === "learning";
    return (await harness.waitForPosted(isReport, { after: before, timeout: 120_000 })).report.report;
  }

  it("stages: the numbers the page reports equal the library's trace in Node, with the formulas", async () => {
    const choice = { layer: 1, head: 5, query: 9, key: 3, dropoutRate: 0.2, dropoutSeed: 7 };
    const report = (await show("stages", TEXT, { stages: choice })) as StagesReport;
    assert.ok(!("error" in report), JSON.stringify(report));
    assert.equal(report.mode, "stages");
    assert.deepEqual([report.layer, report.head, report.query, report.key, report.dropoutRate, report.dropoutSeed], [1, 5, 9, 3, 0.2, 7]);
    assert.match(report.computedBy, /TypeScript reference model/);

    const stages = traceModelStages(model, [tokensOf(TEXT).map((token) => token.id)]);
    const inspection = inspectStages(config, stages, { layer: 1, head: 5, query: 9, dropout: { rate: 0.2, seed: 7 } });
    // The rows through the test hook.
    const after = (await harness.posted()).length;
    await harness.send({ type: "observe", requestId, request: { what: "stageRows" } });
    const { observation } = await harness.waitForPosted(
      (posted): posted is Extract<WebviewToHostMessage, { type: "observed" }> => posted.type === "observed" && posted.requestId === requestId,
      { after },
    );
    assert.ok(observation.what === "stageRows" && "rows" in observation, JSON.stringify(observation));
    const rows = observation.rows;
    for (const stage of ["rawScores", "scaledScores", "mask", "maskedScores", "weights", "weightsAfterDropout", "context"] as const) {
      assertRowsClose(rows[stage], jsonRow(inspection.trace[stage]), 1e-5, stage);
    }
    const weights = rows.weights.filter((value): value is number => value !== null);
    assert.ok(Math.abs(weights.reduce((sum, value) => sum + value, 0) - 1) < 1e-5, "the softmax row sums to 1");
    assert.deepEqual(rows.mask.slice(10), new Array(report.tokens - 10).fill(null), "keys after query 9 are masked");
    const expectedFormulas = stageFormulas(inspection.trace, { key: 3, dropoutRate: 0.2 }).map((formula) => formula.substituted);
    assert.equal(report.formulas.length, 6);
    assert.deepEqual(report.formulas.slice(1, 3), expectedFormulas.slice(1, 3));
    assert.ok(Math.abs(report.scaling.unscaledSpread / report.scaling.scaledSpread - 4) < 1e-6, "sqrt(16) = 4");

    const page = harness.page;
    await page.waitForSelector('[data-stage="context"]');
    assert.equal(await page.locator('[role="tab"][aria-selected="true"]').getAttribute("data-mode"), "stages");
    assert.equal(await page.locator(".stage").count(), 6);
    assert.match(await page.locator('[data-stage="maskedScores"] .substituted').innerText(), /= /);
    await page.screenshot({ path: join(tmpdir(), "attention-lens-webview-stages.png"), fullPage: true });

    const before = (await harness.posted()).length;
    await page.locator('[data-stage="rawScores"] .lens-code-link').click();
    const isOpen = (message: WebviewToHostMessage): message is Extract<WebviewToHostMessage, { type: "openSource" }> => message.type === "openSource";
    assert.equal((await harness.waitForPosted(isOpen, { after: before })).anchor, "rawScores");
  });

  it("stages: a dropout rate outside [0, 1) in the controls gets a message and the view keeps working", async () => {
    const page = harness.page;
    await page.locator("input.rate").fill("1");
    assert.match(await page.locator(".dropout-error").innerText(), /The dropout rate must be a number from 0 up to but not including 1/);
    assert.equal(await page.locator(".stage").count(), 6);
    await page.locator("input.rate").fill("0.1");
    assert.equal(await page.locator(".dropout-error").count(), 0);
  });

  it("batch: the page's masks are the model's, pads get zero weight, left reads the next token right", async () => {
    const batch = batchOfText(tokenizer, BATCH_TEXT, 1, 512);
    assert.ok(!("error" in batch));
    const report = (await show("batch", BATCH_TEXT, { batch })) as BatchReport;
    assert.ok(!("error" in report), JSON.stringify(report));
    const sequences = batch.lines.map((line) => line.tokens.map((token) => token.id));
    const comparison = compareNextTokenReads(model, sequences, tokenizer.padTokenId!);
    assert.deepEqual(report.inputIds, comparison.left.batch.inputIds);
    assert.deepEqual(report.tokenMask, comparison.left.forward.keyMask, "the token mask the model used");
    const traced = traceModelStages(model, comparison.left.batch.inputIds, comparison.left.batch.tokenMask);
    const modelMask = traced[0].mask!; // (B, 1, S, S)
    report.blocked.forEach((rows, row) =>
      rows.forEach((keys, query) => keys.forEach((isBlocked, key) => assert.equal(isBlocked, modelMask.at(row, 0, query, key) === -Infinity))),
    );
    assert.deepEqual(report.maxPadWeight, [0, 0, 0, 0]);
    report.nextTokens.forEach((next, row) => {
      assert.equal(next.left, next.alone, `row ${row}: left padding reads the same next token as alone`);
      assert.equal(next.right, comparison.right.reads[row].predictedTokenId);
    });

    const page = harness.page;
    await page.waitForSelector(".contrast");
    assert.equal(await page.locator('[role="tab"][aria-selected="true"]').getAttribute("data-mode"), "batch");
    assert.ok((await page.locator(".side[data-side=right] td.next.wrong").count()) > 0, "right padding reads a pad somewhere");
    await page.screenshot({ path: join(tmpdir(), "attention-lens-webview-batch.png"), fullPage: true });
  });

  it("batch: the host's message for a bad batch is shown in the panel", async () => {
    const report = await show("batch", "a\n\nb", { batch: { error: "The selected lines cannot form a batch: line 2 is empty." } });
    assert.deepEqual(report, { mode: "batch", error: "The selected lines cannot form a batch: line 2 is empty." });
    assert.match(await harness.page.locator(".batch .error").innerText(), /line 2 is empty/);
  });

  describe("the query · key section (BertViz's neuron view)", () => {
    /** The number a substituted formula ends with: "... = 0.4125" -> "0.4125". */
    const resultOf = (text: string) => text.split("= ").at(-1)!.trim();

    it("shows q, k, q ∘ k and the steps of the chosen key; the score and weight are the report's; every head row names its K/V head", async () => {
      const tokens = tokensOf(TEXT);
      const choice = { layer: 1, head: 5, query: 9, key: 3 };
      const report = (await show("stages", TEXT, { stages: choice })) as StagesReport;
      assert.ok(!("error" in report), JSON.stringify(report));
      assert.deepEqual([report.layer, report.head, report.query, report.key, report.dropoutRate], [1, 5, 9, 3, 0]);
      const layerStages = traceModelStages(model, [tokens.map((token) => token.id)])[1];
      const expected = (key: number) => queryKeyBreakdown(layerStages, config.numKeyValueHeads, { batch: 0, query: 9, key });

      const page = harness.page;
      const section = page.locator("section.query-key");
      await section.waitFor();
      const stepText = (name: string) => section.locator(`[data-step="${name}"] .substituted`).innerText();
      // The score, scaled score and weight shown are the report's (its formulas end in the library's numbers).
      assert.equal(resultOf(await stepText("score")), resultOf(report.formulas[0]), "score");
      assert.equal(resultOf(await stepText("scaled")), resultOf(report.formulas[1]), "scaled score");
      assert.equal(resultOf(await stepText("weight")), resultOf(report.formulas[3]), "weight");
      assert.ok(Math.abs(Number(await section.locator('[data-step="score"]').getAttribute("data-result")) - expected(3).heads[5].rawScore) < 1e-6);

      // Head 5's q, k and q ∘ k: 16 cells each, values on hover (the title) as Node computes them.
      const detail = section.locator(".detail");
      assert.equal(await detail.getAttribute("data-head"), "5");
      assert.equal(await detail.locator(".cell").count(), 3 * config.headDim);
      const head5 = expected(3).heads[5];
      assert.equal(await detail.locator('.cell[data-feature="0"]').first().getAttribute("title"), `q[0] = ${formatNumber(head5.query[0])}`);
      assert.equal(await detail.locator('.cell[data-feature="15"]').last().getAttribute("title"), `q∘k[15] = ${formatNumber(head5.product[15])}`);
      assert.match(await detail.locator(".lens-visually-hidden").first().innerText(), new RegExp(`^q after RoPE, 16 features: ${formatNumber(head5.query[0])}, `));
      // The keyboard reads a feature out.
      await detail.locator(".strips").focus();
      await page.keyboard.press("End");
      const readout = await detail.locator(".readout").innerText();
      assert.ok(readout.startsWith(`feature 15: q[15] = ${formatNumber(head5.query[15])}`), readout);

      // A row per head, labelled with the K/V head it reads: 0-3 read K/V 0, 4-7 read K/V 1.
      const rows = section.locator("table.heads tbody tr[data-head]");
      assert.equal(await rows.count(), config.numAttentionHeads);
      for (let head = 0; head < config.numAttentionHeads; head++) {
        const row = section.locator(`table.heads tr[data-head="${head}"]`);
        const keyValueHead = Math.floor(head / 4);
        assert.equal(await row.getAttribute("data-key-value-head"), String(keyValueHead));
        assert.equal(await row.locator(".kv").innerText(), `K/V ${keyValueHead}`);
        assert.match((await row.locator("button").getAttribute("aria-label"))!, new RegExp(`^head ${head}, reads K/V head ${keyValueHead}: score `));
        const cell = expected(3).heads[head];
        assert.equal(await row.locator(".score").innerText(), formatNumber(cell.productSum), `head ${head} score`);
        assert.equal(await row.locator(".weight .value").innerText(), formatNumber(cell.weight), `head ${head} weight`);
      }
      assert.deepEqual(
        await section.locator("table.heads tr.group").allInnerTexts(),
        ["K/V head 0, read by query heads 0–3: one k for all of them", "K/V head 1, read by query heads 4–7: one k for all of them"],
      );
      await page.screenshot({ path: join(tmpdir(), "attention-lens-webview-query-key.png"), fullPage: true });
    });

    it("a key picked by clicking a stage cell or with the picker, and a head with the keyboard, redraw it from the stage rows", async () => {
      const tokens = tokensOf(TEXT);
      const layerStages = traceModelStages(model, [tokens.map((token) => token.id)])[1];
      const page = harness.page;
      const section = page.locator("section.query-key");
      const stepText = (name: string) => section.locator(`[data-step="${name}"] .substituted`).innerText();

      // Click key 6 in the raw scores row: the section's score and weight are that cell's in the stage rows.
      await page.locator('[data-stage="rawScores"] .cell').nth(6).click();
      assert.equal(await section.locator("select").inputValue(), "6");
      assert.equal(resultOf(await stepText("score")), await page.locator('[data-stage="rawScores"] .cell').nth(6).locator(".value").innerText());
      assert.equal(resultOf(await stepText("weight")), await page.locator('[data-stage="weights"] .cell').nth(6).locator(".value").innerText());
      assert.equal(resultOf(await stepText("score")), formatNumber(queryKeyBreakdown(layerStages, 2, { batch: 0, query: 9, key: 6 }).heads[5].productSum));

      // The picker: a key after the query is masked; its weight is 0 in every head.
      const future = Math.min(10, tokens.length - 1);
      await section.locator("select").selectOption(String(future));
      if (future > 9) {
        assert.equal(resultOf(await stepText("weight")), "0");
        assert.match(await section.locator('[data-step="masked"] .note').innerText(), /comes after query 9: the causal mask hides it/);
        assert.deepEqual(await section.locator("table.heads td.mask").allInnerTexts(), new Array(8).fill("-inf"));
      }
      await section.locator("select").selectOption("2");
      assert.equal(resultOf(await stepText("score")), formatNumber(queryKeyBreakdown(layerStages, 2, { batch: 0, query: 9, key: 2 }).heads[5].productSum));

      // ↓ on the selected head's row shows head 6, in the section and in the stages above.
      await section.locator('tr[data-head="5"] button').focus();
      await page.keyboard.press("ArrowDown");
      assert.equal(await section.locator(".detail").getAttribute("data-head"), "6");
      assert.equal(await page.evaluate(() => document.activeElement?.closest("tr")?.getAttribute("data-head")), "6", "the focus follows");
      assert.match(await page.locator(".selected.lens-note").first().innerText(), /head 6 \(reads K\/V head 1\)/);
      const cell = queryKeyBreakdown(layerStages, 2, { batch: 0, query: 9, key: 2 }).heads[6];
      assert.equal(resultOf(await stepText("weight")), formatNumber(cell.weight));
    });
  });
});
