/**
 * Just enough of a PNG reader for the export tests: the signature, the IHDR chunk (width, height,
 * bit depth, colour type) and, for 8-bit RGB or RGBA without interlacing (what Chromium's canvas
 * writes), the pixels: the IDAT chunks inflated with node:zlib and each scanline unfiltered
 * (PNG specification, section 9: filters None, Sub, Up, Average, Paeth).
 */

import { inflateSync } from "node:zlib";

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

export interface PngHeader {
  width: number;
  height: number;
  bitDepth: number;
  /** 2 RGB, 6 RGBA. */
  colorType: number;
  interlace: number;
}

interface Chunk {
  type: string;
  data: Uint8Array;
}

function chunksOf(bytes: Uint8Array): Chunk[] {
  if (!SIGNATURE.every((byte, index) => bytes[index] === byte)) throw new Error("not a PNG: the 8-byte signature is missing");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const chunks: Chunk[] = [];
  for (let offset = 8; offset + 8 <= bytes.length; ) {
    const length = view.getUint32(offset);
    const type = String.fromCharCode(...bytes.subarray(offset + 4, offset + 8));
    chunks.push({ type, data: bytes.subarray(offset + 8, offset + 8 + length) });
    offset += 12 + length; // length, type, data, CRC
    if (type === "IEND") break;
  }
  return chunks;
}

/** The IHDR chunk, which the PNG format puts first. */
export function pngHeader(bytes: Uint8Array): PngHeader {
  const [first] = chunksOf(bytes);
  if (first?.type !== "IHDR") throw new Error(`the first chunk is ${first?.type ?? "missing"}, not IHDR`);
  const view = new DataView(first.data.buffer, first.data.byteOffset, first.data.byteLength);
  return { width: view.getUint32(0), height: view.getUint32(4), bitDepth: first.data[8], colorType: first.data[9], interlace: first.data[12] };
}

/** The pixels as RGBA bytes, row-major. */
export function pngPixels(bytes: Uint8Array): { header: PngHeader; rgba: Uint8Array } {
  const header = pngHeader(bytes);
  if (header.bitDepth !== 8 || (header.colorType !== 2 && header.colorType !== 6) || header.interlace !== 0) {
    throw new Error(`pngPixels reads 8-bit RGB or RGBA without interlacing; this PNG has depth ${header.bitDepth}, colour type ${header.colorType}, interlace ${header.interlace}`);
  }
  const channels = header.colorType === 6 ? 4 : 3;
  const stride = header.width * channels;
  const idat = chunksOf(bytes).filter((chunk) => chunk.type === "IDAT");
  const raw = inflateSync(Buffer.concat(idat.map((chunk) => chunk.data)));
  const pixels = new Uint8Array(header.height * stride);
  for (let row = 0; row < header.height; row++) {
    const filter = raw[row * (stride + 1)];
    const line = raw.subarray(row * (stride + 1) + 1, (row + 1) * (stride + 1));
    const out = pixels.subarray(row * stride, (row + 1) * stride);
    const above = row > 0 ? pixels.subarray((row - 1) * stride, row * stride) : new Uint8Array(stride);
    for (let index = 0; index < stride; index++) {
      const left = index >= channels ? out[index - channels] : 0;
      const up = above[index];
      const upLeft = index >= channels ? above[index - channels] : 0;
      let predictor = 0;
      if (filter === 1) predictor = left;
      else if (filter === 2) predictor = up;
      else if (filter === 3) predictor = (left + up) >> 1;
      else if (filter === 4) {
        const estimate = left + up - upLeft;
        const [a, b, c] = [Math.abs(estimate - left), Math.abs(estimate - up), Math.abs(estimate - upLeft)];
        predictor = a <= b && a <= c ? left : b <= c ? up : upLeft;
      } else if (filter !== 0) throw new Error(`unknown PNG filter ${filter} on row ${row}`);
      out[index] = (line[index] + predictor) & 0xff;
    }
  }
  if (channels === 4) return { header, rgba: pixels };
  const rgba = new Uint8Array(header.width * header.height * 4);
  for (let pixel = 0; pixel < header.width * header.height; pixel++) rgba.set([pixels[pixel * 3], pixels[pixel * 3 + 1], pixels[pixel * 3 + 2], 255], pixel * 4);
  return { header, rgba };
}
