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
 * The same refusals serve a folder (`otherWeightFormat`) and a single file named where a folder
 * belongs (`otherWeightFileFormat`, for `attention-lens maps --model model.gguf`): what the
 * files are is said differently, why they are refused and what to do is the same.
 *
 * No `vscode` import.
 */

import { basename, join } from "node:path";

import { downloadCommand, openFolderAdvice, repairAdvice, type ModelOrigin } from "./model-advice";
import { MODEL_FILES, ModelFileError } from "./model-files";

/** Where the weights are: one file, or an index naming the shards. */
export type WeightLayout = { kind: "single"; file: string } | { kind: "sharded"; indexFile: string };

/** The name of a PyTorch pickle checkpoint or its shards, e.g. pytorch_model-00001-of-00002.bin. */
const PICKLE_FILE = /^(pytorch_model(-\d+-of-\d+)?\.bin(\.index\.json)?|.*\.pt|.*\.pth)$/;
/** A single file named where a folder belongs is a pickle by its extension alone (model.bin, consolidated.00.pth). */
const PICKLE_FILE_EXTENSION = /\.(bin|pt|pth)$/i;
const SAFETENSORS_SHARD = /^model-\d+-of-\d+\.safetensors$/;
const LORA_ADAPTER_FILE = "adapter_model.safetensors";

/** The formats refused by name, in the order a folder is checked for them. */
type RefusedFormat = "pickle" | "gguf" | "onnx" | "tensorflow-or-flax" | "lora-adapter";

const FORMAT_OF_NAME: readonly { format: RefusedFormat; matches: (name: string) => boolean }[] = [
  { format: "pickle", matches: (name) => PICKLE_FILE.test(name) },
  { format: "gguf", matches: (name) => name.toLowerCase().endsWith(".gguf") },
  { format: "onnx", matches: (name) => name.toLowerCase().endsWith(".onnx") || name === "onnx" },
  { format: "tensorflow-or-flax", matches: (name) => name === "tf_model.h5" || name === "flax_model.msgpack" },
  { format: "lora-adapter", matches: (name) => name === LORA_ADAPTER_FILE },
];

/** Whether `name` is a weight file of any format: safetensors (read) or one refused here (explained, never skipped). */
export function isWeightFileName(name: string): boolean {
  return name.endsWith(".safetensors") || name === MODEL_FILES.weightIndex || FORMAT_OF_NAME.some(({ matches }) => matches(name));
}

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
  for (const { format, matches } of FORMAT_OF_NAME) {
    const files = names.filter(matches);
    if (files.length > 0) return `${whatTheFolderHolds(format, folder, files)}. ${whyRefused(format, origin)}`;
  }
  const shardsWithoutIndex = names.filter((name) => SAFETENSORS_SHARD.test(name));
  if (shardsWithoutIndex.length > 0) {
    return `${folder} holds the shards ${listFiles(shardsWithoutIndex)} but not ${MODEL_FILES.weightIndex}, which says which tensor is in which shard. ${repairAdvice(origin)}`;
  }
  const otherSafetensors = names.filter((name) => name.endsWith(".safetensors"));
  if (otherSafetensors.length > 0) {
    return (
      `${folder} holds ${listFiles(otherSafetensors)} but neither ${MODEL_FILES.weights} nor ${MODEL_FILES.weightIndex}, the names transformers ` +
      `writes. Save the model with save_pretrained(folder, safe_serialization=True), or ${downloadSafetensors(origin)}`
    );
  }
  return undefined;
}

/**
 * When the file at `path` (named where a model folder belongs) holds weights of a refused format:
 * what it is, why it is refused and how to get safetensors. Undefined for any other file.
 * `origin.folder` is the folder the file is in.
 */
export function otherWeightFileFormat(path: string, origin: ModelOrigin): string | undefined {
  const name = basename(path);
  const format = PICKLE_FILE_EXTENSION.test(name) ? "pickle" : FORMAT_OF_NAME.find(({ matches }) => matches(name))?.format;
  return format === undefined ? undefined : `${whatTheFileIs(format, path)}. ${whyRefused(format, origin)}`;
}

/** "<folder> holds PyTorch pickle weights (pytorch_model.bin) but no model.safetensors". */
function whatTheFolderHolds(format: RefusedFormat, folder: string, files: readonly string[]): string {
  switch (format) {
    case "pickle":
      return `${folder} holds PyTorch pickle weights (${listFiles(files)}) but no ${MODEL_FILES.weights}`;
    case "gguf":
      return whatTheFileIs(format, join(folder, files[0]));
    case "onnx":
      return `${folder} holds only ONNX files (${listFiles(files.map((name) => (name === "onnx" ? "onnx/" : name)))}), no safetensors`;
    case "tensorflow-or-flax":
      return `${folder} holds TensorFlow or Flax weights (${listFiles(files)}) but no ${MODEL_FILES.weights}`;
    case "lora-adapter":
      return whatTheFileIs(format, join(folder, files[0]));
  }
}

/** "<path> is a GGUF file". */
function whatTheFileIs(format: RefusedFormat, path: string): string {
  switch (format) {
    case "pickle":
      return `${path} is a PyTorch pickle checkpoint, not safetensors`;
    case "gguf":
      return `${path} is a GGUF file`;
    case "onnx":
      return `${path} is an ONNX model, not safetensors`;
    case "tensorflow-or-flax":
      return `${path} holds TensorFlow or Flax weights, not safetensors`;
    case "lora-adapter":
      return `${path} is a LoRA adapter, not a whole model`;
  }
}

/** Why the format is refused and what to do instead, for this model's origin. */
function whyRefused(format: RefusedFormat, origin: ModelOrigin): string {
  const download = downloadSafetensors(origin);
  switch (format) {
    case "pickle":
      return `Attention Lens reads only safetensors and never opens a pickle (loading one can run code). ${convertPickle(origin)}, or ${download}`;
    case "gguf":
      return (
        "GGUF is a llama.cpp format (often quantized) that Attention Lens does not read; " +
        `use the original Hugging Face repository's safetensors (config.json, model.safetensors, tokenizer.json): ${download}`
      );
    case "onnx":
      return (
        "Attention Lens builds its own ONNX graph from the weights and cannot run an exported one; use the original repository " +
        `the ONNX files were exported from (its model card names it), with its safetensors: ${download}`
      );
    case "tensorflow-or-flax":
      return `Attention Lens reads only safetensors: ${download}`;
    case "lora-adapter":
      return (
        "Use its base model instead, or merge the adapter into it with peft: " +
        "PeftModel.from_pretrained(base, folder).merge_and_unload().save_pretrained(folder, safe_serialization=True)"
      );
  }
}

/** How to turn a pickle checkpoint into safetensors, for this model's origin. */
function convertPickle(origin: ModelOrigin): string {
  if (origin.source === "hub-cache") {
    const repository = origin.repositoryId ?? origin.id;
    return (
      `Convert it once with transformers: AutoModelForCausalLM.from_pretrained("${repository}").save_pretrained(folder, safe_serialization=True) ` +
      `(and the tokenizer: AutoTokenizer.from_pretrained("${repository}").save_pretrained(folder)), then ${openFolderAdvice(origin)}`
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
