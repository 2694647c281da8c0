// code-server, installed from npm alone, as the VS Code this project runs and tests in.
//
// No VS Code desktop or Electron binary can be downloaded here, but code-server (on npm) is a full
// VS Code server build (its lib/vscode) with a real Node extension host that serves the workbench to
// a browser. Version 4.100.3 (VS Code 1.100.3) is the last one that runs on Node 20.
//
//   ensureCodeServer()        installs it once into .vscode-test/code-server/ (ignored by git and by
//                             vsce, like the VS Code builds @vscode/test-electron caches there) and
//                             returns where it is; a second call only checks the marker file.
//   startCodeServer(options)  starts it on 127.0.0.1 and a free port, without authentication,
//                             telemetry, update checks or workspace trust, with its own profile, and
//                             waits until /healthz answers.
//   workbenchUrl(options)     the address that opens a folder with an extension under development
//                             (and, for tests, an extensionTestsPath): the `payload` URL parameter.
//
// Every step of the install below fixes a failure seen without it:
//
//   0. apt packages: ripgrep (VS Code's search), libkrb5-dev (the kerberos module needs
//      gssapi/gssapi.h), pkg-config, and a compiler for the native modules (build-essential, python3)
//   1. npm install --ignore-scripts code-server@4.100.3   (node-pty's install would stop on an npx prompt)
//   2. npm rebuild argon2 --build-from-source              (its install downloads a prebuilt binary)
//   3. lib/vscode: npm install --omit=dev --ignore-scripts
//   4. lib/vscode: Debian's rg as node_modules/@vscode/ripgrep/bin/rg (its postinstall downloads ripgrep)
//   5. lib/vscode: npm rebuild                              (the native modules, against this Node)
//   6. the rest of code-server's own postinstall: node_modules.asar -> node_modules, and
//      lib/vscode/extensions: npm install --omit=dev
//
// Every npm call goes to the npm registry only; node-gyp compiles against this Node's own headers
// when they are installed (see nodeHeadersEnvironment), so nothing else is downloaded.
//
// Run directly, `node scripts/code-server.mjs` installs (or checks) it and prints where it is.
import { spawn, spawnSync } from "node:child_process";
import {
  accessSync,
  constants,
  copyFileSync,
  createWriteStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { get as httpGet } from "node:http";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, dirname, join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath, URL } from "node:url";

const REPOSITORY_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** The last code-server that runs on Node 20 (later ones need Node 22 or 24). */
export const CODE_SERVER_VERSION = "4.100.3";
/** The VS Code version inside it. */
export const VSCODE_VERSION = "1.100.3";
const REQUIRED_NODE_MAJOR = 20;

/** Where code-server is installed; override with ATTENTION_LENS_CODE_SERVER_HOME. */
export const CODE_SERVER_HOME = process.env.ATTENTION_LENS_CODE_SERVER_HOME
  ? resolve(process.env.ATTENTION_LENS_CODE_SERVER_HOME)
  : join(REPOSITORY_ROOT, ".vscode-test", "code-server");

const PACKAGE_DIRECTORY = join(CODE_SERVER_HOME, "node_modules", "code-server");
const VSCODE_DIRECTORY = join(PACKAGE_DIRECTORY, "lib", "vscode");
/** code-server's command-line entry point (what its `bin` points at); run with this Node. */
const ENTRY_POINT = join(PACKAGE_DIRECTORY, "out", "node", "entry.js");
/** Written last: the install finished for this version and this Node. */
const MARKER_FILE = join(CODE_SERVER_HOME, "installed.json");
/** Held (a folder with the holder's pid) while one process installs. */
const INSTALL_LOCK = `${CODE_SERVER_HOME}.lock`;
/** Every command's output during the install (the console shows one line per step). */
const INSTALL_LOG = join(CODE_SERVER_HOME, "install.log");

/** The user settings every profile starts with (see startCodeServer). */
export const DEFAULT_USER_SETTINGS = {
  "workbench.startupEditor": "none", // the welcome page steals focus
  "security.workspace.trust.enabled": false,
  "telemetry.telemetryLevel": "off",
  "extensions.autoUpdate": false,
  "extensions.autoCheckUpdates": false,
  "update.mode": "none",
  "workbench.enableExperiments": false,
  "workbench.tips.enabled": false,
  "chat.disableAIFeatures": true,
};

