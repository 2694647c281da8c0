/**
 * Conversions between float32 and the two 16-bit float formats that model files use.
 *
 * A float is stored as sign, exponent and mantissa (the fraction bits after the leading 1):
 *
 *   float32   1 sign | 8 exponent (bias 127) | 23 mantissa
 *   float16   1 sign | 5 exponent (bias 15)  | 10 mantissa   IEEE half, "F16"
 *   bfloat16  1 sign | 8 exponent (bias 127) |  7 mantissa   "brain float", "BF16"
 *
 * bfloat16 is simply the top 16 bits of a float32: the same range, less precision. float16 keeps
 * more precision but a far smaller range: its largest finite value is 65504, and below 2^-14 it has
 * subnormals (no leading 1) down to 2^-24.
 *
 * Decoding is exact: every 16-bit value is a float32 value. Encoding rounds to the nearest
 * representable value and, on a tie, to the one with an even last mantissa bit, which is what IEEE
 * 754, numpy and torch do. Values too large for float16 become Infinity, values too small become a
 * (signed) zero; NaN stays NaN, -0 stays -0.
 *
 * JavaScript numbers are float64, so a number is first rounded to float32 (`Math.fround`) and then
 * to 16 bits: the same two steps as converting a float32 tensor in torch.
 *
 * Every function here works on the raw 16-bit patterns ("bits"), 0 to 65535, as they lie in a file.
 */

// One float32 slot seen both as a number and as its 32 bits, for the single-value conversions.
const scratchFloat = new Float32Array(1);
const scratchBits = new Uint32Array(scratchFloat.buffer);

function float32BitsOf(value: number): number {
  scratchFloat[0] = value;
  return scratchBits[0];
}

function float32FromBits(bits: number): number {
  scratchBits[0] = bits;
  return scratchFloat[0];
}

function checkSixteenBits(bits: number, where: string): void {
  if (!Number.isInteger(bits) || bits < 0 || bits > 0xffff) {
    throw new RangeError(`${where}: expected a 16-bit pattern, an integer from 0 to 65535, got ${bits}`);
  }
}

// ---------------------------------------------------------------------------------------------
// float16

/** float32 bits -> float16 bits, rounding to nearest, ties to even. */
function float16BitsFromFloat32Bits(bits: number): number {
  const sign = (bits >>> 16) & 0x8000;
  const exponent = (bits >>> 23) & 0xff;
  const mantissa = bits & 0x7fffff;

  if (exponent === 0xff) {
    // Infinity keeps its sign; NaN stays a quiet NaN and keeps the top bits of its payload.
    return mantissa === 0 ? sign | 0x7c00 : sign | 0x7e00 | (mantissa >>> 13);
  }

  const halfExponent = exponent - 127 + 15;
  if (halfExponent >= 0x1f) return sign | 0x7c00; // beyond 65520: Infinity

  if (halfExponent <= 0) {
    // A float16 subnormal: value = m * 2^-24 with m from 0 to 1023. Below 2^-25 (and at exactly
    // 2^-25, a tie rounded to the even 0) nothing is left but a signed zero.
    if (halfExponent < -10) return sign;
    const significand = mantissa | 0x800000; // the leading 1 made explicit: 24 bits
    const shift = 14 - halfExponent; // from 14 to 24 bits are dropped
    const kept = significand >>> shift;
    const dropped = significand & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    // Rounding 1023 up gives 1024 = 0x400: the smallest normal number, correctly encoded.
    const roundUp = dropped > halfway || (dropped === halfway && (kept & 1) === 1);
    return sign | (kept + (roundUp ? 1 : 0));
  }

  // A normal number: keep the top 10 of 23 mantissa bits. A carry out of the mantissa moves into
  // the exponent, which is again correct, up to and including 0x7c00 = Infinity.
  const half = sign | (halfExponent << 10) | (mantissa >>> 13);
  const dropped = mantissa & 0x1fff;
  const roundUp = dropped > 0x1000 || (dropped === 0x1000 && (half & 1) === 1);
  return half + (roundUp ? 1 : 0);
}

