/**
 * Finding heads by what they do: sorting and filtering the heads of a model by one of the measured
 * head metrics (src/model/head-metrics.ts, shipped as head-metrics.json):
 *
 *   previous-token   mean weight on the token just before          high: a previous-token head
 *   induction        on a repeated random sequence, mean weight on the token that followed the
 *                    earlier occurrence                             high: an induction head
 *   sink             mean weight on the first token                 high: parks attention on <|bos|>
 *   entropy          mean entropy of a query's weights (nats)       low: looks at one token
 *
 * "layer" order is the model's own: layer by layer, head by head. A metric order puts the highest
 * score first, except entropy, lowest first (the focused heads). The filter keeps the heads whose
 * score is at least a threshold (for entropy: at most), and marks them in the overviews.
 */

import type { HeadMetrics, ModelHeadMetrics } from "../../src/model/head-metrics";

export type HeadMetricKey = keyof HeadMetrics;
export type HeadOrder = "layer" | HeadMetricKey;

export interface HeadMetricInfo {
  key: HeadMetricKey;
  label: string;
  /** What the number is, for a tooltip. */
  description: string;
  /** Sorting puts the largest first (true) or the smallest (false, entropy). */
  highFirst: boolean;
  /** A threshold that picks out the clear cases, as the filter's starting value. */
  suggestedThreshold: number;
}

export const HEAD_METRICS: readonly HeadMetricInfo[] = [
  { key: "previousToken", label: "previous-token", description: "mean weight a token puts on the token just before it", highFirst: true, suggestedThreshold: 0.4 },
  { key: "induction", label: "induction", description: "on a random sequence repeated twice, mean weight on the token that followed the earlier occurrence", highFirst: true, suggestedThreshold: 0.3 },
  { key: "sinkMass", label: "sink", description: "mean weight on the first token (<|bos|>)", highFirst: true, suggestedThreshold: 0.5 },
  { key: "entropy", label: "entropy", description: "mean entropy of a token's weights in nats (0: one token; lower is more focused)", highFirst: false, suggestedThreshold: 1 },
];

export function metricInfo(key: HeadMetricKey): HeadMetricInfo {
  const info = HEAD_METRICS.find((candidate) => candidate.key === key);
  if (!info) throw new Error(`unknown head metric "${key}"; one of ${HEAD_METRICS.map((metric) => metric.key).join(", ")}`);
  return info;
}

export interface RankedHead {
  layer: number;
  head: number;
  /** The sorted-by metric's value, when a metric orders the heads and the model has metrics. */
  score?: number;
}

/** Checks that `metrics` covers `layers` x `heads`; throws with what is missing. */
export function checkMetricsShape(metrics: ModelHeadMetrics, layers: number, heads: number): void {
  if (metrics.length !== layers || metrics.some((row) => row.length !== heads)) {
    const shape = metrics.map((row) => row.length).join(", ");
    throw new Error(`the head metrics cover layers of [${shape}] heads; the model has ${layers} layers of ${heads} heads`);
  }
}

/**
 * Every head of a model in `order`: layer order, or by a metric (ties keep layer order). Without
 * metrics, a metric order falls back to layer order (the panel says the metrics are missing).
 */
export function orderHeads(layers: number, heads: number, order: HeadOrder, metrics?: ModelHeadMetrics): RankedHead[] {
  const all: RankedHead[] = [];
  for (let layer = 0; layer < layers; layer++) for (let head = 0; head < heads; head++) all.push({ layer, head });
  if (order === "layer" || !metrics) return all;
  checkMetricsShape(metrics, layers, heads);
  const { highFirst } = metricInfo(order);
  const scored = all.map((entry) => ({ ...entry, score: metrics[entry.layer][entry.head][order] }));
  // Array.prototype.sort is stable: equal scores stay in layer order.
  return scored.sort((a, b) => (highFirst ? b.score - a.score : a.score - b.score));
}

/** Whether a head's `metric` passes `threshold`: at least it, or for entropy at most it. */
export function passesThreshold(metrics: HeadMetrics, metric: HeadMetricKey, threshold: number): boolean {
  const value = metrics[metric];
  return metricInfo(metric).highFirst ? value >= threshold : value <= threshold;
}

/** The heads that pass the filter, as "layer:head" keys (empty without metrics). */
export function passingHeads(metric: HeadMetricKey, threshold: number, metrics?: ModelHeadMetrics): Set<string> {
  const passing = new Set<string>();
  metrics?.forEach((row, layer) => row.forEach((values, head) => passesThreshold(values, metric, threshold) && passing.add(headKey(layer, head))));
  return passing;
}

/** "2:5": a head's key in the sets above. */
export function headKey(layer: number, head: number): string {
  return `${layer}:${head}`;
}

/** "0.62", "3.41 nats". */
export function formatMetric(metric: HeadMetricKey, value: number): string {
  return metric === "entropy" ? `${value.toFixed(2)} nats` : value.toFixed(2);
}

/** How an overview orders and filters its heads (the controls of HeadMetricControls.svelte). */
export interface HeadMetricView {
  order: HeadOrder;
  /** Keep (mark) only heads whose `order` metric passes `threshold`; off in layer order. */
  filter: boolean;
  threshold: number;
}

export const DEFAULT_HEAD_METRIC_VIEW: HeadMetricView = { order: "layer", filter: false, threshold: 0.3 };

/** A view saved with the panel's state, checked field by field; undefined when it is not one. */
export function parseHeadMetricView(value: unknown): HeadMetricView | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const view = value as Record<string, unknown>;
  const orders: readonly unknown[] = ["layer", ...HEAD_METRICS.map((metric) => metric.key)];
  if (!orders.includes(view.order) || typeof view.filter !== "boolean" || typeof view.threshold !== "number" || !Number.isFinite(view.threshold)) return undefined;
  return { order: view.order as HeadOrder, filter: view.filter, threshold: view.threshold };
}

/** The heads the view marks as passing, or null when it filters nothing. */
export function markedHeads(view: HeadMetricView, metrics?: ModelHeadMetrics): Set<string> | null {
  if (!view.filter || view.order === "layer" || !metrics) return null;
  return passingHeads(view.order, view.threshold, metrics);
}
