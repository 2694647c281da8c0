/**
 * The heatmap's colours: viridis, a perceptually uniform sequential scale (dark purple for 0,
 * through blue and green, to yellow for 1) that reads in light, dark and high-contrast themes and
 * for the common kinds of colour blindness. With the diverging scale of signed numbers
 * (diverging-color-map.ts) it is one of the two hard-coded colour tables of the webview; everything
 * else takes its colours from the `--vscode-*` theme variables.
 *
 * `VIRIDIS_STOPS` is matplotlib's viridis (van der Walt, Smith and Firing; CC0) sampled at 33 evenly
 * spaced positions t = 0, 1/32, ..., 1. `COLOR_TABLE` linearly interpolates the stops into 256 RGBA
 * entries, so a renderer maps a position t in [0, 1] to colour entry round(t * 255).
 *
 * A masked cell (a key a query may not see: the upper triangle of a causal map) is drawn fully
 * transparent, so that whatever the canvas shows through (a theme-coloured hatch, see
 * components/HeatmapCanvas.svelte) marks it as distinct from a weight of 0.
 */

/** sRGB bytes of viridis at t = i / 32, for i = 0 .. 32. */
export const VIRIDIS_STOPS: readonly (readonly [number, number, number])[] = [
  [68, 1, 84], [71, 13, 96], [72, 24, 106], [72, 35, 116], [71, 45, 123], [69, 54, 129],
  [66, 64, 134], [63, 73, 137], [59, 82, 139], [55, 90, 141], [51, 99, 141], [47, 106, 142],
  [44, 114, 142], [41, 122, 142], [38, 129, 142], [35, 137, 142], [33, 144, 140], [31, 152, 139],
  [31, 159, 136], [33, 166, 133], [40, 174, 128], [49, 181, 123], [62, 188, 116], [76, 194, 108],
  [93, 201, 99], [110, 206, 88], [130, 211, 76], [150, 216, 63], [171, 220, 50], [192, 223, 36],
  [213, 226, 26], [234, 229, 26], [253, 231, 37],
];

/** Entries in `COLOR_TABLE`. */
export const COLOR_TABLE_SIZE = 256;

/** RGBA of a masked cell: transparent. */
export const MASKED_RGBA: readonly [number, number, number, number] = [0, 0, 0, 0];

/** The colour at position t of `stops` (evenly spaced over [0, 1]), interpolated linearly in sRGB. */
export function interpolateStops(
  stops: readonly (readonly [number, number, number])[],
  t: number,
): [number, number, number] {
  const clamped = Math.min(1, Math.max(0, Number.isNaN(t) ? 0 : t));
  const position = clamped * (stops.length - 1);
  const lower = Math.min(Math.floor(position), stops.length - 2);
  const fraction = position - lower;
  const [r0, g0, b0] = stops[lower];
  const [r1, g1, b1] = stops[lower + 1];
  return [
    Math.round(r0 + (r1 - r0) * fraction),
    Math.round(g0 + (g1 - g0) * fraction),
    Math.round(b0 + (b1 - b0) * fraction),
  ];
}

/** 256 RGBA entries (opaque): entry i is viridis at t = i / 255. */
export const COLOR_TABLE: Uint8ClampedArray = (() => {
  const table = new Uint8ClampedArray(COLOR_TABLE_SIZE * 4);
  for (let index = 0; index < COLOR_TABLE_SIZE; index++) {
    const [r, g, b] = interpolateStops(VIRIDIS_STOPS, index / (COLOR_TABLE_SIZE - 1));
    table.set([r, g, b, 255], index * 4);
  }
  return table;
})();

/** The table entry for a position t in [0, 1] (clamped; NaN counts as 0). */
export function colorIndex(t: number): number {
  if (!(t > 0)) return 0;
  if (t >= 1) return COLOR_TABLE_SIZE - 1;
  return Math.round(t * (COLOR_TABLE_SIZE - 1));
}

/** The opaque colour for a position t in [0, 1], as [r, g, b] bytes. */
export function colorAt(t: number): [number, number, number] {
  const offset = colorIndex(t) * 4;
  return [COLOR_TABLE[offset], COLOR_TABLE[offset + 1], COLOR_TABLE[offset + 2]];
}

/** A CSS colour string for position t, e.g. "rgb(68 1 84)" (for token shading and the legend). */
export function cssColorAt(t: number, alpha = 1): string {
  const [r, g, b] = colorAt(t);
  return alpha >= 1 ? `rgb(${r} ${g} ${b})` : `rgb(${r} ${g} ${b} / ${Math.max(0, alpha).toFixed(3)})`;
}
