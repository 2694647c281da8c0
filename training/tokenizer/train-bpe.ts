/**
 * The project's byte-level BPE trainer: learns the tokenizer of the bundled models from plain text
 * and writes it as a Hugging Face `tokenizer.json`, which both the Python `tokenizers` library
 * (training/train.py) and `@huggingface/tokenizers` in the extension (src/model/tokenizer.ts) load.
 *
 *   npx tsx training/tokenizer/train-bpe.ts --input corpus.txt [--input more.txt] \
 *       --vocab-size 6144 --output training/tokenizer/out/tokenizer.json
 *
 * Byte-pair encoding, for a newcomer. Start with a vocabulary of the 256 byte values. Count every
 * pair of neighbouring tokens in the corpus, make the most frequent pair a new token, replace it
 * everywhere, and repeat until the vocabulary is big enough. The ordered list of merges IS the
 * tokenizer: encoding applies them to new text in the order they were learned.
 *
 *   words  hug x2, pug x1
 *   pairs  h u: 2, u g: 3, p u: 1      -> merge 1 is "u g": the new token "ug"
 *   pairs  h ug: 2, p ug: 1            -> merge 2 is "h ug": the new token "hug" ...
 *
 * The details, all as GPT-2 does them, so the standard loaders read the result:
 *
 *   - Byte level: text is UTF-8 bytes, so every string (emoji, CJK, broken surrogates) can be
 *     tokenized and no token is "unknown". In the vocabulary each byte is one printable character
 *     (GPT-2's byte-to-unicode table, `BYTE_TO_UNICODE` in src/model/tokenizer.ts): space is "Ġ".
 *   - Pre-tokenisation: a regular expression (`PRE_TOKENIZER_PATTERN`) first cuts the text into
 *     words — a letter run with its leading space, a digit run, a punctuation run, whitespace — and
 *     merges never cross a word boundary. Training therefore only needs each distinct word and how
 *     often it occurs. It is the exact pattern `@huggingface/tokenizers` applies for a ByteLevel
 *     pre-tokenizer with use_regex, and the one the Rust library uses.
 *   - Documents: the input files hold documents separated by a line holding only the ASCII record
 *     separator "\x1e". Words are cut within a document, never across the separator.
 *   - Ties: when several pairs are equally frequent, the pair with the smaller left token id wins,
 *     then the smaller right id (byte tokens have smaller ids than merged ones, and older merged
 *     tokens smaller than newer). Training the same text twice, or its documents in another order,
 *     gives the same file, byte for byte. This is also the rule of the Hugging Face Rust trainer
 *     (`tokenizers.trainers.BpeTrainer` with the byte-level alphabet and min_frequency 2): on the
 *     same documents both learn the same vocabulary and merges (test/unit/tokenizer.test.ts checks).
 *   - Merging "a a" in "a a a" gives "aa a": occurrences are replaced left to right, never overlapping.
 *   - Speed: a max-heap of pair counts that is updated lazily (a stale entry is fixed when it
 *     reaches the top), and for each pair the list of words it occurs in, so one merge only touches
 *     the words that hold the pair.
 *
 * Token ids: 0 <|bos|>, 1 <|eos|>, 2 <|pad|>; then the 256 bytes, 3..258, in the order of their
 * byte-level characters ("!" is 3, as GPT-2 orders them); then the merged tokens in the order they
 * were learned. The special tokens are "added tokens" with special: true: they are never
 * produced by merges, and the loaders match them in text as they are. The post-processor is the
 * plain ByteLevel one, which adds nothing: the tokenizer does NOT put <|bos|> in front by itself;
 * the extension (TextTokenizer.encode with addBos) and training/train.py add it themselves.
 */

import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, dirname, resolve } from "node:path";
import { BYTE_TO_UNICODE, SPECIAL_TOKENS, TextTokenizer } from "../../src/model/tokenizer";

/** GPT-2's pre-tokenisation pattern (contractions, letters, digits, other, whitespace). */
export const PRE_TOKENIZER_PATTERN = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

/** The special tokens in id order: <|bos|> is 0, <|eos|> 1, <|pad|> 2. */
export const SPECIAL_TOKEN_ORDER: readonly string[] = [SPECIAL_TOKENS.bos, SPECIAL_TOKENS.eos, SPECIAL_TOKENS.pad];

/** The id of the first byte token (right after the special tokens). */
export const FIRST_BYTE_ID = SPECIAL_TOKEN_ORDER.length;

