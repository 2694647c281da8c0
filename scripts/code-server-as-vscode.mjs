#!/usr/bin/env node
// Stands in for the VS Code executable when extension tests run: @vscode/test-electron's `runTests`
// (and @vscode/test-cli's `useInstallation.fromPath`) start it with the arguments they would give
// `code`, and it does what VS Code would do with them, in code-server and a headless Chromium:
//
//   1. starts code-server (scripts/code-server.mjs) on 127.0.0.1 with the given profile folders and
//      this process's environment (so VSCODE_TEST_OPTIONS and the like reach the extension host);
//   2. opens the workbench in Debian's Chromium (playwright-core, headless, a fresh browser profile)
//      with `extensionDevelopmentPath` and `extensionTestsPath` in the URL payload;
//   3. prints what the tests print: the workbench hands every log line of a test run to
//      `window.codeAutomationLog(type, args)` and its end to `window.codeAutomationExit(code)`, which
//      this script provides with `page.exposeFunction`;
//   4. exits with the tests' exit code (0: all passed), or 1 after ATTENTION_LENS_TEST_TIMEOUT
//      seconds (default 600), with a screenshot of the workbench in .vscode-test/.
//
// Arguments understood (as `code` takes them): a folder to open,
// --extensionDevelopmentPath, --extensionTestsPath, --user-data-dir, --extensions-dir, and
// --install-extension / --uninstall-extension / --list-extensions / --show-versions (handed to
// code-server's own command line). Flags meant for Electron (--no-sandbox, --disable-gpu-sandbox,
// --skip-welcome, ...) are ignored.
//
// Environment:
//   ATTENTION_LENS_TEST_TIMEOUT  seconds before giving up (default 600)
//   ATTENTION_LENS_TEST_WEBGPU=1 launch Chromium with WebGPU on SwiftShader instead of the GPU off
//   ATTENTION_LENS_VERBOSE=1     also print code-server's output and the page's console
//   CHROMIUM_PATH                the browser (default /usr/bin/chromium)
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { setTimeout } from "node:timers";
import { format } from "node:util";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

import { runCodeServerCli, startCodeServer, workbenchUrl } from "./code-server.mjs";
import { CHROMIUM_PATH, chromiumFlags } from "./chromium.mjs";

const REPOSITORY_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const TIMEOUT_SECONDS = Number(process.env.ATTENTION_LENS_TEST_TIMEOUT ?? 600);
const VERBOSE = process.env.ATTENTION_LENS_VERBOSE === "1";
const WEBGPU = process.env.ATTENTION_LENS_TEST_WEBGPU === "1";

const CHROMIUM_FLAGS = chromiumFlags(WEBGPU);

/**
 * The workbench's own log lines that say nothing about the tests (printed with ATTENTION_LENS_VERBOSE=1):
 * connection set-up, and the extension gallery lookup that fails without internet.
 */
const WORKBENCH_NOISE = [
  /^Resolv(ing|ed) connection token/,
  /^Creating a socket/,
  /^Updating additional builtin extensions cache/,
  /^\[Service Worker\]/,
  /^ChatSessionStore:/,
  /ENOTFOUND open-vsx\.org/,
];

/** `code` flags that take a value, written either `--flag=value` or `--flag value`. */
const FLAGS_WITH_VALUE = new Set([
  "extensionDevelopmentPath",
  "extensionTestsPath",
  "user-data-dir",
  "extensions-dir",
  "install-extension",
  "uninstall-extension",
  "locale",
  "log",
  "logsPath",
  "crash-reporter-directory",
]);
/** Flags handed to code-server's own command line (it installs or lists extensions, then exits). */
const EXTENSION_MANAGEMENT_FLAGS = ["install-extension", "uninstall-extension", "list-extensions", "show-versions"];

function parseArguments(argv) {
  const flags = new Map(); // name -> values (a flag may repeat: --extensionDevelopmentPath)
  const positional = [];
  for (let index = 0; index < argv.length; index++) {
    const argument = argv[index];
    if (!argument.startsWith("-") || argument === "-") {
      positional.push(argument);
      continue;
    }
    const body = argument.replace(/^--?/, "");
    const equals = body.indexOf("=");
    let name = equals >= 0 ? body.slice(0, equals) : body;
    let value = equals >= 0 ? body.slice(equals + 1) : true;
    if (value === true && FLAGS_WITH_VALUE.has(name) && index + 1 < argv.length) value = argv[++index];
    if (name === "v") name = "version";
    flags.set(name, [...(flags.get(name) ?? []), value]);
  }
  const last = (name) => flags.get(name)?.at(-1);
  return { flags, positional, last };
}

function fail(message) {
  console.error(`code-server-as-vscode: ${message}`);
  process.exit(1);
}

const { flags, positional, last } = parseArguments(process.argv.slice(2));

if (flags.has("version")) {
  const result = await runCodeServerCli(["--version"], { stdio: "pipe", log: (line) => console.error(line) });
  // code-server prints "4.100.3 <commit> with Code 1.100.3"; `code --version` prints version, commit, arch.
  const [, commit, codeVersion] = /^\S+ (\S+) with Code (\S+)$/m.exec(result.stdout ?? "") ?? [];
  if (!codeVersion) fail(`unexpected output of code-server --version: ${result.stdout}${result.stderr}`);
  console.log(`${codeVersion}\n${commit}\n${process.arch}`);
  process.exit(0);
}

