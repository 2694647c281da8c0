// Runs the end-to-end tests (test/e2e/*.test.ts): the extension as a person gets it, packaged and
// installed into code-server, driven through the workbench in headless Chromium.
//
//   1. `npm run package` builds attention-lens.vsix (production bundle + vsce);
//   2. code-server is installed once (scripts/code-server.mjs; a no-op when it is there);
//   3. mocha runs test/e2e/*.test.ts in plain Node with tsx (the tests import src/model to compute
//      the reference weights), with ATTENTION_LENS_VSIX pointing at the package.
//
//   node scripts/run-e2e-tests.mjs [--skip-package] [--grep <pattern>]
//
// --skip-package reuses an existing attention-lens.vsix (it must exist).
//
// Environment: ATTENTION_LENS_VERBOSE=1 prints code-server's output and the page's console;
// CHROMIUM_PATH (default /usr/bin/chromium). Screenshots land in media/screenshots/ (or in the folder
// ATTENTION_LENS_SCREENSHOTS names); on a failure the window is saved to
// /tmp/attention-lens-e2e-failure-*.png.
import { spawn } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

import { ensureCodeServer } from "./code-server.mjs";

const REPOSITORY_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const TESTS = join(REPOSITORY_ROOT, "test", "e2e");
const VSIX = join(REPOSITORY_ROOT, "attention-lens.vsix");
const require = createRequire(import.meta.url);

const { values: options } = parseArgs({
  options: { grep: { type: "string" }, "skip-package": { type: "boolean", default: false } },
});

const started = Date.now();
const seconds = (from = started) => `${((Date.now() - from) / 1000).toFixed(1)} s`;
const say = (line) => console.log(`[run-e2e-tests] ${line}`);

/** Runs a command with the output shown; resolves to its exit code. */
function run(command, args, env = process.env) {
  return new Promise((resolveRun, reject) => {
    const child = spawn(command, args, { cwd: REPOSITORY_ROOT, env, stdio: "inherit" });
    child.on("error", reject);
    child.on("close", (code, signal) => resolveRun(code ?? (signal ? 1 : 0)));
  });
}

if (options["skip-package"]) {
  if (!existsSync(VSIX)) {
    console.error(`[run-e2e-tests] --skip-package, but ${VSIX} does not exist: run "npm run package" first`);
    process.exit(1);
  }
  say(`using the existing ${VSIX} (built ${statSync(VSIX).mtime.toISOString()})`);
} else {
  const packaging = Date.now();
  say("npm run package");
  const code = await run("npm", ["run", "--silent", "package"]);
  if (code !== 0 || !existsSync(VSIX)) {
    console.error(`[run-e2e-tests] "npm run package" failed (exit code ${code}); no ${VSIX}`);
    process.exit(1);
  }
  say(`packaged ${VSIX} (${(statSync(VSIX).size / 1e6).toFixed(1)} MB) in ${seconds(packaging)}`);
}

await ensureCodeServer({ log: say });

const testFiles = readdirSync(TESTS)
  .filter((file) => file.endsWith(".test.ts"))
  .sort()
  .map((file) => join(TESTS, file));
if (testFiles.length === 0) {
  console.error(`[run-e2e-tests] no *.test.ts in ${TESTS}`);
  process.exit(1);
}

const mocha = require.resolve("mocha/bin/mocha.js");
const args = [
  "--import=tsx",
  mocha,
  "--no-config", // .mocharc.json is the unit tests'
  "--reporter", "spec",
  "--timeout", "180000",
  "--exit",
  ...(options.grep ? ["--grep", options.grep] : []),
  ...testFiles,
];
const code = await run(process.execPath, args, { ...process.env, ATTENTION_LENS_VSIX: VSIX });
say(`${code === 0 ? "passed" : `failed (exit code ${code})`} in ${seconds()}`);
process.exit(code);
