/**
 * Layout arithmetic of the heatmaps, in CSS pixels: how large a cell is, which token labels fit, and
 * which cell is under the mouse. No DOM: the components measure, these functions decide.
 */

export interface CellSizeLimits {
  /** Below this a cell is too small to hover; the heatmap scrolls instead. Default 2. */
  min?: number;
  /** Above this a few tokens would fill the screen. Default 28. */
  max?: number;
}

/**
 * The side of one cell when `cells` cells share `available` pixels, clamped to [min, max]. Sizes of
 * 4 px and more are rounded down to whole pixels, so pixelated scaling gives every cell the same
 * size; smaller ones stay fractional (a whole-pixel rule would waste up to half the width).
 */
export function cellSizeForWidth(available: number, cells: number, limits: CellSizeLimits = {}): number {
  const min = limits.min ?? 2;
  const max = limits.max ?? 28;
  if (cells <= 0 || !(available > 0)) return min;
  const size = Math.min(max, Math.max(min, available / cells));
  return size >= 4 ? Math.floor(size) : size;
}

/** Show every `stride`-th label so that labels at least `labelSpacing` px apart never overlap. */
export function labelStride(cellSize: number, labelSpacing: number): number {
  if (!(cellSize > 0)) throw new Error(`labelStride: cellSize must be > 0, got ${cellSize}`);
  return Math.max(1, Math.ceil(labelSpacing / cellSize - 1e-9));
}

/**
 * Which of `count` labels to draw: every `stride`-th (0, stride, 2 stride, ...), plus the indices in
 * `always` (the focused token, the hovered one). A regular label that would crowd an `always` label
 * (closer than `stride` cells) is dropped. Sorted, no duplicates.
 */
export function visibleLabelIndices(count: number, stride: number, always: readonly (number | null | undefined)[] = []): number[] {
  const pinned = always.filter((index): index is number => index !== null && index !== undefined && index >= 0 && index < count);
  const shown = new Set<number>(pinned);
  for (let index = 0; index < count; index += stride) {
    if (stride > 1 && pinned.some((pin) => pin !== index && Math.abs(pin - index) < stride)) continue;
    shown.add(index);
  }
  return [...shown].sort((a, b) => a - b);
}

export interface Cell {
  row: number;
  col: number;
}

/**
 * The cell under (x, y), measured in CSS px from the heatmap's top-left corner, for cells of
 * `cellSize` px; null outside the map. A point on a boundary belongs to the cell right/below it.
 */
export function hitTestCell(x: number, y: number, cellSize: number, rows: number, cols: number): Cell | null {
  if (!(cellSize > 0) || !(x >= 0) || !(y >= 0)) return null;
  const col = Math.floor(x / cellSize);
  const row = Math.floor(y / cellSize);
  if (row >= rows || col >= cols) return null;
  return { row, col };
}
