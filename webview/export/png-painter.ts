/**
 * A figure (figure.ts) drawn onto a canvas at `scale` device pixels per CSS pixel (2 for the PNG
 * export: sharp on a high-density screen and in print), then encoded as PNG by the browser.
 *
 * The same shapes as the SVG (svg-writer.ts): a grid of cells is put into an ImageData one pixel
 * per cell and scaled up without smoothing (as the panel's canvas is), over the masked hatch where
 * cells are transparent; texts use the same fonts, anchors and rotation.
 *
 * Browser only (canvas); the PNG's size is exactly figure.width x scale by figure.height x scale.
 */

import { FIGURE_COLORS, FIGURE_FONTS, MASKED_FILL, type Figure, type FigureCells, type FigureItem } from "./figure";

/** The device pixels per CSS pixel of an exported PNG. */
export const PNG_SCALE = 2;

/** The masked hatch as a canvas pattern: 6 CSS px tiles with a diagonal stripe, as the SVG's pattern. */
function hatchPattern(context: CanvasRenderingContext2D, scale: number): CanvasPattern | string {
  const tile = document.createElement("canvas");
  tile.width = tile.height = 6 * scale;
  const tileContext = tile.getContext("2d");
  if (!tileContext) return FIGURE_COLORS.hatchGround;
  tileContext.scale(scale, scale);
  tileContext.fillStyle = FIGURE_COLORS.hatchGround;
  tileContext.fillRect(0, 0, 6, 6);
  tileContext.strokeStyle = FIGURE_COLORS.hatchStripe;
  tileContext.lineWidth = 1;
  tileContext.beginPath();
  for (const [x1, y1, x2, y2] of [[-1, 1, 1, -1], [0, 6, 6, 0], [5, 7, 7, 5]]) {
    tileContext.moveTo(x1, y1);
    tileContext.lineTo(x2, y2);
  }
  tileContext.stroke();
  const pattern = context.createPattern(tile, "repeat");
  if (!pattern) return FIGURE_COLORS.hatchGround;
  pattern.setTransform(new DOMMatrix().scale(1 / scale)); // the tile is in device pixels; the context draws in CSS px
  return pattern;
}

function paintCells(context: CanvasRenderingContext2D, cells: FigureCells, hatch: CanvasPattern | string): void {
  const { x, y, cellWidth, cellHeight, rows, cols, rgba } = cells;
  if (rows === 0 || cols === 0) return;
  let masked = false;
  for (let offset = 3; offset < rgba.length; offset += 4) {
    if (rgba[offset] === 0) {
      masked = true;
      break;
    }
  }
  if (masked) {
    context.fillStyle = hatch;
    context.fillRect(x, y, cols * cellWidth, rows * cellHeight);
  }
  const bitmap = document.createElement("canvas");
  bitmap.width = cols;
  bitmap.height = rows;
  const bitmapContext = bitmap.getContext("2d");
  if (!bitmapContext) throw new Error("the browser gave no 2D canvas to draw the cells into");
  bitmapContext.putImageData(new ImageData(new Uint8ClampedArray(rgba), cols, rows), 0, 0);
  context.imageSmoothingEnabled = false;
  context.drawImage(bitmap, x, y, cols * cellWidth, rows * cellHeight);
}

function paintItem(context: CanvasRenderingContext2D, item: FigureItem, hatch: CanvasPattern | string): void {
  switch (item.kind) {
    case "rect":
      if (item.fill !== "none") {
        context.fillStyle = item.fill === MASKED_FILL ? hatch : item.fill;
        context.fillRect(item.x, item.y, item.width, item.height);
      }
      if (item.stroke) {
        context.strokeStyle = item.stroke;
        context.lineWidth = item.strokeWidth ?? 1;
        context.strokeRect(item.x, item.y, item.width, item.height);
      }
      break;
    case "line":
      context.strokeStyle = item.stroke;
      context.lineWidth = item.strokeWidth;
      context.globalAlpha = item.opacity ?? 1;
      context.beginPath();
      context.moveTo(item.x1, item.y1);
      context.lineTo(item.x2, item.y2);
      context.stroke();
      context.globalAlpha = 1;
      break;
    case "text":
      context.save();
      context.translate(item.x, item.y);
      if (item.rotate) context.rotate((item.rotate * Math.PI) / 180);
      context.font = `${item.bold ? "bold " : ""}${item.size}px ${FIGURE_FONTS[item.font]}`;
      context.fillStyle = item.fill;
      context.textAlign = item.anchor === "middle" ? "center" : item.anchor === "end" ? "right" : "left";
      context.textBaseline = "middle";
      context.fillText(item.text, 0, 0);
      context.restore();
      break;
    case "cells":
      paintCells(context, item, hatch);
      break;
    default: {
      const unknown: never = item;
      throw new Error(`png: unknown figure item ${JSON.stringify(unknown)}`);
    }
  }
}

/** A canvas of figure.width x scale by figure.height x scale device pixels with the figure drawn on it. */
export function figureToCanvas(figure: Figure, scale = PNG_SCALE): HTMLCanvasElement {
  const canvas = document.createElement("canvas");
  canvas.width = Math.round(figure.width * scale);
  canvas.height = Math.round(figure.height * scale);
  const context = canvas.getContext("2d");
  if (!context) throw new Error("the browser gave no 2D canvas to draw the picture on");
  context.scale(scale, scale);
  context.fillStyle = FIGURE_COLORS.background;
  context.fillRect(0, 0, figure.width, figure.height);
  const hatch = hatchPattern(context, scale);
  for (const item of figure.items) paintItem(context, item, hatch);
  return canvas;
}

/** The figure as a PNG blob (the clipboard takes a Blob). */
export function figureToPngBlob(figure: Figure, scale = PNG_SCALE): Promise<Blob> {
  const canvas = figureToCanvas(figure, scale);
  return new Promise((resolve, reject) => {
    canvas.toBlob((blob) => (blob ? resolve(blob) : reject(new Error(`the browser could not encode a ${canvas.width} x ${canvas.height} PNG (too large?)`))), "image/png");
  });
}

/** The figure as PNG bytes. */
export async function figureToPng(figure: Figure, scale = PNG_SCALE): Promise<Uint8Array> {
  return new Uint8Array(await (await figureToPngBlob(figure, scale)).arrayBuffer());
}
