/**
 * The Hugging Face hub cache: where `transformers` and `huggingface_hub` (`from_pretrained`,
 * `hf download`) keep the models they downloaded. Its layout, for the repository org/name:
 *
 *   <cache>/models--org--name/
 *     refs/main                      a file holding the commit hash "main" pointed at when downloaded
 *     snapshots/<commit>/            one folder per downloaded commit, holding the repository's files
 *       config.json   -> ../../blobs/<sha256>      as relative links (copies on Windows without
 *       model.safetensors -> ../../blobs/<sha256>   developer mode); a link whose blob is missing is
 *                                                  a file whose download did not finish
 *     blobs/<sha256>                 the files' contents, by hash
 *
 * The cache folder is `HF_HUB_CACHE`, else `HF_HOME/hub`, else `~/.cache/huggingface/hub`.
 * Datasets and spaces (datasets--*, spaces--*) share the folder and are skipped.
 *
 * No `vscode` import; the environment and home folder are parameters, so tests build a cache in a
 * temporary folder.
 */

import { readdir, readFile, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

import { reasonOf } from "./model-files";

/** One model repository of the cache, at the snapshot that will be used. */
export interface HubCacheRepository {
  /** "HuggingFaceTB/SmolLM2-135M" (or "gpt2" for the few repositories without an organisation). */
  repositoryId: string;
  /** Absolute path of models--org--name: the webview must be allowed to read it (the blobs behind the links). */
  repositoryFolder: string;
  /** Absolute path of snapshots/<commit>: the model folder. */
  snapshotFolder: string;
  commit: string;
  /** How the snapshot was chosen: refs/main, or (no usable refs/main) the most recently written snapshot. */
  chosenBy: "refs/main" | "newest snapshot";
}

/** A repository folder of the cache that holds no usable snapshot. */
export interface HubCacheProblem {
  repositoryId?: string;
  folder: string;
  message: string;
}

export interface HubCacheListing {
  repositories: HubCacheRepository[];
  problems: HubCacheProblem[];
}

/** The environment variables that move the cache. */
export type HubEnvironment = Readonly<Record<string, string | undefined>>;

/** The hub cache folder: `HF_HUB_CACHE`, else `HF_HOME/hub`, else `~/.cache/huggingface/hub`. */
export function hubCacheFolder(environment: HubEnvironment, homeFolder: string): string {
  const expand = (path: string) => (path === "~" || path.startsWith("~/") || path.startsWith("~\\") ? join(homeFolder, path.slice(1)) : path);
  const hubCache = environment.HF_HUB_CACHE?.trim();
  if (hubCache) return expand(hubCache);
  const hfHome = environment.HF_HOME?.trim();
  if (hfHome) return join(expand(hfHome), "hub");
  return join(homeFolder, ".cache", "huggingface", "hub");
}

const REPOSITORY_FOLDER_PREFIX = "models--";

/** "models--HuggingFaceTB--SmolLM2-135M" -> "HuggingFaceTB/SmolLM2-135M"; undefined for other folders. */
export function repositoryIdOfFolder(folderName: string): string | undefined {
  if (!folderName.startsWith(REPOSITORY_FOLDER_PREFIX)) return undefined;
  const rest = folderName.slice(REPOSITORY_FOLDER_PREFIX.length);
  if (rest === "") return undefined;
  // The hub writes repo_id.replace("/", "--"); "--" is not allowed inside an organisation or a name.
  const separator = rest.indexOf("--");
  return separator < 0 ? rest : `${rest.slice(0, separator)}/${rest.slice(separator + 2)}`;
}

/** "HuggingFaceTB/SmolLM2-135M" -> "models--HuggingFaceTB--SmolLM2-135M". */
export function folderNameOfRepository(repositoryId: string): string {
  return REPOSITORY_FOLDER_PREFIX + repositoryId.split("/").join("--");
}

/**
 * The repository a snapshot folder belongs to: ".../models--org--name/snapshots/<commit>" ->
 * { repositoryId: "org/name", repositoryFolder: ".../models--org--name" }; undefined for any other folder.
 */
export function repositoryOfSnapshotFolder(folder: string): { repositoryId: string; repositoryFolder: string } | undefined {
  const snapshotsFolder = dirname(folder);
  if (basename(snapshotsFolder) !== "snapshots") return undefined;
  const repositoryFolder = dirname(snapshotsFolder);
  const repositoryId = repositoryIdOfFolder(basename(repositoryFolder));
  return repositoryId === undefined ? undefined : { repositoryId, repositoryFolder };
}

/**
 * Lists the model repositories of the cache, each at its snapshot. A cache folder that does not
 * exist is no problem (nothing was downloaded); a repository without a snapshot is one.
 */
export async function listHubCache(cacheFolder: string): Promise<HubCacheListing> {
  let names: string[];
  try {
    names = await readdir(cacheFolder);
  } catch (error) {
    const code = (error as { code?: unknown } | null)?.code;
    if (code === "ENOENT" || code === "ENOTDIR") return { repositories: [], problems: [] };
    return {
      repositories: [],
      problems: [{ folder: cacheFolder, message: `The Hugging Face cache ${cacheFolder} cannot be read (${reasonOf(error)}); its models are not listed. Check the folder's permissions, or HF_HUB_CACHE / HF_HOME.` }],
    };
  }
  const repositories: HubCacheRepository[] = [];
  const problems: HubCacheProblem[] = [];
  for (const name of names.sort()) {
    const repositoryId = repositoryIdOfFolder(name);
    if (repositoryId === undefined) continue;
    const repositoryFolder = join(cacheFolder, name);
    try {
      repositories.push(await chooseSnapshot(repositoryId, repositoryFolder));
    } catch (error) {
      problems.push({ repositoryId, folder: repositoryFolder, message: reasonOf(error) + "." });
    }
  }
  return { repositories, problems };
}

/** The snapshot refs/main names, else the newest one; throws an Error saying what is missing and what to do. */
async function chooseSnapshot(repositoryId: string, repositoryFolder: string): Promise<HubCacheRepository> {
  const snapshotsFolder = join(repositoryFolder, "snapshots");
  const redownload = `Download it again: \`hf download ${repositoryId}\`, or from_pretrained("${repositoryId}") in Python`;
  const snapshots = await readdir(snapshotsFolder, { withFileTypes: true }).then(
    (entries) => entries.filter((entry) => entry.isDirectory()).map((entry) => entry.name),
    () => [] as string[],
  );
  if (snapshots.length === 0) {
    throw new Error(`${repositoryFolder} holds no snapshot (snapshots/<commit>/): its download did not finish. ${redownload}`);
  }
  const main = await readFile(join(repositoryFolder, "refs", "main"), "utf8").then(
    (text) => text.trim(),
    () => undefined,
  );
  if (main !== undefined && snapshots.includes(main)) {
    return { repositoryId, repositoryFolder, snapshotFolder: join(snapshotsFolder, main), commit: main, chosenBy: "refs/main" };
  }
  // No refs/main (downloaded at a revision other than main), or refs/main names a commit whose
  // snapshot is gone: the snapshot written last is the one the person most likely means.
  const written = await Promise.all(
    snapshots.map(async (commit) => ({ commit, time: await stat(join(snapshotsFolder, commit)).then((stats) => stats.mtimeMs, () => 0) })),
  );
  written.sort((a, b) => b.time - a.time || a.commit.localeCompare(b.commit));
  const newest = written[0].commit;
  return { repositoryId, repositoryFolder, snapshotFolder: join(snapshotsFolder, newest), commit: newest, chosenBy: "newest snapshot" };
}
