/**
 * Shrinking a long map for thumbnails: max-pooling in square blocks, so that a sharp, narrow pattern
 * (a previous-token diagonal, one sink column) survives instead of being averaged away.
 *
 * A (rows, cols) map with block size b becomes (ceil(rows / b), ceil(cols / b)); cell (i, j) holds
 * the largest weight of rows i*b .. i*b+b-1 and cols j*b .. j*b+b-1 (the last block may be smaller).
 * NaN (masked) cells are ignored; a block with only masked cells stays NaN.
 */

export interface PooledMap {
  data: Float32Array;
  rows: number;
  cols: number;
  /** Source cells per pooled cell along each side (1: unchanged). */
  block: number;
}

/** The smallest block size that fits `rows` x `cols` into `maxCells` per side. */
export function blockSizeFor(rows: number, cols: number, maxCells: number): number {
  if (!(maxCells >= 1)) throw new Error(`blockSizeFor: maxCells must be >= 1, got ${maxCells}`);
  return Math.max(1, Math.ceil(Math.max(rows, cols) / maxCells));
}

/** Max-pools `weights` (rows x cols) so that neither side exceeds `maxCells` (default 256). */
export function maxPoolDownsample(weights: ArrayLike<number>, rows: number, cols: number, maxCells = 256): PooledMap {
  if (weights.length !== rows * cols) {
    throw new Error(`maxPoolDownsample: ${weights.length} weights for a ${rows} x ${cols} map; expected ${rows * cols}`);
  }
  const block = blockSizeFor(rows, cols, maxCells);
  if (block === 1) return { data: Float32Array.from(weights), rows, cols, block };
  const pooledRows = Math.ceil(rows / block);
  const pooledCols = Math.ceil(cols / block);
  const data = new Float32Array(pooledRows * pooledCols).fill(Number.NaN);
  for (let row = 0; row < rows; row++) {
    const pooledRow = Math.floor(row / block);
    for (let col = 0; col < cols; col++) {
      const value = weights[row * cols + col];
      if (Number.isNaN(value)) continue;
      const index = pooledRow * pooledCols + Math.floor(col / block);
      if (!(data[index] >= value)) data[index] = value; // NaN (nothing yet) or smaller
    }
  }
  return { data, rows: pooledRows, cols: pooledCols, block };
}