/** The apt packages the install needs, and how to tell whether each is there. */
const SYSTEM_REQUIREMENTS = [
  { aptPackage: "ripgrep", why: "VS Code's text search (rg)", present: () => findOnPath("rg") !== undefined },
  { aptPackage: "pkg-config", why: "the kerberos module's build", present: () => findOnPath("pkg-config") !== undefined },
  { aptPackage: "libkrb5-dev", why: "the kerberos module's build (gssapi/gssapi.h)", present: () => existsSync("/usr/include/gssapi/gssapi.h") },
  { aptPackage: "build-essential", why: "compiling native modules (make, g++)", present: () => findOnPath("make") !== undefined && findOnPath("g++") !== undefined },
  { aptPackage: "python3", why: "node-gyp", present: () => findOnPath("python3") !== undefined },
];

/** The first executable called `name` on PATH, or undefined. */
export function findOnPath(name) {
  for (const directory of (process.env.PATH ?? "").split(delimiter)) {
    if (!directory) continue;
    const candidate = join(directory, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

function readMarker() {
  try {
    return JSON.parse(readFileSync(MARKER_FILE, "utf8"));
  } catch {
    return undefined;
  }
}

function nodeMajor(version = process.versions.node) {
  return Number(version.replace(/^v/, "").split(".")[0]);
}

/** Whether code-server is installed for this version and this Node's major version (native modules). */
export function codeServerIsInstalled() {
  const marker = readMarker();
  return (
    marker !== undefined &&
    marker.version === CODE_SERVER_VERSION &&
    nodeMajor(marker.node) === nodeMajor() &&
    existsSync(ENTRY_POINT)
  );
}

/**
 * Environment for npm calls into the cache folder: without the npm_package_* / npm_lifecycle_* /
 * prefix variables `npm run` sets for this repository (the inner npm must see its own folder), with
 * npx's prompt answered (node-pty's rebuild runs `npx node-gyp`), and with node-gyp pointed at this
 * Node's headers when they are installed, so it does not download them.
 */
function npmEnvironment() {
  const environment = {};
  for (const [key, value] of Object.entries(process.env)) {
    const lower = key.toLowerCase();
    if (lower.startsWith("npm_package_") || lower.startsWith("npm_lifecycle_")) continue;
    if (lower === "npm_config_local_prefix" || lower === "npm_config_prefix" || lower === "init_cwd") continue;
    environment[key] = value;
  }
  environment.npm_config_yes = "true";
  environment.npm_config_fund = "false";
  environment.npm_config_audit = "false";
  environment.npm_config_update_notifier = "false";
  environment.JOBS ??= "max"; // node-gyp compiles each native module on every core
  Object.assign(environment, nodeHeadersEnvironment(environment));
  return environment;
}

/** `npm_config_nodedir` for node-gyp when this Node's headers are on disk and none is configured. */
function nodeHeadersEnvironment(environment) {
  if (Object.keys(environment).some((key) => key.toLowerCase() === "npm_config_nodedir")) return {};
  const configured = spawnSync("npm", ["config", "get", "nodedir"], { encoding: "utf8", env: environment });
  const value = configured.stdout?.trim();
  if (configured.status === 0 && value && value !== "undefined" && value !== "null") return {};
  const prefix = resolve(dirname(process.execPath), "..");
  return existsSync(join(prefix, "include", "node", "node.h")) ? { npm_config_nodedir: prefix } : {};
}

/** Runs a command, its output into the install log; throws with the output's tail when it fails. */
function runLogged(command, args, { cwd, env, log }) {
  return new Promise((resolveRun, reject) => {
    const logStream = createWriteStream(INSTALL_LOG, { flags: "a" });
    logStream.write(`\n$ (cd ${cwd} && ${command} ${args.join(" ")})\n`);
    const child = spawn(command, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    const tail = [];
    const keep = (chunk) => {
      logStream.write(chunk);
      tail.push(...chunk.toString().split("\n"));
      if (tail.length > 400) tail.splice(0, tail.length - 400);
    };
    child.stdout.on("data", keep);
    child.stderr.on("data", keep);
    child.on("error", (error) => {
      logStream.end();
      reject(new Error(`could not run ${command}: ${error.message}`));
    });
    child.on("close", (code, signal) => {
      logStream.end();
      if (code === 0) {
        resolveRun();
        return;
      }
      const lastLines = tail.filter((line) => line.trim() !== "").slice(-30).join("\n");
      log(lastLines);
      reject(
        new Error(
          `"${command} ${args.join(" ")}" in ${cwd} failed (${signal ?? `exit code ${code}`}); ` +
            `its last lines are above, everything is in ${INSTALL_LOG}`,
        ),
      );
    });
  });
}

/** Installs the apt packages that are missing when this runs as root, or says what to run. */
function ensureSystemPackages(log) {
  const missing = SYSTEM_REQUIREMENTS.filter((requirement) => !requirement.present());
  if (missing.length === 0) return;
  const packages = missing.map((requirement) => requirement.aptPackage);
  for (const requirement of missing) log(`  missing apt package ${requirement.aptPackage}: ${requirement.why}`);
  const isRoot = typeof process.getuid === "function" && process.getuid() === 0;
  if (!isRoot || findOnPath("apt-get") === undefined) {
    throw new Error(
      `code-server's install needs ${packages.join(", ")}. Install them, then run this again:\n\n` +
        `    sudo apt-get update && sudo apt-get install -y ${packages.join(" ")}\n`,
    );
  }
  log(`  apt-get install -y ${packages.join(" ")}`);
  const environment = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  for (const args of [["update"], ["install", "-y", ...packages]]) {
    const result = spawnSync("apt-get", args, { stdio: ["ignore", "ignore", "pipe"], env: environment, encoding: "utf8" });
    if (result.status !== 0) {
      throw new Error(`"apt-get ${args.join(" ")}" failed (exit code ${result.status}):\n${result.stderr}`);
    }
  }
}

/**
 * Installs code-server CODE_SERVER_VERSION into CODE_SERVER_HOME unless the marker file says it is
 * there already (for this version and this Node's major version). A partial install is removed and
 * done again. Returns { home, entryPoint, version, vscodeDirectory, cached }.
 */
export async function ensureCodeServer({ log = (line) => console.log(line) } = {}) {
  const result = (cached) => ({
    home: CODE_SERVER_HOME,
    entryPoint: ENTRY_POINT,
    version: CODE_SERVER_VERSION,
    vscodeDirectory: VSCODE_DIRECTORY,
    cached,
  });
  if (codeServerIsInstalled()) return result(true);

  if (nodeMajor() !== REQUIRED_NODE_MAJOR) {
    throw new Error(
      `code-server ${CODE_SERVER_VERSION} runs on Node ${REQUIRED_NODE_MAJOR}, and this is Node ${process.versions.node}. ` +
        `Run this with Node ${REQUIRED_NODE_MAJOR} (e.g. "nvm use ${REQUIRED_NODE_MAJOR}"); later code-server versions need Node 22 or 24.`,
    );
  }

  // One install at a time (`npm start` and the tests may both ask on a fresh checkout).
  const releaseLock = await takeInstallLock(log);
  try {
    if (codeServerIsInstalled()) return result(true); // installed by whoever held the lock
    await install(log);
  } finally {
    releaseLock();
  }
  return result(false);
}

/** Takes INSTALL_LOCK (a folder: creating one is atomic), waiting while a live process holds it. */
async function takeInstallLock(log) {
  let waiting = false;
  while (true) {
    try {
      mkdirSync(dirname(INSTALL_LOCK), { recursive: true });
      mkdirSync(INSTALL_LOCK);
      writeFileSync(join(INSTALL_LOCK, "pid"), String(process.pid));
      return () => rmSync(INSTALL_LOCK, { recursive: true, force: true });
    } catch (error) {
      if (error.code !== "EEXIST") throw error;
    }
    let holder;
    let age;
    try {
      age = Date.now() - statSync(INSTALL_LOCK).mtimeMs;
      holder = Number(readFileSync(join(INSTALL_LOCK, "pid"), "utf8"));
    } catch {
      // released just now, or its holder has not written its pid yet
    }
    if (age === undefined) continue;
    const stale = holder ? !isAlive(holder) : age > 10_000;
    if (stale) {
      rmSync(INSTALL_LOCK, { recursive: true, force: true }); // left by a process that is gone
      continue;
    }
    if (!waiting) log(`code-server is being installed by another process (${holder || "starting"}); waiting for it`);
    waiting = true;
    await sleep(2000);
  }
}

function isAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === "EPERM";
  }
}

/** The install itself (see the top of this file); ensureCodeServer holds the lock. */
async function install(log) {
  const started = Date.now();
  const seconds = () => `${((Date.now() - started) / 1000).toFixed(0)} s`;
  log(`Installing code-server ${CODE_SERVER_VERSION} into ${CODE_SERVER_HOME} (once; a few minutes; npm registry only)`);
  ensureSystemPackages(log);

  rmSync(CODE_SERVER_HOME, { recursive: true, force: true });
  mkdirSync(CODE_SERVER_HOME, { recursive: true });
  // A package.json of its own, so npm installs here and not into the repository's node_modules.
  writeFileSync(
    join(CODE_SERVER_HOME, "package.json"),
    JSON.stringify({ name: "attention-lens-code-server", private: true, description: "Installed by scripts/code-server.mjs" }, null, 2) + "\n",
  );
  const env = npmEnvironment();
  const ripgrep = findOnPath("rg");
  const steps = [
    {
      title: `npm install code-server@${CODE_SERVER_VERSION} (no install scripts)`,
      cwd: CODE_SERVER_HOME,
      command: ["npm", "install", "--ignore-scripts", "--no-package-lock", `code-server@${CODE_SERVER_VERSION}`],
    },
    {
      title: "build argon2 from source",
      cwd: CODE_SERVER_HOME,
      command: ["npm", "rebuild", "argon2", "--build-from-source"],
      // What --build-from-source means to node-pre-gyp; set here too, as npm 11 calls the flag unknown.
      env: { npm_config_build_from_source: "true" },
    },
    {
      title: "install VS Code's dependencies (lib/vscode, no install scripts)",
      cwd: VSCODE_DIRECTORY,
      command: ["npm", "install", "--omit=dev", "--ignore-scripts"],
    },
    {
      title: `use Debian's ripgrep (${ripgrep})`,
      run: () => {
        const target = join(VSCODE_DIRECTORY, "node_modules", "@vscode", "ripgrep", "bin", "rg");
        mkdirSync(dirname(target), { recursive: true });
        copyFileSync(ripgrep, target);
      },
    },
    { title: "build VS Code's native modules (npm rebuild)", cwd: VSCODE_DIRECTORY, command: ["npm", "rebuild"] },
    {
      title: "link node_modules.asar",
      run: () => {
        rmSync(join(VSCODE_DIRECTORY, "node_modules.asar"), { recursive: true, force: true });
        symlinkSync("node_modules", join(VSCODE_DIRECTORY, "node_modules.asar"));
      },
    },
    {
      title: "install the built-in extensions' dependencies",
      cwd: join(VSCODE_DIRECTORY, "extensions"),
      command: ["npm", "install", "--omit=dev"],
    },
  ];
  for (const [index, step] of steps.entries()) {
    log(`  [${index + 1}/${steps.length}] ${step.title} (at ${seconds()})`);
    try {
      if (step.run) step.run();
      else await runLogged(step.command[0], step.command.slice(1), { cwd: step.cwd, env: { ...env, ...step.env }, log });
    } catch (error) {
      throw new Error(
        `Installing code-server failed at step ${index + 1} (${step.title}): ${error.message}\n` +
          `Fix the cause and run this again; it starts over.`,
      );
    }
  }
  if (!existsSync(ENTRY_POINT)) throw new Error(`code-server installed, but ${ENTRY_POINT} is missing`);
  writeFileSync(
    MARKER_FILE,
    JSON.stringify({ version: CODE_SERVER_VERSION, node: process.versions.node, installedAt: new Date().toISOString() }, null, 2) + "\n",
  );
  log(`code-server ${CODE_SERVER_VERSION} installed in ${seconds()}`);
}

/** A free TCP port on 127.0.0.1 (the OS picks; it is free at the time of asking). */
export function freePort() {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolvePort(port));
    });
  });
}

