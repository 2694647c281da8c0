/**
 * Reading and writing safetensors files, the format Hugging Face models are shared in.
 *
 * A safetensors file is three parts, one after the other:
 *
 *   8 bytes    N, the header length: an unsigned 64-bit little-endian integer
 *   N bytes    the header: UTF-8 JSON, padded with spaces to a multiple of 8 bytes
 *   the rest   the data buffer: every tensor's raw little-endian row-major bytes
 *
 * The header maps each tensor name to where its bytes are, plus optional string metadata:
 *
 *   { "wte": { "dtype": "F16", "shape": [50257, 768], "data_offsets": [0, 77194752] },
 *     "__metadata__": { "format": "pt" } }
 *
 * `data_offsets` are [begin, end) byte positions relative to the start of the data buffer (not of
 * the file). The tensors must tile the data buffer exactly: no gaps and no overlaps, which is what
 * makes the format safe to load without trusting it.
 *
 * Writing is safetensors-writer.ts. `readSafetensors` decodes every tensor to a float32 `Tensor`; `readWeightTensors` keeps 16-bit
 * matrices at 16 bits, as a model's weights are held (half-tensor.ts). F32, F16 and BF16 are
 * supported. Both check everything above and say, in each error, which file is wrong, how, and
 * what to do.
 */

import { decodeBfloat16, decodeFloat16 } from "./float16";
import { bfloat16ToFloat16InPlace, HalfTensor, type WeightTensor } from "./half-tensor";
import { formatShape, sizeOfShape, Tensor } from "../attention/tensor";

/** The element types this module reads and writes. */
export type SafetensorsDtype = "F32" | "F16" | "BF16";

/** Thrown for a malformed safetensors file, or for tensors that cannot be written as one. */
export class SafetensorsError extends Error {
  override name = "SafetensorsError";
}

/** A decoded safetensors file. */
export interface SafetensorsFile {
  /** Every tensor, decoded to float32, in the order of their bytes in the file. */
  tensors: Map<string, Tensor>;
  /** The dtype each tensor was stored as. */
  dtypes: Map<string, SafetensorsDtype>;
  /** The `__metadata__` strings (empty when the file has none). */
  metadata: Record<string, string>;
}

/** Bytes per element of each supported dtype. */
const BYTES_PER_ELEMENT: Record<SafetensorsDtype, number> = { F32: 4, F16: 2, BF16: 2 };

export const SUPPORTED_DTYPES = Object.keys(BYTES_PER_ELEMENT) as SafetensorsDtype[];

/** The header key that holds metadata instead of a tensor. */
export const METADATA_KEY = "__metadata__";

/** Headers beyond this are refused, as the reference implementation does: not a real file. */
const MAX_HEADER_BYTES = 100_000_000;

export const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export function isSupportedDtype(dtype: string): dtype is SafetensorsDtype {
  return Object.prototype.hasOwnProperty.call(BYTES_PER_ELEMENT, dtype);
}

export function describeJsonValue(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return `a ${typeof value}`;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

// ---------------------------------------------------------------------------------------------
// Reading

/** One tensor's header entry after validation. */
interface TensorEntry {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  begin: number;
  end: number;
}

export interface ReadSafetensorsOptions {
  /**
   * F32 tensors become views of `bytes` where they are 4-byte aligned, instead of copies: the
   * weights then take the file's memory once, not twice. The views keep the whole file buffer alive
   * and see any change made to it; for loading a model's weights, where both live as long. Default false.
   */
  shareFloat32?: boolean;
}

/**
 * Parses a safetensors file and decodes every tensor to float32. `source` names the file in error
 * messages (a path or a URL). Throws `SafetensorsError` for anything malformed.
 */
export function readSafetensors(bytes: Uint8Array, source = "safetensors file", options: ReadSafetensorsOptions = {}): SafetensorsFile {
  const { entries, dataStart, metadata } = parseSafetensors(bytes, source);
  const tensors = new Map<string, Tensor>();
  const dtypes = new Map<string, SafetensorsDtype>();
  for (const entry of entries) {
    const raw = bytes.subarray(dataStart + entry.begin, dataStart + entry.end);
    const shared = options.shareFloat32 && entry.dtype === "F32" && HOST_IS_LITTLE_ENDIAN && raw.byteOffset % 4 === 0;
    const data = shared ? new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4) : decodeTensorBytes(raw, entry.dtype);
    tensors.set(entry.name, new Tensor(data, entry.shape));
    dtypes.set(entry.name, entry.dtype);
  }
  return { tensors, dtypes, metadata };
}

/** A safetensors file read as a model's weights (`readWeightTensors`). */
export interface WeightTensorsFile {
  /** Every tensor: float32, or float16 bits for 16-bit matrices (see half-tensor.ts). */
  tensors: Map<string, WeightTensor>;
  /** The dtype each tensor was stored as. */
  dtypes: Map<string, SafetensorsDtype>;
  /** BF16 matrices with a value beyond float16's range, decoded to float32 instead (usually none). */
  widened: string[];
}

