/**
 * The colour legends of the exports, drawn as the panel draws them: a ramp of 128 cells coloured by
 * the same renderer as the maps, its round values ticked under it, and what the hatch means.
 *
 *   weightsLegend      viridis on the weights' colour scale (components/ColorLegend.svelte), the
 *                      masked swatch, the scale's name
 *   differenceLegend   |A - B| on magma from 0 to the largest difference (compare/DifferenceLegend.svelte)
 *   signedLegend       the KV cache's keys and values: -max|v| .. 0 .. +max|v| (decode/CacheView.svelte)
 */

import type { ColorScale } from "../../src/protocol";
import { differenceTicks } from "../compare/difference-colors";
import { legendTicks, weightAtPosition } from "../heatmap/color-scale";
import { cellColors, type CellPaint } from "./cell-colors";
import { FIGURE_COLORS, MASKED_FILL, text, textWidth, type FigureItem, type FigurePart } from "./figure";

/** Cells of the ramp, as in the panel's legend. */
export const LEGEND_STEPS = 128;
const RAMP_WIDTH = 180;
const RAMP_HEIGHT = 10;

interface Tick {
  position: number;
  label: string;
}

/** A ramp of LEGEND_STEPS cells with `values` painted by `paint`, ticks under it; from (x, y). */
function ramp(x: number, y: number, values: Float32Array, paint: CellPaint, ticks: readonly Tick[]): FigurePart {
  const items: FigureItem[] = [
    {
      kind: "cells",
      x,
      y,
      cellWidth: RAMP_WIDTH / values.length,
      cellHeight: RAMP_HEIGHT,
      rows: 1,
      cols: values.length,
      rgba: cellColors(values, 1, values.length, paint, { future: false }),
      role: "legend-ramp",
    },
    { kind: "rect", x, y, width: RAMP_WIDTH, height: RAMP_HEIGHT, fill: "none", stroke: FIGURE_COLORS.border, strokeWidth: 1 },
  ];
  ticks.forEach((tick, index) => {
    const tickX = x + tick.position * RAMP_WIDTH;
    items.push({ kind: "line", x1: tickX, y1: y + RAMP_HEIGHT, x2: tickX, y2: y + RAMP_HEIGHT + 3, stroke: FIGURE_COLORS.muted, strokeWidth: 1 });
    const anchor = index === 0 ? "start" : index === ticks.length - 1 ? "end" : "middle";
    items.push(text(tickX, y + RAMP_HEIGHT + 11, tick.label, 10, { anchor, fill: FIGURE_COLORS.muted, role: "legend-tick" }));
  });
  return { items, width: RAMP_WIDTH, height: RAMP_HEIGHT + 17 };
}

/** A caption before a ramp ("weight", "|A − B|"); its width. */
function caption(x: number, y: number, label: string, items: FigureItem[]): number {
  items.push(text(x, y + RAMP_HEIGHT / 2, label, 11, { fill: FIGURE_COLORS.muted, role: "legend-caption" }));
  return textWidth(label, 11, "sans") + 8;
}

/** The weights' legend: "weight", the ramp on `scale`, the masked swatch and the scale's name. */
export function weightsLegend(x: number, y: number, scale: ColorScale, options: { masked?: boolean } = {}): FigurePart {
  const items: FigureItem[] = [];
  const rampX = x + caption(x, y, "weight", items);
  const values = Float32Array.from({ length: LEGEND_STEPS }, (_, index) => weightAtPosition(index / (LEGEND_STEPS - 1), scale));
  const part = ramp(rampX, y, values, { kind: "weights", scale }, legendTicks(scale));
  items.push(...part.items);
  let right = rampX + part.width + 18;
  if (options.masked ?? true) {
    items.push({ kind: "rect", x: right, y: y - 1, width: 12, height: 12, fill: MASKED_FILL, stroke: FIGURE_COLORS.border, strokeWidth: 1, role: "legend-masked" });
    const label = "masked (future keys)";
    items.push(text(right + 17, y + 5, label, 11, { fill: FIGURE_COLORS.muted }));
    right += 17 + textWidth(label, 11, "sans") + 18;
  }
  const scaleLabel = `colour scale: ${scale}`;
  items.push(text(right, y + 5, scaleLabel, 11, { fill: FIGURE_COLORS.muted, role: "legend-scale" }));
  right += textWidth(scaleLabel, 11, "sans");
  return { items, width: right - x, height: part.height };
}

/** Compare mode's |A − B| legend: magma from 0 to `max`. */
export function differenceLegend(x: number, y: number, max: number): FigurePart {
  const items: FigureItem[] = [];
  const rampX = x + caption(x, y, "|A − B|", items);
  const values = Float32Array.from({ length: LEGEND_STEPS }, (_, index) => (index / (LEGEND_STEPS - 1)) * max);
  const part = ramp(rampX, y, values, { kind: "difference", max }, differenceTicks(max));
  items.push(...part.items);
  return { items, width: rampX - x + part.width, height: part.height };
}

/** The KV cache's legend: each map from −max|v| (t = 0) through 0 (t = 0.5) to +max|v| (t = 1), viridis. */
export function signedLegend(x: number, y: number): FigurePart {
  const items: FigureItem[] = [];
  const rampX = x + caption(x, y, "value", items);
  const values = Float32Array.from({ length: LEGEND_STEPS }, (_, index) => index / (LEGEND_STEPS - 1));
  const ticks = [
    { position: 0, label: "−max|v|" },
    { position: 0.5, label: "0" },
    { position: 1, label: "+max|v|" },
  ];
  const part = ramp(rampX, y, values, { kind: "weights", scale: "linear" }, ticks);
  items.push(...part.items);
  return { items, width: rampX - x + part.width, height: part.height };
}
