/**
 * Decode mode's KV cache of one layer as a figure, laid out as the cache view lays it out
 * (decode/CacheView.svelte): per key/value head, the query heads that read it, then its cached keys
 * K and values V side by side as (hs, S) maps (positions along x, the head's dimensions along y),
 * the slots the newest step appended outlined, and the legend of the signed scale.
 *
 *   K/V head 0 · read by query heads 0, 1, 2, 3
 *   K ±1.92                      V ±0.84
 *   ▤▤▤▤▤▤▤▤▤▤▤▤▤▤[▤]            ▤▤▤▤▤▤▤▤▤▤▤▤▤▤[▤]      [ ] appended by the newest step
 *
 * Keys and values are signed: each map runs from −max|v| (t = 0) through 0 (t = 0.5) to +max|v|
 * (t = 1) on viridis, max|v| over that head's map (decode/cache-maps.ts), as on screen.
 *
 * Shape legend: nkv key/value heads, S cached slots, hs head size.
 */

import type { Tensor } from "../../src/attention/tensor";
import type { SlotRange } from "../../src/runtime/decoding-session";
import { cacheHeadMap, queryHeadsOf, type CacheMap } from "../decode/cache-maps";
import { cellSizeForWidth } from "../heatmap/layout";
import { cellColors } from "./cell-colors";
import { FIGURE_COLORS, text, textWidth, titleBlock, type Figure, type FigureItem } from "./figure";
import { signedLegend } from "./legend-figure";

export interface CacheFigureInput {
  title: string;
  facts: string;
  /** The layer's cached keys and values, each (nkv, S, hs). */
  keys: Tensor;
  values: Tensor;
  /** Query heads nh (each K/V head is read by nh / nkv of them). */
  heads: number;
  /** The slots the newest step appended. */
  appended: SlotRange;
  /** Width one map may take, in CSS px (default 360). */
  available?: number;
}

const MARGIN = 16;
/** Height of one of the head's dimensions, in CSS px (the cache view's rowHeight). */
const ROW_HEIGHT = 3;
const PAIR_GAP = 28;

export function cacheFigure(input: CacheFigureInput): Figure {
  const [keyValueHeads, slots, headSize] = input.keys.shape;
  if (input.keys.rank !== 3 || input.values.rank !== 3 || input.values.shape.join() !== input.keys.shape.join()) {
    throw new Error(`cacheFigure: keys (${input.keys.shape.join(", ")}) and values (${input.values.shape.join(", ")}) must both be (nkv, S, hs)`);
  }
  const cell = cellSizeForWidth(input.available ?? 360, slots, { min: 1, max: 12 });
  const stripWidth = cell * slots;
  const stripHeight = headSize * ROW_HEIGHT;
  const header = titleBlock(MARGIN, MARGIN, input.title, input.facts);
  const items: FigureItem[] = [...header.items];
  let y = MARGIN + header.height + 12;
  let right = MARGIN + header.width;

  for (let head = 0; head < keyValueHeads; head++) {
    const queryHeads = queryHeadsOf(head, input.heads, keyValueHeads);
    const label = `K/V head ${head} · read by query head${queryHeads.length === 1 ? "" : "s"} ${queryHeads.join(", ")}`;
    items.push(text(MARGIN, y + 7, label, 12, { bold: true, role: "kv-head-label" }));
    right = Math.max(right, MARGIN + textWidth(label, 12, "sans") * 1.08);
    y += 20;
    const sides: [string, CacheMap][] = [
      ["K", cacheHeadMap(input.keys, head)],
      ["V", cacheHeadMap(input.values, head)],
    ];
    sides.forEach(([name, map], index) => {
      const x = MARGIN + index * (stripWidth + PAIR_GAP);
      items.push(text(x, y + 6, `${name} ±${map.maxAbs.toFixed(2)}`, 11, { fill: FIGURE_COLORS.muted, role: "strip-label" }));
      items.push({
        kind: "cells",
        x,
        y: y + 16,
        cellWidth: cell,
        cellHeight: ROW_HEIGHT,
        rows: map.rows,
        cols: map.cols,
        rgba: cellColors(map.data, map.rows, map.cols, { kind: "weights", scale: "linear" }, { future: false }),
        role: name === "K" ? "cache-keys" : "cache-values",
        label: `K/V head ${head}, cached ${name === "K" ? "keys" : "values"}: ${map.cols} positions × ${map.rows} dimensions`,
      });
      const markWidth = Math.max(3, (input.appended.end - input.appended.start) * cell);
      items.push({ kind: "rect", x: x + input.appended.start * cell, y: y + 14, width: markWidth, height: stripHeight + 4, fill: "none", stroke: FIGURE_COLORS.accent, strokeWidth: 2, role: "appended" });
      right = Math.max(right, x + stripWidth);
    });
    y += 16 + stripHeight + 16;
  }

  const axes = `x: cached positions 0…${slots - 1} (newest step outlined) · y: the ${headSize} dimensions of a head`;
  items.push(text(MARGIN, y + 5, axes, 10, { fill: FIGURE_COLORS.muted, role: "axis-caption" }));
  right = Math.max(right, MARGIN + textWidth(axes, 10, "sans"));
  const legend = signedLegend(MARGIN, y + 20);
  items.push(...legend.items);
  return {
    width: Math.ceil(Math.max(right, MARGIN + legend.width) + MARGIN),
    height: Math.ceil(y + 20 + legend.height + MARGIN),
    title: `${input.title} — ${input.facts}`,
    items,
  };
}