const userDataDir = last("user-data-dir");
const extensionsDir = last("extensions-dir");

if (EXTENSION_MANAGEMENT_FLAGS.some((name) => flags.has(name))) {
  const args = [];
  if (userDataDir) args.push("--user-data-dir", resolve(userDataDir));
  if (extensionsDir) args.push("--extensions-dir", resolve(extensionsDir));
  for (const name of [...EXTENSION_MANAGEMENT_FLAGS, "force"]) {
    for (const value of flags.get(name) ?? []) args.push(`--${name}`, ...(value === true ? [] : [value]));
  }
  const result = await runCodeServerCli(args, { log: (line) => console.error(line) });
  process.exit(result.status ?? 1);
}

const extensionDevelopmentPaths = (flags.get("extensionDevelopmentPath") ?? []).filter((value) => value !== true);
const extensionTestsPath = last("extensionTestsPath");
if (typeof extensionTestsPath !== "string") {
  fail("this stand-in for VS Code only runs extension tests (--extensionTestsPath); for a window to use, run `npm start`");
}
if (extensionDevelopmentPaths.length > 1) {
  fail(`one --extensionDevelopmentPath is supported, got ${extensionDevelopmentPaths.length}`);
}
if (positional.length > 1) fail(`one folder to open, got ${positional.join(", ")}`);
const workspace = positional[0] ? resolve(positional[0]) : undefined;
if (workspace && !existsSync(workspace)) fail(`${workspace} does not exist`);
if (workspace && !statSync(workspace).isDirectory()) fail(`${workspace} is not a folder; open a folder (workspace files are not supported)`);
if (!existsSync(CHROMIUM_PATH)) {
  fail(
    `no Chromium at ${CHROMIUM_PATH}; install it with "apt-get update && apt-get install -y chromium" ` +
      "(or set CHROMIUM_PATH); never let a tool download a browser",
  );
}

const started = Date.now();
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1)} s`;
const say = (line) => console.log(`[code-server-as-vscode] ${line}`);

let server;
let context;
let browserProfile;
let finishing = false;

async function finish(code, reason) {
  if (finishing) return;
  finishing = true;
  if (reason) say(reason);
  await context?.close().catch(() => undefined);
  if (browserProfile) rmSync(browserProfile, { recursive: true, force: true });
  await server?.stop().catch(() => undefined);
  process.exit(code);
}

for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(signal, () => void finish(130, `${signal}: stopping`));
}

setTimeout(async () => {
  const page = context?.pages()[0];
  const screenshot = join(REPOSITORY_ROOT, ".vscode-test", "code-server-as-vscode-timeout.png");
  if (page) {
    mkdirSync(dirname(screenshot), { recursive: true });
    await page.screenshot({ path: screenshot }).then(() => say(`screenshot of the workbench: ${screenshot}`), () => undefined);
  }
  await finish(1, `the tests did not finish within ${TIMEOUT_SECONDS} s (ATTENTION_LENS_TEST_TIMEOUT); giving up`);
}, TIMEOUT_SECONDS * 1000); // also keeps this process alive until an exit is reported

try {
  server = await startCodeServer({
    folder: workspace,
    userDataDir: userDataDir ? resolve(userDataDir) : undefined,
    extensionsDir: extensionsDir ? resolve(extensionsDir) : undefined,
    print: VERBOSE ? (line) => console.log(`[code-server] ${line}`) : undefined,
    log: say,
  });
  say(`code-server ${server.url} (${elapsed()})`);

  server.process.on("exit", (code, signal) => void finish(1, `code-server exited (${signal ?? `exit code ${code}`}) before the tests ended`));
  const url = workbenchUrl(server.url, { folder: workspace, extensionDevelopmentPath: extensionDevelopmentPaths[0], extensionTestsPath });

  browserProfile = mkdtempSync(join(tmpdir(), "attention-lens-workbench-chromium-"));
  context = await chromium.launchPersistentContext(browserProfile, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: CHROMIUM_FLAGS,
    viewport: { width: 1600, height: 1000 },
    // Shutting down is finish()'s job: playwright's own handlers would exit before code-server is stopped.
    handleSIGINT: false,
    handleSIGTERM: false,
    handleSIGHUP: false,
  });
  context.on("close", () => void finish(1, "Chromium closed before the tests ended"));
  const page = context.pages()[0] ?? (await context.newPage());
  page.on("crash", () => void finish(1, "the workbench page crashed"));

  // The workbench calls these when it runs extension tests (VS Code's "automation" hooks).
  await page.exposeFunction("codeAutomationLog", (type, args) => {
    const text = format(...(Array.isArray(args) ? args : [args])); // console.log's "%s" / "%d" formatting
    if (!VERBOSE && WORKBENCH_NOISE.some((pattern) => pattern.test(text))) return;
    (type === "error" || type === "warn" ? console.error : console.log)(text);
  });
  await page.exposeFunction("codeAutomationExit", (code) => {
    void finish(typeof code === "number" ? code : 1, `the tests ended with exit code ${code} (${elapsed()})`);
  });
  page.on("pageerror", (error) => console.error(`[workbench uncaught] ${error.stack ?? error.message}`));
  if (VERBOSE) page.on("console", (message) => console.log(`[workbench ${message.type()}] ${message.text()}`));

  say(`opening the workbench (${elapsed()}): ${url}`);
  await page.goto(url);
} catch (error) {
  console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
  await finish(1, "could not start the workbench");
}
