// @vscode/test-cli's configuration (`npx vscode-test`, and VS Code's Extension Test Runner): the
// same tests as `npm run test:integration`, in the same stand-in for VS Code
// (scripts/code-server-as-vscode.mjs: code-server and headless Chromium, since no VS Code desktop
// can be downloaded here). test-cli runs mocha itself over the bundled files, so bundle them first:
// `npm run test:integration` does, or `node scripts/build.mjs && node scripts/run-integration-tests.mjs --bundle-only`.
import { fileURLToPath, URL } from "node:url";
import { defineConfig } from "@vscode/test-cli";

export default defineConfig({
  label: "integration",
  files: "out/test/integration/**/*.test.js",
  workspaceFolder: "media/sample",
  useInstallation: { fromPath: fileURLToPath(new URL("scripts/code-server-as-vscode.mjs", import.meta.url)) },
  mocha: { ui: "bdd", timeout: 120_000 },
});
