/**
 * The tensor operations attention needs, each a plain loop over row-major data.
 *
 * Shape legend: "..." is any number of leading (batch) axes; m, k, n are matrix sizes.
 * Every operation checks the shapes it is given and names them in its error.
 */

import { formatShape, type Shape, ShapeError, sizeOfShape, stridesOfShape, Tensor } from "./tensor";

/**
 * Matrix product over the last two axes: (..., m, k) x (..., k, n) -> (..., m, n).
 * The leading axes must be equal, or `b` may be a plain matrix (k, n) shared by every batch entry.
 */
export function matmul(a: Tensor, b: Tensor): Tensor {
  if (a.rank < 2 || b.rank < 2) {
    throw new ShapeError(`matmul: both operands need rank >= 2, got ${formatShape(a.shape)} and ${formatShape(b.shape)}`);
  }
  const m = a.shape[a.rank - 2];
  const k = a.shape[a.rank - 1];
  const n = b.shape[b.rank - 1];
  if (b.shape[b.rank - 2] !== k) {
    throw new ShapeError(
      `matmul: cannot multiply ${formatShape(a.shape)} by ${formatShape(b.shape)}: inner dimensions ${k} and ${b.shape[b.rank - 2]} differ`,
    );
  }
  const batchShape = a.shape.slice(0, -2);
  const sharedB = b.rank === 2;
  if (!sharedB && formatShape(b.shape.slice(0, -2)) !== formatShape(batchShape)) {
    throw new ShapeError(
      `matmul: leading (batch) axes differ: ${formatShape(a.shape)} x ${formatShape(b.shape)}`,
    );
  }
  const batches = sizeOfShape(batchShape);
  const out = new Float32Array(batches * m * n);
  for (let batch = 0; batch < batches; batch++) {
    const aBase = batch * m * k;
    const bBase = sharedB ? 0 : batch * k * n;
    const outBase = batch * m * n;
    // i-p-j loop order walks both `b` and `out` along rows: the cache-friendly order.
    for (let i = 0; i < m; i++) {
      const outRow = outBase + i * n;
      for (let p = 0; p < k; p++) {
        const aValue = a.data[aBase + i * k + p];
        if (aValue === 0) continue;
        const bRow = bBase + p * n;
        for (let j = 0; j < n; j++) out[outRow + j] += aValue * b.data[bRow + j];
      }
    }
  }
  return new Tensor(out, [...batchShape, m, n]);
}

/**
 * A linear layer, with the weight stored as PyTorch and Hugging Face store it:
 * (out_features, in_features), and an optional bias (out_features).
 * (..., in) -> (..., out), i.e. x W^T + b.
 */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor): Tensor {
  if (weight.rank !== 2) {
    throw new ShapeError(`linear: weight must be (out_features, in_features), got ${formatShape(weight.shape)}`);
  }
  const [outFeatures, inFeatures] = weight.shape;
  if (x.shape[x.rank - 1] !== inFeatures) {
    throw new ShapeError(
      `linear: input ${formatShape(x.shape)} has ${x.shape[x.rank - 1]} features but the weight ${formatShape(weight.shape)} expects ${inFeatures}`,
    );
  }
  if (bias && (bias.rank !== 1 || bias.shape[0] !== outFeatures)) {
    throw new ShapeError(`linear: the bias must be (${outFeatures}) to match the weight ${formatShape(weight.shape)}, got ${formatShape(bias.shape)}`);
  }
  const rows = x.size / inFeatures;
  const out = new Float32Array(rows * outFeatures);
  for (let row = 0; row < rows; row++) {
    const xBase = row * inFeatures;
    for (let feature = 0; feature < outFeatures; feature++) {
      const wBase = feature * inFeatures;
      let sum = 0;
      for (let p = 0; p < inFeatures; p++) sum += x.data[xBase + p] * weight.data[wBase + p];
      out[row * outFeatures + feature] = bias ? sum + bias.data[feature] : sum;
    }
  }
  return new Tensor(out, [...x.shape.slice(0, -1), outFeatures]);
}

/** Reorders axes: `permute(x, [0, 2, 1, 3])` turns (B, T, nh, hs) into (B, nh, T, hs). */
export function permute(x: Tensor, axes: readonly number[]): Tensor {
  const sorted = [...axes].sort((p, q) => p - q);
  if (axes.length !== x.rank || sorted.some((axis, position) => axis !== position)) {
    throw new ShapeError(`permute: [${axes.join(", ")}] is not a reordering of the axes of ${formatShape(x.shape)}`);
  }
  const outShape = axes.map((axis) => x.shape[axis]);
  const inStrides = stridesOfShape(x.shape);
  const strideAlongOut = axes.map((axis) => inStrides[axis]);
  const out = new Float32Array(x.size);
  const index = new Array<number>(x.rank).fill(0);
  let inOffset = 0;
  for (let flat = 0; flat < out.length; flat++) {
    out[flat] = x.data[inOffset];
    for (let axis = x.rank - 1; axis >= 0; axis--) {
      index[axis]++;
      inOffset += strideAlongOut[axis];
      if (index[axis] < outShape[axis]) break;
      inOffset -= strideAlongOut[axis] * outShape[axis];
      index[axis] = 0;
    }
  }
  return new Tensor(out, outShape);
}