/**
 * Reads a model's weights as the runtime holds them, taking the file's memory once: F32 tensors
 * and F16 matrices as views of `bytes` where aligned; BF16 matrices converted to float16 IN PLACE
 * in `bytes` (half-tensor.ts); vectors (norm gains, biases) decoded to float32. The tensors keep
 * the whole buffer alive and `bytes` no longer holds the file's BF16 values afterwards: pass bytes
 * read for this and nothing else.
 */
export function readWeightTensors(bytes: Uint8Array, source = "safetensors file"): WeightTensorsFile {
  const { entries, dataStart } = parseSafetensors(bytes, source);
  const tensors = new Map<string, WeightTensor>();
  const dtypes = new Map<string, SafetensorsDtype>();
  const widened: string[] = [];
  for (const entry of entries) {
    const raw = bytes.subarray(dataStart + entry.begin, dataStart + entry.end);
    dtypes.set(entry.name, entry.dtype);
    if (entry.dtype === "F32" || entry.shape.length < 2) {
      const shared = entry.dtype === "F32" && HOST_IS_LITTLE_ENDIAN && raw.byteOffset % 4 === 0;
      tensors.set(entry.name, new Tensor(shared ? new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4) : decodeTensorBytes(raw, entry.dtype), entry.shape));
      continue;
    }
    const bits = sixteenBitsOf(raw);
    if (entry.dtype === "BF16" && !bfloat16ToFloat16InPlace(bits)) {
      tensors.set(entry.name, new Tensor(decodeBfloat16(bits), entry.shape));
      widened.push(entry.name);
      continue;
    }
    tensors.set(entry.name, new HalfTensor(bits, entry.shape));
  }
  return { tensors, dtypes, widened };
}

/** A 16-bit tensor's bytes as bit patterns: a view where aligned (little-endian hosts), else a copy. */
function sixteenBitsOf(raw: Uint8Array): Uint16Array {
  if (HOST_IS_LITTLE_ENDIAN && raw.byteOffset % 2 === 0) return new Uint16Array(raw.buffer, raw.byteOffset, raw.byteLength / 2);
  const bits = new Uint16Array(raw.byteLength / 2);
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  for (let index = 0; index < bits.length; index++) bits[index] = view.getUint16(index * 2, true);
  return bits;
}

/** Checks the whole file (header, entries, tiling) and returns where each tensor's bytes are. */
function parseSafetensors(bytes: Uint8Array, source: string): { entries: TensorEntry[]; dataStart: number; metadata: Record<string, string> } {
  const fail = (message: string): never => {
    throw new SafetensorsError(`${source}: ${message}`);
  };

  if (bytes.length < 8) {
    fail(
      `the file is ${bytes.length} bytes long, too short to hold even the 8-byte header length; ` +
        "the file may be truncated or empty; download or export it again",
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLengthBig = view.getBigUint64(0, true);
  if (headerLengthBig > BigInt(MAX_HEADER_BYTES)) {
    fail(
      `the header length field says ${headerLengthBig} bytes, more than the 100 MB limit; ` +
        "this is probably not a safetensors file (check that it is not a pickle .bin, a GGUF or an HTML error page)",
    );
  }
  const headerLength = Number(headerLengthBig);
  const dataStart = 8 + headerLength;
  if (dataStart > bytes.length) {
    fail(
      `the header length field says ${headerLength} bytes but only ${bytes.length - 8} bytes follow it; ` +
        "the file may be truncated; download or export it again",
    );
  }

  const header = parseHeader(bytes.subarray(8, dataStart), fail);
  const dataLength = bytes.length - dataStart;

  const entries: TensorEntry[] = [];
  let metadata: Record<string, string> = {};
  for (const [name, rawEntry] of Object.entries(header)) {
    if (name === METADATA_KEY) metadata = parseMetadata(rawEntry, fail);
    else entries.push(parseEntry(name, rawEntry, dataLength, fail));
  }
  checkTiling(entries, dataLength, fail);
  return { entries, dataStart, metadata };
}

function parseHeader(headerBytes: Uint8Array, fail: (message: string) => never): Record<string, unknown> {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(headerBytes);
  } catch {
    return fail("the header is not valid UTF-8 text; the file is corrupt or not a safetensors file");
  }
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return fail(`the header is not valid JSON (${reason}); the file is corrupt or not a safetensors file`);
  }
  if (!isPlainObject(header)) {
    return fail(
      `the header must be a JSON object mapping tensor names to entries, but it is ${describeJsonValue(header)}`,
    );
  }
  return header;
}

function parseMetadata(raw: unknown, fail: (message: string) => never): Record<string, string> {
  if (!isPlainObject(raw)) {
    return fail(`"${METADATA_KEY}" must be an object of strings, but it is ${describeJsonValue(raw)}`);
  }
  for (const [key, value] of Object.entries(raw)) {
    if (typeof value !== "string") {
      fail(
        `"${METADATA_KEY}" value of "${key}" must be a string but is ${describeJsonValue(value)}; ` +
          "safetensors metadata holds only strings (write other values as JSON text)",
      );
    }
  }
  // fromEntries defines own properties, so even a key named "__proto__" stays plain data.
  return Object.fromEntries(Object.entries(raw)) as Record<string, string>;
}

