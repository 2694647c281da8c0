/**
 * One (T, T) map as a figure, laid out as the head view lays it out (attention/HeadView.svelte):
 * the title (model, layer, head) and a line of facts, the query tokens down the left and the key
 * tokens along the top (reading upwards), one cell per (query, key) entry, the colour legend under
 * it. The head view's export and compare mode's |A − B| use it.
 *
 *          key →   ┆ ┆ ┆ ┆         column labels: every `stride`-th key, as on screen
 *        query ↓  ┌───────┐
 *          <|bos|>│■      │        row labels: every `stride`-th query
 *              def│■ ■    │        cells: cell-colors.ts (the canvas's colours), masked keys hatched
 *             ·add│■ ■ ■  │
 *                 └───────┘
 *          weight ▕▔▔▔▔▔▔▔▔▏ masked (future keys)  colour scale: linear
 */

import { cellSizeForWidth, labelStride, visibleLabelIndices } from "../heatmap/layout";
import { tokenLabel, type LabelledToken } from "../heatmap/token-labels";
import { cellColors, type CellMask, type CellPaint } from "./cell-colors";
import { FIGURE_COLORS, text, textWidth, titleBlock, type Figure, type FigureItem } from "./figure";
import { differenceLegend, weightsLegend } from "./legend-figure";

export interface HeatmapFigureInput {
  /** "attention-lens-mha · layer 1 · head 3". */
  title: string;
  /** The line under it: K/V sharing, the token count, the scale. */
  facts: string;
  /** (T, T) row-major: values[query * T + key]. */
  values: Float32Array;
  /** The T tokens, labelling both axes. */
  tokens: readonly LabelledToken[];
  paint: CellPaint;
  mask: CellMask;
  /** Width the map may take, in CSS px (default 720, the head view's largest). */
  available?: number;
}

/** Page margin, label size and the spacing that keeps labels apart, in CSS px (LABEL_SPACING of the head view). */
const MARGIN = 16;
const LABEL_SIZE = 11;
const LABEL_SPACING = 13;

/** The widest of `labels` in the label font, clamped to [least, most]. */
function labelExtent(labels: readonly string[], least: number, most: number): number {
  const widest = labels.reduce((width, label) => Math.max(width, textWidth(label, LABEL_SIZE, "mono")), 0);
  return Math.min(most, Math.max(least, Math.ceil(widest)));
}

export function heatmapFigure(input: HeatmapFigureInput): Figure {
  const tokens = input.tokens.length;
  if (input.values.length !== tokens * tokens) {
    throw new Error(`heatmapFigure: ${input.values.length} values for ${tokens} tokens; a (T, T) map has ${tokens * tokens}`);
  }
  const cell = cellSizeForWidth(input.available ?? 720, tokens, { min: 1, max: 26 });
  const mapSize = cell * tokens;
  const shown = visibleLabelIndices(tokens, labelStride(cell, LABEL_SPACING));
  const labelCharacters = cell >= 10 ? 11 : 9;
  const labels = input.tokens.map((token) => tokenLabel(token, labelCharacters));
  const shownLabels = shown.map((index) => labels[index]);

  const header = titleBlock(MARGIN, MARGIN, input.title, input.facts);
  const gutter = labelExtent([...shownLabels, "query ↓"], 40, 86) + 10;
  const topAxis = labelExtent([...shownLabels, "key →"], 30, 80) + 8;
  const plotTop = MARGIN + header.height + 10;
  const mapX = MARGIN + gutter;
  const mapY = plotTop + topAxis;

  const items: FigureItem[] = [...header.items];
  items.push(text(mapX - 8, mapY - 20, "key →", 10, { anchor: "end", fill: FIGURE_COLORS.muted, role: "axis-caption" }));
  items.push(text(mapX - 8, mapY - 7, "query ↓", 10, { anchor: "end", fill: FIGURE_COLORS.muted, role: "axis-caption" }));
  items.push({
    kind: "cells",
    x: mapX,
    y: mapY,
    cellWidth: cell,
    cellHeight: cell,
    rows: tokens,
    cols: tokens,
    rgba: cellColors(input.values, tokens, tokens, input.paint, input.mask),
    role: "heatmap",
  });
  items.push({ kind: "rect", x: mapX, y: mapY, width: mapSize, height: mapSize, fill: "none", stroke: FIGURE_COLORS.border, strokeWidth: 0.5 });
  for (const index of shown) {
    const centre = index * cell + cell / 2;
    items.push(text(mapX + centre, mapY - 4, labels[index], LABEL_SIZE, { font: "mono", rotate: -90, role: "col-label" }));
    items.push(text(mapX - 6, mapY + centre, labels[index], LABEL_SIZE, { font: "mono", anchor: "end", role: "row-label" }));
  }

  const legendY = mapY + mapSize + 18;
  const legend = input.paint.kind === "weights" ? weightsLegend(MARGIN, legendY, input.paint.scale, { masked: input.mask.future }) : differenceLegend(MARGIN, legendY, input.paint.max);
  items.push(...legend.items);

  return {
    width: Math.ceil(MARGIN + Math.max(gutter + mapSize, legend.width, header.width) + MARGIN),
    height: Math.ceil(legendY + legend.height + MARGIN),
    title: `${input.title} — ${input.facts}`,
    items,
  };
}
