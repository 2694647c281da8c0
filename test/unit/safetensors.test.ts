import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";

import {
  bfloat16BitsToFloat32,
  decodeBfloat16,
  decodeFloat16,
  encodeBfloat16,
  encodeFloat16,
  float16BitsToFloat32,
  float32ToBfloat16Bits,
  float32ToFloat16Bits,
} from "../../src/model/float16";
import { readSafetensors, SafetensorsError, type SafetensorsDtype } from "../../src/model/safetensors";
import { writeSafetensors } from "../../src/model/safetensors-writer";
import { Tensor, type NestedArray } from "../../src/attention/tensor";
import { FIXTURES, readFixture } from "./helpers/fixtures";

/** The float32 value with these 32 bits. */
function float32WithBits(bits: number): number {
  return new Float32Array(new Uint32Array([bits]).buffer)[0];
}

function isFloat16NaNBits(bits: number): boolean {
  return (bits & 0x7c00) === 0x7c00 && (bits & 0x03ff) !== 0;
}

function isBfloat16NaNBits(bits: number): boolean {
  return (bits & 0x7f80) === 0x7f80 && (bits & 0x007f) !== 0;
}

/** Asserts two float arrays are equal element by element, telling -0 from 0 and NaN equal to NaN. */
function assertSameFloats(actual: ArrayLike<number>, expected: ArrayLike<number>): void {
  assert.equal(actual.length, expected.length);
  for (let index = 0; index < expected.length; index++) {
    if (!Object.is(actual[index], expected[index])) {
      assert.fail(`element ${index}: expected ${expected[index]} but got ${actual[index]}`);
    }
  }
}