/** Swaps the last two axes: (..., m, n) -> (..., n, m). */
export function transposeLastTwo(x: Tensor): Tensor {
  if (x.rank < 2) throw new ShapeError(`transposeLastTwo: needs rank >= 2, got ${formatShape(x.shape)}`);
  const axes = x.shape.map((_, axis) => axis);
  axes[x.rank - 2] = x.rank - 1;
  axes[x.rank - 1] = x.rank - 2;
  return permute(x, axes);
}

/** The shape two shapes broadcast to, NumPy style (align on the right; 1 stretches). */
export function broadcastShapes(a: Shape, b: Shape, where: string): number[] {
  const rank = Math.max(a.length, b.length);
  const out = new Array<number>(rank);
  for (let axis = 0; axis < rank; axis++) {
    const aDimension = a[a.length - rank + axis] ?? 1;
    const bDimension = b[b.length - rank + axis] ?? 1;
    if (aDimension !== bDimension && aDimension !== 1 && bDimension !== 1) {
      throw new ShapeError(`${where}: shapes ${formatShape(a)} and ${formatShape(b)} do not broadcast (axis ${axis})`);
    }
    out[axis] = aDimension === 1 ? bDimension : aDimension;
  }
  return out;
}

/** Strides to read `shape` as if it had `outShape`: a broadcast axis gets stride 0. */
function broadcastStrides(shape: Shape, outShape: Shape): number[] {
  const own = stridesOfShape(shape);
  return outShape.map((_, axis) => {
    const ownAxis = axis - (outShape.length - shape.length);
    return ownAxis < 0 || shape[ownAxis] === 1 ? 0 : own[ownAxis];
  });
}

/** Applies `combine` elementwise with broadcasting: the engine of add, multiply and friends. */
export function elementwise(
  a: Tensor,
  b: Tensor,
  combine: (aValue: number, bValue: number) => number,
  where = "elementwise",
): Tensor {
  const outShape = broadcastShapes(a.shape, b.shape, where);
  const out = new Float32Array(sizeOfShape(outShape));
  const aStrides = broadcastStrides(a.shape, outShape);
  const bStrides = broadcastStrides(b.shape, outShape);
  const index = new Array<number>(outShape.length).fill(0);
  let aOffset = 0;
  let bOffset = 0;
  for (let flat = 0; flat < out.length; flat++) {
    out[flat] = combine(a.data[aOffset], b.data[bOffset]);
    for (let axis = outShape.length - 1; axis >= 0; axis--) {
      index[axis]++;
      aOffset += aStrides[axis];
      bOffset += bStrides[axis];
      if (index[axis] < outShape[axis]) break;
      aOffset -= aStrides[axis] * outShape[axis];
      bOffset -= bStrides[axis] * outShape[axis];
      index[axis] = 0;
    }
  }
  return new Tensor(out, outShape);
}

export function add(a: Tensor, b: Tensor): Tensor {
  return elementwise(a, b, (p, q) => p + q, "add");
}

export function multiply(a: Tensor, b: Tensor): Tensor {
  return elementwise(a, b, (p, q) => p * q, "multiply");
}

/** Applies a function to every element. */
export function map(x: Tensor, f: (value: number) => number): Tensor {
  const out = new Float32Array(x.size);
  for (let i = 0; i < out.length; i++) out[i] = f(x.data[i]);
  return new Tensor(out, x.shape);
}

export function scale(x: Tensor, factor: number): Tensor {
  return map(x, (value) => value * factor);
}

/**
 * Softmax over the last axis, computed stably (subtract the row maximum) in float64.
 * A row whose entries are all -Infinity (every key masked) becomes all zeros instead of NaN:
 * "attend to nothing" rather than "0 / 0".
 */
