/**
 * The flags of `attention-lens maps`, parsed with node:util `parseArgs` and checked before anything
 * is read: every mistake is a `UsageError` (exit code 2) that names the flag and what to pass.
 */

import { parseArgs } from "node:util";
import { UsageError } from "./command-line-errors";
import { MAPS_BACKENDS, type MapsBackend } from "./prefill-decoders";

export type MapsInputSource = { kind: "text"; file: string } | { kind: "ids"; ids: number[] };

export interface MapsOptions {
  /** A model folder or a bundled model's id. */
  model: string;
  input: MapsInputSource;
  /** Write the last position's logits too. */
  logits: boolean;
  backend: MapsBackend;
  /** Keep only the first N tokens (BOS included); undefined: all. */
  maxTokens?: number;
  /** Where the JSON goes. */
  out: string;
}

export type MapsCommandLine = { help: true } | { help: false; options: MapsOptions };

const MORE = "run `attention-lens maps --help` for every flag";

const MAPS_FLAGS = {
  model: { type: "string" },
  text: { type: "string" },
  ids: { type: "string" },
  logits: { type: "boolean" },
  backend: { type: "string" },
  "max-tokens": { type: "string" },
  out: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

/** parseArgs' own errors ("Unknown option '--x'") as a UsageError with a pointer to --help. */
function parseMapsFlags(argv: readonly string[]) {
  try {
    return parseArgs({ args: [...argv], options: MAPS_FLAGS, strict: true, allowPositionals: true });
  } catch (error) {
    const code = (error as { code?: string }).code;
    const message = error instanceof Error ? error.message : String(error);
    const option = /'(-[^']*)'/.exec(message)?.[1];
    if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION" && option !== undefined) {
      const flags = Object.keys(MAPS_FLAGS).map((flag) => `--${flag}`).join(", ");
      throw new UsageError(`maps: unknown flag ${option}; the flags are ${flags}; ${MORE}`);
    }
    // ERR_PARSE_ARGS_INVALID_OPTION_VALUE: "Option '--out <value>' argument missing" and the like.
    throw new UsageError(`maps: ${message.replace(/\s*\n\s*/g, " ").replace(/\.$/, "")}; ${MORE}`);
  }
}

/** "1, 2,3" -> [1, 2, 3]; every entry a non-negative integer. */
export function parseTokenIds(list: string): number[] {
  const entries = list.split(",").map((entry) => entry.trim());
  if (entries.length === 0 || entries.every((entry) => entry === "")) {
    throw new UsageError("--ids is empty; pass token ids separated by commas, e.g. --ids 1,17,42");
  }
  return entries.map((entry, index) => {
    if (!/^\d+$/.test(entry)) {
      throw new UsageError(
        `--ids: entry ${index + 1} (${JSON.stringify(entry)}) is not a token id; pass non-negative integers separated by commas, e.g. --ids 1,17,42`,
      );
    }
    return Number(entry);
  });
}

function parseMaxTokens(value: string): number {
  if (!/^\d+$/.test(value.trim()) || Number(value) < 1) {
    throw new UsageError(`--max-tokens ${JSON.stringify(value)} is not a positive integer; pass how many tokens to keep, e.g. --max-tokens 256`);
  }
  return Number(value);
}

function parseBackend(value: string): MapsBackend {
  if (!(MAPS_BACKENDS as readonly string[]).includes(value)) {
    throw new UsageError(`--backend ${JSON.stringify(value)} is not a backend; use one of ${MAPS_BACKENDS.join(", ")} (default wasm)`);
  }
  return value as MapsBackend;
}

/** Parses the arguments after `maps`. Throws `UsageError` for anything wrong. */
export function parseMapsArguments(argv: readonly string[]): MapsCommandLine {
  const { values, positionals } = parseMapsFlags(argv);
  if (values.help) return { help: true };
  if (positionals.length > 0) {
    throw new UsageError(`maps takes no positional arguments, found ${positionals.map((value) => JSON.stringify(value)).join(" ")}; ${MORE}`);
  }
  if (values.model === undefined || values.model === "") {
    throw new UsageError("maps needs --model <folder | bundled id>, e.g. --model attention-lens-gqa");
  }
  if (values.out === undefined || values.out === "") {
    throw new UsageError("maps needs --out <file>: where to write the JSON, e.g. --out maps.json");
  }
  if (values.text !== undefined && values.ids !== undefined) {
    throw new UsageError("maps takes --text or --ids, not both; pass the text file with --text, or token ids with --ids");
  }
  if (values.text === undefined && values.ids === undefined) {
    throw new UsageError("maps needs an input: --text <file> (a text file to tokenize) or --ids 1,2,3 (token ids)");
  }
  if (values.text === "") throw new UsageError("--text needs a file name, e.g. --text example.py");
  const input: MapsInputSource = values.text !== undefined ? { kind: "text", file: values.text } : { kind: "ids", ids: parseTokenIds(values.ids!) };
  return {
    help: false,
    options: {
      model: values.model,
      input,
      logits: values.logits ?? false,
      backend: values.backend === undefined ? "wasm" : parseBackend(values.backend),
      ...(values["max-tokens"] !== undefined ? { maxTokens: parseMaxTokens(values["max-tokens"]) } : {}),
      out: values.out,
    },
  };
}