describe("float16 conversions", () => {
  const cases: [string, number, number][] = [
    ["zero", 0, 0x0000],
    ["negative zero", -0, 0x8000],
    ["one", 1, 0x3c00],
    ["minus two", -2, 0xc000],
    ["one third (rounded)", 1 / 3, 0x3555],
    ["the largest finite value 65504", 65504, 0x7bff],
    ["65519, just below the overflow midpoint", 65519, 0x7bff],
    ["65520, the overflow midpoint, ties away to Infinity", 65520, 0x7c00],
    ["-65520 to -Infinity", -65520, 0xfc00],
    ["Infinity", Infinity, 0x7c00],
    ["-Infinity", -Infinity, 0xfc00],
    ["the smallest normal 2^-14", 2 ** -14, 0x0400],
    ["the largest subnormal 1023 * 2^-24", 1023 * 2 ** -24, 0x03ff],
    ["1023.5 * 2^-24, a tie, up to the smallest normal", 1023.5 * 2 ** -24, 0x0400],
    ["the smallest subnormal 2^-24", 2 ** -24, 0x0001],
    ["half the smallest subnormal 2^-25, a tie, to the even 0", 2 ** -25, 0x0000],
    ["-2^-25 to -0", -(2 ** -25), 0x8000],
    ["just above 2^-25, up to 2^-24", 2 ** -25 * (1 + 2 ** -20), 0x0001],
    ["0.75 * 2^-24, up to 2^-24", 3 * 2 ** -26, 0x0001],
    ["1.5 * 2^-24, a tie, to the even 2 * 2^-24", 1.5 * 2 ** -24, 0x0002],
    ["2.5 * 2^-24, a tie, to the even 2 * 2^-24", 2.5 * 2 ** -24, 0x0002],
    ["a float32 subnormal, to 0", 1e-40, 0x0000],
    ["1 + 2^-11, a tie, to the even 1", 1 + 2 ** -11, 0x3c00],
    ["1 + 3 * 2^-11, a tie, to the even 1 + 2^-9", 1 + 3 * 2 ** -11, 0x3c02],
    ["1 + 2^-11 + 2^-20, above the tie, up", 1 + 2 ** -11 + 2 ** -20, 0x3c01],
    ["2047.5, a tie, to the even 2048 (a carry into the exponent)", 2047.5, 0x6800],
  ];
  for (const [label, value, bits] of cases) {
    it(`encodes ${label}`, () => {
      assert.equal(float32ToFloat16Bits(value).toString(16), bits.toString(16));
    });
  }

  it("encodes NaN as a NaN pattern, keeping the sign", () => {
    assert.ok(isFloat16NaNBits(float32ToFloat16Bits(NaN)));
    // A NaN whose payload lies only in the low float32 bits must not become Infinity.
    assert.ok(isFloat16NaNBits(float32ToFloat16Bits(float32WithBits(0x7f800001))));
    assert.equal(float32ToFloat16Bits(float32WithBits(0xffc00000)) & 0x8000, 0x8000);
  });

  it("decodes special patterns exactly", () => {
    assert.equal(float16BitsToFloat32(0x3c00), 1);
    assert.equal(float16BitsToFloat32(0x7bff), 65504);
    assert.equal(float16BitsToFloat32(0x0001), 2 ** -24);
    assert.equal(float16BitsToFloat32(0x03ff), 1023 * 2 ** -24);
    assert.equal(float16BitsToFloat32(0x0400), 2 ** -14);
    assert.equal(float16BitsToFloat32(0x7c00), Infinity);
    assert.equal(float16BitsToFloat32(0xfc00), -Infinity);
    assert.ok(Object.is(float16BitsToFloat32(0x8000), -0));
    assert.ok(Number.isNaN(float16BitsToFloat32(0x7e00)));
    assert.ok(Number.isNaN(float16BitsToFloat32(0xfc01)));
  });

  it("decodes and re-encodes all 65536 patterns to themselves (NaNs to NaNs)", () => {
    const all = new Uint16Array(0x10000).map((_, index) => index);
    const decoded = decodeFloat16(all);
    const reencoded = encodeFloat16(decoded);
    for (let bits = 0; bits < 0x10000; bits++) {
      const single = float16BitsToFloat32(bits);
      if (isFloat16NaNBits(bits)) {
        assert.ok(Number.isNaN(decoded[bits]) && Number.isNaN(single), `0x${bits.toString(16)} should decode to NaN`);
        assert.ok(isFloat16NaNBits(reencoded[bits]));
        // The array path keeps the sign and payload bits; only quieting may set bit 9.
        assert.equal(reencoded[bits] | 0x0200, bits | 0x0200);
      } else {
        assert.ok(Object.is(decoded[bits], single), `0x${bits.toString(16)}: ${decoded[bits]} vs ${single}`);
        assert.equal(reencoded[bits], bits, `0x${bits.toString(16)} re-encoded as 0x${reencoded[bits].toString(16)}`);
        assert.equal(float32ToFloat16Bits(single), bits);
      }
    }
  });

  it("rounds every value between two neighbours to the nearer one", () => {
    // Midpoints between consecutive positive finite patterns, nudged either way.
    for (let bits = 0; bits < 0x7bff; bits += 7) {
      const low = float16BitsToFloat32(bits);
      const high = float16BitsToFloat32(bits + 1);
      const middle = (low + high) / 2;
      assert.equal(float32ToFloat16Bits(middle), bits % 2 === 0 ? bits : bits + 1, `tie above 0x${bits.toString(16)}`);
      assert.equal(float32ToFloat16Bits(low + (high - low) * 0.25), bits);
      assert.equal(float32ToFloat16Bits(low + (high - low) * 0.75), bits + 1);
    }
  });

  it("rejects patterns outside 16 bits", () => {
    assert.throws(() => float16BitsToFloat32(0x10000), /16-bit pattern.*65536/);
    assert.throws(() => float16BitsToFloat32(-1), RangeError);
    assert.throws(() => float16BitsToFloat32(1.5), RangeError);
  });

  it("encodes a subarray view at a non-zero offset", () => {
    const values = new Float32Array([9, 1, -2, 0.5]).subarray(1);
    assert.deepEqual([...encodeFloat16(values)], [0x3c00, 0xc000, 0x3800]);
  });
});

