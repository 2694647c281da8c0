/**
 * Every head of every layer as a figure, laid out as the overview lays it out
 * (attention/LayerHeadOverview.svelte, compare/DifferenceOverview.svelte): one row per layer, one
 * small map per query head, grouped under the K/V head they share, and the layer's mean last.
 *
 *                K/V 0          K/V 1
 *             H0  H1  H2  H3  H4  H5  H6  H7   mean
 *        L0   ▣   ▣   ▣   ▣   ▣   ▣   ▣   ▣     ▣
 *        L1   ▣   ▣   ▣   ▣   ▣   ▣   ▣   ▣     ▣
 *
 * Like the panel's thumbnails, a long map is max-pooled (heatmap/downsample.ts) so that a thin
 * diagonal survives; a map of at most `maxCells` tokens keeps one cell per entry. `maxCells` also
 * keeps the SVG of a large model within a few tens of megabytes.
 */

import { maxPoolDownsample } from "../heatmap/downsample";
import { maskFutureKeys } from "../heatmap/render";
import { cellColors, type CellPaint } from "./cell-colors";
import { FIGURE_COLORS, text, textWidth, titleBlock, type Figure, type FigureItem } from "./figure";
import { differenceLegend, weightsLegend } from "./legend-figure";

export interface OverviewFigureInput {
  title: string;
  facts: string;
  layers: number;
  heads: number;
  keyValueHeads: number;
  tokens: number;
  /** The (T, T) map of a head, or of the layer's mean ("mean"). */
  mapOf: (layer: number, head: number | "mean") => Float32Array;
  paint: CellPaint;
  /** A layer's sliding window (null: every earlier key is visible). */
  windowOf?: (layer: number) => number | null;
  /** Side of a small map in CSS px (default 48). */
  thumb?: number;
}

const MARGIN = 16;
const GAP = 4;
/** Extra space between K/V groups, and before the mean. */
const GROUP_GAP = 8;
/** Cells of every small map together, at most: the SVG stays a few tens of megabytes. */
const CELL_BUDGET = 600_000;

/** Cells per side of a small map: one per token when they fit, else pooled to about twice the CSS size (the PNG's pixels). */
export function overviewCellsPerSide(tokens: number, thumb: number, maps: number): number {
  return Math.max(1, Math.min(tokens, 2 * thumb, Math.floor(Math.sqrt(CELL_BUDGET / Math.max(1, maps)))));
}

export function overviewFigure(input: OverviewFigureInput): Figure {
  const { layers, heads, keyValueHeads, tokens, paint } = input;
  if (!(keyValueHeads >= 1) || heads % keyValueHeads !== 0) throw new Error(`overviewFigure: ${heads} query heads cannot share ${keyValueHeads} K/V heads evenly`);
  const thumb = input.thumb ?? 48;
  const groupSize = heads / keyValueHeads;
  const grouped = keyValueHeads < heads;
  const maxCells = overviewCellsPerSide(tokens, thumb, layers * (heads + 1));

  const header = titleBlock(MARGIN, MARGIN, input.title, input.facts);
  const rowLabelWidth = Math.ceil(textWidth(`L${layers - 1}`, 11, "sans")) + 10;
  const gridX = MARGIN + rowLabelWidth;
  const columnX = (column: number | "mean") =>
    column === "mean" ? gridX + heads * (thumb + GAP) + (keyValueHeads - 1) * GROUP_GAP + GROUP_GAP : gridX + column * (thumb + GAP) + Math.floor(column / groupSize) * GROUP_GAP;
  const gridRight = columnX("mean") + thumb;

  const items: FigureItem[] = [...header.items];
  let y = MARGIN + header.height + 10;
  if (grouped) {
    for (let group = 0; group < keyValueHeads; group++) {
      const left = columnX(group * groupSize);
      const right = columnX((group + 1) * groupSize - 1) + thumb;
      items.push(text((left + right) / 2, y + 6, `K/V ${group}`, 10, { anchor: "middle", fill: FIGURE_COLORS.muted, role: "group-label" }));
      items.push({ kind: "line", x1: left, y1: y + 14, x2: right, y2: y + 14, stroke: FIGURE_COLORS.border, strokeWidth: 1 });
    }
    y += 18;
  }
  for (let head = 0; head < heads; head++) items.push(text(columnX(head) + thumb / 2, y + 6, `H${head}`, 10, { anchor: "middle", fill: FIGURE_COLORS.muted, role: "head-label" }));
  items.push(text(columnX("mean") + thumb / 2, y + 6, "mean", 10, { anchor: "middle", fill: FIGURE_COLORS.muted, role: "head-label" }));
  y += 16;

  for (let layer = 0; layer < layers; layer++) {
    const rowY = y + layer * (thumb + GAP);
    items.push(text(MARGIN, rowY + thumb / 2, `L${layer}`, 11, { fill: FIGURE_COLORS.muted, role: "layer-label" }));
    const window = input.windowOf?.(layer) ?? null;
    for (const head of [...Array.from({ length: heads }, (_, index) => index), "mean" as const]) {
      const masked = maskFutureKeys(input.mapOf(layer, head), tokens, tokens, window);
      const pooled = maxPoolDownsample(masked, tokens, tokens, maxCells);
      const x = columnX(head);
      items.push({
        kind: "cells",
        x,
        y: rowY,
        cellWidth: thumb / pooled.cols,
        cellHeight: thumb / pooled.rows,
        rows: pooled.rows,
        cols: pooled.cols,
        rgba: cellColors(pooled.data, pooled.rows, pooled.cols, paint, { future: false }),
        role: "thumbnail",
        label: head === "mean" ? `layer ${layer}, mean` : `layer ${layer}, head ${head}`,
      });
      items.push({ kind: "rect", x, y: rowY, width: thumb, height: thumb, fill: "none", stroke: FIGURE_COLORS.border, strokeWidth: 0.5 });
    }
  }

  const legendY = y + layers * (thumb + GAP) + 12;
  const legend = paint.kind === "weights" ? weightsLegend(MARGIN, legendY, paint.scale) : differenceLegend(MARGIN, legendY, paint.max);
  items.push(...legend.items);
  return {
    width: Math.ceil(Math.max(gridRight, MARGIN + legend.width, MARGIN + header.width) + MARGIN),
    height: Math.ceil(legendY + legend.height + MARGIN),
    title: `${input.title} — ${input.facts}`,
    items,
  };
}
