/**
 * `attention-lens maps`, run as scripts run it: `node bin/attention-lens.mjs maps ...` in a child
 * process, on real models, checked against independent references:
 *
 *   bundled attention-lens-gqa, --text   tokens and offsets = TextTokenizer; maps and last logits =
 *                                        the TypeScript DecoderModel (1e-4); rows sum to 1; masked 0
 *   transformers fixtures, --ids         maps and last logits = transformers eager (expected.json, 1e-4)
 *   sharded fixture                      the same, and a missing shard refused
 *   mistakes                             usage errors exit 2; unreadable models exit 1; one line on stderr
 *
 * Every run is done on both backends, wasm (onnxruntime-web) and cpu (onnxruntime-node).
 */

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Tensor } from "../../src/attention/tensor";
import { parseModelConfig } from "../../src/model/config";
import { DecoderModel } from "../../src/model/decoder-model";
import { readSafetensors } from "../../src/model/safetensors";
import { writeSafetensors } from "../../src/model/safetensors-writer";
import { TextTokenizer } from "../../src/model/tokenizer";
import { assertClose, FIXTURES, readFixture, tensorFromJson, type TensorJson } from "./helpers/fixtures";

const REPOSITORY = join(__dirname, "..", "..");
const LAUNCHER = join(REPOSITORY, "bin", "attention-lens.mjs");
const BUNDLED_GQA = join(REPOSITORY, "media", "models", "attention-lens-gqa");
const TOLERANCE = 1e-4;
const BACKENDS = ["wasm", "cpu"] as const;

interface CommandResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Runs the real command line in a child process; `environment` is added to this process's. */
function runCli(args: readonly string[], environment: Record<string, string> = {}): Promise<CommandResult> {
  return new Promise((resolve) => {
    const env = { ...process.env, ...environment };
    execFile(process.execPath, [LAUNCHER, ...args], { cwd: REPOSITORY, env, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      const exitCode = error ? (typeof error.code === "number" ? error.code : -1) : 0;
      resolve({ exitCode, stdout, stderr });
    });
  });
}

interface MapsJson {
  schemaVersion: number;
  model: {
    id: string;
    family: string;
    numLayers: number;
    numHeads: number;
    numKeyValueHeads: number;
    headDim: number;
    keyValueHeadOfQueryHead: number[];
  };
  backend: string;
  text: string | null;
  tokens: { id: number; text: string | null; start: number | null; end: number | null; special: boolean }[];
  truncated: { totalTokens: number; keptTokens: number } | null;
  attentions: number[][][][];
  lastLogits?: number[];
}

/** Runs `maps` and reads the JSON it wrote; fails with its stderr when it did not succeed. */
async function runMaps(args: readonly string[], outFolder: string, name: string): Promise<MapsJson> {
  const out = join(outFolder, `${name}.json`);
  const result = await runCli(["maps", ...args, "--out", out]);
  assert.equal(result.exitCode, 0, `maps ${args.join(" ")} failed: ${result.stderr}`);
  return JSON.parse(readFileSync(out, "utf8")) as MapsJson;
}

/** One layer's maps (nh, T, T) from the JSON, as a (1, nh, T, T) tensor. */
function layerTensor(maps: number[][][]): Tensor {
  const heads = maps.length;
  const queries = maps[0].length;
  const keys = maps[0][0].length;
  return new Tensor(Float32Array.from(maps.flat(2)), [1, heads, queries, keys]);
}

/** Every row sums to 1 and every cell after the query (the causal mask) is exactly 0. */
function assertRowsAndMask(document: MapsJson): void {
  document.attentions.forEach((layer, layerIndex) =>
    layer.forEach((head, headIndex) =>
      head.forEach((row, query) => {
        const sum = row.reduce((total, weight) => total + weight, 0);
        assert.ok(Math.abs(sum - 1) < 1e-5, `layer ${layerIndex} head ${headIndex} query ${query}: the row sums to ${sum}`);
        row.forEach((weight, key) => {
          if (key > query) assert.equal(weight, 0, `layer ${layerIndex} head ${headIndex}: future key ${key} of query ${query} is ${weight}, not 0`);
        });
      }),
    ),
  );
}

