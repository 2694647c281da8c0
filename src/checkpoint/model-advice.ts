/**
 * What to tell the person about a broken model, by where the model came from:
 *
 *   bundled     shipped in media/models: only a damaged install breaks one, so: reinstall
 *   folder      a folder of the person's: copy or download its files again
 *   hub-cache   a repository in the Hugging Face cache: download it again with `hf download`
 *
 * and by the tool that reads it, whose own ways the advice may name:
 *
 *   extension      the VS Code extension: its commands ("Attention Lens: Open Model Folder...")
 *   command-line   `attention-lens maps`: its flags (--model <folder>); never a VS Code command
 *
 * A message about the person's own model never says "reinstall Attention Lens": reinstalling would
 * not touch their files.
 *
 * Pure: no `vscode` import, no file access.
 */

import type { ModelSource } from "../protocol";

/** The tool that reads the model folder: the advice speaks of its commands or its flags. */
export type ModelTool = "extension" | "command-line";

/** Where one model folder came from, and which tool reads it, for the messages about it. */
export interface ModelOrigin {
  source: ModelSource;
  /** The model's id: "attention-lens-gqa", "HuggingFaceTB/SmolLM2-135M", or the folder's path. */
  id: string;
  /** Absolute path of the folder that holds config.json (for the hub cache: the snapshot). */
  folder: string;
  /** The Hugging Face repository ("org/name"), for a model of the hub cache. */
  repositoryId?: string;
  tool: ModelTool;
}

/** The command that downloads a repository's files the transformers way (the `hf` CLI of huggingface_hub). */
export function downloadCommand(repositoryId: string, localFolder?: string): string {
  return `\`hf download ${repositoryId}${localFolder === undefined ? "" : ` --local-dir "${localFolder}"`}\``;
}

/** What to do about a file that is missing, truncated or damaged. Ends with a full stop. */
export function repairAdvice(origin: ModelOrigin): string {
  switch (origin.source) {
    case "bundled":
      return origin.tool === "extension"
        ? `Reinstall the Attention Lens extension; when developing it, put the exported model back into media/models/${origin.id}/.`
        : `Reinstall attention-lens (npm install); in a checkout of its repository, put the exported model back into media/models/${origin.id}/.`;
    case "hub-cache": {
      const repository = origin.repositoryId ?? origin.id;
      return `Download the model again: ${downloadCommand(repository)} (the older name is \`huggingface-cli download\`), or load it once with transformers' from_pretrained("${repository}").`;
    }
    case "folder":
      return (
        `Copy or download the model's files into ${origin.folder} again; for a model of the Hugging Face Hub: ` +
        `${downloadCommand("<org>/<name>", origin.folder)}.`
      );
  }
}

/** A file the model needs is absent (a dangling link, a shard the index names): the download stopped. */
export function incompleteDownloadAdvice(origin: ModelOrigin): string {
  if (origin.source === "bundled") return repairAdvice(origin);
  return `The download is incomplete. ${repairAdvice(origin)}`;
}

/** A Git LFS pointer where a file should be: the repository was cloned without Git LFS. */
export function gitLfsAdvice(origin: ModelOrigin): string {
  if (origin.source === "bundled") {
    const repair = repairAdvice(origin);
    return `Run "git lfs pull" in the repository, or ${repair.charAt(0).toLowerCase()}${repair.slice(1)}`;
  }
  return (
    `The repository was cloned without Git LFS: run "git lfs install" and then "git lfs pull" in ${origin.folder}, ` +
    `or download the files instead: ${downloadCommand(origin.repositoryId ?? "<org>/<name>", origin.source === "folder" ? origin.folder : undefined)}.`
  );
}

/** How to use a folder the person has just written (a converted model): the tool's own way to open it. */
export function openFolderAdvice(origin: ModelOrigin): string {
  return origin.tool === "extension" ? 'open that folder with "Attention Lens: Open Model Folder..."' : "pass that folder to --model";
}
