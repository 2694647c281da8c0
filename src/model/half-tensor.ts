/**
 * Weight matrices kept at 16 bits: most checkpoints people download store their weights as bfloat16
 * or float16, and widening them to float32 on read doubles the memory a model takes (a 0.5B model:
 * 1 GB as stored, 2 GB as float32). A `HalfTensor` keeps the matrix as float16 bit patterns; the
 * ONNX graphs take it as a float16 input and Cast it to float32 inside the runtime, one layer at a
 * time (model/onnx/graph-builder.ts), and the TypeScript reference decodes it where it computes.
 *
 *   file dtype   kept as                 how
 *   F32          Tensor (float32)        a view of the file's bytes where aligned
 *   F16          HalfTensor              a view of the file's bytes where aligned, else a copy
 *   BF16         HalfTensor              converted to float16 in place: exact for every value from
 *                                        2^-14 to 65504 in size; smaller ones keep float16's
 *                                        subnormal spacing (2^-24, an error below 3e-8)
 *
 * A BF16 matrix with a value beyond float16's largest (65504) cannot be held this way: it is decoded
 * to float32 instead (`bfloat16ToFloat16InPlace` says so). Vectors (norm gains, biases) are always
 * float32: they are small, and the graphs compute on them directly.
 *
 * Not part of the attention library (src/attention computes on float32 `Tensor`s only): this is how
 * the model layer stores what it reads from files.
 */

import { formatShape, type Shape, sizeOfShape, ShapeError, Tensor } from "../attention/tensor";
import { decodeFloat16 } from "./float16";

/** A matrix of float16 values, stored as their bit patterns, row-major like `Tensor`. */
export class HalfTensor {
  readonly bits: Uint16Array;
  readonly shape: Shape;

  constructor(bits: Uint16Array, shape: Shape) {
    const expectedSize = sizeOfShape(shape);
    if (bits.length !== expectedSize) {
      throw new ShapeError(`HalfTensor: shape ${formatShape(shape)} needs ${expectedSize} values but ${bits.length} were given`);
    }
    this.bits = bits;
    this.shape = Object.freeze([...shape]);
  }

  get size(): number {
    return this.bits.length;
  }

  /** Every value as float32 (exact: each float16 value is a float32 value), in a new array. */
  toFloat32(): Tensor {
    return new Tensor(decodeFloat16(this.bits), this.shape);
  }

  /** Rows [start, end) of a matrix, as a view of the same bits (no copy). */
  rows(start: number, end: number): HalfTensor {
    const width = this.shape[1];
    return new HalfTensor(this.bits.subarray(start * width, end * width), [end - start, width]);
  }
}

/** A weight as the model holds it: float32, or float16 bits. */
export type WeightTensor = Tensor | HalfTensor;

/** The weight as float32: the tensor itself when it is float32, else a decoded copy. */
export function float32Of(tensor: WeightTensor): Tensor {
  return tensor instanceof HalfTensor ? tensor.toFloat32() : tensor;
}

/** Bytes the weight takes in memory: 4 per value as float32, 2 as float16. */
export function heldBytesOf(tensor: WeightTensor): number {
  return tensor instanceof HalfTensor ? tensor.bits.byteLength : tensor.data.byteLength;
}

/** The array holding the weight's values (to tell two names for one tensor apart from two tensors). */
export function storageOf(tensor: WeightTensor): Float32Array | Uint16Array {
  return tensor instanceof HalfTensor ? tensor.bits : tensor.data;
}

/** Rows [start, end) of a (rows, width) weight, as a view of the same array (no copy). */
export function weightRows(tensor: WeightTensor, start: number, end: number): WeightTensor {
  if (tensor instanceof HalfTensor) return tensor.rows(start, end);
  const width = tensor.shape[1];
  return new Tensor(tensor.data.subarray(start * width, end * width), [end - start, width]);
}

