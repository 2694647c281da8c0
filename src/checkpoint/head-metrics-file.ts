/**
 * A bundled model's head-metrics.json, read and checked: what each attention head does, measured by
 * training/model-cards.ts with src/model/head-metrics.ts (previous-token, induction, sink mass and
 * entropy of every head, on the text and the repeated random sequence the file names).
 *
 *   { "text": "...", "repeatLength": 50, "seed": 0,
 *     "layers": [ [ { "previousToken": 0.03, "sinkMass": 0.02, "entropy": 4.2, "induction": 0.009 }, ...nh ], ...L ] }
 *
 * The file is optional: a model without it works, and the panel says its metrics are missing. A
 * file that is there but wrong gives a problem that names the file, the place and what is wrong.
 *
 * Pure: no `vscode` import.
 */

import { readFile } from "node:fs/promises";

import type { DecoderConfig } from "../model/config";
import type { HeadMetrics, ModelHeadMetrics } from "../model/head-metrics";

export const HEAD_METRICS_FILE = "head-metrics.json";

/** The metrics of a model, or why there are none (exactly one of the two is set). */
export interface HeadMetricsReading {
  metrics?: ModelHeadMetrics;
  problem?: string;
}

/** The four numbers of a head and the range each must lie in. */
const METRIC_RANGES: Record<keyof HeadMetrics, { min: number; max: number }> = {
  previousToken: { min: 0, max: 1 },
  induction: { min: 0, max: 1 },
  sinkMass: { min: 0, max: 1 },
  entropy: { min: 0, max: Number.POSITIVE_INFINITY },
};

/** Rounding of the weights may put a mean a hair outside [0, 1]. */
const TOLERANCE = 1e-6;

/**
 * Checks parsed head-metrics.json against the model's sizes; throws an Error whose message starts
 * with `name` and says where the file is wrong.
 */
export function parseHeadMetrics(json: unknown, name: string, config: Pick<DecoderConfig, "numHiddenLayers" | "numAttentionHeads">): ModelHeadMetrics {
  if (typeof json !== "object" || json === null || !Array.isArray((json as { layers?: unknown }).layers)) {
    throw new Error(`${name} has no "layers" list (per layer, per head: previousToken, induction, sinkMass, entropy)`);
  }
  const layers = (json as { layers: unknown[] }).layers;
  if (layers.length !== config.numHiddenLayers) {
    throw new Error(`${name} has metrics for ${layers.length} layers, but the model has ${config.numHiddenLayers}`);
  }
  return layers.map((heads, layer) => {
    if (!Array.isArray(heads) || heads.length !== config.numAttentionHeads) {
      const count = Array.isArray(heads) ? `${heads.length} heads` : "no list of heads";
      throw new Error(`${name}: layer ${layer} has ${count}, but the model has ${config.numAttentionHeads} query heads per layer`);
    }
    return heads.map((head: unknown, index) => {
      const where = `${name}: layer ${layer}, head ${index}`;
      if (typeof head !== "object" || head === null) throw new Error(`${where} is not an object of metrics`);
      const values = head as Record<string, unknown>;
      const metrics = {} as HeadMetrics;
      for (const [key, range] of Object.entries(METRIC_RANGES) as [keyof HeadMetrics, { min: number; max: number }][]) {
        const value = values[key];
        if (typeof value !== "number" || !Number.isFinite(value)) throw new Error(`${where}: "${key}" is ${JSON.stringify(value) ?? "missing"}, not a number`);
        if (value < range.min - TOLERANCE || value > range.max + TOLERANCE) {
          throw new Error(`${where}: "${key}" is ${value}, outside ${range.min}..${range.max}`);
        }
        metrics[key] = value;
      }
      return metrics;
    });
  });
}

/** Reads `path` for a model with these sizes; a missing or broken file gives a problem, never a throw. */
export async function readHeadMetrics(
  path: string,
  modelId: string,
  config: Pick<DecoderConfig, "numHiddenLayers" | "numAttentionHeads">,
): Promise<HeadMetricsReading> {
  const name = `${modelId}/${HEAD_METRICS_FILE}`;
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    const code = (error as { code?: unknown } | null)?.code;
    return {
      problem:
        code === "ENOENT"
          ? `${name} is missing, so the head metrics (previous-token, induction, sink, entropy) are not shown; training/model-cards.ts writes it.`
          : `${name} cannot be read (${error instanceof Error ? error.message : String(error)}), so the head metrics are not shown.`,
    };
  }
  try {
    return { metrics: parseHeadMetrics(JSON.parse(text) as unknown, name, config) };
  } catch (error) {
    const reason = error instanceof SyntaxError ? `${name} is not valid JSON (${error.message})` : error instanceof Error ? error.message : String(error);
    return { problem: `${reason.replace(/\.$/, "")}; the head metrics are not shown. Run training/model-cards.ts to write the file again.` };
  }
}