describe("attention-lens maps (the command line, in a child process)", function () {
  this.timeout(120000);
  let scratch: string;

  before(() => {
    scratch = mkdtempSync(join(tmpdir(), "attention-lens-cli-"));
  });
  after(() => rmSync(scratch, { recursive: true, force: true }));

  describe("the bundled attention-lens-gqa on a text file with code and an emoji", () => {
    const text = 'function greet(name) {\n  return `Hello, ${name} 👋`; // wave\n}\n';
    const config = parseModelConfig(JSON.parse(readFileSync(join(BUNDLED_GQA, "config.json"), "utf8")));
    const reference = DecoderModel.fromTensors(config, readSafetensors(readFileSync(join(BUNDLED_GQA, "model.safetensors"))).tensors);
    const tokenizer = TextTokenizer.fromFiles(readFileSync(join(BUNDLED_GQA, "tokenizer.json"), "utf8"), undefined, join(BUNDLED_GQA, "tokenizer.json"));
    const encoded = tokenizer.encode(text, { addSpecialTokens: true });
    const expected = reference.forward([encoded.ids]);

    for (const backend of BACKENDS) {
      it(`--backend ${backend}: tokens and offsets of TextTokenizer, maps and logits of the TypeScript DecoderModel`, async () => {
        const textFile = join(scratch, "greet.js");
        writeFileSync(textFile, text);
        const document = await runMaps(["--model", "attention-lens-gqa", "--text", textFile, "--logits", "--backend", backend], scratch, `gqa-${backend}`);

        assert.equal(document.schemaVersion, 1);
        assert.equal(document.backend, backend);
        assert.deepEqual(
          { ...document.model, folder: undefined, vocabSize: undefined, contextLength: undefined, slidingWindows: undefined },
          {
            id: "attention-lens-gqa",
            folder: undefined,
            family: "llama",
            numLayers: 3,
            numHeads: 8,
            numKeyValueHeads: 2,
            headDim: 16,
            keyValueHeadOfQueryHead: [0, 0, 0, 0, 1, 1, 1, 1],
            vocabSize: undefined,
            contextLength: undefined,
            slidingWindows: undefined,
          },
        );
        assert.equal(document.text, text);
        assert.equal(document.truncated, null);
        assert.deepEqual(
          document.tokens,
          encoded.ids.map((id, index) => ({
            id,
            text: encoded.tokens[index],
            start: encoded.offsets[index][0],
            end: encoded.offsets[index][1],
            special: encoded.special[index],
          })),
        );
        assert.equal(document.tokens[0].special, true, "the BOS token is special");
        assert.ok(
          document.tokens.some((token) => token.text?.includes("\uFFFD") && text.slice(token.start!, token.end!) === "👋"),
          "the emoji is split into byte tokens that each get the whole character's range",
        );

        assertRowsAndMask(document);
        assert.equal(document.attentions.length, config.numHiddenLayers);
        document.attentions.forEach((layer, index) => assertClose(layerTensor(layer), expected.attentions[index], TOLERANCE, `layer ${index} maps`));
        const [, length, vocabulary] = expected.logits.shape;
        const lastLogits = new Tensor(expected.logits.data.slice((length - 1) * vocabulary), [vocabulary]);
        assertClose(new Tensor(Float32Array.from(document.lastLogits!), [document.lastLogits!.length]), lastLogits, TOLERANCE, "last logits");
      });
    }

    it("--max-tokens keeps the first tokens and says how many there were; without it a text past the context is refused", async () => {
      const longFile = join(scratch, "long.txt");
      writeFileSync(longFile, "x ".repeat(700));
      const refused = await runCli(["maps", "--model", "attention-lens-gqa", "--text", longFile, "--out", join(scratch, "long.json")]);
      assert.equal(refused.exitCode, 1);
      assert.match(refused.stderr, /^attention-lens: the text is \d+ tokens long .* reads at most 512 .* pass --max-tokens 512/);
      assert.equal(refused.stderr.trim().split("\n").length, 1, "one line on stderr");

      const cut = await runMaps(["--model", "attention-lens-gqa", "--text", longFile, "--max-tokens", "6"], scratch, "long-cut");
      assert.equal(cut.tokens.length, 6);
      const totalTokens = tokenizer.encode("x ".repeat(700), { addSpecialTokens: true }).ids.length;
      assert.ok(refused.stderr.includes(`the text is ${totalTokens} tokens long`), refused.stderr);
      assert.deepEqual(cut.truncated, { totalTokens, keptTokens: 6 });
      assert.equal(cut.attentions[0][0].length, 6);
    });
  });

  interface FamilyExpected {
    prefill: { inputIds: number[][]; logits: TensorJson; attentions: TensorJson[] };
  }

  for (const family of ["qwen2", "gpt2", "qwen2-sharded"]) {
    describe(`the transformers fixture ${family} with --ids`, () => {
      const expected = readFixture<FamilyExpected>(`families/${family}/expected.json`).prefill;
      const ids = expected.inputIds[0];

      for (const backend of BACKENDS) {
        it(`--backend ${backend}: attentions and lastLogits equal transformers (eager)`, async () => {
          const folder = join(FIXTURES, "families", family);
          const document = await runMaps(["--model", folder, "--ids", ids.join(","), "--logits", "--backend", backend], scratch, `${family}-${backend}`);
          assert.equal(document.backend, backend);
          assert.equal(document.model.family, family.replace("-sharded", ""));
          const { numHeads, numKeyValueHeads } = document.model;
          assert.deepEqual(
            document.model.keyValueHeadOfQueryHead,
            Array.from({ length: numHeads }, (_, head) => Math.floor(head / (numHeads / numKeyValueHeads))),
          );
          // No tokenizer.json in the fixture: ids only; BOS is special by config.json's bos_token_id.
          assert.deepEqual(document.tokens.map((token) => token.id), ids);
          assert.ok(document.tokens.every((token) => token.text === null && token.start === null && token.end === null));
          assert.equal(document.text, null);

          assert.equal(document.attentions.length, expected.attentions.length);
          document.attentions.forEach((layer, index) => {
            const reference = tensorFromJson(expected.attentions[index]);
            const actual = layerTensor(layer);
            assertClose(actual, reference, TOLERANCE, `${family} layer ${index} maps`);
            // Masked cells (causal, and Qwen2's sliding window on layer 1) are exactly 0 in both.
            reference.data.forEach((weight, cell) => {
              if (weight === 0) assert.equal(actual.data[cell], 0, `${family} layer ${index}: masked cell ${cell} is ${actual.data[cell]}`);
            });
          });
          const [, length, vocabulary] = expected.logits.shape;
          const lastLogits = tensorFromJson({ shape: [vocabulary], data: expected.logits.data.slice((length - 1) * vocabulary) });
          assertClose(new Tensor(Float32Array.from(document.lastLogits!), [vocabulary]), lastLogits, TOLERANCE, `${family} last logits`);
        });
      }
    });
  }

  describe("refusals", () => {
    async function assertRefused(args: readonly string[], exitCode: 1 | 2, message: RegExp): Promise<void> {
      const result = await runCli(args);
      assert.equal(result.exitCode, exitCode, `${args.join(" ")}: exit code (stderr: ${result.stderr})`);
      const lines = result.stderr.trim().split("\n");
      assert.equal(lines.length, 1, `one line on stderr, found: ${result.stderr}`);
      assert.match(lines[0], message);
      assert.doesNotMatch(lines[0], /"Attention Lens: |Reinstall the Attention Lens extension/, "a command-line user is not told about VS Code");
    }

    it("usage errors exit 2 with one line: unknown flag, missing --out, --text with --ids, bad values, no command", async () => {
      const out = join(scratch, "never.json");
      await assertRefused(["maps", "--model", "attention-lens-gqa", "--ids", "1", "--out", out, "--colour"], 2, /unknown flag --colour; the flags are --model/);
      await assertRefused(["maps", "--model", "attention-lens-gqa", "--ids", "1"], 2, /needs --out <file>/);
      await assertRefused(["maps", "--model", "attention-lens-gqa", "--ids", "1", "--text", "a.txt", "--out", out], 2, /--text or --ids, not both/);
      await assertRefused(["maps", "--model", "attention-lens-gqa", "--out", out], 2, /needs an input: --text <file> .* or --ids/);
      await assertRefused(["maps", "--ids", "1", "--out", out], 2, /needs --model/);
      await assertRefused(["maps", "--model", "attention-lens-gqa", "--ids", "1,x", "--out", out], 2, /--ids: entry 2 \("x"\) is not a token id/);
      await assertRefused(["maps", "--model", "attention-lens-gqa", "--ids", "1", "--backend", "gpu", "--out", out], 2, /--backend "gpu" is not a backend; use one of wasm, cpu/);
      await assertRefused(["maps", "--model", "attention-lens-gqa", "--ids", "1", "--max-tokens", "0", "--out", out], 2, /--max-tokens "0" is not a positive integer/);
      await assertRefused([], 2, /no command given/);
      await assertRefused(["draw"], 2, /unknown command "draw"/);
      assert.ok(!existsSync(out), "nothing was written");
    });

    it("--help documents every flag and the output schema (exit 0)", async () => {
      const main = await runCli(["--help"]);
      assert.equal(main.exitCode, 0);
      assert.match(main.stdout, /attention-lens maps --model/);
      const maps = await runCli(["maps", "--help"]);
      assert.equal(maps.exitCode, 0);
      for (const flag of ["--model", "--text", "--ids", "--logits", "--backend", "--max-tokens", "--out", "--help"]) assert.ok(maps.stdout.includes(flag), `maps --help names ${flag}`);
      for (const field of ["schemaVersion", "model", "backend", "tokens", "attentions", "lastLogits", "keyValueHeadOfQueryHead"]) assert.ok(maps.stdout.includes(field), `maps --help names ${field}`);
    });

    it("a folder with only pytorch_model.bin is refused (exit 1) and never opened, with how to get safetensors", async () => {
      const folder = join(scratch, "pytorch-only");
      mkdirSync(folder);
      copyFileSync(join(FIXTURES, "families", "qwen2", "config.json"), join(folder, "config.json"));
      writeFileSync(join(folder, "pytorch_model.bin"), "not a pickle: it must never be read");
      await assertRefused(
        ["maps", "--model", folder, "--ids", "1,2", "--out", join(scratch, "pt.json")],
        1,
        /holds PyTorch pickle weights \(pytorch_model\.bin\) but no model\.safetensors\. .*never opens a pickle.*safe_serialization=True.*hf download .*--include "\*\.json" "\*\.safetensors"/,
      );
    });

    it("a repository id of the Hugging Face cache (HF_HUB_CACHE): its refs/main snapshot runs", async () => {
      const repository = join(scratch, "id-cache", "models--TestOrg--tiny-qwen2");
      const commit = "0123456789abcdef0123456789abcdef01234567";
      const snapshot = join(repository, "snapshots", commit);
      mkdirSync(join(repository, "refs"), { recursive: true });
      mkdirSync(snapshot, { recursive: true });
      writeFileSync(join(repository, "refs", "main"), commit);
      for (const file of ["config.json", "model.safetensors"]) copyFileSync(join(FIXTURES, "families", "qwen2", file), join(snapshot, file));
      const out = join(scratch, "by-id.json");
      const result = await runCli(["maps", "--model", "TestOrg/tiny-qwen2", "--ids", "1,5,9", "--out", out], { HF_HUB_CACHE: join(scratch, "id-cache") });
      assert.equal(result.exitCode, 0, result.stderr);
      const maps = JSON.parse(readFileSync(out, "utf8")) as MapsJson;
      assert.equal(maps.model.id, "TestOrg/tiny-qwen2");
      assert.equal(maps.model.family, "qwen2");
      assert.equal(maps.attentions[0][0].length, 3);
    });

    it("a snapshot of the Hugging Face cache with only pickles: the advice names its repository and --model", async () => {
      const snapshot = join(scratch, "hub", "models--TinyOrg--pickled", "snapshots", "0123abcd");
      mkdirSync(snapshot, { recursive: true });
      copyFileSync(join(FIXTURES, "families", "qwen2", "config.json"), join(snapshot, "config.json"));
      writeFileSync(join(snapshot, "pytorch_model.bin"), "not a pickle: it must never be read");
      await assertRefused(
        ["maps", "--model", snapshot, "--ids", "1,2", "--out", join(scratch, "hub.json")],
        1,
        /from_pretrained\("TinyOrg\/pickled"\).*then pass that folder to --model, or .*`hf download TinyOrg\/pickled --include/,
      );
    });

    it("a GGUF file, an unknown model and a text file that does not exist are refused (exit 1)", async () => {
      const gguf = join(scratch, "model-q4.gguf");
      writeFileSync(gguf, "GGUF");
      await assertRefused(["maps", "--model", gguf, "--ids", "1", "--out", join(scratch, "g.json")], 1, /model-q4\.gguf is a GGUF file\. GGUF is a llama\.cpp format .*hf download/);
      await assertRefused(["maps", "--model", "no-such-model", "--ids", "1", "--out", join(scratch, "g.json")], 1, /not a bundled model, and the Hugging Face cache \(.*\) has no such repository; .*attention-lens-gqa/);
      await assertRefused(
        ["maps", "--model", "attention-lens-gqa", "--text", join(scratch, "absent.txt"), "--out", join(scratch, "g.json")],
        1,
        /cannot read the text file .*absent\.txt/,
      );
    });

    it("a sharded folder with a missing shard is refused (exit 1), naming the shard", async () => {
      const source = join(FIXTURES, "families", "qwen2-sharded");
      const folder = join(scratch, "qwen2-partial");
      mkdirSync(folder);
      for (const file of readdirSync(source)) if (file !== "model-00002-of-00003.safetensors") copyFileSync(join(source, file), join(folder, file));
      await assertRefused(
        ["maps", "--model", folder, "--ids", "1,2", "--out", join(scratch, "partial.json")],
        1,
        /model\.safetensors\.index\.json names the shard model-00002-of-00003\.safetensors, but .*model-00002-of-00003\.safetensors is missing: the download is incomplete/,
      );
    });

    it("a sharded folder with a tensor in two shards is refused (exit 1)", async () => {
      const source = join(FIXTURES, "families", "qwen2-sharded");
      const folder = join(scratch, "qwen2-duplicate");
      mkdirSync(folder);
      for (const file of readdirSync(source)) copyFileSync(join(source, file), join(folder, file));
      const first = readSafetensors(readFileSync(join(source, "model-00001-of-00003.safetensors"))).tensors;
      const third = readSafetensors(readFileSync(join(source, "model-00003-of-00003.safetensors"))).tensors;
      third.set("model.embed_tokens.weight", first.get("model.embed_tokens.weight")!);
      writeFileSync(join(folder, "model-00003-of-00003.safetensors"), writeSafetensors(third));
      await assertRefused(
        ["maps", "--model", folder, "--ids", "1,2", "--out", join(scratch, "duplicate.json")],
        1,
        /model\.embed_tokens\.weight is in two files, .*model-00001-of-00003\.safetensors and .*model-00003-of-00003\.safetensors/,
      );
    });
  });
});
