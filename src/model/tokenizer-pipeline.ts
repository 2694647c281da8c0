/**
 * The parts of a tokenizer.json around the vocabulary, and which of them are supported:
 *
 *   text -> normalizer -> pre_tokenizer -> model (BPE) -> post_processor -> token ids
 *
 *   normalizer      changes the text: NFC (Qwen), Prepend "▁" + Replace " " -> "▁" (Llama 2)
 *   pre_tokenizer   cuts it into words that BPE never merges across (Split with a regular
 *                   expression, ByteLevel's GPT-2 expression) and may change it too (Metaspace:
 *                   spaces become "▁"; ByteLevel with add_prefix_space: a space in front)
 *   post_processor  adds tokens around the text: TemplateProcessing "<s> $A" (Llama 2)
 *
 * The token ids come from `@huggingface/tokenizers`; the offsets are computed in
 * src/model/tokenizer-offsets.ts, which must know every change made to the text. So each part
 * that changes the text becomes a `TextStep` here, and a part whose changes cannot be followed
 * exactly (Lowercase, Strip, a Replace by regular expression, ...) is refused with a
 * `TokenizerError` naming it and what is supported. Cutting into words changes no text and needs
 * nothing, as long as nothing is dropped ("behavior": "Removed" is refused).
 */

import type { TextStep } from "./tokenizer-offsets";

/** Reports what is wrong with the file (and what to do), and throws. */
export type Fail = (message: string) => never;

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function describeValue(value: unknown): string {
  if (value === undefined) return "nothing";
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "string") return JSON.stringify(value.length > 40 ? value.slice(0, 40) + "..." : value);
  return `${typeof value} ${JSON.stringify(value)}`;
}

function typeOf(value: unknown): string {
  return describeValue(isPlainObject(value) ? value.type : value);
}

// ---------------------------------------------------------------------------------------------
// The project's own tokenizers: exactly the layout training/tokenizer/train-bpe.ts writes

/**
 * Checks the layout of a tokenizer trained by this project: byte-level BPE with no normalizer and
 * a plain ByteLevel pre-tokenizer and decoder. Nothing then changes the text.
 */