describe("bfloat16 conversions", () => {
  const cases: [string, number, number][] = [
    ["zero", 0, 0x0000],
    ["negative zero", -0, 0x8000],
    ["one", 1, 0x3f80],
    ["minus two", -2, 0xc000],
    ["1 + 2^-7, exact", 1 + 2 ** -7, 0x3f81],
    ["1 + 2^-8, a tie, to the even 1", 1 + 2 ** -8, 0x3f80],
    ["1 + 3 * 2^-8, a tie, to the even 1 + 2^-6", 1 + 3 * 2 ** -8, 0x3f82],
    ["1 + 2^-8 + 2^-20, above the tie, up", 1 + 2 ** -8 + 2 ** -20, 0x3f81],
    ["1 + 2^-8 + 2^-30, lost in float32 first, so a tie, to 1", 1 + 2 ** -8 + 2 ** -30, 0x3f80],
    ["-(1 + 2^-8 + 2^-20), up in magnitude", -(1 + 2 ** -8 + 2 ** -20), 0xbf81],
    ["pi", Math.PI, 0x4049],
    ["Infinity", Infinity, 0x7f80],
    ["-Infinity", -Infinity, 0xff80],
    ["the largest float32, to Infinity", float32WithBits(0x7f7fffff), 0x7f80],
    ["the largest bfloat16 value", float32WithBits(0x7f7f0000), 0x7f7f],
    ["the smallest float32 subnormal, a value below the tie, to 0", float32WithBits(0x00000001), 0x0000],
    ["a float32 subnormal, kept as a bfloat16 subnormal", float32WithBits(0x00010000), 0x0001],
  ];
  for (const [label, value, bits] of cases) {
    it(`encodes ${label}`, () => {
      assert.equal(float32ToBfloat16Bits(value).toString(16), bits.toString(16));
    });
  }

  it("encodes NaN as a NaN pattern, even when its payload lies only in the low bits", () => {
    assert.ok(isBfloat16NaNBits(float32ToBfloat16Bits(NaN)));
    assert.ok(isBfloat16NaNBits(float32ToBfloat16Bits(float32WithBits(0x7f800001))));
    assert.ok(isBfloat16NaNBits(float32ToBfloat16Bits(float32WithBits(0xff80ffff))));
    assert.equal(float32ToBfloat16Bits(float32WithBits(0xff80ffff)) & 0x8000, 0x8000);
  });

  it("decodes and re-encodes all 65536 patterns to themselves (NaNs to NaNs)", () => {
    const all = new Uint16Array(0x10000).map((_, index) => index);
    const decoded = decodeBfloat16(all);
    const reencoded = encodeBfloat16(decoded);
    for (let bits = 0; bits < 0x10000; bits++) {
      const single = bfloat16BitsToFloat32(bits);
      if (isBfloat16NaNBits(bits)) {
        assert.ok(Number.isNaN(decoded[bits]) && Number.isNaN(single));
        assert.ok(isBfloat16NaNBits(reencoded[bits]));
      } else {
        assert.ok(Object.is(decoded[bits], single));
        assert.equal(reencoded[bits], bits);
        assert.equal(float32ToBfloat16Bits(single), bits);
      }
    }
    assert.ok(Object.is(bfloat16BitsToFloat32(0x8000), -0));
    assert.equal(bfloat16BitsToFloat32(0xff80), -Infinity);
  });

  it("rejects patterns outside 16 bits", () => {
    assert.throws(() => bfloat16BitsToFloat32(70000), /16-bit pattern.*70000/);
  });
});

