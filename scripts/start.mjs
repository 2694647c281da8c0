// `npm start`: opens VS Code with Attention Lens loaded for development on the sample workspace
// media/sample/ (a short TypeScript file and a short English paragraph to select and try
// "Attention Lens: Show Attention" on). `npm start` builds dist/ first (scripts/build.mjs).
//
//   - With a `code` command on PATH (VS Code desktop): runs
//       code --new-window --extensionDevelopmentPath=<repository> media/sample
//     and returns.
//   - Without one (or with --code-server): starts code-server (installed once into
//     .vscode-test/code-server/ by scripts/code-server.mjs) on 127.0.0.1, and prints the address to
//     open in a browser; the extension under development comes in the address (the `payload`
//     parameter), so use that address, not the bare one. Runs until Ctrl+C. The profile is kept in
//     .vscode-test/start/, so the window comes back as it was left.
//
//   node scripts/start.mjs [--code-server] [--port <port>] [--folder <folder>] [--verbose]
//
// After a change, rebuild (`npm run build`, or keep `npm run watch` running in another terminal) and
// run "Developer: Reload Window" in the workbench.
import { spawnSync } from "node:child_process";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

import { findOnPath, startCodeServer, VSCODE_VERSION, workbenchUrl } from "./code-server.mjs";

const REPOSITORY_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const SAMPLE_WORKSPACE = join(REPOSITORY_ROOT, "media", "sample");
const PROFILE = join(REPOSITORY_ROOT, ".vscode-test", "start");

const { values: options } = parseArgs({
  options: {
    "code-server": { type: "boolean", default: false },
    port: { type: "string" },
    folder: { type: "string" },
    verbose: { type: "boolean", default: false },
  },
});
const folder = resolve(options.folder ?? SAMPLE_WORKSPACE);
const port = options.port === undefined ? undefined : Number(options.port);
if (port !== undefined && !(Number.isInteger(port) && port > 0 && port < 65536)) {
  console.error(`--port ${options.port}: expected a port number (1 to 65535)`);
  process.exit(1);
}

const code = options["code-server"] ? undefined : findOnPath("code");
if (code) {
  // VS Code desktop: it opens its own window and keeps running after this command returns.
  console.log(`Opening VS Code (${code}) with Attention Lens under development on ${folder}`);
  const result = spawnSync(code, ["--new-window", `--extensionDevelopmentPath=${REPOSITORY_ROOT}`, folder], { stdio: "inherit" });
  process.exit(result.status ?? 1);
}

let server;
try {
  server = await startCodeServer({
    folder,
    userDataDir: join(PROFILE, "user-data"),
    extensionsDir: join(PROFILE, "extensions"),
    port,
    print: options.verbose ? (line) => console.log(`[code-server] ${line}`) : undefined,
  });
} catch (error) {
  console.error(`\nCould not start code-server: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}

const url = workbenchUrl(server.url, { folder, extensionDevelopmentPath: REPOSITORY_ROOT });
const rule = "=".repeat(78);
console.log(`
${rule}
  Attention Lens is running in code-server (VS Code ${VSCODE_VERSION} in the browser). Open:

  ${url}

  Select some text in ${folder === SAMPLE_WORKSPACE ? "attention.ts or story.txt" : "a file"}, then run
  "Attention Lens: Show Attention" (F1, or the editor's context menu).
  After a rebuild (npm run build / npm run watch): F1 > "Developer: Reload Window".
  On another machine, forward the port first: ssh -L ${server.port}:127.0.0.1:${server.port} <this host>
  Ctrl+C stops it.
${rule}
`);

let stopping = false;
async function stop(signal) {
  if (stopping) return;
  stopping = true;
  console.log(`\n${signal}: stopping code-server ...`);
  await server.stop();
  console.log("stopped");
  process.exit(0);
}
process.on("SIGINT", () => void stop("SIGINT"));
process.on("SIGTERM", () => void stop("SIGTERM"));

server.process.on("exit", (exitCode, signal) => {
  if (stopping) return;
  console.error(`code-server exited on its own (${signal ?? `exit code ${exitCode}`}); run with --verbose to see its output`);
  process.exit(1);
});
