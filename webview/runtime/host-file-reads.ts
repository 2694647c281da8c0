/**
 * The page's side of reading a person's weight files through the extension host, piece by piece
 * (src/extension/model-file-reads.ts says why the webview's own resource loading cannot): each
 * `readModelFile` asks for PIECE_BYTES at an offset, the host answers `modelFileBytes`, and the
 * pieces are copied into one buffer of the file's size. Two pieces are in flight at a time, so the
 * host reads the next while the page copies one.
 */

import type { HostToWebviewMessage, WebviewToHostMessage } from "../../src/protocol";

/** Bytes asked for per piece. */
export const PIECE_BYTES = 16 * 2 ** 20;

type FileBytesMessage = Extract<HostToWebviewMessage, { type: "modelFileBytes" }>;

export class HostFileReads {
  private nextReadId = 1;
  private readonly waiting = new Map<number, { resolve: (bytes: Uint8Array) => void; reject: (error: Error) => void }>();

  constructor(private readonly post: (message: WebviewToHostMessage) => void) {}

  /** A `modelFileBytes` message: settles the read it answers (an unknown one is ignored). */
  receive(message: FileBytesMessage): void {
    const read = this.waiting.get(message.readId);
    if (!read) return;
    this.waiting.delete(message.readId);
    if (message.error !== undefined || !message.bytes) read.reject(new Error(message.error ?? "the host sent no bytes"));
    else read.resolve(message.bytes instanceof Uint8Array ? message.bytes : new Uint8Array(message.bytes as ArrayLike<number>));
  }

  /** `length` bytes at `offset` of `path`. */
  piece(path: string, offset: number, length: number): Promise<Uint8Array> {
    const readId = this.nextReadId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(readId, { resolve, reject });
      this.post({ type: "readModelFile", readId, path, offset, length });
    });
  }

  /** The whole file of `bytes` bytes; `onBytes(loaded, total)` after each piece. */
  async readFile(file: { path: string; bytes: number }, onBytes?: (loaded: number, total: number) => void): Promise<Uint8Array> {
    const whole = new Uint8Array(file.bytes);
    const offsets: number[] = [];
    for (let offset = 0; offset < file.bytes; offset += PIECE_BYTES) offsets.push(offset);
    let loaded = 0;
    const readAt = async (offset: number) => {
      const length = Math.min(PIECE_BYTES, file.bytes - offset);
      const bytes = await this.piece(file.path, offset, length);
      if (bytes.byteLength !== length) throw new Error(`the host sent ${bytes.byteLength} bytes of ${file.path} at ${offset}, not ${length}`);
      whole.set(bytes, offset);
      loaded += length;
      onBytes?.(loaded, file.bytes);
    };
    // Two pieces in flight: the next is read while this one travels.
    for (let index = 0; index < offsets.length; index += 2) {
      await Promise.all(offsets.slice(index, index + 2).map(readAt));
    }
    return whole;
  }

  /** Fails every read still waiting (the page is going away). */
  cancelAll(reason: string): void {
    for (const read of this.waiting.values()) read.reject(new Error(reason));
    this.waiting.clear();
  }
}