/** float16 bits -> float32 bits (exact). */
function float32BitsFromFloat16Bits(half: number): number {
  const sign = (half & 0x8000) << 16;
  const exponent = (half >>> 10) & 0x1f;
  const mantissa = half & 0x3ff;

  if (exponent === 0x1f) return (sign | 0x7f800000 | (mantissa << 13)) >>> 0; // Infinity, NaN
  if (exponent !== 0) return (sign | ((exponent - 15 + 127) << 23) | (mantissa << 13)) >>> 0;
  if (mantissa === 0) return sign >>> 0; // signed zero

  // Subnormal: shift the mantissa up until its leading 1 is in the implicit-bit position.
  let shifted = mantissa;
  let float32Exponent = 127 - 15 + 1;
  while ((shifted & 0x400) === 0) {
    shifted <<= 1;
    float32Exponent--;
  }
  return (sign | (float32Exponent << 23) | ((shifted & 0x3ff) << 13)) >>> 0;
}

// float16 bits -> float32 bits for all 65536 patterns, built on first use (256 KiB).
let float16DecodeTable: Uint32Array | undefined;

function getFloat16DecodeTable(): Uint32Array {
  if (!float16DecodeTable) {
    float16DecodeTable = new Uint32Array(0x10000);
    for (let half = 0; half < 0x10000; half++) float16DecodeTable[half] = float32BitsFromFloat16Bits(half);
  }
  return float16DecodeTable;
}

/** A number -> float16 bits, rounded to nearest, ties to even (via float32, like torch). */
export function float32ToFloat16Bits(value: number): number {
  return float16BitsFromFloat32Bits(float32BitsOf(value));
}

/** float16 bits (0 to 65535) -> its exact value. */
export function float16BitsToFloat32(bits: number): number {
  checkSixteenBits(bits, "float16BitsToFloat32");
  return float32FromBits(getFloat16DecodeTable()[bits]);
}

/** float32 values -> float16 bits, element by element. */
export function encodeFloat16(values: Float32Array): Uint16Array {
  const input = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const output = new Uint16Array(values.length);
  for (let index = 0; index < input.length; index++) output[index] = float16BitsFromFloat32Bits(input[index]);
  return output;
}

/** float16 bits -> float32 values, element by element (a table lookup each). */
export function decodeFloat16(bits: Uint16Array): Float32Array {
  const table = getFloat16DecodeTable();
  const output = new Uint32Array(bits.length);
  for (let index = 0; index < bits.length; index++) output[index] = table[bits[index]];
  return new Float32Array(output.buffer);
}

// ---------------------------------------------------------------------------------------------
// bfloat16

/** float32 bits -> bfloat16 bits: keep the top 16 bits, rounding to nearest, ties to even. */
function bfloat16BitsFromFloat32Bits(bits: number): number {
  if ((bits & 0x7fffffff) > 0x7f800000) {
    // NaN: truncating could clear every mantissa bit left (making Infinity), so force a quiet NaN.
    return (bits >>> 16) | 0x0040;
  }
  // Adding 0x7fff rounds up anything above the halfway point 0x8000; adding the kept lowest bit
  // too rounds an exact tie up only when that bit is odd. A carry runs into the exponent, which
  // is correct (the largest float32 values round to Infinity).
  const lowestKeptBit = (bits >>> 16) & 1;
  return Math.floor((bits + 0x7fff + lowestKeptBit) / 0x10000) & 0xffff;
}

/** A number -> bfloat16 bits, rounded to nearest, ties to even (via float32, like torch). */
export function float32ToBfloat16Bits(value: number): number {
  return bfloat16BitsFromFloat32Bits(float32BitsOf(value));
}

/** bfloat16 bits (0 to 65535) -> its exact value. */
export function bfloat16BitsToFloat32(bits: number): number {
  checkSixteenBits(bits, "bfloat16BitsToFloat32");
  return float32FromBits(bits << 16);
}

/** float32 values -> bfloat16 bits, element by element. */
export function encodeBfloat16(values: Float32Array): Uint16Array {
  const input = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const output = new Uint16Array(values.length);
  for (let index = 0; index < input.length; index++) output[index] = bfloat16BitsFromFloat32Bits(input[index]);
  return output;
}

/** bfloat16 bits -> float32 values: each pattern becomes the top half of a float32. */
export function decodeBfloat16(bits: Uint16Array): Float32Array {
  const output = new Uint32Array(bits.length);
  for (let index = 0; index < bits.length; index++) output[index] = bits[index] << 16;
  return new Float32Array(output.buffer);
}