describe("safetensors round trips", () => {
  const awkward = new Float32Array([0, -0, 1, -1.5, 1 / 3, 1e-40, 3.4e38, Infinity, -Infinity, NaN, 65504, 2 ** -24]);

  function randomValues(count: number, seed: number): Float32Array {
    let state = seed;
    const next = (): number => {
      state = (state * 1664525 + 1013904223) % 2 ** 32;
      return state / 2 ** 32;
    };
    return Float32Array.from({ length: count }, () => (next() - 0.5) * 10 ** (next() * 8 - 5));
  }

  it("round-trips F32 exactly, with metadata, scalars and empty tensors", () => {
    const tensors = {
      awkward: new Tensor(awkward, [3, 4]),
      scalar: new Tensor(new Float32Array([7.25]), []),
      empty: Tensor.zeros([0, 3]),
      random: new Tensor(randomValues(60, 1), [3, 4, 5]),
    };
    const bytes = writeSafetensors(tensors, { metadata: { format: "pt", note: "héllo" } });
    const file = readSafetensors(bytes);
    assert.deepEqual([...file.tensors.keys()].sort(), Object.keys(tensors).sort());
    for (const [name, tensor] of Object.entries(tensors)) {
      const read = file.tensors.get(name) as Tensor;
      assert.deepEqual(read.shape, tensor.shape, name);
      assertSameFloats(read.data, tensor.data);
      assert.equal(file.dtypes.get(name), "F32");
    }
    assert.deepEqual(file.metadata, { format: "pt", note: "héllo" });
  });

  it("round-trips F16 within its precision and exactly for representable values", () => {
    const random = randomValues(1000, 2).map((value) => value * 100);
    const representable = new Float32Array([0, -0, 1, -2, 0.5, 65504, -65504, 2 ** -24, 2 ** -14, 1 + 2 ** -10, Infinity, -Infinity]);
    const bytes = writeSafetensors({ random: new Tensor(random, [10, 100]), representable: new Tensor(representable, [12]) }, { dtype: "F16" });
    const file = readSafetensors(bytes);
    assert.equal(file.dtypes.get("random"), "F16");
    assertSameFloats(file.tensors.get("representable")?.data ?? [], representable);
    const read = file.tensors.get("random")?.data ?? new Float32Array();
    random.forEach((value, index) => {
      // Relative error at most 2^-11 for normal values, absolute at most 2^-25 for subnormal ones.
      const tolerance = Math.max(Math.abs(value) * 2 ** -11, 2 ** -25);
      assert.ok(Math.abs(read[index] - value) <= tolerance, `${value} came back as ${read[index]}`);
    });
  });

  it("round-trips BF16 within its precision and exactly for representable values", () => {
    const random = randomValues(1000, 3).map((value) => value * 1e20);
    const representable = new Float32Array([0, -0, 1, -2, 1 + 2 ** -7, 2 ** 100, 2 ** -126, float32WithBits(0x7f7f0000), -Infinity]);
    const bytes = writeSafetensors({ random: new Tensor(random, [1000]), representable: new Tensor(representable, [9]) }, { dtype: "BF16" });
    const file = readSafetensors(bytes);
    assert.equal(file.dtypes.get("representable"), "BF16");
    assertSameFloats(file.tensors.get("representable")?.data ?? [], representable);
    const read = file.tensors.get("random")?.data ?? new Float32Array();
    random.forEach((value, index) => {
      assert.ok(Math.abs(read[index] - value) <= Math.abs(value) * 2 ** -8, `${value} came back as ${read[index]}`);
    });
  });

  it("takes the dtype per tensor from a function and orders tensors as the Python library does", () => {
    const tensors = new Map<string, Tensor>([
      ["b_half", Tensor.filled([3], 0.5)],
      ["a_half", Tensor.filled([1], 1)],
      ["z_full", Tensor.filled([2], 2)],
      ["brain", Tensor.filled([1], 3)],
      ["10", Tensor.filled([1], 4)],
      ["9", Tensor.filled([1], 5)],
    ]);
    const dtypes: Record<string, SafetensorsDtype> = { b_half: "F16", a_half: "F16", z_full: "F32", brain: "BF16", "10": "F32", "9": "F32" };
    const bytes = writeSafetensors(tensors, { dtype: (name) => dtypes[name] });
    const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    const headerText = new TextDecoder().decode(bytes.subarray(8, 8 + headerLength));
    // F32 first, then BF16, then F16; by name within each; integer-like names stay in place.
    const order = [...headerText.matchAll(/"([^"]+)":\{"dtype"/g)].map((match) => match[1]);
    assert.deepEqual(order, ["10", "9", "z_full", "brain", "a_half", "b_half"]);
    const file = readSafetensors(bytes);
    assert.deepEqual([...file.tensors.keys()], order);
    assert.deepEqual(Object.fromEntries(file.dtypes), dtypes);
    for (const [name, tensor] of tensors) assertSameFloats(file.tensors.get(name)?.data ?? [], tensor.data);
  });

  it("pads the header with spaces to a multiple of 8 bytes", () => {
    for (const name of ["a", "ab", "abc", "abcd", "abcde", "abcdef", "abcdefg", "abcdefgh"]) {
      const bytes = writeSafetensors({ [name]: Tensor.filled([1], 1) });
      const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
      assert.equal(headerLength % 8, 0);
      const headerText = new TextDecoder().decode(bytes.subarray(8, 8 + headerLength));
      assert.match(headerText, /^\{.*\} *$/);
      assert.equal(JSON.parse(headerText)[name].dtype, "F32");
      assert.equal(bytes.length, 8 + headerLength + 4);
    }
  });

  it("reads a file that starts at an odd offset of its buffer", () => {
    const bytes = writeSafetensors({ x: Tensor.fromNested([[1, 2], [3, 4]]), h: Tensor.fromNested([5, 6]) }, { dtype: (name) => (name === "h" ? "F16" : "F32") });
    const shifted = new Uint8Array(bytes.length + 3);
    shifted.set(bytes, 3);
    const file = readSafetensors(shifted.subarray(3));
    assert.deepEqual(file.tensors.get("x")?.toNested(), [[1, 2], [3, 4]]);
    assert.deepEqual(file.tensors.get("h")?.toNested(), [5, 6]);
  });

  it("reads a file with no tensors", () => {
    const file = readSafetensors(writeSafetensors({}));
    assert.equal(file.tensors.size, 0);
    assert.deepEqual(file.metadata, {});
  });

  it("refuses to write a tensor named __metadata__, an unknown dtype or non-string metadata", () => {
    assert.throws(() => writeSafetensors({ __metadata__: Tensor.zeros([1]) }), /"__metadata__" is reserved/);
    assert.throws(() => writeSafetensors({ x: Tensor.zeros([1]) }, { dtype: "F64" as SafetensorsDtype }), /dtype "F64"; use one of F32, F16, BF16/);
    const metadata = { epoch: 3 } as unknown as Record<string, string>;
    assert.throws(() => writeSafetensors({ x: Tensor.zeros([1]) }, { metadata }), /metadata value of "epoch" must be a string/);
  });
});

