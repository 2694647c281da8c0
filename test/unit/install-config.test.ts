/**
 * `npm install` on a fresh clone says nothing that looks like a broken install: no unknown project
 * config, no optional native module that fails to download, and every dependency's install script
 * either allowed or refused on purpose in package.json's `allowScripts`.
 */

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

const ROOT = join(import.meta.dirname, "..", "..");

interface LockedPackage {
  name?: string;
  version?: string;
  hasInstallScript?: boolean;
}

function lockedPackages(): [string, LockedPackage][] {
  const lock = JSON.parse(readFileSync(join(ROOT, "package-lock.json"), "utf8")) as { packages: Record<string, LockedPackage> };
  return Object.entries(lock.packages).filter(([path]) => path !== "");
}

/** "node_modules/@vscode/vsce/node_modules/keytar" -> "keytar". */
function installedName(path: string): string {
  const parts = path.split("node_modules/");
  return parts[parts.length - 1].replace(/\/$/, "");
}

describe("installing the project", () => {
  it("has no project .npmrc setting npm does not know (npm warns about it on every command)", function () {
    this.timeout(30_000);
    const npm = spawnSync("npm", ["config", "list"], { cwd: ROOT, encoding: "utf8", env: { ...process.env, npm_config_loglevel: "warn" } });
    assert.equal(npm.status, 0, npm.stderr);
    assert.doesNotMatch(npm.stderr, /Unknown (project|user|env) config/, `npm warns: ${npm.stderr}`);
    assert.ok(!existsSync(join(ROOT, ".npmrc")) || !/onnxruntime-node-install/.test(readFileSync(join(ROOT, ".npmrc"), "utf8")));
  });

  it("decides on every install script in package.json's allowScripts, and refuses onnxruntime-node's CUDA download", () => {
    const decisions = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { allowScripts?: Record<string, boolean> }).allowScripts ?? {};
    const undecided = lockedPackages()
      .filter(([, locked]) => locked.hasInstallScript)
      .map(([path]) => installedName(path))
      .filter((name) => !(name in decisions));
    assert.deepEqual(undecided, [], "dependencies with an install script that allowScripts does not name");
    assert.equal(decisions["onnxruntime-node"], false, "its install script only downloads CUDA binaries, which nothing here uses");
  });

  it("installs no native module that is optional and fails to build offline (vsce's keytar is replaced by an empty package)", () => {
    const keytar = lockedPackages().filter(([path]) => installedName(path) === "keytar");
    for (const [path, locked] of keytar) {
      assert.ok(!locked.hasInstallScript, `${path} still runs an install script (prebuild-install downloads a binary)`);
      assert.equal(locked.name, "@favware/skip-dependency", `${path} should be overridden in package.json`);
    }
  });
});
