/**
 * The colours of a map's cells in an export, computed exactly as the panel's canvas computes them
 * (components/HeatmapCanvas.svelte): the masked keys marked first (heatmap/render.ts
 * maskFutureKeys), then the weights' colour scale on viridis (renderHeatmapIntoImageData) or
 * compare mode's |A - B| on magma from 0 to the comparison's largest difference
 * (compare/difference-colors.ts renderDifferenceIntoImageData). Masked cells come out with alpha 0.
 */

import type { ColorScale } from "../../src/protocol";
import { renderDifferenceIntoImageData } from "../compare/difference-colors";
import { maskFutureKeys, renderHeatmapIntoImageData } from "../heatmap/render";

/** How values become colours: attention weights on a colour scale, or differences on 0 .. max. */
export type CellPaint = { kind: "weights"; scale: ColorScale } | { kind: "difference"; max: number };

/** Which cells are masked: the keys after each query (a causal map) and, with a window, the keys too far back. */
export interface CellMask {
  future: boolean;
  window?: number | null;
}

/** RGBA bytes (rows x cols x 4) of `values` (rows x cols, row-major). */
export function cellColors(values: ArrayLike<number>, rows: number, cols: number, paint: CellPaint, mask: CellMask = { future: true }): Uint8ClampedArray {
  const shown = mask.future ? maskFutureKeys(values, rows, cols, mask.window) : values;
  const rgba = new Uint8ClampedArray(rows * cols * 4);
  if (paint.kind === "weights") renderHeatmapIntoImageData(shown, rows, cols, paint.scale, rgba);
  else renderDifferenceIntoImageData(shown, rows, cols, paint.max, rgba);
  return rgba;
}
