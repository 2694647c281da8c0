/**
 * The head view's keyboard, as a pure function from (where we are, a key) to where we go.
 *
 *   ←  →  ↑  ↓            move the focused cell (query row, key column)
 *   Home / End            first key / the query's own key (the last one it may see)
 *   Shift+↑ / Shift+↓     previous / next layer
 *   [  ]  or  PageUp / PageDown  or  Shift+← / Shift+→     previous / next head ("mean" after the last)
 *   Enter or Space        lock the focused query row (again: unlock)
 *   Escape                unlock
 *
 * The column stays within the keys the query may see (0 .. row: a causal prefill), so the focused
 * cell is never a masked one.
 */

import type { HeadSelection } from "../../src/protocol";

export interface NavigationPosition {
  layer: number;
  head: number | "mean";
  row: number;
  col: number;
}

export interface NavigationBounds {
  layers: number;
  heads: number;
  tokens: number;
}

export interface NavigationResult {
  position: NavigationPosition;
  /** "toggle": lock the row, or unlock it if it is locked; "release": unlock. */
  lock?: "toggle" | "release";
}

export interface KeyModifiers {
  shift?: boolean;
}

/** The keys, for the help line in the UI. */
export const KEYBOARD_HELP: readonly { keys: string; action: string }[] = [
  { keys: "← → ↑ ↓", action: "move" },
  { keys: "Enter", action: "lock the query" },
  { keys: "Esc", action: "unlock" },
  { keys: "[ ] or PgUp PgDn", action: "head" },
  { keys: "Shift+↑ ↓", action: "layer" },
];

/** The heads in the order [ and ] step through: 0 .. nh-1, then the mean over heads. */
function stepHead(head: number | "mean", heads: number, step: -1 | 1): number | "mean" {
  const order = heads; // "mean" sits after the last head
  const index = head === "mean" ? order : head;
  const next = Math.min(order, Math.max(0, index + step));
  return next === order ? "mean" : next;
}

function clamp(value: number, low: number, high: number): number {
  return Math.min(high, Math.max(low, value));
}

/** Where `key` takes the focus, or null when the key means nothing here (let the page have it). */
export function navigate(
  from: NavigationPosition,
  key: string,
  modifiers: KeyModifiers,
  bounds: NavigationBounds,
): NavigationResult | null {
  const last = Math.max(0, bounds.tokens - 1);
  const at = (row: number, col: number): NavigationPosition => {
    const clampedRow = clamp(row, 0, last);
    return { ...from, row: clampedRow, col: clamp(col, 0, clampedRow) };
  };
  const withSelection = (selection: HeadSelection): NavigationPosition => ({ ...from, ...selection });

  if (modifiers.shift) {
    switch (key) {
      case "ArrowUp":
        return { position: withSelection({ layer: clamp(from.layer - 1, 0, bounds.layers - 1), head: from.head }) };
      case "ArrowDown":
        return { position: withSelection({ layer: clamp(from.layer + 1, 0, bounds.layers - 1), head: from.head }) };
      case "ArrowLeft":
        return { position: withSelection({ layer: from.layer, head: stepHead(from.head, bounds.heads, -1) }) };
      case "ArrowRight":
        return { position: withSelection({ layer: from.layer, head: stepHead(from.head, bounds.heads, 1) }) };
    }
  }
  switch (key) {
    case "ArrowUp":
      return { position: at(from.row - 1, from.col) };
    case "ArrowDown":
      return { position: at(from.row + 1, from.col) };
    case "ArrowLeft":
      return { position: at(from.row, from.col - 1) };
    case "ArrowRight":
      return { position: at(from.row, from.col + 1) };
    case "Home":
      return { position: at(from.row, 0) };
    case "End":
      return { position: at(from.row, from.row) };
    case "[":
    case "PageUp":
      return { position: withSelection({ layer: from.layer, head: stepHead(from.head, bounds.heads, -1) }) };
    case "]":
    case "PageDown":
      return { position: withSelection({ layer: from.layer, head: stepHead(from.head, bounds.heads, 1) }) };
    case "Enter":
    case " ":
      return { position: at(from.row, from.col), lock: "toggle" };
    case "Escape":
      return { position: from, lock: "release" };
    default:
      return null;
  }
}
