/**
 * The panel reads a person's weight files through the extension host, in pieces: the webview's own
 * resource loading fetches a whole file at once, gives up after 30 s (HTTP 408) and holds the file
 * in memory several times on the way (measured: a 269 MB checkpoint could not load that way in the
 * workbench). The page asks for one piece at a time (`readModelFile`: path, offset, length) and gets
 * the bytes back (`modelFileBytes`).
 *
 * Only the weight files of the models the panel was given can be read, each within its size, and no
 * piece is larger than MAX_PIECE_BYTES.
 *
 * No `vscode` import: the panel passes the messages, the unit tests call it in plain Node.
 */

import { open } from "node:fs/promises";

/** The largest piece one request may ask for. */
export const MAX_PIECE_BYTES = 64 * 2 ** 20;

export class ModelFileReader {
  /** Readable files and their sizes, by path. */
  private readonly files = new Map<string, number>();

  /** Lets the panel read these files (a model's `weightFiles`). */
  allow(files: readonly { path: string; bytes: number }[]): void {
    for (const { path, bytes } of files) this.files.set(path, bytes);
  }

  /** `length` bytes at `offset` of `path`; rejects with a message for the person when it cannot. */
  async read(path: string, offset: number, length: number): Promise<Uint8Array> {
    const size = this.files.get(path);
    if (size === undefined) throw new Error(`${path} is not a weight file of a model the panel was given`);
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 1 || length > MAX_PIECE_BYTES || offset + length > size) {
      throw new Error(`cannot read ${length} bytes at ${offset} of ${path} (${size} bytes, pieces of at most ${MAX_PIECE_BYTES})`);
    }
    const file = await open(path, "r").catch((error: unknown) => {
      throw new Error(`${path} cannot be opened (${error instanceof Error ? error.message : String(error)}): was it moved or deleted since the model was listed?`);
    });
    try {
      const bytes = new Uint8Array(length);
      let done = 0;
      while (done < length) {
        const { bytesRead } = await file.read(bytes, done, length - done, offset + done);
        if (bytesRead === 0) throw new Error(`${path} ended after ${offset + done} bytes, but it was ${size} bytes when the model was listed: was it changed since?`);
        done += bytesRead;
      }
      return bytes;
    } finally {
      await file.close();
    }
  }
}