describe("safetensors written by the Python library", () => {
  interface ReferenceTensor {
    dtype: SafetensorsDtype;
    shape: number[];
    values: NestedArray;
    inputs?: NestedArray;
  }
  interface Reference {
    metadata: Record<string, string>;
    tensors: Record<string, ReferenceTensor>;
  }
  // Written by scripts/fixtures/make_safetensors_fixture.py.
  const fileBytes = new Uint8Array(readFileSync(join(FIXTURES, "safetensors", "reference.safetensors")));
  const reference = readFixture<Reference>("safetensors/reference.json");

  it("reads every tensor with torch's values, shapes, dtypes and the metadata", () => {
    const file = readSafetensors(fileBytes, "reference.safetensors");
    assert.deepEqual([...file.tensors.keys()].sort(), Object.keys(reference.tensors).sort());
    assert.deepEqual(file.metadata, reference.metadata);
    for (const [name, expected] of Object.entries(reference.tensors)) {
      const tensor = file.tensors.get(name) as Tensor;
      assert.equal(file.dtypes.get(name), expected.dtype, name);
      assert.deepEqual(tensor.shape, expected.shape, name);
      assert.deepEqual(tensor.toNested(), expected.values, name);
    }
    assert.deepEqual(file.tensors.get("float32_scalar")?.shape, []);
    assert.deepEqual(file.tensors.get("float16_empty")?.shape, [0, 3]);
  });

  it("rounds float32 to F16 and BF16 exactly as torch does", () => {
    for (const [name, expected] of Object.entries(reference.tensors)) {
      if (expected.inputs === undefined) continue;
      const inputs = Tensor.fromNested(expected.inputs).data;
      const encoded = expected.dtype === "F16" ? encodeFloat16(inputs) : encodeBfloat16(inputs);
      const decoded = expected.dtype === "F16" ? decodeFloat16(encoded) : decodeBfloat16(encoded);
      assertSameFloats(decoded, Tensor.fromNested(expected.values).data);
      assert.ok(inputs.length > 0, name);
    }
  });

  it("writes the same header entries and data bytes as the Python library", () => {
    const file = readSafetensors(fileBytes);
    const written = writeSafetensors(file.tensors, { dtype: (name) => file.dtypes.get(name) as SafetensorsDtype, metadata: file.metadata });
    const split = (bytes: Uint8Array): { header: Record<string, unknown>; names: string[]; data: Uint8Array } => {
      const headerLength = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
      const headerText = new TextDecoder().decode(bytes.subarray(8, 8 + headerLength));
      const names = [...headerText.matchAll(/"([^"]+)":\{"dtype"/g)].map((match) => match[1]);
      return { header: JSON.parse(headerText), names, data: bytes.subarray(8 + headerLength) };
    };
    const ours = split(written);
    const theirs = split(fileBytes);
    assert.deepEqual(ours.header, theirs.header);
    assert.deepEqual(ours.names, theirs.names);
    assert.deepEqual(ours.data, theirs.data);
    assert.equal(written.length, fileBytes.length);
  });
});