/** Whether GET `url` answers 200 within 2 s. */
function answers(url) {
  return new Promise((resolveAnswer) => {
    const request = httpGet(url, { timeout: 2000 }, (response) => {
      response.resume();
      resolveAnswer(response.statusCode === 200);
    });
    request.on("timeout", () => request.destroy());
    request.on("error", () => resolveAnswer(false));
  });
}

async function waitForHealth(url, child, output, timeoutMilliseconds) {
  const deadline = Date.now() + timeoutMilliseconds;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`code-server exited (${child.signalCode ?? `exit code ${child.exitCode}`}) before it answered:\n${output.join("\n")}`);
    }
    if (await answers(new URL("healthz", url))) return;
    await sleep(200);
  }
  throw new Error(`code-server did not answer ${url}healthz within ${timeoutMilliseconds / 1000} s:\n${output.join("\n")}`);
}

/** Writes the default user settings into a profile that has none yet. */
function writeDefaultSettings(userDataDir, settings) {
  const file = join(userDataDir, "User", "settings.json");
  if (existsSync(file)) return;
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(settings, null, 2) + "\n");
}

/**
 * Starts code-server (installing it first if needed) on 127.0.0.1.
 *
 *   folder           the workspace folder it opens by default
 *   userDataDir      its profile (default: a new temporary folder, removed by stop())
 *   extensionsDir    installed extensions (default: a new temporary folder, removed by stop())
 *   port             default: a free port
 *   env              more environment variables for code-server and its extension host
 *   settings         user settings for a profile that has none yet (default DEFAULT_USER_SETTINGS)
 *   print            where code-server's own output goes, line by line (default: nowhere; the last
 *                    lines are in the error when it fails to start)
 *
 * Returns { url, port, process, userDataDir, extensionsDir, stop() }; `url` ends in "/". Open a
 * folder with an extension under development with `workbenchUrl`.
 */
