/**
 * Writing safetensors files (the format is described in safetensors.ts, which reads them): tensors
 * stored as F32, F16 or BF16, in the order the Python `safetensors` library writes them, with the
 * header padded to a multiple of 8 bytes so every tensor stays aligned to its element size.
 */

import { encodeBfloat16, encodeFloat16 } from "./float16";
import { describeJsonValue, HOST_IS_LITTLE_ENDIAN, isSupportedDtype, METADATA_KEY, SafetensorsError, SUPPORTED_DTYPES, type SafetensorsDtype } from "./safetensors";
import type { Tensor } from "../attention/tensor";

export interface WriteSafetensorsOptions {
  /** The dtype of every tensor, or of each tensor by name. Default "F32". */
  dtype?: SafetensorsDtype | ((name: string) => SafetensorsDtype);
  /** Strings stored as `__metadata__`. */
  metadata?: Record<string, string>;
}

/**
 * Order of the tensors in the data buffer, as the Python `safetensors` library writes them: larger
 * elements first (F32, then BF16, then F16), then by name. With the 8-byte-aligned header this keeps
 * every tensor aligned to its element size, so readers can view the bytes in place.
 */
const DTYPE_WRITE_RANK: Record<SafetensorsDtype, number> = { F32: 0, BF16: 1, F16: 2 };

/** Compares by Unicode code point, like Rust's (and Python's) string ordering. */
function compareCodePoints(left: string, right: string): number {
  const leftPoints = Array.from(left, (character) => character.codePointAt(0) as number);
  const rightPoints = Array.from(right, (character) => character.codePointAt(0) as number);
  for (let index = 0; index < Math.min(leftPoints.length, rightPoints.length); index++) {
    if (leftPoints[index] !== rightPoints[index]) return leftPoints[index] - rightPoints[index];
  }
  return leftPoints.length - rightPoints.length;
}

/** Float32 values -> the little-endian bytes of `dtype`. */
function encodeTensorBytes(values: Float32Array, dtype: SafetensorsDtype): Uint8Array {
  const encoded = dtype === "F32" ? values : dtype === "F16" ? encodeFloat16(values) : encodeBfloat16(values);
  if (HOST_IS_LITTLE_ENDIAN) return new Uint8Array(encoded.buffer, encoded.byteOffset, encoded.byteLength);
  const bytes = new Uint8Array(encoded.byteLength);
  const view = new DataView(bytes.buffer);
  if (encoded instanceof Float32Array) encoded.forEach((value, index) => view.setFloat32(index * 4, value, true));
  else encoded.forEach((bits, index) => view.setUint16(index * 2, bits, true));
  return bytes;
}

/**
 * Serializes tensors to safetensors bytes. Tensors are stored as `options.dtype` (default F32),
 * ordered as the Python library orders them; the header is padded with spaces to a multiple of 8.
 */
export function writeSafetensors(
  tensors: Record<string, Tensor> | Map<string, Tensor>,
  options: WriteSafetensorsOptions = {},
): Uint8Array {
  const named = tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors);
  const dtypeOf = (name: string): SafetensorsDtype => {
    const dtype = typeof options.dtype === "function" ? options.dtype(name) : (options.dtype ?? "F32");
    if (!isSupportedDtype(dtype)) {
      throw new SafetensorsError(
        `writeSafetensors: tensor "${name}" was given dtype "${String(dtype)}"; use one of ${SUPPORTED_DTYPES.join(", ")}`,
      );
    }
    return dtype;
  };

  const planned = named.map(([name, tensor]) => {
    if (name === METADATA_KEY) {
      throw new SafetensorsError(`writeSafetensors: "${METADATA_KEY}" is reserved for metadata and cannot name a tensor`);
    }
    return { name, tensor, dtype: dtypeOf(name) };
  });
  planned.sort(
    (left, right) => DTYPE_WRITE_RANK[left.dtype] - DTYPE_WRITE_RANK[right.dtype] || compareCodePoints(left.name, right.name),
  );

  // The header is assembled by hand: JSON.stringify of one object would move integer-like tensor
  // names ("0", "12") to the front and so break the data order.
  const headerParts: string[] = [];
  const metadata = options.metadata ?? {};
  if (Object.keys(metadata).length > 0) {
    for (const [key, value] of Object.entries(metadata)) {
      if (typeof value !== "string") {
        throw new SafetensorsError(
          `writeSafetensors: metadata value of "${key}" must be a string, got ${describeJsonValue(value)}; ` +
            "write other values as JSON text",
        );
      }
    }
    const metadataJson = Object.entries(metadata).map(([key, value]) => `${JSON.stringify(key)}:${JSON.stringify(value)}`);
    headerParts.push(`${JSON.stringify(METADATA_KEY)}:{${metadataJson.join(",")}}`);
  }
  const chunks: Uint8Array[] = [];
  let dataLength = 0;
  for (const { name, tensor, dtype } of planned) {
    const chunk = encodeTensorBytes(tensor.data, dtype);
    const entry = { dtype, shape: tensor.shape, data_offsets: [dataLength, dataLength + chunk.length] };
    headerParts.push(`${JSON.stringify(name)}:${JSON.stringify(entry)}`);
    chunks.push(chunk);
    dataLength += chunk.length;
  }

  const headerText = new TextEncoder().encode(`{${headerParts.join(",")}}`);
  const headerLength = Math.ceil(headerText.length / 8) * 8;
  const output = new Uint8Array(8 + headerLength + dataLength);
  new DataView(output.buffer).setBigUint64(0, BigInt(headerLength), true);
  output.set(headerText, 8);
  output.fill(0x20, 8 + headerText.length, 8 + headerLength); // space padding
  let offset = 8 + headerLength;
  for (const chunk of chunks) {
    output.set(chunk, offset);
    offset += chunk.length;
  }
  return output;
}
