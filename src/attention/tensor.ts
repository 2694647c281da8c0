/**
 * A small dense tensor: a row-major `Float32Array` plus a shape.
 *
 * This is all the attention library needs to hold numbers. It deliberately has no autograd, no
 * strides other than row-major and no dtype other than float32, so that every operation in
 * `tensor-operations.ts` can be read as a plain loop.
 *
 * Row-major means the last axis varies fastest: element (i, j) of a (rows, columns) tensor lives at
 * `data[i * columns + j]`.
 */

export type Shape = readonly number[];

/** A nested array of numbers, as written in a test or read from JSON: `[[1, 2], [3, 4]]`. */
export type NestedArray = number | NestedArray[];

/** Thrown when tensors of incompatible shapes meet; the message says which shapes met where. */
export class ShapeError extends Error {
  override name = "ShapeError";
}

/** `[2, 3, 4]` -> `"(2, 3, 4)"`, the way shapes are written in the shape comments. */
export function formatShape(shape: Shape): string {
  return `(${shape.join(", ")})`;
}

/** Number of elements of a tensor of this shape (1 for a scalar shape `[]`). */
export function sizeOfShape(shape: Shape): number {
  let size = 1;
  for (const dimension of shape) size *= dimension;
  return size;
}

/** Row-major strides: how far to move in `data` to step one along each axis. */
export function stridesOfShape(shape: Shape): number[] {
  const strides = new Array<number>(shape.length);
  let stride = 1;
  for (let axis = shape.length - 1; axis >= 0; axis--) {
    strides[axis] = stride;
    stride *= shape[axis];
  }
  return strides;
}

function checkShape(shape: Shape, where: string): void {
  for (const dimension of shape) {
    if (!Number.isInteger(dimension) || dimension < 0) {
      throw new ShapeError(`${where}: shape ${formatShape(shape)} must hold non-negative integers`);
    }
  }
}

export class Tensor {
  readonly data: Float32Array;
  readonly shape: Shape;

  constructor(data: Float32Array, shape: Shape) {
    checkShape(shape, "Tensor");
    const expectedSize = sizeOfShape(shape);
    if (data.length !== expectedSize) {
      throw new ShapeError(
        `Tensor: shape ${formatShape(shape)} needs ${expectedSize} values but ${data.length} were given`,
      );
    }
    this.data = data;
    this.shape = Object.freeze([...shape]);
  }

  static zeros(shape: Shape): Tensor {
    checkShape(shape, "Tensor.zeros");
    return new Tensor(new Float32Array(sizeOfShape(shape)), shape);
  }

  static filled(shape: Shape, value: number): Tensor {
    checkShape(shape, "Tensor.filled");
    return new Tensor(new Float32Array(sizeOfShape(shape)).fill(value), shape);
  }

  /** Builds a tensor from nested arrays; every row at one depth must have the same length. */
  static fromNested(values: NestedArray): Tensor {
    const shape: number[] = [];
    let probe: NestedArray = values;
    while (Array.isArray(probe)) {
      shape.push(probe.length);
      if (probe.length === 0) break;
      probe = probe[0];
    }
    const data = new Float32Array(sizeOfShape(shape));
    let offset = 0;
    const visit = (value: NestedArray, depth: number, path: string): void => {
      if (depth === shape.length) {
        if (typeof value !== "number") {
          throw new ShapeError(`Tensor.fromNested: expected a number at ${path}, found an array`);
        }
        data[offset++] = value;
        return;
      }
      if (!Array.isArray(value) || value.length !== shape[depth]) {
        const found = Array.isArray(value) ? `length ${value.length}` : "a number";
        throw new ShapeError(
          `Tensor.fromNested: ragged input at ${path}: expected length ${shape[depth]}, found ${found}`,
        );
      }
      value.forEach((item, index) => visit(item, depth + 1, `${path}[${index}]`));
    };
    visit(values, 0, "values");
    return new Tensor(data, shape);
  }