/**
 * The 256 byte tokens in id order: sorted by their byte-level character, as GPT-2's vocabulary and
 * the Rust trainer order them ("!" first, then the other printable bytes, then "Ā", "ā", ... for
 * the moved ones). The order matters for ties (see the top of this file).
 */
export const BYTE_TOKENS_IN_ID_ORDER: readonly string[] = [...BYTE_TO_UNICODE].sort();

/** `BYTE_ID[b]`: the token id of byte b. */
const BYTE_ID = Uint16Array.from({ length: 256 }, (_, byte) => FIRST_BYTE_ID + BYTE_TOKENS_IN_ID_ORDER.indexOf(BYTE_TO_UNICODE[byte]));

/** A vocabulary no bigger than this keeps a pair of ids in one safe integer, and ids in uint16. */
const MAX_VOCAB_SIZE = 65536;

export interface BpeTrainingOptions {
  /** The vocabulary size to reach: special tokens + 256 bytes + merged tokens. */
  vocabSize: number;
  /** Stop early when the most frequent pair occurs fewer times than this. Default 2. */
  minPairCount?: number;
  /** Called every `progressEvery` merges (default 500). */
  onProgress?: (mergesDone: number, mergesWanted: number) => void;
  progressEvery?: number;
}

export interface TrainedBpe {
  /** Every token by id, in byte-level spelling ("Ġthe"); the special tokens as they are. */
  vocab: string[];
  /** The learned merges in order, each [left, right] in byte-level spelling. */
  merges: [string, string][];
  /** Counts for the log. */
  statistics: { documents: number; words: number; distinctWords: number; stoppedEarly: boolean };
}

/**
 * Splits the text of one input file into documents: a line that holds only "\x1e" separates two
 * documents. The line break before the separator belongs to it; empty documents are dropped.
 */
export function splitDocuments(text: string): string[] {
  return text
    .split(/(?<=^|\n)\x1e(?:\r?\n|$)/) // eslint-disable-line no-control-regex
    .map((document) => document.replace(/\r?\n$/, ""))
    .filter((document) => document.length > 0);
}

/**
 * Learns byte-level BPE merges from `texts`, each one document, until the vocabulary has
 * `options.vocabSize` tokens (or no pair occurs `minPairCount` times). Pure: no files, no logging.
 */
