/**
 * The maps filling in while a run goes on: after a layer is done, the latest layer's attention,
 * the mean over its heads, is put on screen, so a real-size model (30 layers, seconds per run)
 * shows a first heatmap after its first layer instead of after its last. At most one repaint every
 * PAINT_INTERVAL_MS (the first layer always): each lets the page paint between two layers, which
 * costs a frame.
 *
 * Shape legend: nh heads, T queries, S keys.
 */

import type { Tensor } from "../../src/attention/tensor";

/** What the preview shows: one layer's mean map of a run still going on. */
export interface PreviewFrame {
  requestId: number;
  /** The layer shown (0-based), and how many the model has. */
  layer: number;
  layers: number;
  heads: number;
  /** (T, S) row-major: the mean over the layer's heads. */
  map: Float32Array;
  queries: number;
  keys: number;
}

/** The shortest time between two repaints after the first. */
export const PAINT_INTERVAL_MS = 400;

/** Attention weights (1, nh, T, S) -> their mean over the heads, (T, S). */
export function meanOverHeads(weights: Tensor): Float32Array {
  const [, heads, queries, keys] = weights.shape;
  const cells = queries * keys;
  const mean = new Float32Array(cells);
  for (let head = 0; head < heads; head++) {
    const offset = head * cells;
    for (let cell = 0; cell < cells; cell++) mean[cell] += weights.data[offset + cell];
  }
  for (let cell = 0; cell < cells; cell++) mean[cell] /= heads;
  return mean;
}

/**
 * Lets the page paint, then resumes: after the next animation frame, or after 50 ms when the page
 * gets no frames (a hidden panel), so a run never waits on a frame that does not come.
 */
export function afterPaint(): Promise<void> {
  return new Promise((resolve) => {
    const fallback = setTimeout(resolve, 50);
    requestAnimationFrame(() =>
      setTimeout(() => {
        clearTimeout(fallback);
        resolve();
      }, 0),
    );
  });
}

export class LayerPreview {
  /** What is on screen; null outside a run. */
  frame = $state.raw<PreviewFrame | null>(null);
  private latest: { layer: number; weights: Tensor } | undefined;
  private requestId = -1;
  private lastPaint = -Infinity;

  /** A new run: nothing shown until its first layer is done. */
  start(requestId: number): void {
    this.requestId = requestId;
    this.frame = null;
    this.latest = undefined;
    this.lastPaint = -Infinity;
  }

  /** A layer's maps (1, nh, T, S), as the run hands them over. */
  observe(layer: number, weights: Tensor): void {
    this.latest = { layer, weights };
  }

  /** After each layer: shows the latest one when due and waits for the page to paint it. */
  async layerDone(layers: number): Promise<void> {
    const latest = this.latest;
    if (!latest || performance.now() - this.lastPaint < PAINT_INTERVAL_MS) return;
    const [, heads, queries, keys] = latest.weights.shape;
    this.frame = { requestId: this.requestId, layer: latest.layer, layers, heads, map: meanOverHeads(latest.weights), queries, keys };
    await afterPaint();
    this.lastPaint = performance.now();
  }

  /** Run `requestId` ended (shown, failed or superseded): its layers leave the screen (a newer run's stay). */
  clear(requestId: number): void {
    if (requestId !== this.requestId) return;
    this.frame = null;
    this.latest = undefined;
  }
}
