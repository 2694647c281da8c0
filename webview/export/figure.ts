/**
 * A picture of a view as the exports draw it: a list of shapes in CSS pixels, written once by the
 * view's figure builder (heatmap-figure.ts, overview-figure.ts, cache-figure.ts) and drawn twice,
 * as SVG text (svg-writer.ts) and onto a canvas at 2x for PNG (png-painter.ts), so that both files
 * show the same picture.
 *
 *   rect    a box (a border, a swatch, the hatch of masked keys, an outline)
 *   text    one line of text, centred vertically on y (rotate -90: reading upwards from x, y)
 *   line    a tick
 *   cells   a grid of rows x cols cells, one colour each, as RGBA bytes from the canvas's own
 *           renderers (heatmap/render.ts, compare/difference-colors.ts): the same colours as on
 *           screen. Alpha 0 marks a masked cell, drawn with the masked hatch
 *
 * Exports use a fixed light style (white paper, dark text), whatever the editor's theme: a figure
 * is meant for a document or a slide. Pure: no DOM.
 */

/** The fill that stands for the hatch of a masked (future or out-of-window) key. */
export const MASKED_FILL = "masked";

/** The export's colours. */
export const FIGURE_COLORS = {
  background: "#ffffff",
  text: "#1f1f1f",
  muted: "#5f5f5f",
  border: "#b8b8b8",
  /** The appended slots of the KV cache, the outline of a selection. */
  accent: "#0b62c4",
  /** The masked hatch: its ground and its stripes. */
  hatchGround: "#f2f2f2",
  hatchStripe: "#c4c4c4",
} as const;

/** Font stacks: token labels in a monospace font (as in the panel), the rest in a sans-serif one. */
export const FIGURE_FONTS = {
  mono: "Menlo, Consolas, 'DejaVu Sans Mono', 'Liberation Mono', monospace",
  sans: "'Segoe UI', 'Helvetica Neue', Arial, 'DejaVu Sans', sans-serif",
} as const;

export type FigureFont = keyof typeof FIGURE_FONTS;

/** What a shape is, for readers of the SVG (its `data-role`) and the tests: "title", "row-label", "heatmap", ... */
export type FigureRole = string;

export interface FigureRect {
  kind: "rect";
  x: number;
  y: number;
  width: number;
  height: number;
  /** A CSS colour, MASKED_FILL, or "none". */
  fill: string;
  stroke?: string;
  strokeWidth?: number;
  role?: FigureRole;
}

export interface FigureText {
  kind: "text";
  x: number;
  /** The vertical centre of the line. */
  y: number;
  text: string;
  /** Font size in CSS px. */
  size: number;
  font: FigureFont;
  anchor: "start" | "middle" | "end";
  fill: string;
  bold?: boolean;
  /** Degrees, about (x, y); -90 reads upwards. */
  rotate?: number;
  role?: FigureRole;
}

export interface FigureLine {
  kind: "line";
  x1: number;
  y1: number;
  x2: number;
  y2: number;
  stroke: string;
  strokeWidth: number;
  /** 0..1; absent: opaque. The lines view's lines are as opaque as their weight. */
  opacity?: number;
  role?: FigureRole;
}

export interface FigureCells {
  kind: "cells";
  /** Top-left corner of cell (0, 0). */
  x: number;
  y: number;
  cellWidth: number;
  cellHeight: number;
  rows: number;
  cols: number;
  /** rows x cols x 4 bytes, row-major: cell (r, c) at (r * cols + c) * 4; alpha 0 is a masked cell. */
  rgba: Uint8ClampedArray;
  role?: FigureRole;
  /** What the grid shows, for readers of the SVG ("layer 0, head 3"). */
  label?: string;
}

export type FigureItem = FigureRect | FigureText | FigureLine | FigureCells;

export interface Figure {
  /** Whole CSS pixels: the PNG is exactly twice as wide and high. */
  width: number;
  height: number;
  /** The SVG's <title>: what the picture shows. */
  title: string;
  items: FigureItem[];
}

/**
 * An estimate of a line's width in CSS px, for layout without a DOM: a monospace character is 0.6
 * of the font size, a sans-serif one about 0.52; a wide character (CJK, emoji) counts twice.
 */
export function textWidth(text: string, size: number, font: FigureFont): number {
  let units = 0;
  for (const character of text) units += /[\u1100-\u115f\u2e80-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\u{1f300}-\u{1faff}\u{20000}-\u{3fffd}]/u.test(character) ? 2 : 1;
  return units * size * (font === "mono" ? 0.6 : 0.52);
}

/** Shapes with their extent, as the builders put parts (a legend, a title) together. */
export interface FigurePart {
  items: FigureItem[];
  width: number;
  height: number;
}

/** A text item with the defaults of a figure: sans-serif, the text colour, anchored at its start. */
export function text(x: number, y: number, content: string, size: number, options: Partial<Omit<FigureText, "kind" | "x" | "y" | "text" | "size">> = {}): FigureText {
  return { kind: "text", x, y, text: content, size, font: "sans", anchor: "start", fill: FIGURE_COLORS.text, ...options };
}

/** The title line and the line of facts under it, from (x, y); their extent. */
export function titleBlock(x: number, y: number, title: string, facts: string): FigurePart {
  const items: FigureItem[] = [
    text(x, y + 9, title, 14, { bold: true, role: "title" }),
    text(x, y + 29, facts, 11, { fill: FIGURE_COLORS.muted, role: "facts" }),
  ];
  return { items, width: Math.max(textWidth(title, 14, "sans") * 1.08, textWidth(facts, 11, "sans")), height: 36 };
}