/** Copies rows [start, end) of a (rows, width) weight into `out` at `offset`, as float32. */
export function copyRowsAsFloat32(tensor: WeightTensor, start: number, end: number, out: Float32Array, offset: number): void {
  const width = tensor.shape[1];
  if (tensor instanceof Tensor) {
    out.set(tensor.data.subarray(start * width, end * width), offset);
    return;
  }
  out.set(decodeFloat16(tensor.bits.subarray(start * width, end * width)), offset);
}

/**
 * The transpose of a (rows, columns) weight, float16 staying float16: in a new array, or (`inPlace`)
 * written over the tensor's own array, which then holds the transpose (the tensor given must not be
 * used after), so that a weight read from a file is held once, not twice.
 */
export function transposeWeight(tensor: WeightTensor, inPlace = false): WeightTensor {
  const [rows, columns] = tensor.shape;
  const storage = storageOf(tensor);
  const source = inPlace ? storage.slice() : storage;
  const out = inPlace ? storage : storage instanceof Uint16Array ? new Uint16Array(storage.length) : new Float32Array(storage.length);
  for (let row = 0; row < rows; row++) {
    for (let column = 0; column < columns; column++) out[column * rows + row] = source[row * columns + column];
  }
  return out instanceof Uint16Array ? new HalfTensor(out, [columns, rows]) : new Tensor(out, [columns, rows]);
}

/**
 * bfloat16 bits -> float16 bits, in place, when every value fits float16's range (|x| <= 65504,
 * Infinity and NaN included as themselves); returns false and changes nothing otherwise.
 *
 * bfloat16's 7 mantissa bits fit in float16's 10, so a value in float16's normal range (2^-14 and
 * up) converts exactly: same sign, exponent rebased from bias 127 to 15, mantissa shifted up by 3.
 * Below 2^-14 float16 has only subnormals, spaced 2^-24: such values round to the nearest (ties to
 * even), an error below 3e-8.
 */
export function bfloat16ToFloat16InPlace(bits: Uint16Array): boolean {
  for (let index = 0; index < bits.length; index++) {
    const exponent = (bits[index] >>> 7) & 0xff;
    // float16's largest finite value is 65504 = 2^15 x 1.9990234: every bfloat16 of exponent 15 fits
    // (its largest, 2^15 x 1.9921875, is 65280); exponent 16 and up (2^16 on) does not.
    if (exponent !== 0xff && exponent > 127 + 15) return false;
  }
  for (let index = 0; index < bits.length; index++) bits[index] = float16BitsFromBfloat16Bits(bits[index]);
  return true;
}

/** One bfloat16 pattern (within float16's range, or Infinity/NaN) -> the float16 pattern of the same value. */
function float16BitsFromBfloat16Bits(bfloat: number): number {
  const sign = (bfloat & 0x8000) >>> 0;
  const exponent = (bfloat >>> 7) & 0xff;
  const mantissa = bfloat & 0x7f;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa === 0 ? 0 : 0x200 | (mantissa << 3)); // Infinity, NaN
  const halfExponent = exponent - 127 + 15;
  if (halfExponent > 0) return sign | (halfExponent << 10) | (mantissa << 3); // normal: exact
  if (exponent === 0) return sign; // zero (and bfloat16's own subnormals, below 2^-126)
  // A float16 subnormal: value = m x 2^-24, m from 0 to 1023. The bfloat16 value is
  // significand x 2^(exponent - 134) with the leading 1 made explicit (8 bits), so
  // m = significand x 2^(exponent - 110): shifted up for exponents 110 to 112, else rounded.
  const significand = 0x80 | mantissa;
  const dropped = 110 - exponent;
  if (dropped <= 0) return sign | (significand << -dropped); // exact
  if (dropped > 9) return sign; // below 2^-25: rounds to zero
  const kept = significand >>> dropped;
  const rest = significand & ((1 << dropped) - 1);
  const halfway = 1 << (dropped - 1);
  const roundUp = rest > halfway || (rest === halfway && (kept & 1) === 1);
  return sign | (kept + (roundUp ? 1 : 0));
}