function parseEntry(
  name: string,
  raw: unknown,
  dataLength: number,
  fail: (message: string) => never,
): TensorEntry {
  const where = `tensor "${name}"`;
  if (!isPlainObject(raw)) {
    return fail(
      `${where}: the header entry must be an object with dtype, shape and data_offsets, ` +
        `but it is ${describeJsonValue(raw)}`,
    );
  }
  for (const field of ["dtype", "shape", "data_offsets"]) {
    if (!Object.prototype.hasOwnProperty.call(raw, field)) fail(`${where}: the header entry is missing "${field}"`);
  }
  const { dtype, shape, data_offsets: offsets } = raw;

  if (typeof dtype !== "string") return fail(`${where}: "dtype" must be a string, but it is ${describeJsonValue(dtype)}`);
  if (!isSupportedDtype(dtype)) {
    return fail(
      `${where}: unsupported dtype "${dtype}"; supported dtypes are ${SUPPORTED_DTYPES.join(", ")}; ` +
        "convert the model to float32, float16 or bfloat16 before exporting it",
    );
  }

  if (!Array.isArray(shape)) return fail(`${where}: "shape" must be an array of integers, but it is ${describeJsonValue(shape)}`);
  if (!shape.every((dimension) => typeof dimension === "number" && Number.isSafeInteger(dimension) && dimension >= 0)) {
    return fail(`${where}: shape [${shape.map((d) => JSON.stringify(d)).join(", ")}] must hold non-negative integers`);
  }

  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((offset) => typeof offset === "number")) {
    return fail(`${where}: "data_offsets" must be an array of two numbers [begin, end], but it is ${JSON.stringify(offsets)}`);
  }
  const [begin, end] = offsets as [number, number];
  if (!Number.isSafeInteger(begin) || !Number.isSafeInteger(end) || begin < 0 || end < begin) {
    return fail(`${where}: data_offsets [${begin}, ${end}] must be integers with 0 <= begin <= end`);
  }
  if (end > dataLength) {
    return fail(
      `${where}: data_offsets [${begin}, ${end}] reach beyond the data buffer of ${dataLength} bytes; ` +
        "the file may be truncated; download or export it again",
    );
  }

  const numbers = shape as number[];
  const expectedBytes = sizeOfShape(numbers) * BYTES_PER_ELEMENT[dtype];
  if (end - begin !== expectedBytes) {
    return fail(
      `${where}: shape ${formatShape(numbers)} of ${dtype} needs ${expectedBytes} bytes ` +
        `but data_offsets [${begin}, ${end}] cover ${end - begin}`,
    );
  }
  return { name, dtype, shape: numbers, begin, end };
}

/** Checks that the tensors cover the data buffer exactly; sorts `entries` by position. */
function checkTiling(entries: TensorEntry[], dataLength: number, fail: (message: string) => never): void {
  entries.sort((left, right) => left.begin - right.begin || left.end - right.end);
  let covered = 0; // bytes [0, covered) belong to the tensors seen so far
  let previous: TensorEntry | undefined;
  for (const entry of entries) {
    if (entry.begin < covered && previous) {
      fail(
        `tensors "${previous.name}" [${previous.begin}, ${previous.end}] and "${entry.name}" ` +
          `[${entry.begin}, ${entry.end}] overlap in the data buffer; the file is corrupt`,
      );
    }
    if (entry.begin > covered) {
      fail(`bytes [${covered}, ${entry.begin}) of the data buffer belong to no tensor (a hole); the file is corrupt`);
    }
    covered = entry.end;
    previous = entry;
  }
  if (covered !== dataLength) {
    fail(
      `bytes [${covered}, ${dataLength}) at the end of the data buffer belong to no tensor (a hole); ` +
        "the file is corrupt or was written by a buggy exporter",
    );
  }
}

/** Little-endian bytes of one tensor -> a fresh float32 array (copies, so alignment never matters). */
function decodeTensorBytes(raw: Uint8Array, dtype: SafetensorsDtype): Float32Array {
  const count = raw.length / BYTES_PER_ELEMENT[dtype];
  if (HOST_IS_LITTLE_ENDIAN) {
    const aligned = new Uint8Array(raw.length); // offset 0 of a new buffer: aligned for any view
    aligned.set(raw);
    if (dtype === "F32") return new Float32Array(aligned.buffer);
    const bits = new Uint16Array(aligned.buffer);
    return dtype === "F16" ? decodeFloat16(bits) : decodeBfloat16(bits);
  }
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  if (dtype === "F32") {
    const values = new Float32Array(count);
    for (let index = 0; index < count; index++) values[index] = view.getFloat32(index * 4, true);
    return values;
  }
  const bits = new Uint16Array(count);
  for (let index = 0; index < count; index++) bits[index] = view.getUint16(index * 2, true);
  return dtype === "F16" ? decodeFloat16(bits) : decodeBfloat16(bits);
}