export function trainByteLevelBpe(texts: Iterable<string>, options: BpeTrainingOptions): TrainedBpe {
  const { vocabSize, minPairCount = 2, onProgress, progressEvery = 500 } = options;
  const baseSize = FIRST_BYTE_ID + 256;
  if (!Number.isInteger(vocabSize) || vocabSize < baseSize || vocabSize > MAX_VOCAB_SIZE) {
    throw new RangeError(
      `vocabSize must be an integer from ${baseSize} (${FIRST_BYTE_ID} special tokens + 256 bytes) to ${MAX_VOCAB_SIZE}, got ${vocabSize}`,
    );
  }

  // 1. Count the words (pre-tokens) of every document.
  const wordCounts = new Map<string, number>();
  let documents = 0;
  let words = 0;
  for (const text of texts) {
    documents++;
    for (const match of text.matchAll(PRE_TOKENIZER_PATTERN)) {
      const word = match[0];
      wordCounts.set(word, (wordCounts.get(word) ?? 0) + 1);
      words++;
    }
  }

  // 2. Every distinct word as a run of token ids (its bytes at first) in one flat array. Merging
  //    shortens a word in place: word w is symbols[wordStart[w] .. wordStart[w] + wordLength[w]).
  const encoder = new TextEncoder();
  const distinctWords = wordCounts.size;
  const wordStart = new Uint32Array(distinctWords);
  const wordLength = new Uint32Array(distinctWords);
  const wordCount = new Float64Array(distinctWords);
  const encodedWords: Uint8Array[] = [];
  let totalBytes = 0;
  for (const [word, count] of wordCounts) {
    const bytes = encoder.encode(word);
    wordStart[encodedWords.length] = totalBytes;
    wordLength[encodedWords.length] = bytes.length;
    wordCount[encodedWords.length] = count;
    encodedWords.push(bytes);
    totalBytes += bytes.length;
  }
  wordCounts.clear();
  const symbols = new Uint16Array(totalBytes);
  for (let w = 0; w < distinctWords; w++) {
    const bytes = encodedWords[w];
    for (let k = 0; k < bytes.length; k++) symbols[wordStart[w] + k] = BYTE_ID[bytes[k]];
  }
  encodedWords.length = 0;

  // 3. Count the pairs, and remember which words hold each pair. A pair (left, right) is the one
  //    number left * 65536 + right, which also orders pairs for the tie-break.
  const pairKey = (left: number, right: number) => left * MAX_VOCAB_SIZE + right;
  const pairCounts = new Map<number, number>();
  const pairWords = new Map<number, number[]>();
  for (let w = 0; w < distinctWords; w++) {
    const start = wordStart[w];
    for (let k = start; k + 1 < start + wordLength[w]; k++) {
      const key = pairKey(symbols[k], symbols[k + 1]);
      pairCounts.set(key, (pairCounts.get(key) ?? 0) + wordCount[w]);
      const list = pairWords.get(key);
      if (list === undefined) pairWords.set(key, [w]);
      else if (list[list.length - 1] !== w) list.push(w);
    }
  }
  const heap = new PairHeap();
  for (const [key, count] of pairCounts) heap.push(key, count);

  // 4. Merge the best pair until the vocabulary is full.
  const vocab: string[] = [...SPECIAL_TOKEN_ORDER, ...BYTE_TOKENS_IN_ID_ORDER];
  const idOfToken = new Map(vocab.map((token, id) => [token, id]));
  const merges: [string, string][] = [];
  const mergesWanted = vocabSize - baseSize;
  const lastVisit = new Int32Array(distinctWords).fill(-1); // a word listed twice is merged once
  const changes = new Map<number, number>(); // pair -> change of its count, in this merge
  let stoppedEarly = false;

  while (vocab.length < vocabSize) {
    // The best pair: the heap's top, once the top's count is the pair's current count.
    let bestKey = -1;
    let bestCount = 0;
    while (heap.size > 0) {
      const key = heap.topKey();
      const count = heap.topCount();
      heap.pop();
      const current = pairCounts.get(key) ?? 0;
      if (current === count) {
        bestKey = key;
        bestCount = count;
        break;
      }
      // Stale. A higher current count has its own entry (pushed when it rose); a lower one needs one.
      if (current > 0 && current < count) heap.push(key, current);
    }
    if (bestKey < 0 || bestCount < minPairCount) {
      stoppedEarly = true;
      break;
    }

    const left = Math.floor(bestKey / MAX_VOCAB_SIZE);
    const right = bestKey % MAX_VOCAB_SIZE;
    const mergedToken = vocab[left] + vocab[right];
    // Two different pairs can spell the same token ("a"+"bc", "ab"+"c"): it is one token.
    let merged = idOfToken.get(mergedToken);
    if (merged === undefined) {
      merged = vocab.length;
      vocab.push(mergedToken);
      idOfToken.set(mergedToken, merged);
    }
    merges.push([vocab[left], vocab[right]]);

    // Rewrite every word that holds the pair; note how each pair's count changes.
    const mergeIndex = merges.length;
    for (const w of pairWords.get(bestKey) ?? []) {
      if (lastVisit[w] === mergeIndex) continue;
      lastVisit[w] = mergeIndex;
      mergeInWord(w, left, right, merged);
    }
    pairWords.delete(bestKey);
    for (const [key, change] of changes) {
      if (change === 0) continue;
      const count = (pairCounts.get(key) ?? 0) + change;
      if (count > 0) pairCounts.set(key, count);
      else pairCounts.delete(key);
      if (change > 0) heap.push(key, count);
    }
    changes.clear();
    pairCounts.delete(bestKey);

    if (onProgress && merges.length % progressEvery === 0) onProgress(merges.length, mergesWanted);
  }

  /** Replaces each (left, right) in word w by `merged`, left to right, and records the pair changes. */
  function mergeInWord(w: number, left: number, right: number, merged: number): void {
    const start = wordStart[w];
    const end = start + wordLength[w];
    let holdsPair = false;
    for (let k = start; k + 1 < end; k++) {
      if (symbols[k] === left && symbols[k + 1] === right) {
        holdsPair = true;
        break;
      }
    }
    if (!holdsPair) return; // listed earlier, but an earlier merge took the pair away

    const count = wordCount[w];
    for (let k = start; k + 1 < end; k++) addChange(pairKey(symbols[k], symbols[k + 1]), -count);
    let write = start;
    for (let read = start; read < end; write++) {
      if (read + 1 < end && symbols[read] === left && symbols[read + 1] === right) {
        symbols[write] = merged;
        read += 2;
      } else {
        symbols[write] = symbols[read];
        read += 1;
      }
    }
    wordLength[w] = write - start;
    for (let k = start; k + 1 < write; k++) {
      const key = pairKey(symbols[k], symbols[k + 1]);
      addChange(key, count);
      // Only pairs with the new token are new to this word; the others are listed already.
      if (symbols[k] === merged || symbols[k + 1] === merged) {
        const list = pairWords.get(key);
        if (list === undefined) pairWords.set(key, [w]);
        else if (list[list.length - 1] !== w) list.push(w);
      }
    }
  }

  function addChange(key: number, change: number): void {
    changes.set(key, (changes.get(key) ?? 0) + change);
  }

  return { vocab, merges, statistics: { documents, words, distinctWords, stoppedEarly } };
}

