/**
 * The files of a Hugging Face model folder, and the few file-system questions asked about them: is
 * the file there, is it a link whose target is gone (a partial download in the hub cache), is it a
 * Git LFS pointer instead of the real file, and its bytes when it is a small one (JSON).
 *
 *   config.json                       the sizes (parseModelConfig)
 *   model.safetensors                 the weights, one file
 *   model.safetensors.index.json      or: the weights in shards, named by this index
 *   tokenizer.json                    required: text to token ids
 *   tokenizer_config.json             optional: add_bos_token, bos_token, eos_token, special tokens
 *   generation_config.json            optional: bos_token_id, eos_token_id for generation
 *   head-metrics.json                 optional: what each head does, measured (head-metrics-file.ts)
 *
 * Nothing here reads a weight file. No `vscode` import.
 */

import { lstat, readFile, readlink, stat } from "node:fs/promises";
import { isAbsolute, relative } from "node:path";

import { SHARD_INDEX_FILE, SINGLE_WEIGHTS_FILE } from "../model/checkpoint-shards";
import { HEAD_METRICS_FILE } from "./head-metrics-file";
import { gitLfsAdvice, incompleteDownloadAdvice, repairAdvice, type ModelOrigin } from "./model-advice";

/** The files of one model folder, by their role. */
export const MODEL_FILES = {
  config: "config.json",
  weights: SINGLE_WEIGHTS_FILE,
  weightIndex: SHARD_INDEX_FILE,
  tokenizer: "tokenizer.json",
  tokenizerConfig: "tokenizer_config.json",
  generationConfig: "generation_config.json",
  /** Optional: what each head does, measured (head-metrics-file.ts). */
  headMetrics: HEAD_METRICS_FILE,
} as const;

/** Thrown while inspecting a model folder; the message names the file, what is wrong and what to do. */
export class ModelFileError extends Error {
  override name = "ModelFileError";
}

/** What is at a path, following links. */
export type FileState =
  | { kind: "file"; size: number }
  | { kind: "folder" }
  | { kind: "missing" }
  /** A link whose target does not exist: in the hub cache, a file whose download never finished. */
  | { kind: "dangling-link"; target: string }
  | { kind: "unreadable"; reason: string };

export async function fileState(path: string): Promise<FileState> {
  try {
    const stats = await stat(path);
    return stats.isDirectory() ? { kind: "folder" } : { kind: "file", size: stats.size };
  } catch (error) {
    if (codeOf(error) !== "ENOENT") return { kind: "unreadable", reason: reasonOf(error) };
  }
  // stat failed with ENOENT: either nothing is there, or a link points at nothing.
  try {
    const link = await lstat(path);
    if (link.isSymbolicLink()) return { kind: "dangling-link", target: await readlink(path).catch(() => "?") };
  } catch {
    // nothing there at all
  }
  return { kind: "missing" };
}

/**
 * "is missing", "is a link to ../../blobs/ab12, which is not there", "cannot be read (...)". After
 * a dangling link, say that the download is incomplete (model-advice.ts `incompleteDownloadAdvice`).
 */
export function describeAbsentFile(state: Exclude<FileState, { kind: "file" }>): string {
  switch (state.kind) {
    case "missing":
      return "is missing";
    case "dangling-link":
      return `is a link to ${state.target}, which is not there`;
    case "folder":
      return "is a folder, not a file";
    case "unreadable":
      return `cannot be read (${state.reason})`;
  }
}

/**
 * Git LFS writes a small text file in place of a large one when the repository was cloned without
 * `git lfs`: "version https://git-lfs.github.com/spec/v1\noid sha256:...\nsize N\n".
 */
export function isGitLfsPointer(head: Uint8Array): boolean {
  return Buffer.from(head.buffer, head.byteOffset, head.byteLength).toString("latin1").startsWith("version https://git-lfs");
}

/**
 * A small file of the folder (config.json, the shard index, tokenizer.json), read whole. Throws
 * `ModelFileError` naming the file and what to do when it is absent (a dangling link: the download
 * stopped), unreadable, or a Git LFS pointer; `role` names what it should be ("the index").
 */
export async function readModelFile(path: string, role: string, origin: ModelOrigin): Promise<Buffer> {
  const state = await fileState(path);
  if (state.kind !== "file") {
    throw new ModelFileError(`${path} ${describeAbsentFile(state)}. ${state.kind === "dangling-link" ? incompleteDownloadAdvice(origin) : repairAdvice(origin)}`);
  }
  const bytes = await readFile(path).catch((error: unknown) => {
    throw new ModelFileError(`${path} ${missingOrUnreadable(error)}. ${repairAdvice(origin)}`);
  });
  if (isGitLfsPointer(bytes.subarray(0, 64))) throw new ModelFileError(`${path} is a Git LFS pointer, not ${role}. ${gitLfsAdvice(origin)}`);
  return bytes;
}

/** The JSON of a file read with `readModelFile`; throws `ModelFileError` when it is not JSON (truncated or damaged). */
export function parseModelJson(bytes: Buffer, path: string, origin: ModelOrigin): unknown {
  try {
    return JSON.parse(bytes.toString("utf8"));
  } catch (error) {
    throw new ModelFileError(`${path} is not valid JSON (${reasonOf(error)}); the file is truncated or damaged. ${repairAdvice(origin)}`);
  }
}

/** Whether `path` is `folder` itself or inside it (both absolute). */
export function isInside(folder: string, path: string): boolean {
  const rest = relative(folder, path);
  return rest === "" || (!rest.startsWith("..") && !isAbsolute(rest));
}

/** An error's message without the final full stop (so it can go inside a sentence). */
export function reasonOf(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).replace(/\.$/, "");
}

/** "is missing" or "cannot be read (why)", for an error of `readFile`. */
export function missingOrUnreadable(error: unknown): string {
  if (codeOf(error) === "ENOENT") return "is missing";
  return `cannot be read (${reasonOf(error)})`;
}

function codeOf(error: unknown): unknown {
  return (error as { code?: unknown } | null)?.code;
}
