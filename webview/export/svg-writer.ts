/**
 * A figure (figure.ts) as an SVG document: vector shapes and real text, so that a paper or a slide
 * can scale it and search its token labels.
 *
 *   <svg width height viewBox>          the figure's size in CSS px
 *     <title>                           what it shows
 *     <defs><pattern id="lens-masked">  the hatch of masked keys
 *     <rect> background
 *     <g data-role="heatmap" data-rows data-cols>   one <rect> per cell, row by row (row-major),
 *                                                   fill "#rrggbb", or url(#lens-masked) when masked
 *     <text data-role="row-label">…     labels, titles, ticks
 *
 * Every shape with a role carries it as `data-role`, so a script (or a test) finds the cells of a
 * map and their labels without guessing from positions. Pure: no DOM.
 */

import { FIGURE_COLORS, FIGURE_FONTS, MASKED_FILL, type Figure, type FigureCells, type FigureItem } from "./figure";

const MASKED_PATTERN_ID = "lens-masked";

/** Two hex digits for every byte value. */
const HEX = Array.from({ length: 256 }, (_, value) => value.toString(16).padStart(2, "0"));

/** A coordinate with at most 3 decimals ("12", "1.406"). */
function number(value: number): string {
  return String(Math.round(value * 1000) / 1000);
}

/** Escapes text for an XML element or a double-quoted attribute (U+FFFD as a reference: readers take a raw one for a decoding error). */
export function escapeXml(value: string): string {
  return value.replace(/[&<>"'\ufffd]/g, (character) => `&#${character.charCodeAt(0)};`);
}

/** Characters XML 1.0 cannot hold at all (controls other than tab, newline, return; lone surrogates; U+FFFE, U+FFFF): shown as U+FFFD. */
function xmlSafe(value: string): string {
  let safe = "";
  for (const character of value) {
    const code = character.codePointAt(0) ?? 0;
    const forbidden = (code < 0x20 && code !== 0x09 && code !== 0x0a && code !== 0x0d) || (code >= 0xd800 && code <= 0xdfff) || code === 0xfffe || code === 0xffff;
    safe += forbidden ? "\ufffd" : character;
  }
  return safe;
}

function fillOf(fill: string): string {
  return fill === MASKED_FILL ? `url(#${MASKED_PATTERN_ID})` : fill;
}

function roleOf(role: string | undefined): string {
  return role ? ` data-role="${escapeXml(role)}"` : "";
}

/** One <rect> per cell, row-major, in a group that names the grid's size. */
function cellsSvg(cells: FigureCells, out: string[]): void {
  const { x, y, cellWidth, cellHeight, rows, cols, rgba } = cells;
  if (rgba.length !== rows * cols * 4) throw new Error(`cells: ${rgba.length} colour bytes for ${rows} x ${cols} cells; expected ${rows * cols * 4}`);
  const label = cells.label ? ` data-label="${escapeXml(xmlSafe(cells.label))}"` : "";
  out.push(`<g${roleOf(cells.role)}${label} data-rows="${rows}" data-cols="${cols}" shape-rendering="crispEdges">`);
  const width = number(cellWidth);
  const height = number(cellHeight);
  for (let row = 0; row < rows; row++) {
    const top = number(y + row * cellHeight);
    for (let col = 0; col < cols; col++) {
      const offset = (row * cols + col) * 4;
      const fill = rgba[offset + 3] === 0 ? `url(#${MASKED_PATTERN_ID})` : `#${HEX[rgba[offset]]}${HEX[rgba[offset + 1]]}${HEX[rgba[offset + 2]]}`;
      out.push(`<rect x="${number(x + col * cellWidth)}" y="${top}" width="${width}" height="${height}" fill="${fill}"/>`);
    }
  }
  out.push("</g>");
}

function itemSvg(item: FigureItem, out: string[]): void {
  switch (item.kind) {
    case "rect": {
      const stroke = item.stroke ? ` stroke="${item.stroke}" stroke-width="${number(item.strokeWidth ?? 1)}"` : "";
      out.push(`<rect${roleOf(item.role)} x="${number(item.x)}" y="${number(item.y)}" width="${number(item.width)}" height="${number(item.height)}" fill="${fillOf(item.fill)}"${stroke}/>`);
      break;
    }
    case "line":
      out.push(`<line${roleOf(item.role)} x1="${number(item.x1)}" y1="${number(item.y1)}" x2="${number(item.x2)}" y2="${number(item.y2)}" stroke="${item.stroke}" stroke-width="${number(item.strokeWidth)}"${item.opacity !== undefined ? ` stroke-opacity="${number(item.opacity)}"` : ""}/>`);
      break;
    case "text": {
      const rotate = item.rotate ? ` transform="rotate(${number(item.rotate)} ${number(item.x)} ${number(item.y)})"` : "";
      const font = item.font === "mono" ? ` font-family="${escapeXml(FIGURE_FONTS.mono)}"` : "";
      const weight = item.bold ? ` font-weight="bold"` : "";
      out.push(
        `<text${roleOf(item.role)} x="${number(item.x)}" y="${number(item.y)}" font-size="${number(item.size)}"${font}${weight} fill="${item.fill}" text-anchor="${item.anchor}" dominant-baseline="central" xml:space="preserve"${rotate}>${escapeXml(xmlSafe(item.text))}</text>`,
      );
      break;
    }
    case "cells":
      cellsSvg(item, out);
      break;
    default: {
      const unknown: never = item;
      throw new Error(`svg: unknown figure item ${JSON.stringify(unknown)}`);
    }
  }
}

/** The figure as a standalone SVG document (UTF-8 text). */
export function figureToSvg(figure: Figure): string {
  const out: string[] = [
    `<?xml version="1.0" encoding="UTF-8"?>`,
    `<svg xmlns="http://www.w3.org/2000/svg" width="${figure.width}" height="${figure.height}" viewBox="0 0 ${figure.width} ${figure.height}" font-family="${escapeXml(FIGURE_FONTS.sans)}">`,
    `<title>${escapeXml(xmlSafe(figure.title))}</title>`,
    `<defs><pattern id="${MASKED_PATTERN_ID}" width="6" height="6" patternUnits="userSpaceOnUse">` +
      `<rect width="6" height="6" fill="${FIGURE_COLORS.hatchGround}"/>` +
      `<path d="M-1 1L1 -1M0 6L6 0M5 7L7 5" stroke="${FIGURE_COLORS.hatchStripe}" stroke-width="1"/></pattern></defs>`,
    `<rect data-role="background" width="${figure.width}" height="${figure.height}" fill="${FIGURE_COLORS.background}"/>`,
  ];
  for (const item of figure.items) itemSvg(item, out);
  out.push("</svg>\n");
  return out.join("\n");
}
