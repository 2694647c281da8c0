// Runs test/integration/ (mocha) inside a real VS Code extension host, with the repository loaded as
// the extension under development and media/sample/ as the workspace:
//
//   1. bundles test/integration/*.ts with esbuild into out/test/integration/*.js (CommonJS; `vscode`
//      and mocha stay external: the extension host provides the one, node_modules the other);
//   2. calls @vscode/test-electron's runTests, unchanged, with `vscodeExecutablePath` pointing at
//      scripts/code-server-as-vscode.mjs: that script stands in for VS Code, with code-server
//      (installed once by scripts/code-server.mjs) and Debian's headless Chromium, since no VS Code
//      desktop or Electron can be downloaded here;
//   3. exits with the tests' exit code.
//
// Build the extension first (`npm run test:integration` does: scripts/build.mjs, then this).
//
//   node scripts/run-integration-tests.mjs [--grep <pattern>] [--bundle-only]
//
// --bundle-only stops after step 1 (for `npx vscode-test`, which runs the bundled files with
// @vscode/test-cli's own mocha runner in the same stand-in; see .vscode-test.mjs).
//
// Environment: ATTENTION_LENS_TEST_TIMEOUT (seconds, default 600), ATTENTION_LENS_TEST_WEBGPU=1,
// ATTENTION_LENS_VERBOSE=1, CHROMIUM_PATH; see scripts/code-server-as-vscode.mjs.
import { chmodSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { runTests } from "@vscode/test-electron";
import * as esbuild from "esbuild";

import { ensureCodeServer } from "./code-server.mjs";

const REPOSITORY_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const TESTS_SOURCE = join(REPOSITORY_ROOT, "test", "integration");
const TESTS_OUT = join(REPOSITORY_ROOT, "out", "test", "integration");
const STAND_IN = join(REPOSITORY_ROOT, "scripts", "code-server-as-vscode.mjs");
const SAMPLE_WORKSPACE = join(REPOSITORY_ROOT, "media", "sample");

const { values: options } = parseArgs({
  options: { grep: { type: "string" }, "bundle-only": { type: "boolean", default: false } },
});

async function bundleTests() {
  const entryPoints = readdirSync(TESTS_SOURCE)
    .filter((file) => file === "index.ts" || file.endsWith(".test.ts"))
    .map((file) => join(TESTS_SOURCE, file));
  rmSync(TESTS_OUT, { recursive: true, force: true });
  await esbuild.build({
    entryPoints,
    outdir: TESTS_OUT,
    bundle: true,
    platform: "node",
    format: "cjs",
    target: "node20",
    external: ["vscode", "mocha"],
    sourcemap: "inline",
    logLevel: "warning",
  });
}

const started = Date.now();
const seconds = () => `${((Date.now() - started) / 1000).toFixed(1)} s`;

await bundleTests();
console.log(`bundled test/integration into ${TESTS_OUT} (${seconds()})`);
if (options["bundle-only"]) process.exit(0);
await ensureCodeServer(); // here, so a first install shows its progress before the tests start
chmodSync(STAND_IN, 0o755); // runTests spawns it as the VS Code executable

// A fresh profile and extensions folder for every run, removed afterwards.
const profile = mkdtempSync(join(tmpdir(), "attention-lens-integration-"));
let exitCode = 0;
try {
  await runTests({
    vscodeExecutablePath: STAND_IN,
    extensionDevelopmentPath: REPOSITORY_ROOT,
    extensionTestsPath: join(TESTS_OUT, "index.js"),
    launchArgs: [SAMPLE_WORKSPACE, `--user-data-dir=${join(profile, "user-data")}`, `--extensions-dir=${join(profile, "extensions")}`],
    extensionTestsEnv: {
      ATTENTION_LENS_TEST_COLOR: process.stdout.isTTY ? "1" : "0",
      // A Hugging Face cache of the tests' own (test/integration/own-model.test.ts fills it), so the
      // tests never list the models of the machine's real cache.
      HF_HUB_CACHE: join(profile, "hub-cache"),
      ...(options.grep ? { ATTENTION_LENS_TEST_GREP: options.grep } : {}),
    },
  });
  console.log(`integration tests passed (${seconds()})`);
} catch (error) {
  console.error(`integration tests failed (${seconds()}): ${error instanceof Error ? error.message : String(error)}`);
  exitCode = 1;
} finally {
  rmSync(profile, { recursive: true, force: true });
}
process.exit(exitCode);
