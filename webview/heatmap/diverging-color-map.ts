/**
 * Colours for signed numbers (the features of q, k and q ∘ k in the stages view's query-key
 * section): a diverging scale, blue for negative, near-white for 0, red for positive, symmetric
 * about 0 so that a colour's lightness says how large a number is and its hue its sign. Weights (0
 * to 1) keep viridis (color-map.ts).
 *
 * `DIVERGING_STOPS` is ColorBrewer's RdBu with 11 classes (Cynthia Brewer, colorbrewer2.org, Apache
 * License 2.0), reversed so that t = 0 is dark blue and t = 1 dark red; it reads for the common kinds
 * of colour blindness. A value v maps to t = 1/2 + v / (2 limit), clamped, for a limit shared by the
 * strips compared side by side (the largest |v| among them).
 */

import { interpolateStops } from "./color-map";

/** sRGB bytes at t = i / 10, for i = 0 .. 10: RdBu reversed (blue, white, red). */
export const DIVERGING_STOPS: readonly (readonly [number, number, number])[] = [
  [5, 48, 97], [33, 102, 172], [67, 147, 195], [146, 197, 222], [209, 229, 240], [247, 247, 247],
  [253, 219, 199], [244, 165, 130], [214, 96, 77], [178, 24, 43], [103, 0, 31],
];

/** The largest |value| among the finite values, or 1 when there is none (or all are 0): the scale's limit. */
export function symmetricLimit(values: Iterable<number>): number {
  let limit = 0;
  for (const value of values) if (Number.isFinite(value)) limit = Math.max(limit, Math.abs(value));
  return limit > 0 ? limit : 1;
}

/** Position in [0, 1] of `value` on a scale from -limit (0) through 0 (1/2) to +limit (1). */
export function divergingPosition(value: number, limit: number): number {
  if (!Number.isFinite(value) || !(limit > 0)) return 0.5;
  return Math.min(1, Math.max(0, 0.5 + value / (2 * limit)));
}

/** The colour of `value` on the scale from -limit to +limit, as [r, g, b] bytes. */
export function divergingColorAt(value: number, limit: number): [number, number, number] {
  return interpolateStops(DIVERGING_STOPS, divergingPosition(value, limit));
}

/** The same as a CSS colour, e.g. "rgb(247 247 247)". */
export function cssDivergingColorAt(value: number, limit: number): string {
  const [r, g, b] = divergingColorAt(value, limit);
  return `rgb(${r} ${g} ${b})`;
}

/**
 * Writes the RGBA pixels of `values` (row-major, one pixel per value) on the scale from -limit to
 * +limit: a HeatmapCanvas `paint` for strips of signed numbers.
 */
export function paintDiverging(limit: number): (values: Float32Array, rows: number, cols: number, pixels: Uint8ClampedArray) => void {
  return (values, _rows, _cols, pixels) => {
    values.forEach((value, index) => {
      const [r, g, b] = divergingColorAt(value, limit);
      pixels.set([r, g, b, 255], index * 4);
    });
  };
}
