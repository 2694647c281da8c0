/**
 * A person's weight files read through the extension host in pieces: the host's reader
 * (src/extension/model-file-reads.ts) answering the page's reads (webview/runtime/host-file-reads.ts)
 * over a message channel, on a real file of several pieces; and every read the host refuses.
 */

import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { MAX_PIECE_BYTES, ModelFileReader } from "../../src/extension/model-file-reads";
import type { WebviewToHostMessage } from "../../src/protocol";
import { HostFileReads, PIECE_BYTES } from "../../webview/runtime/host-file-reads";

describe("weight files read through the extension host, in pieces", function () {
  this.timeout(30_000);
  let folder: string;
  let path: string;
  let content: Uint8Array;

  before(() => {
    folder = mkdtempSync(join(tmpdir(), "attention-lens-file-reads-"));
    path = join(folder, "model.safetensors");
    content = new Uint8Array(randomBytes(2 * PIECE_BYTES + 12345)); // three pieces, the last one short
    writeFileSync(path, content);
  });
  after(() => rmSync(folder, { recursive: true, force: true }));

  /** The page's reads answered by the host's reader, as the panel relays them. */
  function channel(reader: ModelFileReader): HostFileReads {
    const reads: HostFileReads = new HostFileReads((message: WebviewToHostMessage) => {
      if (message.type !== "readModelFile") return;
      void reader.read(message.path, message.offset, message.length).then(
        (bytes) => reads.receive({ type: "modelFileBytes", readId: message.readId, bytes }),
        (error: Error) => reads.receive({ type: "modelFileBytes", readId: message.readId, error: error.message }),
      );
    });
    return reads;
  }

  it("the whole file arrives, byte for byte, with progress after every piece", async () => {
    const reader = new ModelFileReader();
    reader.allow([{ path, bytes: content.byteLength }]);
    const progress: number[] = [];
    const bytes = await channel(reader).readFile({ path, bytes: content.byteLength }, (loaded) => progress.push(loaded));
    assert.equal(Buffer.compare(Buffer.from(bytes), Buffer.from(content)), 0);
    assert.equal(progress.length, 3, "one report per piece");
    assert.ok(progress.every((loaded, index) => index === 0 || loaded > progress[index - 1]), `progress grows: ${progress.join(", ")}`);
    assert.equal(progress[progress.length - 1], content.byteLength);
  });

  it("refuses a file no model lists, a read past its end, and a piece over the limit", async () => {
    const reader = new ModelFileReader();
    reader.allow([{ path, bytes: content.byteLength }]);
    await assert.rejects(reader.read(join(folder, "other.bin"), 0, 10), /other\.bin is not a weight file of a model the panel was given/);
    await assert.rejects(reader.read(path, content.byteLength - 5, 10), /cannot read 10 bytes at \d+ of .*model\.safetensors/);
    await assert.rejects(reader.read(path, 0, MAX_PIECE_BYTES + 1), /pieces of at most/);
    await assert.rejects(reader.read(path, -1, 10), /cannot read/);
  });

  it("a file cut short since it was listed: the page's read fails with a message that says so", async () => {
    const short = join(folder, "short.safetensors");
    writeFileSync(short, content.subarray(0, PIECE_BYTES + 100));
    const reader = new ModelFileReader();
    reader.allow([{ path: short, bytes: PIECE_BYTES + 100 }]);
    truncateSync(short, 50);
    await assert.rejects(channel(reader).readFile({ path: short, bytes: PIECE_BYTES + 100 }), /short\.safetensors ended after \d+ bytes, but it was 16777316 bytes when the model was listed: was it changed since\?/);
  });
});
