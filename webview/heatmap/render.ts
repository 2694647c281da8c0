/**
 * Drawing a heatmap is a pure function: one pixel per cell, written into the bytes of an `ImageData`
 * (RGBA, row-major, 4 bytes a pixel). The canvas is `cols` x `rows` pixels; CSS scales it up to the
 * cell size with `image-rendering: pixelated`, so cells stay crisp squares.
 *
 *   weights   row-major, rows x cols: weights[row * cols + col] is how much query `row` attends to
 *             key `col`; NaN marks a masked cell (see `maskFutureKeys`), drawn transparent
 *   scale     linear / sqrt / log (./color-scale)
 *   target    rows * cols * 4 bytes, e.g. `context.createImageData(cols, rows).data`
 */

import type { ColorScale } from "../../src/protocol";
import { COLOR_TABLE, colorIndex, MASKED_RGBA } from "./color-map";
import { scaleWeight } from "./color-scale";

/** Writes the colours of `weights` into `target`. Throws when the sizes disagree. */
export function renderHeatmapIntoImageData(
  weights: ArrayLike<number>,
  rows: number,
  cols: number,
  scale: ColorScale,
  target: Uint8ClampedArray,
): void {
  if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows < 0 || cols < 0) {
    throw new Error(`renderHeatmapIntoImageData: rows (${rows}) and cols (${cols}) must be integers >= 0`);
  }
  if (weights.length !== rows * cols) {
    throw new Error(`renderHeatmapIntoImageData: ${weights.length} weights for a ${rows} x ${cols} map; expected ${rows * cols}`);
  }
  if (target.length !== rows * cols * 4) {
    throw new Error(
      `renderHeatmapIntoImageData: the target holds ${target.length} bytes; a ${cols} x ${rows} image needs ${rows * cols * 4}`,
    );
  }
  for (let cell = 0; cell < rows * cols; cell++) {
    const t = scaleWeight(weights[cell], scale);
    const offset = cell * 4;
    if (Number.isNaN(t)) {
      target[offset] = MASKED_RGBA[0];
      target[offset + 1] = MASKED_RGBA[1];
      target[offset + 2] = MASKED_RGBA[2];
      target[offset + 3] = MASKED_RGBA[3];
      continue;
    }
    const entry = colorIndex(t) * 4;
    target[offset] = COLOR_TABLE[entry];
    target[offset + 1] = COLOR_TABLE[entry + 1];
    target[offset + 2] = COLOR_TABLE[entry + 2];
    target[offset + 3] = 255;
  }
}

/**
 * A copy of `weights` (rows x cols, the last `rows` of `cols` key slots are the queries' own) with
 * every cell the query cannot see set to NaN, so it is drawn transparent over the hatch: keys after
 * the query (the causal mask) and, with a sliding `window`, keys `window` or more slots back.
 */
export function maskFutureKeys(weights: ArrayLike<number>, rows: number, cols: number, window?: number | null): Float32Array {
  if (weights.length !== rows * cols) {
    throw new Error(`maskFutureKeys: ${weights.length} weights for a ${rows} x ${cols} map; expected ${rows * cols}`);
  }
  const past = cols - rows;
  const masked = Float32Array.from(weights);
  for (let row = 0; row < rows; row++) {
    const slot = row + past;
    for (let col = Math.max(0, slot + 1); col < cols; col++) masked[row * cols + col] = Number.NaN;
    if (window) for (let col = 0; col <= slot - window; col++) masked[row * cols + col] = Number.NaN;
  }
  return masked;
}

/** Whether a query at `querySlot` can see the key at `keySlot`: not later, and within the window. */
export function keyIsVisible(querySlot: number, keySlot: number, window?: number | null): boolean {
  if (keySlot > querySlot) return false;
  return !window || querySlot - keySlot < window;
}