  /** Builds a tensor whose element at each index is `valueAt(index)`. */
  static fromFunction(shape: Shape, valueAt: (index: number[]) => number): Tensor {
    const tensor = Tensor.zeros(shape);
    const index = new Array<number>(shape.length).fill(0);
    for (let flat = 0; flat < tensor.size; flat++) {
      tensor.data[flat] = valueAt(index);
      for (let axis = shape.length - 1; axis >= 0; axis--) {
        if (++index[axis] < shape[axis]) break;
        index[axis] = 0;
      }
    }
    return tensor;
  }

  get rank(): number {
    return this.shape.length;
  }

  get size(): number {
    return this.data.length;
  }

  /** Offset in `data` of an index; throws when the index is outside the shape. */
  offsetOf(index: readonly number[]): number {
    if (index.length !== this.rank) {
      throw new ShapeError(
        `Tensor index [${index.join(", ")}] has ${index.length} entries but the tensor ${formatShape(this.shape)} has rank ${this.rank}`,
      );
    }
    let offset = 0;
    let stride = 1;
    for (let axis = this.rank - 1; axis >= 0; axis--) {
      const position = index[axis];
      if (!Number.isInteger(position) || position < 0 || position >= this.shape[axis]) {
        throw new ShapeError(
          `Tensor index [${index.join(", ")}] is outside the shape ${formatShape(this.shape)} on axis ${axis}`,
        );
      }
      offset += position * stride;
      stride *= this.shape[axis];
    }
    return offset;
  }

  at(...index: number[]): number {
    return this.data[this.offsetOf(index)];
  }

  set(index: readonly number[], value: number): void {
    this.data[this.offsetOf(index)] = value;
  }

  /** The same numbers seen with another shape (shares `data`). One dimension may be -1: inferred. */
  reshape(shape: Shape): Tensor {
    const inferred = shape.indexOf(-1);
    let resolved = [...shape];
    if (inferred !== -1) {
      const known = sizeOfShape(shape.filter((_, axis) => axis !== inferred));
      if (known === 0 || this.size % known !== 0) {
        throw new ShapeError(`reshape: cannot view ${formatShape(this.shape)} as ${formatShape(shape)}`);
      }
      resolved = shape.map((dimension, axis) => (axis === inferred ? this.size / known : dimension));
    }
    checkShape(resolved, "reshape");
    if (sizeOfShape(resolved) !== this.size) {
      throw new ShapeError(
        `reshape: cannot view ${formatShape(this.shape)} (${this.size} values) as ${formatShape(resolved)} (${sizeOfShape(resolved)} values)`,
      );
    }
    return new Tensor(this.data, resolved);
  }

  clone(): Tensor {
    return new Tensor(new Float32Array(this.data), this.shape);
  }

  /** Nested arrays, the inverse of `fromNested`; handy for JSON and test messages. */
  toNested(): NestedArray {
    if (this.rank === 0) return this.data[0];
    let offset = 0;
    const build = (depth: number): NestedArray => {
      const items: NestedArray[] = [];
      for (let position = 0; position < this.shape[depth]; position++) {
        items.push(depth === this.rank - 1 ? this.data[offset++] : build(depth + 1));
      }
      return items;
    };
    return build(0);
  }

  toString(): string {
    return `Tensor${formatShape(this.shape)}`;
  }
}

/**
 * Asserts a tensor's shape at run time, since TypeScript cannot. `null` in `expected` accepts any
 * size on that axis. `where` names the step, so the error reads like
 * "MultiHeadAttention.forward input x: expected (B, T, 64) but got (2, 5, 32)".
 */
export function assertShape(
  tensor: Tensor,
  expected: readonly (number | null)[],
  where: string,
  axisNames?: readonly string[],
): void {
  const matches =
    tensor.rank === expected.length &&
    expected.every((dimension, axis) => dimension === null || dimension === tensor.shape[axis]);
  if (!matches) {
    const written = expected.map((dimension, axis) =>
      dimension === null ? (axisNames?.[axis] ?? "*") : String(dimension),
    );
    throw new ShapeError(`${where}: expected (${written.join(", ")}) but got ${formatShape(tensor.shape)}`);
  }
}
