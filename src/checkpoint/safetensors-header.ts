/**
 * The header of a safetensors file, read without reading the weights: the first 8 bytes (N, the
 * header length, unsigned 64-bit little-endian), then N bytes of JSON naming every tensor's dtype,
 * shape and byte range in the data that follows (src/model/safetensors.ts has the full format).
 *
 * A model of 2 GB is checked by reading a few kilobytes: the names and shapes against config.json,
 * the dtypes against what the runtime decodes, and the byte ranges against the file's size (a
 * download that stopped leaves a file shorter than its header says).
 *
 * No `vscode` import.
 */

import { open } from "node:fs/promises";

import { gitLfsAdvice, incompleteDownloadAdvice, repairAdvice, type ModelOrigin } from "./model-advice";
import { describeAbsentFile, fileState, isGitLfsPointer, ModelFileError, reasonOf } from "./model-files";

/** One tensor as the header describes it. */
export interface HeaderTensor {
  /** As written in the file: "F32", "F16", "BF16", or another ("I8", "F8_E4M3", ...) the runtime refuses. */
  dtype: string;
  shape: number[];
}

/** What a safetensors header says. */
export interface SafetensorsHeader {
  /** Absolute path of the file. */
  file: string;
  /** Size of the whole file in bytes. */
  fileBytes: number;
  tensors: Map<string, HeaderTensor>;
}

/** The dtypes the runtime decodes to float32 (src/model/safetensors.ts). */
export const SUPPORTED_WEIGHT_DTYPES = ["F32", "F16", "BF16"] as const;

/** Bytes per element of the dtypes safetensors defines, to check each tensor's byte range. */
const BYTES_PER_ELEMENT: Record<string, number> = {
  F64: 8, F32: 4, F16: 2, BF16: 2, F8_E4M3: 1, F8_E5M2: 1,
  I64: 8, I32: 4, I16: 2, I8: 1, U64: 8, U32: 4, U16: 2, U8: 1, BOOL: 1,
};

/** Headers beyond this are refused, as the reference implementation does: not a real file. */
const MAX_HEADER_BYTES = 100_000_000;

const METADATA_KEY = "__metadata__";

/**
 * Reads and checks the header of the safetensors file at `path`. Throws `ModelFileError` for a file
 * that is absent, a Git LFS pointer, truncated, or not a safetensors file; the message names the
 * file and says what to do (by `origin`: reinstall for a bundled model, download again otherwise).
 */
export async function readSafetensorsHeader(path: string, origin: ModelOrigin): Promise<SafetensorsHeader> {
  const state = await fileState(path);
  if (state.kind !== "file") {
    const advice = state.kind === "dangling-link" ? incompleteDownloadAdvice(origin) : repairAdvice(origin);
    throw new ModelFileError(`${path} ${describeAbsentFile(state)}. ${advice}`);
  }
  const size = state.size;
  const file = await open(path, "r").catch((error: unknown) => {
    throw new ModelFileError(`${path} cannot be read (${reasonOf(error)}). ${repairAdvice(origin)}`);
  });
  try {
    const head = Buffer.alloc(Math.min(size, 64));
    await file.read(head, 0, head.length, 0);
    if (isGitLfsPointer(head)) throw new ModelFileError(`${path} is a Git LFS pointer, not the weights. ${gitLfsAdvice(origin)}`);

    const corrupt = (what: string) => new ModelFileError(`${path} is not a valid safetensors file (${what}). ${repairAdvice(origin)}`);
    const truncated = (what: string) =>
      new ModelFileError(`${path} is not a valid safetensors file (${what}): it is truncated, a download or copy that stopped partway. ${incompleteDownloadAdvice(origin)}`);
    if (size < 8) throw corrupt(`it has ${size} bytes; the header length alone takes 8`);
    const headerLength = Number(head.readBigUInt64LE(0));
    if (headerLength > MAX_HEADER_BYTES) {
      throw corrupt(`its first 8 bytes say ${headerLength} bytes of header follow, more than any real header; is it a renamed .bin, .gguf or an HTML error page?`);
    }
    if (headerLength < 2 || 8 + headerLength > size) {
      throw truncated(`its header says ${headerLength} bytes of JSON follow, but the file has ${size} bytes`);
    }
    const headerBytes = Buffer.alloc(headerLength);
    await file.read(headerBytes, 0, headerLength, 8);
    let header: unknown;
    try {
      header = JSON.parse(headerBytes.toString("utf8"));
    } catch (error) {
      throw corrupt(`its header is not JSON: ${reasonOf(error)}`);
    }
    if (typeof header !== "object" || header === null || Array.isArray(header)) throw corrupt("its header is not a JSON object of tensors");

    const dataBytes = size - 8 - headerLength;
    const tensors = new Map<string, HeaderTensor>();
    let dataEnd = 0;
    for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
      if (name === METADATA_KEY) continue;
      const { dtype, shape, end } = checkEntry(name, entry, corrupt);
      tensors.set(name, { dtype, shape });
      dataEnd = Math.max(dataEnd, end);
    }
    if (dataEnd > dataBytes) {
      throw truncated(`its header places tensor data up to byte ${8 + headerLength + dataEnd}, but the file has ${size} bytes`);
    }
    return { file: path, fileBytes: size, tensors };
  } finally {
    await file.close();
  }
}

/** One header entry: {"dtype": "BF16", "shape": [576, 49152], "data_offsets": [begin, end]}. */
function checkEntry(name: string, entry: unknown, corrupt: (what: string) => Error): HeaderTensor & { end: number } {
  const where = `the entry of ${name}`;
  if (typeof entry !== "object" || entry === null || Array.isArray(entry)) throw corrupt(`${where} is not an object`);
  const { dtype, shape, data_offsets: offsets } = entry as Record<string, unknown>;
  if (typeof dtype !== "string") throw corrupt(`${where} has no "dtype" string`);
  if (!Array.isArray(shape) || !shape.every((size) => Number.isSafeInteger(size) && (size as number) >= 0)) {
    throw corrupt(`${where} has a "shape" that is not a list of sizes`);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((offset) => Number.isSafeInteger(offset) && (offset as number) >= 0)) {
    throw corrupt(`${where} has no "data_offsets" [begin, end]`);
  }
  const [begin, end] = offsets as [number, number];
  if (end < begin) throw corrupt(`${where} ends (${end}) before it begins (${begin})`);
  const elementBytes = BYTES_PER_ELEMENT[dtype];
  const elements = (shape as number[]).reduce((product, size) => product * size, 1);
  if (elementBytes !== undefined && end - begin !== elements * elementBytes) {
    throw corrupt(`${where}: shape [${shape.join(", ")}] of ${dtype} takes ${elements * elementBytes} bytes, but its data_offsets cover ${end - begin}`);
  }
  return { dtype, shape: shape as number[], end };
}