export function checkProjectPipeline(json: Record<string, unknown>, model: Record<string, unknown>, fail: Fail): void {
  const retrain = "train one with training/tokenizer/train-bpe.ts";
  if (model.type !== "BPE") {
    fail(`the model type is ${describeValue(model.type)}; only byte-level BPE tokenizers ("type": "BPE") are supported; ${retrain}`);
  }
  if (model.byte_fallback === true) {
    fail(`"model.byte_fallback" is true, which is SentencePiece-style BPE; only byte-level BPE is supported; ${retrain}`);
  }
  const normalizer = json.normalizer;
  if (normalizer !== undefined && normalizer !== null) {
    fail(
      `it has a normalizer (${typeOf(normalizer)}), which changes the text ` +
        "before tokenizing, so tokens could not be mapped back to it; only tokenizers without one are supported",
    );
  }
  const preTokenizer = json.pre_tokenizer;
  if (!isPlainObject(preTokenizer) || preTokenizer.type !== "ByteLevel") {
    fail(`the pre_tokenizer must be {"type": "ByteLevel"}, found ${typeOf(preTokenizer)}; only byte-level BPE tokenizers are supported; ${retrain}`);
  }
  if (preTokenizer.add_prefix_space === true) {
    fail(`"pre_tokenizer.add_prefix_space" is true: a space that is not in the text would be tokenized, and offsets would be wrong; set it to false`);
  }
  const decoder = json.decoder;
  if (!isPlainObject(decoder) || decoder.type !== "ByteLevel") {
    fail(`the decoder must be {"type": "ByteLevel"}, found ${typeOf(decoder)}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Any other tokenizer: byte-level BPE, or SentencePiece-style BPE with byte fallback

/** What the layout of a tokenizer.json says, for the parts before and after the vocabulary. */
export interface Pipeline {
  /** "byte-level": GPT-2, Llama 3, Qwen. "sentencepiece": BPE with byte_fallback, Llama 2, Mistral. */
  kind: "byte-level" | "sentencepiece";
  /** The normalizer's changes to the text, in order. */
  normalizerSteps: TextStep[];
  /** The pre-tokenizer's changes to the text, in order. */
  preTokenizerSteps: TextStep[];
  /** The character that stands for a space in the vocabulary ("▁"), if spaces are replaced by one. */
  spaceSymbol: string | undefined;
}

const SUPPORTED_KINDS =
  'only byte-level BPE (GPT-2, Llama 3, Qwen) and SentencePiece-style BPE with "byte_fallback": true (Llama 2, Mistral, TinyLlama) are supported';

/** Reads the model options, normalizer and pre-tokenizer of a tokenizer not trained by this project. */
export function readPipeline(json: Record<string, unknown>, model: Record<string, unknown>, fail: Fail): Pipeline {
  if (model.type !== "BPE") fail(`the model type is ${describeValue(model.type)}; ${SUPPORTED_KINDS}`);
  if (model.dropout !== undefined && model.dropout !== null && model.dropout !== 0) {
    fail(`"model.dropout" is ${describeValue(model.dropout)}: BPE dropout tokenizes at random (it is for training); set it to null`);
  }
  for (const field of ["continuing_subword_prefix", "end_of_word_suffix"]) {
    const value = model[field];
    if (typeof value === "string" && value !== "") {
      fail(`"model.${field}" is ${describeValue(value)}: tokens would hold text that is not in the input, so offsets could not be computed; ${SUPPORTED_KINDS}`);
    }
  }
  const kind = model.byte_fallback === true ? "sentencepiece" : "byte-level";

  const normalizerSteps: TextStep[] = [];
  readNormalizer(json.normalizer, "normalizer", normalizerSteps, fail);

  const preTokenizerSteps: TextStep[] = [];
  let hasByteLevel = false;
  for (const [index, { value, path }] of flattenPreTokenizers(json.pre_tokenizer, "pre_tokenizer", fail).entries()) {
    // A step that puts something in front must come first: later, it would be applied to every word.
    const mustBeFirst = (what: string) => {
      if (index > 0) fail(`${path} (${what}) comes after another pre-tokenizer, so it would put a prefix in front of every word; it is supported only as the first one`);
    };
    switch (value.type) {
      case "ByteLevel":
        hasByteLevel = true;
        if (value.add_prefix_space === true) {
          mustBeFirst("ByteLevel with add_prefix_space");
          preTokenizerSteps.push({ kind: "prefix-space" });
        }
        break;
      case "Split":
        checkSplit(value, path, fail);
        break;
      case "Metaspace":
        mustBeFirst("Metaspace");
        preTokenizerSteps.push(readMetaspace(value, path, fail));
        break;
      default:
        fail(
          `the pre-tokenizer ${describeValue(value.type)} (${path}) is not supported; supported pre-tokenizers: ByteLevel, Split ` +
            '(with "behavior": "Isolated"), Metaspace (with "split": false) and a Sequence of them',
        );
    }
  }
  if (kind === "byte-level" && !hasByteLevel) {
    fail(`it is BPE without "byte_fallback" and its pre_tokenizer has no ByteLevel step, so some text could not be tokenized; ${SUPPORTED_KINDS}`);
  }
  if (kind === "sentencepiece" && hasByteLevel) {
    fail(`it has "model.byte_fallback": true and a ByteLevel pre-tokenizer, a mix of two kinds; ${SUPPORTED_KINDS}`);
  }

  const spaceSymbol = [...normalizerSteps, ...preTokenizerSteps].flatMap((step) =>
    step.kind === "replace" && step.pattern === " " ? [step.content] : step.kind === "metaspace" ? [step.replacement] : [],
  )[0];
  return { kind, normalizerSteps, preTokenizerSteps, spaceSymbol };
}

const SUPPORTED_NORMALIZERS = 'supported normalizers: NFC, NFD, NFKC, NFKD, Prepend, Replace (of a {"String": ...} pattern) and a Sequence of them';

function readNormalizer(value: unknown, path: string, steps: TextStep[], fail: Fail): void {
  if (value === undefined || value === null) return;
  if (!isPlainObject(value)) fail(`"${path}" must be an object, found ${describeValue(value)}`);
  switch (value.type) {
    case "Sequence": {
      if (!Array.isArray(value.normalizers)) fail(`"${path}.normalizers" must be an array, found ${describeValue(value.normalizers)}`);
      value.normalizers.forEach((inner: unknown, index: number) => readNormalizer(inner, `${path}.normalizers[${index}]`, steps, fail));
      return;
    }
    case "NFC":
    case "NFD":
    case "NFKC":
    case "NFKD":
      steps.push({ kind: "unicode", form: value.type });
      return;
    case "Prepend":
      if (typeof value.prepend !== "string" || value.prepend === "") fail(`"${path}.prepend" must be a non-empty string, found ${describeValue(value.prepend)}`);
      steps.push({ kind: "prepend", prefix: value.prepend });
      return;
    case "Replace": {
      const pattern = isPlainObject(value.pattern) ? value.pattern.String : undefined;
      if (typeof pattern !== "string" || pattern === "") {
        fail(`${path} (Replace) replaces ${describeValue(JSON.stringify(value.pattern))}; only a fixed, non-empty {"String": ...} pattern is supported, not a regular expression; ${SUPPORTED_NORMALIZERS}`);
      }
      if (typeof value.content !== "string") fail(`"${path}.content" must be a string, found ${describeValue(value.content)}`);
      if (value.content.includes("$")) {
        fail(`"${path}.content" (${describeValue(value.content)}) holds "$", which the JavaScript tokenizer would read as a replacement pattern; this is not supported`);
      }
      steps.push({ kind: "replace", pattern, content: value.content });
      return;
    }
    default:
      fail(
        `the normalizer ${typeOf(value)}${path === "normalizer" ? "" : ` (${path})`} is not supported: the changes it makes to the text ` +
          `could not be mapped back to editor offsets; ${SUPPORTED_NORMALIZERS}`,
      );
  }
}

function flattenPreTokenizers(value: unknown, path: string, fail: Fail): { value: Record<string, unknown>; path: string }[] {
  if (value === undefined || value === null) return [];
  if (!isPlainObject(value)) fail(`"${path}" must be an object, found ${describeValue(value)}`);
  if (value.type !== "Sequence") return [{ value, path }];
  if (!Array.isArray(value.pretokenizers)) fail(`"${path}.pretokenizers" must be an array, found ${describeValue(value.pretokenizers)}`);
  return value.pretokenizers.flatMap((inner: unknown, index: number) => flattenPreTokenizers(inner, `${path}.pretokenizers[${index}]`, fail));
}

function checkSplit(value: Record<string, unknown>, path: string, fail: Fail): void {
  if (value.behavior !== "Isolated") {
    fail(
      `${path} (Split) has "behavior": ${describeValue(value.behavior)}; only "Isolated" is supported (the JavaScript tokenizer ` +
        "treats the others as Isolated or drops text, so the ids would not be the model's)",
    );
  }
  if (value.invert === true) fail(`${path} (Split) has "invert": true; only false is supported`);
  const pattern = value.pattern;
  if (!isPlainObject(pattern) || (typeof pattern.Regex !== "string" && typeof pattern.String !== "string")) {
    fail(`"${path}.pattern" must be {"Regex": ...} or {"String": ...}, found ${describeValue(JSON.stringify(pattern))}`);
  }
}

function readMetaspace(value: Record<string, unknown>, path: string, fail: Fail): TextStep {
  const replacement = value.replacement ?? "\u2581";
  if (typeof replacement !== "string" || replacement === "") fail(`"${path}.replacement" must be a non-empty string, found ${describeValue(replacement)}`);
  if (value.str_rep !== undefined && value.str_rep !== replacement) {
    fail(`"${path}.str_rep" (${describeValue(value.str_rep)}) differs from "replacement" (${describeValue(replacement)}); they must be equal`);
  }
  const scheme = value.prepend_scheme;
  if (scheme === undefined) {
    fail(
      `${path} (Metaspace) has no "prepend_scheme": an older format, which also splits the text at each ${describeValue(replacement)}; ` +
        'only the newer format ("prepend_scheme" and "split": false) is supported; save the tokenizer again with a recent transformers',
    );
  }
  if (scheme !== "always" && scheme !== "first" && scheme !== "never") {
    fail(`"${path}.prepend_scheme" must be "always", "first" or "never", found ${describeValue(scheme)}`);
  }
  if (value.split !== false) {
    fail(
      `${path} (Metaspace) has "split": ${describeValue(value.split)}; only false is supported (the JavaScript tokenizer does not ` +
        `split at ${describeValue(replacement)}, so the ids would not be the model's)`,
    );
  }
  return { kind: "metaspace", replacement, prependScheme: scheme };
}

// ---------------------------------------------------------------------------------------------
// The post-processor: tokens put around the text

/** The token ids a post-processor puts in front of the text and after it, for one text. */
export interface Template {
  prefix: number[];
  suffix: number[];
}

/**
 * What the post-processor adds around ONE text: TemplateProcessing's "single" template (the
 * special tokens before and after {"Sequence": {"id": "A"}}), RobertaProcessing's and
 * BertProcessing's cls and sep, nothing for ByteLevel (which only trims offsets: here offsets are
 * never trimmed, so a token's range always holds its spaces), and a Sequence of these.
 */
export function readPostProcessor(value: unknown, path: string, fail: Fail): Template {
  if (value === undefined || value === null) return { prefix: [], suffix: [] };
  if (!isPlainObject(value)) fail(`"${path}" must be an object, found ${describeValue(value)}`);
  switch (value.type) {
    case "ByteLevel":
      return { prefix: [], suffix: [] };
    case "TemplateProcessing":
      return readTemplate(value, path, fail);
    case "RobertaProcessing":
    case "BertProcessing": {
      const idOf = (field: "cls" | "sep") => {
        const pair = value[field];
        if (!Array.isArray(pair) || typeof pair[0] !== "string" || !isTokenId(pair[1])) {
          fail(`"${path}.${field}" must be [token, id], found ${describeValue(JSON.stringify(pair))}`);
        }
        return pair[1] as number;
      };
      return { prefix: [idOf("cls")], suffix: [idOf("sep")] };
    }
    case "Sequence": {
      if (!Array.isArray(value.processors)) fail(`"${path}.processors" must be an array, found ${describeValue(value.processors)}`);
      const templates = value.processors.map((inner: unknown, index: number) => readPostProcessor(inner, `${path}.processors[${index}]`, fail));
      return { prefix: templates.flatMap((template) => template.prefix), suffix: templates.flatMap((template) => template.suffix) };
    }
    default:
      fail(
        `the post-processor ${typeOf(value)}${path === "post_processor" ? "" : ` (${path})`} is not supported; supported post-processors: ` +
          "TemplateProcessing, ByteLevel, RobertaProcessing, BertProcessing and a Sequence of them",
      );
  }
}

function readTemplate(value: Record<string, unknown>, path: string, fail: Fail): Template {
  const single = value.single;
  if (!Array.isArray(single)) fail(`"${path}.single" must be an array (the template for one text), found ${describeValue(single)}`);
  const specialTokens = value.special_tokens;
  if (!isPlainObject(specialTokens)) fail(`"${path}.special_tokens" must be an object, found ${describeValue(specialTokens)}`);
  const template: Template = { prefix: [], suffix: [] };
  let seenText = false;
  for (const [index, item] of single.entries()) {
    const where = `${path}.single[${index}]`;
    if (isPlainObject(item) && isPlainObject(item.Sequence)) {
      seenText = true;
      continue;
    }
    const name = isPlainObject(item) && isPlainObject(item.SpecialToken) ? item.SpecialToken.id : undefined;
    if (typeof name !== "string") fail(`${where} must be {"SpecialToken": {"id": ...}} or {"Sequence": {"id": "A"}}, found ${describeValue(JSON.stringify(item))}`);
    const entry = specialTokens[name];
    const ids = isPlainObject(entry) ? entry.ids : undefined;
    if (!Array.isArray(ids) || !ids.every(isTokenId)) {
      fail(`${where} names the special token ${describeValue(name)}, but "${path}.special_tokens" gives it no "ids" (a list of token ids)`);
    }
    (seenText ? template.suffix : template.prefix).push(...(ids as number[]));
  }
  if (!seenText) fail(`"${path}.single" has no {"Sequence": {"id": "A"}}, so it does not say where the text goes`);
  return template;
}

export function isTokenId(value: unknown): value is number {
  return typeof value === "number" && Number.isInteger(value) && value >= 0;
}
