/**
 * The lines view as a figure (attention/LinesView.svelte): the title and facts, a swatch per head
 * drawn, then the tokens twice, queries on the left and keys on the right, and one line per
 * (head, query, key) the view draws, as opaque as on screen (attention/attention-lines.ts decides
 * which and how opaque: the same plan as the canvas).
 *
 *   ■ H0  ■ H3                       swatches: the heads drawn, in their colours
 *        <|bos|> ─────────── <|bos|>
 *            The ─────╲───── The     a line query → key, opacity = weight / strongest drawn
 *           ·cat ──────╲──── ·cat
 *
 * Shape legend: T tokens.
 */

import { headColor, type LinesPlan } from "../attention/attention-lines";
import { tokenLabel, type LabelledToken } from "../heatmap/token-labels";
import { FIGURE_COLORS, text, textWidth, titleBlock, type Figure, type FigureItem } from "./figure";

export interface LinesFigureInput {
  title: string;
  facts: string;
  tokens: readonly LabelledToken[];
  /** The heads drawn, in the order of their swatches. */
  heads: readonly number[];
  plan: LinesPlan;
  /** A locked query, drawn bold; null: none. */
  focus: number | null;
  /** Width between the two columns of labels, in CSS px (default 360). */
  span?: number;
}

const MARGIN = 16;
const LABEL_SIZE = 11;

export function linesFigure(input: LinesFigureInput): Figure {
  const count = input.tokens.length;
  const rowHeight = count <= 160 ? 16 : Math.max(5, 2560 / count);
  const labelEvery = Math.max(1, Math.ceil(13 / rowHeight));
  const labels = input.tokens.map((token) => tokenLabel(token, 14));
  const labelWidth = Math.ceil(Math.min(140, Math.max(40, ...labels.map((label) => textWidth(label, LABEL_SIZE, "mono")))));
  const span = input.span ?? 360;

  const header = titleBlock(MARGIN, MARGIN, input.title, input.facts);
  const items: FigureItem[] = [...header.items];
  let y = MARGIN + header.height + 10;

  // The heads drawn, each a swatch and its name.
  let x = MARGIN;
  for (const head of input.heads) {
    items.push({ kind: "rect", x, y, width: 10, height: 10, fill: headColor(head), role: "head-swatch" });
    items.push(text(x + 14, y + 5, `H${head}`, 11, { role: "head-swatch-label" }));
    x += 14 + textWidth(`H${head}`, 11, "sans") + 12;
  }
  y += 22;

  const left = MARGIN + labelWidth + 6;
  const right = left + span;
  const rowY = (row: number) => y + row * rowHeight + rowHeight / 2;
  for (const bucket of input.plan.buckets) {
    for (let index = 0; index < bucket.from.length; index++) {
      items.push({
        kind: "line",
        x1: left,
        y1: rowY(bucket.from[index]),
        x2: right,
        y2: rowY(bucket.to[index]),
        stroke: headColor(bucket.head),
        strokeWidth: count > 160 ? 1 : 1.5,
        opacity: bucket.opacity,
        role: "attention-line",
      });
    }
  }
  for (let row = 0; row < count; row++) {
    if (row !== input.focus && row % labelEvery !== 0) continue;
    const bold = row === input.focus;
    items.push(text(left - 6, rowY(row), labels[row], LABEL_SIZE, { font: "mono", anchor: "end", bold, role: "query-label" }));
    items.push(text(right + 6, rowY(row), labels[row], LABEL_SIZE, { font: "mono", anchor: "start", role: "key-label" }));
  }
  items.push(text(left, y - 8, "query", 10, { fill: FIGURE_COLORS.muted, anchor: "end", role: "axis" }));
  items.push(text(right, y - 8, "key", 10, { fill: FIGURE_COLORS.muted, role: "axis" }));

  const width = Math.ceil(Math.max(MARGIN + header.width, right + 6 + labelWidth) + MARGIN);
  const height = Math.ceil(y + count * rowHeight + MARGIN);
  return { width, height, title: input.title, items };
}
