/**
 * Which weights a model folder holds, and a refusal that says how to get safetensors for every
 * format Attention Lens does not read. It looks at file names only; nothing here opens a weight file.
 *
 *   found in the folder                          what happens
 *   model.safetensors                            read (as transformers does, before an index)
 *   model.safetensors.index.json + shards        read, the shards in the index's order
 *   pytorch_model.bin, pytorch_model-*.bin,      refused: a pickle can run code when it is loaded,
 *     *.pt, *.pth                                so it is never opened; the message says how to convert
 *   *.gguf                                       refused: llama.cpp's (often quantized) format
 *   *.onnx, onnx/                                refused: Attention Lens builds its own graph from weights
 *   tf_model.h5, flax_model.msgpack              refused: TensorFlow / Flax weights
 *   adapter_model.safetensors                    refused: a LoRA adapter, not a whole model
 *   other *.safetensors                          refused: not the transformers layout
 *
 * No `vscode` import.
 */

import { join } from "node:path";

import { downloadCommand, repairAdvice, type ModelOrigin } from "./model-advice";
import { MODEL_FILES, ModelFileError } from "./model-files";

/** Where the weights are: one file, or an index naming the shards. */
export type WeightLayout = { kind: "single"; file: string } | { kind: "sharded"; indexFile: string };

/** The name of a shard of a PyTorch pickle checkpoint, e.g. pytorch_model-00001-of-00002.bin. */
const PICKLE_FILE = /^(pytorch_model(-\d+-of-\d+)?\.bin|.*\.pt|.*\.pth)$/;
const SAFETENSORS_SHARD = /^model-\d+-of-\d+\.safetensors$/;

/**
 * The weight layout of `folder`, whose entries (file and folder names, links included: a hub
 * snapshot holds links) are `names`. Throws `ModelFileError` with the refusal for any other format.
 */
export function findWeightLayout(folder: string, names: readonly string[], origin: ModelOrigin): WeightLayout {
  const has = new Set(names);
  if (has.has(MODEL_FILES.weights)) return { kind: "single", file: join(folder, MODEL_FILES.weights) };
  if (has.has(MODEL_FILES.weightIndex)) return { kind: "sharded", indexFile: join(folder, MODEL_FILES.weightIndex) };
  throw new ModelFileError(otherWeightFormat(folder, names, origin) ?? `${join(folder, MODEL_FILES.weights)} is missing. ${repairAdvice(origin)}`);
}

/**
 * When the folder holds weights of a format Attention Lens does not read: why, and how to get
 * safetensors. Undefined when it holds safetensors in the transformers layout, or no weight files at all.
 */
export function otherWeightFormat(folder: string, names: readonly string[], origin: ModelOrigin): string | undefined {
  if (names.includes(MODEL_FILES.weights) || names.includes(MODEL_FILES.weightIndex)) return undefined;
  const download = downloadSafetensors(origin);
  const pickles = names.filter((name) => PICKLE_FILE.test(name));
  if (pickles.length > 0) {
    return (
      `${folder} holds PyTorch pickle weights (${listFiles(pickles)}) but no ${MODEL_FILES.weights}. Attention Lens reads only safetensors ` +
      `and never opens a pickle (loading one can run code). ${convertPickle(origin)}, or ${download}`
    );
  }
  const ggufFiles = names.filter((name) => name.toLowerCase().endsWith(".gguf"));
  if (ggufFiles.length > 0) {
    return (
      `${join(folder, ggufFiles[0])} is a GGUF file. GGUF is a llama.cpp format (often quantized) that Attention Lens does not read; ` +
      `use the original Hugging Face repository's safetensors (config.json, model.safetensors, tokenizer.json): ${download}`
    );
  }
  const onnxFiles = names.filter((name) => name.toLowerCase().endsWith(".onnx") || name === "onnx");
  if (onnxFiles.length > 0) {
    return (
      `${folder} holds only ONNX files (${listFiles(onnxFiles.map((name) => (name === "onnx" ? "onnx/" : name)))}), no safetensors. ` +
      `Attention Lens builds its own ONNX graph from the weights and cannot run an exported one; use the original repository ` +
      `the ONNX files were exported from (its model card names it), with its safetensors: ${download}`
    );
  }
  const otherFrameworks = names.filter((name) => name === "tf_model.h5" || name === "flax_model.msgpack");
  if (otherFrameworks.length > 0) {
    return (
      `${folder} holds TensorFlow or Flax weights (${listFiles(otherFrameworks)}) but no ${MODEL_FILES.weights}. ` +
      `Attention Lens reads only safetensors: ${download}`
    );
  }
  if (names.includes("adapter_model.safetensors")) {
    return (
      `${join(folder, "adapter_model.safetensors")} is a LoRA adapter, not a whole model. Open its base model instead, or merge the ` +
      `adapter into it with peft: PeftModel.from_pretrained(base, folder).merge_and_unload().save_pretrained(folder, safe_serialization=True)`
    );
  }
  const shardsWithoutIndex = names.filter((name) => SAFETENSORS_SHARD.test(name));
  if (shardsWithoutIndex.length > 0) {
    return `${folder} holds the shards ${listFiles(shardsWithoutIndex)} but not ${MODEL_FILES.weightIndex}, which says which tensor is in which shard. ${repairAdvice(origin)}`;
  }
  const otherSafetensors = names.filter((name) => name.endsWith(".safetensors"));
  if (otherSafetensors.length > 0) {
    return (
      `${folder} holds ${listFiles(otherSafetensors)} but neither ${MODEL_FILES.weights} nor ${MODEL_FILES.weightIndex}, the names transformers ` +
      `writes. Save the model with save_pretrained(folder, safe_serialization=True), or ${download}`
    );
  }
  return undefined;
}

/** How to turn a pickle checkpoint into safetensors, for this model's origin. */
function convertPickle(origin: ModelOrigin): string {
  if (origin.source === "hub-cache") {
    const repository = origin.repositoryId ?? origin.id;
    return (
      `Convert it once with transformers: AutoModelForCausalLM.from_pretrained("${repository}").save_pretrained(folder, safe_serialization=True) ` +
      `(and the tokenizer: AutoTokenizer.from_pretrained("${repository}").save_pretrained(folder)), then open that folder with "Attention Lens: Open Model Folder..."`
    );
  }
  return `Convert it once with transformers: AutoModelForCausalLM.from_pretrained("${origin.folder}").save_pretrained("${origin.folder}", safe_serialization=True)`;
}

/** "download the repository's safetensors files: `hf download org/name --include ...`." */
function downloadSafetensors(origin: ModelOrigin): string {
  const repository = origin.repositoryId ?? "<org>/<name>";
  const localFolder = origin.source === "folder" ? origin.folder : undefined;
  const command = downloadCommand(repository, localFolder).replace(/`$/, ` --include "*.json" "*.safetensors"\``);
  return `download the repository's safetensors files: ${command}.`;
}

function listFiles(names: readonly string[]): string {
  const shown = names.slice(0, 3);
  return shown.join(", ") + (names.length > 3 ? ` and ${names.length - 3} more` : "");
}
