/**
 * The entry point VS Code loads in the extension host for `--extensionTestsPath`: runs mocha over
 * every *.test.js beside this file (scripts/run-integration-tests.mjs bundles test/integration/*.ts
 * into out/test/integration/ first; the extension host runs plain JavaScript).
 *
 * mocha's spec reporter writes with console.log, which the extension host forwards to the workbench,
 * and from there to the process that runs the tests (scripts/code-server-as-vscode.mjs prints it).
 *
 * ATTENTION_LENS_TEST_GREP (set by `npm run test:integration -- --grep <pattern>`) runs only the
 * tests whose full title matches; ATTENTION_LENS_TEST_COLOR=1 turns on the reporter's colors.
 */

import { readdirSync } from "node:fs";
import { join } from "node:path";
import Mocha from "mocha";

export function run(): Promise<void> {
  const color = process.env.ATTENTION_LENS_TEST_COLOR === "1"; // whether the terminal that started the run shows colors
  const mocha = new Mocha({ ui: "bdd", reporter: "spec", color, timeout: 120_000 });
  const grep = process.env.ATTENTION_LENS_TEST_GREP;
  if (grep) mocha.grep(grep);

  const testFiles = readdirSync(__dirname)
    .filter((file) => file.endsWith(".test.js"))
    .sort();
  if (testFiles.length === 0) return Promise.reject(new Error(`no *.test.js files in ${__dirname}`));
  for (const file of testFiles) mocha.addFile(join(__dirname, file));

  return new Promise((resolve, reject) => {
    mocha.run((failures) => {
      if (failures > 0) reject(new Error(`${failures} integration test(s) failed`));
      else resolve();
    });
  });
}
