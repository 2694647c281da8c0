/**
 * How an attention weight w (a probability, 0 <= w <= 1) becomes a position t in [0, 1] on a colour
 * scale, the same in the panel's heatmaps (webview/heatmap/) and the editor's highlights
 * (src/extension/weight-buckets.ts), so that a colour means the same in both. The domain is always
 * [0, 1], never "the largest weight on screen", so that colours mean the same in every head, layer
 * and thumbnail.
 *
 *   linear   t = w
 *   sqrt     t = sqrt(w): stretches the small weights; 0.25 lands half-way
 *   log      t = (log10(w) - log10(LOG_FLOOR)) / -log10(LOG_FLOOR), i.e. 1e-4 -> 0, 1e-2 -> 0.5,
 *            1 -> 1; weights at or below LOG_FLOOR, 0 included, give t = 0 (log 0 is -Infinity)
 *
 * Every scale maps 0 to 0 and 1 to 1, clamps weights outside [0, 1] (rounding can give 1.0000001 or
 * -1e-9) and maps NaN to NaN: NaN marks a masked cell, which the renderer draws transparent.
 *
 * Pure: no `vscode`, no DOM; imported by the extension host and the webview alike.
 */

import type { ColorScale } from "./protocol";

export const COLOR_SCALES: readonly ColorScale[] = ["linear", "sqrt", "log"];

/** The smallest weight the log scale tells apart from 0. */
export const LOG_FLOOR = 1e-4;

const LOG_DECADES = -Math.log10(LOG_FLOOR);

/** Position on the colour map, in [0, 1], of weight `w`; NaN stays NaN (masked). */
export function scaleWeight(w: number, scale: ColorScale): number {
  if (Number.isNaN(w)) return Number.NaN;
  const clamped = w <= 0 ? 0 : w >= 1 ? 1 : w;
  switch (scale) {
    case "linear":
      return clamped;
    case "sqrt":
      return Math.sqrt(clamped);
    case "log":
      return clamped <= LOG_FLOOR ? 0 : (Math.log10(clamped) + LOG_DECADES) / LOG_DECADES;
    default:
      throw new Error(`unknown colour scale "${String(scale)}"; use one of ${COLOR_SCALES.join(", ")}`);
  }
}

/** The weight at position t of the scale: the inverse of `scaleWeight` (log: t = 0 gives LOG_FLOOR). */
export function weightAtPosition(t: number, scale: ColorScale): number {
  const clamped = Math.min(1, Math.max(0, t));
  switch (scale) {
    case "linear":
      return clamped;
    case "sqrt":
      return clamped * clamped;
    case "log":
      return clamped >= 1 ? 1 : LOG_FLOOR * 10 ** (clamped * LOG_DECADES);
    default:
      throw new Error(`unknown colour scale "${String(scale)}"; use one of ${COLOR_SCALES.join(", ")}`);
  }
}