export async function startCodeServer({
  folder,
  userDataDir,
  extensionsDir,
  port,
  env = {},
  settings = DEFAULT_USER_SETTINGS,
  print,
  log = (line) => console.log(line),
} = {}) {
  const installation = await ensureCodeServer({ log });
  const temporary = mkdtempSync(join(tmpdir(), "attention-lens-code-server-"));
  const profile = userDataDir ?? join(temporary, "user-data");
  const extensions = extensionsDir ?? join(temporary, "extensions");
  for (const directory of [profile, extensions, join(temporary, "config"), join(temporary, "data")]) {
    mkdirSync(directory, { recursive: true });
  }
  writeDefaultSettings(profile, settings);
  const listenPort = port ?? (await freePort());

  const environment = {
    ...process.env,
    // code-server's own config.yaml and state go here, not into ~/.config and ~/.local/share.
    XDG_CONFIG_HOME: join(temporary, "config"),
    XDG_DATA_HOME: join(temporary, "data"),
    ...env,
  };
  // Inside a VS Code terminal this makes code-server open files in that VS Code instead of starting;
  // PORT and PASSWORD would override the flags below.
  for (const key of ["VSCODE_IPC_HOOK_CLI", "PORT", "PASSWORD", "HASHED_PASSWORD", "CODE_SERVER_CONFIG"]) delete environment[key];

  const args = [
    installation.entryPoint,
    "--bind-addr", `127.0.0.1:${listenPort}`,
    "--auth", "none",
    "--disable-telemetry",
    "--disable-update-check",
    "--disable-workspace-trust",
    "--disable-getting-started-override",
    "--user-data-dir", profile,
    "--extensions-dir", extensions,
    ...(folder ? [folder] : []),
  ];
  // Its own process group, so stop() ends code-server and everything it started (extension host,
  // file watcher, terminals) and nothing else.
  const child = spawn(process.execPath, args, { env: environment, stdio: ["ignore", "pipe", "pipe"], detached: true });
  const output = [];
  const onOutput = (chunk) => {
    for (const line of chunk.toString().split("\n")) {
      if (line.trim() === "") continue;
      output.push(line);
      if (output.length > 60) output.shift();
      print?.(line);
    }
  };
  child.stdout.on("data", onOutput);
  child.stderr.on("data", onOutput);

  let stopped;
  const stop = () => {
    stopped ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolveExit) => child.once("exit", resolveExit));
        try {
          process.kill(-child.pid, "SIGTERM");
        } catch {
          // already gone
        }
        const timedOut = await Promise.race([exited.then(() => false), sleep(5000).then(() => true)]);
        if (timedOut) {
          try {
            process.kill(-child.pid, "SIGKILL");
          } catch {
            // already gone
          }
        }
      }
      rmSync(temporary, { recursive: true, force: true });
    })();
    return stopped;
  };

  const url = `http://127.0.0.1:${listenPort}/`;
  try {
    await waitForHealth(url, child, output, 60_000);
  } catch (error) {
    await stop();
    throw error;
  }
  return { url, port: listenPort, process: child, userDataDir: profile, extensionsDir: extensions, stop };
}

