/**
 * A minimal protobuf encoder: just the parts needed to write an ONNX model.
 *
 * A protobuf message is a flat list of fields. Each field is a tag followed by a value:
 *
 *   tag     a varint holding (fieldNumber << 3) | wireType
 *   value   wire type 0 (VARINT): a varint, used for int32, int64, bool and enums
 *           wire type 2 (LEN):    a varint byte count, then that many bytes: strings, bytes,
 *                                 nested messages and "packed" lists of numbers
 *           wire type 5 (I32):    4 little-endian bytes, used for float
 *
 * A varint stores an unsigned integer 7 bits per byte, lowest bits first; the top bit of each byte
 * says "more bytes follow". So 1 is `01`, 300 is `ac 02`. A negative int64 is written as its 64-bit
 * two's complement, which always takes 10 bytes (-1 is `ff ff ff ff ff ff ff ff ff 01`).
 *
 * The writer keeps large byte arrays (tensor data, nested messages) by reference and copies
 * everything once, in `finish()`; do not change an array you passed in before calling `finish()`.
 */

/** How a field's value is laid out after its tag. */
export const WireType = { VARINT: 0, FIXED64: 1, LENGTH_DELIMITED: 2, FIXED32: 5 } as const;

/** Byte arrays at least this long are kept by reference instead of being copied byte by byte. */
const CHUNK_BY_REFERENCE_BYTES = 64;

const TWO_POW_64 = 1n << 64n;
const utf8 = new TextEncoder();

export class ProtobufWriter {
  /** Finished pieces of the output, in order; `pending` holds the bytes after the last piece. */
  private readonly chunks: Uint8Array[] = [];
  private pending: number[] = [];
  /** Total length of `chunks`. */
  private chunkBytes = 0;

  /** Number of bytes written so far. */
  get length(): number {
    return this.chunkBytes + this.pending.length;
  }

  /** An unsigned varint; a negative value is written as its 64-bit two's complement (10 bytes). */
  writeVarint(value: number | bigint): void {
    if (typeof value === "number") {
      if (!Number.isSafeInteger(value)) {
        throw new RangeError(`ProtobufWriter: varint ${value} is not an integer in the safe range; pass a bigint`);
      }
      if (value >= 0 && value < 0x80000000) {
        // Fast path: fits in 31 bits, so the bit operators work directly.
        while (value > 0x7f) {
          this.pending.push((value & 0x7f) | 0x80);
          value >>>= 7;
        }
        this.pending.push(value);
        return;
      }
      value = BigInt(value);
    }
    if (value < -(1n << 63n) || value >= TWO_POW_64) {
      throw new RangeError(`ProtobufWriter: varint ${value} does not fit in 64 bits`);
    }
    let remaining = value < 0n ? value + TWO_POW_64 : value; // two's complement of a negative value
    while (remaining > 0x7fn) {
      this.pending.push(Number(remaining & 0x7fn) | 0x80);
      remaining >>= 7n;
    }
    this.pending.push(Number(remaining));
  }

  /** A field's tag: its number and how its value is laid out. */
  writeTag(fieldNumber: number, wireType: number): void {
    if (!Number.isInteger(fieldNumber) || fieldNumber < 1 || fieldNumber > 0x1fffffff) {
      throw new RangeError(`ProtobufWriter: field number ${fieldNumber} must be an integer from 1 to 2^29 - 1`);
    }
    this.writeVarint(fieldNumber * 8 + wireType);
  }

  /** An int32, int64, bool or enum field. */
  writeVarintField(fieldNumber: number, value: number | bigint): void {
    this.writeTag(fieldNumber, WireType.VARINT);
    this.writeVarint(value);
  }

  /** A float field: 4 little-endian bytes (the value is rounded to float32). */
  writeFloatField(fieldNumber: number, value: number): void {
    this.writeTag(fieldNumber, WireType.FIXED32);
    this.writeRaw(littleEndianFloats([value]));
  }

  /** A bytes field: the byte count, then the bytes. */
  writeBytesField(fieldNumber: number, bytes: Uint8Array): void {
    this.writeTag(fieldNumber, WireType.LENGTH_DELIMITED);
    this.writeVarint(bytes.length);
    this.writeRaw(bytes);
  }

  /** A string field, encoded as UTF-8. */
  writeStringField(fieldNumber: number, text: string): void {
    this.writeBytesField(fieldNumber, utf8.encode(text));
  }

  /** A nested message, given as another writer or as already encoded bytes. */
  writeMessageField(fieldNumber: number, message: ProtobufWriter | Uint8Array): void {
    if (message instanceof Uint8Array) return this.writeBytesField(fieldNumber, message);
    if (message === this) throw new Error("ProtobufWriter: a message cannot be written into itself");
    this.writeTag(fieldNumber, WireType.LENGTH_DELIMITED);
    this.writeVarint(message.length);
    message.flushPending();
    for (const chunk of message.chunks) this.writeRaw(chunk);
  }

  /** A packed repeated int64 field: all varints in one length-delimited value. Nothing if empty. */
  writePackedInt64Field(fieldNumber: number, values: readonly (number | bigint)[]): void {
    if (values.length === 0) return;
    const packed = new ProtobufWriter();
    for (const value of values) packed.writeVarint(value);
    this.writeMessageField(fieldNumber, packed);
  }

  /** A packed repeated float field: 4 little-endian bytes per value. Nothing if empty. */
  writePackedFloatField(fieldNumber: number, values: readonly number[]): void {
    if (values.length === 0) return;
    this.writeBytesField(fieldNumber, littleEndianFloats(values));
  }

  /** The encoded message as one contiguous array. */
  finish(): Uint8Array {
    this.flushPending();
    const output = new Uint8Array(this.chunkBytes);
    let offset = 0;
    for (const chunk of this.chunks) {
      output.set(chunk, offset);
      offset += chunk.length;
    }
    return output;
  }

  private writeRaw(bytes: Uint8Array): void {
    if (bytes.length < CHUNK_BY_REFERENCE_BYTES) {
      for (const byte of bytes) this.pending.push(byte);
    } else {
      this.flushPending();
      this.chunks.push(bytes);
      this.chunkBytes += bytes.length;
    }
  }

  private flushPending(): void {
    if (this.pending.length === 0) return;
    this.chunks.push(Uint8Array.from(this.pending));
    this.chunkBytes += this.pending.length;
    this.pending = [];
  }
}

function littleEndianFloats(values: readonly number[]): Uint8Array {
  const bytes = new Uint8Array(values.length * 4);
  const view = new DataView(bytes.buffer);
  values.forEach((value, index) => view.setFloat32(index * 4, value, true));
  return bytes;
}
