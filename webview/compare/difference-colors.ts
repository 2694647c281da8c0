/**
 * The difference view's colours: |A - B| runs from 0 to the largest difference of the comparison on
 * its own sequential scale, so that a difference is never read as an attention weight (those are
 * viridis, heatmap/color-map.ts). The scale is matplotlib's magma (CC0), sampled at 17 stops: from
 * near-black for "no difference" through purple and orange to pale yellow for the largest.
 *
 * Drawing is a pure function like heatmap/render.ts: one pixel per cell into ImageData bytes; NaN
 * (a masked future key, see maskFutureKeys) is transparent so the hatch behind the canvas shows.
 */

import { interpolateStops } from "../heatmap/color-map";

/** sRGB bytes of magma at t = i / 16, i = 0 .. 16. */
export const MAGMA_STOPS: readonly (readonly [number, number, number])[] = [
  [0, 0, 4], [12, 8, 38], [31, 17, 81], [56, 15, 116], [79, 18, 123], [101, 26, 128], [124, 35, 130],
  [146, 41, 129], [169, 49, 126], [192, 58, 118], [213, 71, 106], [231, 90, 94], [243, 115, 88],
  [250, 143, 96], [253, 172, 115], [254, 201, 141], [252, 253, 191],
];

/** The position of `difference` on a scale from 0 to `max`, in [0, 1] (0 when max is 0). */
export function differencePosition(difference: number, max: number): number {
  if (!(max > 0)) return 0;
  return Math.min(1, Math.max(0, difference / max));
}

/** The colour of `difference` on the scale 0 .. `max`. */
export function differenceColor(difference: number, max: number): [number, number, number] {
  return interpolateStops(MAGMA_STOPS, differencePosition(difference, max));
}

/** "rgb(r, g, b)" of a position t in [0, 1], for the legend's gradient. */
export function cssDifferenceColorAt(t: number): string {
  const [r, g, b] = interpolateStops(MAGMA_STOPS, t);
  return `rgb(${r}, ${g}, ${b})`;
}

/** Writes the colours of a (rows, cols) difference map, scaled to 0 .. `max`, into RGBA bytes. */
export function renderDifferenceIntoImageData(differences: ArrayLike<number>, rows: number, cols: number, max: number, target: Uint8ClampedArray): void {
  if (differences.length !== rows * cols) {
    throw new Error(`renderDifferenceIntoImageData: ${differences.length} values for a ${rows} x ${cols} map; expected ${rows * cols}`);
  }
  if (target.length !== rows * cols * 4) {
    throw new Error(`renderDifferenceIntoImageData: the target holds ${target.length} bytes; a ${cols} x ${rows} image needs ${rows * cols * 4}`);
  }
  for (let cell = 0; cell < rows * cols; cell++) {
    const value = differences[cell];
    const offset = cell * 4;
    if (Number.isNaN(value)) {
      target.fill(0, offset, offset + 4);
      continue;
    }
    const [r, g, b] = differenceColor(value, max);
    target[offset] = r;
    target[offset + 1] = g;
    target[offset + 2] = b;
    target[offset + 3] = 255;
  }
}

/** Round values for the legend's ticks: 0, max/2, max. */
export function differenceTicks(max: number): { position: number; label: string }[] {
  const label = (value: number) => (value === 0 ? "0" : value >= 0.1 ? value.toFixed(2) : value.toPrecision(2));
  return [0, 0.5, 1].map((position) => ({ position, label: label(position * max) }));
}
