/**
 * Which weight files a model folder holds, and a clear refusal for every format this tool does not
 * read. Only safetensors are loaded: one `model.safetensors`, or shards listed by
 * `model.safetensors.index.json`.
 *
 *   found in the folder                          what happens
 *   model.safetensors.index.json (+ shards)      read, shards merged
 *   model.safetensors                            read
 *   pytorch_model.bin, pytorch_model-*.bin       refused: a pickle can run code when loaded, so it is
 *                                                never opened; the message says how to convert it
 *   *.gguf                                       refused: llama.cpp's (often quantized) format
 *   *.onnx, onnx/                                refused: this tool builds its own graph from weights
 *   tf_model.h5, flax_model.msgpack              refused: TensorFlow / Flax weights
 *
 * Pure file-system checks: nothing here parses a weight file.
 */

import { existsSync, readdirSync, statSync } from "node:fs";
import { basename, join } from "node:path";
import { SHARD_INDEX_FILE, SINGLE_WEIGHTS_FILE } from "../model/checkpoint-shards";
import { ModelFolderError } from "./command-line-errors";

export type WeightFiles =
  | { kind: "single"; file: string }
  | { kind: "sharded"; indexFile: string };

/** How to fetch the safetensors of a model from the Hugging Face Hub (files of any other kind left out). */
const DOWNLOAD_SAFETENSORS =
  "download the model's safetensors from the Hugging Face Hub instead, e.g. " +
  "`huggingface-cli download <org>/<model> --include '*.json' '*.safetensors' --local-dir <folder>`";

function convertPytorchAdvice(folder: string): string {
  return (
    "this tool reads only safetensors and never unpickles a .bin file (loading a pickle can run code). " +
    "Convert it once with transformers: `python -c \"from transformers import AutoModelForCausalLM as M; " +
    `M.from_pretrained('${folder}').save_pretrained('${folder}-safetensors', safe_serialization=True)"\` ` +
    `and copy tokenizer.json and tokenizer_config.json beside it; or ${DOWNLOAD_SAFETENSORS}`
  );
}

/** Refuses a --model that names a file rather than a folder, saying what the file is and what to pass. */
export function refuseModelFile(path: string): never {
  const name = basename(path).toLowerCase();
  if (name.endsWith(".gguf")) {
    throw new ModelFolderError(
      `${path} is a GGUF file (llama.cpp's format, usually quantized), which this tool does not read; ${DOWNLOAD_SAFETENSORS}`,
    );
  }
  if (name.endsWith(".onnx")) {
    throw new ModelFolderError(
      `${path} is an ONNX model; this tool builds its own ONNX graph from safetensors weights (so that every attention map is an output) ` +
        `and cannot read an exported one; ${DOWNLOAD_SAFETENSORS}`,
    );
  }
  if (name.endsWith(".bin") || name.endsWith(".pt") || name.endsWith(".pth")) {
    throw new ModelFolderError(`${path} is a PyTorch checkpoint: ${convertPytorchAdvice("<folder>")}`);
  }
  if (name.endsWith(".safetensors")) {
    throw new ModelFolderError(
      `${path} is a weights file, but --model takes the FOLDER that holds it with config.json and tokenizer.json; pass --model ${join(path, "..")}`,
    );
  }
  throw new ModelFolderError(
    `${path} is a file; --model takes a Hugging Face model folder (config.json, model.safetensors, tokenizer.json) or a bundled model's id`,
  );
}

/** The safetensors of `folder`, or an error that says what the folder holds instead and what to do. */
export function findWeightFiles(folder: string): WeightFiles {
  const indexFile = join(folder, SHARD_INDEX_FILE);
  if (existsSync(indexFile)) return { kind: "sharded", indexFile };
  const singleFile = join(folder, SINGLE_WEIGHTS_FILE);
  if (existsSync(singleFile)) return { kind: "single", file: singleFile };

  const names = readdirSync(folder);
  const lower = names.map((name) => name.toLowerCase());
  if (lower.some((name) => /^pytorch_model.*\.bin(\.index\.json)?$/.test(name) || name.endsWith(".pt") || name.endsWith(".pth"))) {
    throw new ModelFolderError(`${folder} holds PyTorch weights (pytorch_model.bin) but no model.safetensors: ${convertPytorchAdvice(folder)}`);
  }
  const gguf = names.find((name) => name.toLowerCase().endsWith(".gguf"));
  if (gguf !== undefined) {
    throw new ModelFolderError(
      `${folder} holds a GGUF file (${gguf}, llama.cpp's format, usually quantized) but no model.safetensors; ${DOWNLOAD_SAFETENSORS}`,
    );
  }
  const onnxFolder = join(folder, "onnx");
  if (lower.some((name) => name.endsWith(".onnx")) || (existsSync(onnxFolder) && statSync(onnxFolder).isDirectory())) {
    throw new ModelFolderError(
      `${folder} holds an ONNX export but no model.safetensors; this tool builds its own ONNX graph from the weights ` +
        `(so that every attention map is an output) and cannot read an exported one; ${DOWNLOAD_SAFETENSORS}`,
    );
  }
  if (lower.includes("tf_model.h5") || lower.includes("flax_model.msgpack")) {
    throw new ModelFolderError(`${folder} holds TensorFlow or Flax weights but no model.safetensors; ${DOWNLOAD_SAFETENSORS}`);
  }
  const otherSafetensors = names.filter((name) => name.endsWith(".safetensors"));
  if (otherSafetensors.length > 0) {
    throw new ModelFolderError(
      `${folder} holds ${otherSafetensors.join(", ")} but neither ${SINGLE_WEIGHTS_FILE} nor ${SHARD_INDEX_FILE}; ` +
        `rename a single weights file to ${SINGLE_WEIGHTS_FILE} (an adapter such as a LoRA is not a whole model), or ${DOWNLOAD_SAFETENSORS}`,
    );
  }
  throw new ModelFolderError(
    `${folder} holds no weights (${SINGLE_WEIGHTS_FILE} or ${SHARD_INDEX_FILE}); it holds ${names.slice(0, 8).join(", ") || "nothing"}` +
      `${names.length > 8 ? ", ..." : ""}; ${DOWNLOAD_SAFETENSORS}`,
  );
}