/**
 * Runs code-server's command line once (e.g. --install-extension x.vsix, --list-extensions,
 * --version) and returns spawnSync's result; its config.yaml goes to a temporary folder, not ~/.config.
 * `stdio` as for spawnSync (default: inherit).
 */
export async function runCodeServerCli(args, { stdio = "inherit", log } = {}) {
  const installation = await ensureCodeServer(log ? { log } : {});
  const temporary = mkdtempSync(join(tmpdir(), "attention-lens-code-server-cli-"));
  try {
    const env = { ...process.env, XDG_CONFIG_HOME: join(temporary, "config"), XDG_DATA_HOME: join(temporary, "data") };
    for (const key of ["VSCODE_IPC_HOOK_CLI", "CODE_SERVER_CONFIG"]) delete env[key];
    return spawnSync(process.execPath, [installation.entryPoint, ...args], { stdio, env, encoding: "utf8" });
  } finally {
    rmSync(temporary, { recursive: true, force: true });
  }
}

/** An absolute local path as a URI of the workbench's remote (the code-server it is served from). */
function remoteUri(serverUrl, path) {
  const { host } = new URL(serverUrl);
  return `vscode-remote://${host}${resolve(path).split("/").map(encodeURIComponent).join("/")}`;
}

/** A path for a URL parameter: percent-encoded, but with its slashes kept, so it stays readable. */
function encodePath(path) {
  return encodeURIComponent(path).replaceAll("%2F", "/");
}