/**
 * A binary max-heap of (pair, count): the highest count on top; among equal counts the smaller
 * pair key (smaller left id, then smaller right id). Two parallel arrays, no objects per entry.
 */
class PairHeap {
  private keys: number[] = [];
  private counts: number[] = [];

  get size(): number {
    return this.keys.length;
  }

  topKey(): number {
    return this.keys[0];
  }

  topCount(): number {
    return this.counts[0];
  }

  push(key: number, count: number): void {
    this.keys.push(key);
    this.counts.push(count);
    this.siftUp(this.keys.length - 1);
  }

  pop(): void {
    const lastKey = this.keys.pop() as number;
    const lastCount = this.counts.pop() as number;
    if (this.keys.length === 0) return;
    this.keys[0] = lastKey;
    this.counts[0] = lastCount;
    this.siftDown(0);
  }

  /** Whether entry a belongs above entry b. */
  private above(a: number, b: number): boolean {
    const countA = this.counts[a];
    const countB = this.counts[b];
    return countA > countB || (countA === countB && this.keys[a] < this.keys[b]);
  }

  private swap(a: number, b: number): void {
    [this.keys[a], this.keys[b]] = [this.keys[b], this.keys[a]];
    [this.counts[a], this.counts[b]] = [this.counts[b], this.counts[a]];
  }