export function softmax(x: Tensor): Tensor {
  if (x.rank === 0) throw new ShapeError("softmax: needs at least one axis");
  const width = x.shape[x.rank - 1];
  const rows = width === 0 ? 0 : x.size / width;
  const out = new Float32Array(x.size);
  const exponentials = new Float64Array(width);
  for (let row = 0; row < rows; row++) {
    const base = row * width;
    let maximum = -Infinity;
    for (let j = 0; j < width; j++) maximum = Math.max(maximum, x.data[base + j]);
    if (maximum === -Infinity) continue; // fully masked row: stays zeros
    let sum = 0;
    for (let j = 0; j < width; j++) {
      exponentials[j] = Math.exp(x.data[base + j] - maximum);
      sum += exponentials[j];
    }
    for (let j = 0; j < width; j++) out[base + j] = exponentials[j] / sum;
  }
  return new Tensor(out, x.shape);
}

/** Joins tensors along one axis; all other axes must agree. */
export function concat(tensors: readonly Tensor[], axis: number): Tensor {
  if (tensors.length === 0) throw new ShapeError("concat: needs at least one tensor");
  const first = tensors[0];
  if (axis < 0 || axis >= first.rank) {
    throw new ShapeError(`concat: axis ${axis} is outside the shape ${formatShape(first.shape)}`);
  }
  for (const tensor of tensors) {
    const agrees =
      tensor.rank === first.rank && tensor.shape.every((d, i) => i === axis || d === first.shape[i]);
    if (!agrees) {
      throw new ShapeError(
        `concat along axis ${axis}: ${formatShape(tensor.shape)} does not match ${formatShape(first.shape)} off that axis`,
      );
    }
  }
  const outer = sizeOfShape(first.shape.slice(0, axis));
  const inner = sizeOfShape(first.shape.slice(axis + 1));
  const total = tensors.reduce((sum, tensor) => sum + tensor.shape[axis], 0);
  const outShape = [...first.shape];
  outShape[axis] = total;
  const out = new Float32Array(sizeOfShape(outShape));
  let offset = 0;
  for (let o = 0; o < outer; o++) {
    for (const tensor of tensors) {
      const chunk = tensor.shape[axis] * inner;
      out.set(tensor.data.subarray(o * chunk, (o + 1) * chunk), offset);
      offset += chunk;
    }
  }
  return new Tensor(out, outShape);
}

/** The entries `start <= i < end` along one axis (a copy). */
export function sliceAxis(x: Tensor, axis: number, start: number, end: number): Tensor {
  if (axis < 0 || axis >= x.rank || start < 0 || end > x.shape[axis] || start > end) {
    throw new ShapeError(`sliceAxis: [${start}, ${end}) on axis ${axis} is outside ${formatShape(x.shape)}`);
  }
  const outer = sizeOfShape(x.shape.slice(0, axis));
  const inner = sizeOfShape(x.shape.slice(axis + 1));
  const outShape = [...x.shape];
  outShape[axis] = end - start;
  const out = new Float32Array(sizeOfShape(outShape));
  const chunk = (end - start) * inner;
  for (let o = 0; o < outer; o++) {
    const from = (o * x.shape[axis] + start) * inner;
    out.set(x.data.subarray(from, from + chunk), o * chunk);
  }
  return new Tensor(out, outShape);
}

/**
 * Repeats each entry along one axis `times` times, next to itself:
 * [K1, K2] -> [K1, K1, K2, K2] (not [K1, K2, K1, K2]). This is torch.repeat_interleave.
 */
export function repeatInterleave(x: Tensor, times: number, axis: number): Tensor {
  if (!Number.isInteger(times) || times < 1) throw new ShapeError(`repeatInterleave: times must be a positive integer, got ${times}`);
  if (axis < 0 || axis >= x.rank) throw new ShapeError(`repeatInterleave: axis ${axis} is outside ${formatShape(x.shape)}`);
  const outer = sizeOfShape(x.shape.slice(0, axis + 1));
  const inner = sizeOfShape(x.shape.slice(axis + 1));
  const outShape = [...x.shape];
  outShape[axis] *= times;
  const out = new Float32Array(x.size * times);
  for (let o = 0; o < outer; o++) {
    const source = x.data.subarray(o * inner, (o + 1) * inner);
    for (let copy = 0; copy < times; copy++) out.set(source, (o * times + copy) * inner);
  }
  return new Tensor(out, outShape);
}

/** Largest |a - b| over all elements (shapes must match); Infinity pairs count as equal. */
export function maxAbsoluteDifference(a: Tensor, b: Tensor): number {
  if (formatShape(a.shape) !== formatShape(b.shape)) {
    throw new ShapeError(`maxAbsoluteDifference: ${formatShape(a.shape)} vs ${formatShape(b.shape)}`);
  }
  let largest = 0;
  for (let i = 0; i < a.size; i++) {
    if (a.data[i] === b.data[i]) continue;
    const difference = Math.abs(a.data[i] - b.data[i]);
    largest = Number.isNaN(difference) ? Infinity : Math.max(largest, difference);
  }
  return largest;
}