/**
 * The workbench address that opens `folder` with the extension at `extensionDevelopmentPath` loaded
 * for development (like `code --extensionDevelopmentPath`) and, when given, runs the tests at
 * `extensionTestsPath` (a module exporting `run()`, like `code --extensionTestsPath`). code-server
 * takes both in the `payload` URL parameter: [name, vscode-remote URI] pairs.
 */
export function workbenchUrl(serverUrl, { folder, extensionDevelopmentPath, extensionTestsPath }) {
  const payload = [];
  if (extensionDevelopmentPath) payload.push(["extensionDevelopmentPath", remoteUri(serverUrl, extensionDevelopmentPath)]);
  if (extensionTestsPath) payload.push(["extensionTestsPath", remoteUri(serverUrl, extensionTestsPath)]);
  const parameters = [];
  if (folder) parameters.push(`folder=${encodePath(resolve(folder))}`);
  if (payload.length > 0) parameters.push(`payload=${encodeURIComponent(JSON.stringify(payload))}`);
  return `${serverUrl}${parameters.length > 0 ? `?${parameters.join("&")}` : ""}`;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const started = Date.now();
  try {
    const installation = await ensureCodeServer();
    const elapsed = ((Date.now() - started) / 1000).toFixed(1);
    console.log(
      installation.cached
        ? `code-server ${installation.version} is installed in ${installation.home} (checked in ${elapsed} s)`
        : `code-server ${installation.version} is ready in ${installation.home} (${elapsed} s)`,
    );
  } catch (error) {
    console.error(`\n${error.message}`);
    process.exitCode = 1;
  }
}
