/**
 * The files of a Hugging Face model folder, and the few file-system questions the catalog asks
 * about them: is the file there, is it a link whose target is gone (a partial download in the hub
 * cache), is it a Git LFS pointer instead of the real file, and what are its first bytes.
 *
 *   config.json                       the sizes (parseModelConfig)
 *   model.safetensors                 the weights, one file
 *   model.safetensors.index.json      or: the weights in shards, named by this index
 *   tokenizer.json                    required: text to token ids
 *   tokenizer_config.json             optional: add_bos_token, bos_token, eos_token, special tokens
 *   generation_config.json            optional: bos_token_id, eos_token_id for generation
 *   head-metrics.json                 optional: what each head does, measured (head-metrics-file.ts)
 *
 * Nothing here reads a weight file beyond its first bytes. No `vscode` import.
 */

import { lstat, open, readlink, stat } from "node:fs/promises";
import { isAbsolute, relative } from "node:path";

import { SHARD_INDEX_FILE, SINGLE_WEIGHTS_FILE } from "../model/checkpoint-shards";
import { HEAD_METRICS_FILE } from "./head-metrics-file";

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

/** The first `count` bytes of a file (fewer when the file is shorter). */
export async function readFileHead(path: string, count: number): Promise<Buffer> {
  const file = await open(path, "r");
  try {
    const head = Buffer.alloc(count);
    const { bytesRead } = await file.read(head, 0, count, 0);
    return head.subarray(0, bytesRead);
  } finally {
    await file.close();
  }
}

/**
 * Git LFS writes a small text file in place of a large one when the repository was cloned without
 * `git lfs`: "version https://git-lfs.github.com/spec/v1\noid sha256:...\nsize N\n".
 */
export function isGitLfsPointer(head: Uint8Array): boolean {
  return Buffer.from(head.buffer, head.byteOffset, head.byteLength).toString("latin1").startsWith("version https://git-lfs");
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

/** "12.3 MB", "1.9 GB": sizes in the messages (decimal units, as file managers show them). */
export function formatBytes(bytes: number): string {
  if (bytes >= 1e9) return `${(bytes / 1e9).toFixed(1)} GB`;
  if (bytes >= 1e6) return `${(bytes / 1e6).toFixed(1)} MB`;
  if (bytes >= 1e3) return `${(bytes / 1e3).toFixed(1)} kB`;
  return `${bytes} bytes`;
}
