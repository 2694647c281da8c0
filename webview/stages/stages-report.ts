/**
 * What the stages view selects and reports, as plain functions (unit-tested without a browser):
 * keeping a choice of layer, head, query and key inside the model and the text, checking the
 * dropout controls, and the `StagesReport` sent to the host.
 */

import { checkDropoutRate } from "../../src/attention/dropout";
import type { StageFormula } from "../../src/attention/stage-formulas";
import type { StageInspection } from "../../src/model/stage-inspection";
import type { StagesChoice, StagesReport } from "../../src/protocol";

export interface StagesSelection {
  layer: number;
  head: number;
  query: number;
  key: number;
}

function clampIndex(value: number | undefined, count: number, fallback: number): number {
  if (value === undefined || !Number.isInteger(value)) return Math.min(Math.max(fallback, 0), count - 1);
  return Math.min(Math.max(value, 0), count - 1);
}

/**
 * A choice kept inside `layers` x `heads` and `tokens` (default: layer 0, head 0, the last token as
 * query and the first as key). The key may lie after the query: it is masked, and that is worth seeing.
 */
export function clampSelection(choice: StagesChoice | undefined, layers: number, heads: number, tokens: number): StagesSelection {
  return {
    layer: clampIndex(choice?.layer, layers, 0),
    head: clampIndex(choice?.head, heads, 0),
    query: clampIndex(choice?.query, tokens, tokens - 1),
    key: clampIndex(choice?.key, tokens, 0),
  };
}

/** The dropout controls' values, or a message saying what is wrong with them. */
export function parseDropout(rateText: string, seedText: string): { rate: number; seed: number } | { error: string } {
  const rate = rateText.trim() === "" ? 0 : Number(rateText);
  try {
    checkDropoutRate(rate);
  } catch {
    return { error: `The dropout rate must be a number from 0 up to but not including 1 (p = 1 would drop every weight and divide by zero); "${rateText}" is not.` };
  }
  const seed = seedText.trim() === "" ? 0 : Number(seedText);
  if (!Number.isSafeInteger(seed) || seed < 0) {
    return { error: `The dropout seed must be a whole number from 0 up; "${seedText}" is not.` };
  }
  return { rate, seed };
}

/** -Infinity (a masked score) is not JSON: null stands for it. */
export function jsonRow(values: readonly number[]): (number | null)[] {
  return values.map((value) => (Number.isFinite(value) ? value : null));
}

/** The selected query's row of each stage, as JSON can carry it (-Infinity as null): for the test hook. */
export function stageRows(inspection: StageInspection): Record<string, (number | null)[]> {
  const { trace } = inspection;
  return {
    rawScores: jsonRow(trace.rawScores),
    scaledScores: jsonRow(trace.scaledScores),
    mask: jsonRow(trace.mask),
    maskedScores: jsonRow(trace.maskedScores),
    weights: jsonRow(trace.weights),
    weightsAfterDropout: jsonRow(trace.weightsAfterDropout),
    context: jsonRow(trace.context),
  };
}

export function stagesReport(
  modelId: string,
  inspection: StageInspection,
  key: number,
  formulas: readonly StageFormula[],
  computedBy: string,
): StagesReport {
  const { trace, scaling } = inspection;
  return {
    mode: "stages",
    modelId,
    layer: inspection.layer,
    head: inspection.head,
    query: inspection.query,
    key,
    dropoutRate: inspection.dropout?.rate ?? 0,
    dropoutSeed: inspection.dropout?.seed ?? 0,
    tokens: trace.keyLength,
    formulas: formulas.map((formula) => formula.substituted),
    scaling: {
      unscaledSpread: scaling.unscaled.standardDeviation,
      scaledSpread: scaling.scaled.standardDeviation,
      unscaledEntropy: scaling.unscaled.meanEntropy,
      scaledEntropy: scaling.scaled.meanEntropy,
    },
    computedBy,
  };
}