  private siftUp(index: number): void {
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (!this.above(index, parent)) return;
      this.swap(index, parent);
      index = parent;
    }
  }

  private siftDown(index: number): void {
    const size = this.keys.length;
    while (true) {
      const leftChild = 2 * index + 1;
      const rightChild = leftChild + 1;
      let best = index;
      if (leftChild < size && this.above(leftChild, best)) best = leftChild;
      if (rightChild < size && this.above(rightChild, best)) best = rightChild;
      if (best === index) return;
      this.swap(index, best);
      index = best;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// tokenizer.json

/**
 * The Hugging Face tokenizer.json of a trained BPE. Merges are written as "left right" strings,
 * the format every version of the Python, Rust and JS loaders reads (a byte-level token never
 * holds a space: the space byte is "Ġ").
 */
export function toTokenizerJson(trained: TrainedBpe): Record<string, unknown> {
  const byteLevel = { add_prefix_space: false, trim_offsets: false, use_regex: true };
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: SPECIAL_TOKEN_ORDER.map((content, id) => ({
      id,
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: null,
    pre_tokenizer: { type: "ByteLevel", ...byteLevel },
    // Adds no tokens: <|bos|> is put in front by the code that encodes (see the top of this file).
    post_processor: { type: "ByteLevel", ...byteLevel },
    decoder: { type: "ByteLevel", ...byteLevel },
    model: {
      type: "BPE",
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab: Object.fromEntries(trained.vocab.map((token, id) => [token, id])),
      merges: trained.merges.map(([left, right]) => `${left} ${right}`),
    },
  };
}

/**
 * The tokenizer.json text: two-space indented like the Hugging Face libraries write it, with the
 * vocabulary in id order. (`JSON.stringify` alone would not keep that order: a JS object lists
 * integer-like keys such as "0" or "42" first, whatever their ids.)
 */
export function serializeTokenizerJson(trained: TrainedBpe): string {
  const marker = "@@vocabulary in id order@@";
  const json = toTokenizerJson(trained);
  const text = JSON.stringify({ ...json, model: { ...(json.model as object), vocab: marker } }, null, 2);
  const entries = trained.vocab.map((token, id) => `      ${JSON.stringify(token)}: ${id}`);
  // A function, not a string, as the replacement: tokens such as "$'" or "$&" must stay as they are.
  return text.replace(JSON.stringify(marker), () => `{\n${entries.join(",\n")}\n    }`) + "\n";
}

// ---------------------------------------------------------------------------------------------
// Command line

const USAGE =
  "usage: npx tsx training/tokenizer/train-bpe.ts --input <file.txt> [--input <file.txt> ...] " +
  "--vocab-size 6144 --output <dir>/tokenizer.json [--min-pair-count 2]";

interface CommandLine {
  inputs: string[];
  vocabSize: number;
  output: string;
  minPairCount: number;
}

function parseCommandLine(argv: string[]): CommandLine {
  const inputs: string[] = [];
  let vocabSize = 6144;
  let output: string | undefined;
  let minPairCount = 2;
  for (let index = 0; index < argv.length; index++) {
    const flag = argv[index];
    const value = argv[index + 1];
    const needValue = () => {
      if (value === undefined || value.startsWith("--")) throw new Error(`${flag} needs a value\n${USAGE}`);
      index++;
      return value;
    };
    const needInteger = () => {
      const text = needValue();
      const number = Number(text);
      if (!Number.isInteger(number) || number < 1) throw new Error(`${flag} must be a positive integer, got "${text}"\n${USAGE}`);
      return number;
    };
    if (flag === "--input") inputs.push(needValue());
    else if (flag === "--vocab-size") vocabSize = needInteger();
    else if (flag === "--output") output = needValue();
    else if (flag === "--min-pair-count") minPairCount = needInteger();
    else if (flag === "--help" || flag === "-h") {
      console.log(USAGE);
      process.exit(0);
    } else throw new Error(`unknown argument "${flag}"\n${USAGE}`);
  }
  if (inputs.length === 0) throw new Error(`give at least one --input file\n${USAGE}`);
  if (output === undefined) throw new Error(`give the --output path of the tokenizer.json to write\n${USAGE}`);
  return { inputs, vocabSize, output, minPairCount };
}

function megabytes(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

function main(): void {
  const commandLine = parseCommandLine(process.argv.slice(2));
  const startTime = performance.now();
  const seconds = () => ((performance.now() - startTime) / 1000).toFixed(1) + " s";

  const documents: string[] = [];
  let inputCharacters = 0;
  for (const input of commandLine.inputs) {
    const text = readFileSync(input, "utf8");
    inputCharacters += text.length;
    for (const document of splitDocuments(text)) documents.push(document);
  }
  console.log(`read ${commandLine.inputs.length} file(s): ${documents.length} documents, ${inputCharacters} characters (${seconds()})`);

  const trained = trainByteLevelBpe(documents, {
    vocabSize: commandLine.vocabSize,
    minPairCount: commandLine.minPairCount,
    onProgress: (done, wanted) => console.log(`  ${done} / ${wanted} merges (${seconds()})`),
  });
  const { statistics } = trained;
  console.log(
    `learned ${trained.merges.length} merges, vocabulary ${trained.vocab.length} ` +
      `from ${statistics.words} words (${statistics.distinctWords} distinct) (${seconds()})`,
  );
  if (statistics.stoppedEarly) {
    console.log(
      `  stopped early: no pair occurs ${commandLine.minPairCount} times any more; ` +
        `the vocabulary has ${trained.vocab.length} tokens, not ${commandLine.vocabSize} (give more text, or a smaller --vocab-size)`,
    );
  }

  const json = serializeTokenizerJson(trained);
  const output = resolve(commandLine.output);
  mkdirSync(dirname(output), { recursive: true });
  writeFileSync(output, json);
  console.log(`wrote ${output} (${megabytes(json.length)})`);

  // Check the file: it loads with @huggingface/tokenizers and round-trips a sample of documents.
  const tokenizer = TextTokenizer.fromJson(json, output);
  let characters = 0;
  let tokens = 0;
  const sample = documents.filter((_, index) => index % Math.max(1, Math.floor(documents.length / 200)) === 0);
  for (const document of sample) {
    const encoded = tokenizer.encode(document);
    if (tokenizer.decode(encoded.ids) !== document) throw new Error(`a document does not survive encode + decode: ${JSON.stringify(document.slice(0, 80))}`);
    characters += document.length;
    tokens += encoded.ids.length;
  }
  console.log(`checked: ${sample.length} documents round-trip; ${(characters / Math.max(1, tokens)).toFixed(2)} characters per token`);
  console.log(`total ${seconds()}, peak memory (max RSS) ${megabytes(process.resourceUsage().maxRSS * 1024)}`);
}

// Run as a command (not when a test imports the file). By the script's name, which works whether
// this file is loaded as an ES module (training/package.json says "type": "module") or as CommonJS.
if (basename(process.argv[1] ?? "") === "train-bpe.ts") {
  try {
    main();
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(1);
  }
}