describe("safetensors errors", () => {
  const SOURCE = "model.safetensors";
  const valid = writeSafetensors(
    { weight: Tensor.fromNested([[1, 2, 3], [4, 5, 6]]), bias: Tensor.fromNested([0.5, -0.5]) },
    { metadata: { format: "pt" } },
  );
  const validHeaderLength = Number(new DataView(valid.buffer).getBigUint64(0, true));
  const validData = valid.subarray(8 + validHeaderLength);
  const validHeader = (): Record<string, unknown> =>
    JSON.parse(new TextDecoder().decode(valid.subarray(8, 8 + validHeaderLength))) as Record<string, unknown>;

  /** A file with this header text (padded) and data buffer. */
  function fileWith(headerText: string, data: Uint8Array = validData): Uint8Array {
    const header = new TextEncoder().encode(headerText);
    const bytes = new Uint8Array(8 + header.length + data.length);
    new DataView(bytes.buffer).setBigUint64(0, BigInt(header.length), true);
    bytes.set(header, 8);
    bytes.set(data, 8 + header.length);
    return bytes;
  }

  /** The valid file with its header edited. */
  function withHeader(edit: (header: Record<string, unknown>) => unknown, data?: Uint8Array): Uint8Array {
    const header = validHeader();
    const replaced = edit(header);
    return fileWith(JSON.stringify(replaced ?? header), data);
  }

  function withHeaderLength(length: bigint): Uint8Array {
    const bytes = valid.slice();
    new DataView(bytes.buffer).setBigUint64(0, length, true);
    return bytes;
  }

  const read = (bytes: Uint8Array) => (): unknown => readSafetensors(bytes, SOURCE);

  it("reads the valid file the errors are made from", () => {
    const file = readSafetensors(valid, SOURCE);
    assert.deepEqual(file.tensors.get("weight")?.toNested(), [[1, 2, 3], [4, 5, 6]]);
    assert.deepEqual(validHeader().bias, { dtype: "F32", shape: [2], data_offsets: [0, 8] });
  });

  it("throws SafetensorsError naming the source", () => {
    assert.throws(read(valid.subarray(0, 3)), (error: unknown) => {
      assert.ok(error instanceof SafetensorsError);
      assert.equal(error.name, "SafetensorsError");
      assert.match(error.message, /^model\.safetensors: /);
      return true;
    });
  });

  it("rejects a file shorter than 8 bytes", () => {
    assert.throws(read(valid.subarray(0, 5)), /SafetensorsError: model\.safetensors: the file is 5 bytes long, too short .*8-byte header length.*truncated.*download or export it again/);
    assert.throws(read(new Uint8Array(0)), /the file is 0 bytes long/);
  });

  it("rejects a header length larger than the file", () => {
    assert.throws(read(withHeaderLength(BigInt(valid.length))), new RegExp(`header length field says ${valid.length} bytes but only ${valid.length - 8} bytes follow it; the file may be truncated`));
    assert.throws(read(valid.subarray(0, 20)), /only 12 bytes follow it; the file may be truncated; download or export it again/);
  });

  it("rejects an absurd header length", () => {
    assert.throws(read(withHeaderLength(2n ** 40n)), /header length field says 1099511627776 bytes, more than the 100 MB limit; this is probably not a safetensors file/);
    assert.throws(read(withHeaderLength(2n ** 64n - 1n)), /more than the 100 MB limit/);
    assert.throws(read(new TextEncoder().encode("<!DOCTYPE html><html>")), /more than the 100 MB limit/);
  });

  it("rejects a header that is not UTF-8", () => {
    const bytes = valid.slice();
    bytes[8 + 3] = 0xff; // inside the first key
    assert.throws(read(bytes), /model\.safetensors: the header is not valid UTF-8 text/);
  });

  it("rejects a header that is not JSON", () => {
    const bytes = valid.slice();
    bytes[8] = "x".charCodeAt(0); // the opening brace
    assert.throws(read(bytes), /model\.safetensors: the header is not valid JSON \(.+\); the file is corrupt or not a safetensors file/);
    assert.throws(read(fileWith("", new Uint8Array(0))), /not valid JSON/);
  });

  it("rejects a header that is not an object", () => {
    assert.throws(read(fileWith("[1, 2]      ", new Uint8Array(0))), /the header must be a JSON object mapping tensor names to entries, but it is an array/);
    assert.throws(read(fileWith("null", new Uint8Array(0))), /but it is null/);
    assert.throws(read(fileWith("42", new Uint8Array(0))), /but it is a number/);
  });

  for (const field of ["dtype", "shape", "data_offsets"]) {
    it(`rejects an entry missing ${field}`, () => {
      const bytes = withHeader((header) => {
        delete (header.weight as Record<string, unknown>)[field];
      });
      assert.throws(read(bytes), new RegExp(`model\\.safetensors: tensor "weight": the header entry is missing "${field}"`));
    });
  }

  it("rejects entries of the wrong types", () => {
    const edited = (field: string, value: unknown): Uint8Array =>
      withHeader((header) => {
        (header.weight as Record<string, unknown>)[field] = value;
      });
    assert.throws(read(withHeader((header) => ({ ...header, weight: 7 }))), /tensor "weight": the header entry must be an object with dtype, shape and data_offsets, but it is a number/);
    assert.throws(read(edited("dtype", 32)), /tensor "weight": "dtype" must be a string, but it is a number/);
    assert.throws(read(edited("shape", "2x3")), /tensor "weight": "shape" must be an array of integers, but it is a string/);
    assert.throws(read(edited("shape", [2, "3"])), /tensor "weight": shape \[2, "3"\] must hold non-negative integers/);
    assert.throws(read(edited("data_offsets", [8])), /tensor "weight": "data_offsets" must be an array of two numbers \[begin, end\], but it is \[8\]/);
    assert.throws(read(edited("data_offsets", { begin: 8 })), /"data_offsets" must be an array of two numbers/);
    assert.throws(read(edited("data_offsets", [32, 8])), /tensor "weight": data_offsets \[32, 8\] must be integers with 0 <= begin <= end/);
    assert.throws(read(edited("data_offsets", [-8, 16])), /data_offsets \[-8, 16\] must be integers/);
  });

  it("rejects an unsupported dtype, naming it and the supported ones", () => {
    const bytes = withHeader((header) => {
      (header.weight as Record<string, unknown>).dtype = "I64";
    });
    assert.throws(read(bytes), /tensor "weight": unsupported dtype "I64"; supported dtypes are F32, F16, BF16; convert the model/);
  });

  it("rejects a negative or non-integer shape", () => {
    const withShape = (shape: number[]): Uint8Array =>
      withHeader((header) => {
        (header.weight as Record<string, unknown>).shape = shape;
      });
    assert.throws(read(withShape([-2, -3])), /tensor "weight": shape \[-2, -3\] must hold non-negative integers/);
    assert.throws(read(withShape([1.5, 4])), /tensor "weight": shape \[1\.5, 4\] must hold non-negative integers/);
  });

  it("rejects data_offsets beyond the data buffer (a truncated file)", () => {
    const truncated = valid.subarray(0, valid.length - 4);
    assert.throws(read(truncated), /tensor "weight": data_offsets \[8, 32\] reach beyond the data buffer of 28 bytes; the file may be truncated; download or export it again/);
  });

  it("rejects a byte length that does not match the shape and dtype", () => {
    const wrongShape = withHeader((header) => {
      (header.weight as Record<string, unknown>).shape = [2, 2];
    });
    assert.throws(read(wrongShape), /tensor "weight": shape \(2, 2\) of F32 needs 16 bytes but data_offsets \[8, 32\] cover 24/);
    const wrongDtype = withHeader((header) => {
      (header.weight as Record<string, unknown>).dtype = "F16";
    });
    assert.throws(read(wrongDtype), /tensor "weight": shape \(2, 3\) of F16 needs 12 bytes but data_offsets \[8, 32\] cover 24/);
  });

  it("rejects overlapping tensors", () => {
    // A third tensor over the second half of "bias" and the first of "weight".
    const bytes = withHeader((header) => {
      header.shifted = { dtype: "F32", shape: [2], data_offsets: [4, 12] };
    });
    assert.throws(read(bytes), /tensors "bias" \[0, 8\] and "shifted" \[4, 12\] overlap in the data buffer; the file is corrupt/);
  });

  it("rejects holes in the data buffer", () => {
    const gap = new Uint8Array(validData.length + 4);
    gap.set(validData.subarray(0, 8));
    gap.set(validData.subarray(8), 12);
    const holeInside = withHeader((header) => {
      (header.weight as Record<string, unknown>).data_offsets = [12, 36];
    }, gap);
    assert.throws(read(holeInside), /model\.safetensors: bytes \[8, 12\) of the data buffer belong to no tensor \(a hole\); the file is corrupt/);

    const trailing = new Uint8Array(validData.length + 8);
    trailing.set(validData);
    assert.throws(read(withHeader(() => undefined, trailing)), /bytes \[32, 40\) at the end of the data buffer belong to no tensor \(a hole\)/);

    const holeAtStart = withHeader((header) => {
      delete header.bias;
    });
    assert.throws(read(holeAtStart), /bytes \[0, 8\) of the data buffer belong to no tensor/);
  });

  it("rejects __metadata__ values that are not strings", () => {
    const numberValue = withHeader((header) => {
      header.__metadata__ = { format: "pt", epoch: 3 };
    });
    assert.throws(read(numberValue), /model\.safetensors: "__metadata__" value of "epoch" must be a string but is a number; safetensors metadata holds only strings/);
    const notObject = withHeader((header) => {
      header.__metadata__ = ["pt"];
    });
    assert.throws(read(notObject), /"__metadata__" must be an object of strings, but it is an array/);
  });
});
