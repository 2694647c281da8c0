/**
 * The steps the end-to-end tests share, on top of workbench.ts: a workbench with the packaged
 * extension installed and the test's settings, the sample file's selected lines as Node sees them,
 * polling for what the panel draws, screenshots kept small, and what to print on a failure.
 *
 * Environment: ATTENTION_LENS_VSIX (default ./attention-lens.vsix), ATTENTION_LENS_SCREENSHOTS (a
 * folder for the screenshots instead of media/screenshots), ATTENTION_LENS_VERBOSE=1 (print
 * code-server's output and the page's console as they come).
 */

import * as assert from "node:assert/strict";
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";

import {
  createProfile,
  DEFAULT_VSIX,
  installVsix,
  loadCodeServerScript,
  REPOSITORY_ROOT,
  SAMPLE_WORKSPACE,
  startWorkbench,
  userSettings,
  writeUserSettings,
  type Profile,
  type ThemeKind,
  type Workbench,
} from "./workbench";

export const VSIX = process.env.ATTENTION_LENS_VSIX ?? DEFAULT_VSIX;
export const VERBOSE = process.env.ATTENTION_LENS_VERBOSE === "1";
/** Where screenshots go (ATTENTION_LENS_SCREENSHOTS elsewhere, e.g. in CI, so the committed ones stay put). */
export const SCREENSHOTS = process.env.ATTENTION_LENS_SCREENSHOTS ?? join(REPOSITORY_ROOT, "media", "screenshots");
export const MAX_SCREENSHOT_BYTES = 300 * 1024;

/** A started workbench and the profile it runs in (remove both with `closeInstalledWorkbench`). */
export interface InstalledWorkbench {
  profile: Profile;
  workbench: Workbench;
  /** What `installVsix` listed: "id@version". */
  installedAs: string;
}

/**
 * A fresh profile with the .vsix installed, the e2e user settings for `theme` plus `settings`, and
 * the workbench open on the sample folder at `width` x `height`.
 */
export async function startInstalledWorkbench(
  options: { theme?: ThemeKind; settings?: Record<string, unknown>; width?: number; height?: number } = {},
): Promise<InstalledWorkbench> {
  const profile = createProfile();
  try {
    const installedAs = await installVsix(VSIX, profile);
    const codeServer = await loadCodeServerScript();
    writeUserSettings(profile, userSettings(codeServer.DEFAULT_USER_SETTINGS, options.theme ?? "dark", options.settings));
    const workbench = await startWorkbench({
      profile,
      width: options.width,
      height: options.height,
      print: VERBOSE ? (line) => console.log(line) : undefined,
    });
    return { profile, workbench, installedAs };
  } catch (error) {
    profile.remove();
    throw error;
  }
}

export async function closeInstalledWorkbench(installed: InstalledWorkbench | undefined): Promise<void> {
  await installed?.workbench.close();
  installed?.profile.remove();
}

/** Lines `firstLine` (1-based) to `firstLine + count - 1` of a sample file, as the selection holds them. */
export interface SampleSelection {
  documentText: string;
  /** The selection's offset in the document. */
  start: number;
  /** The selected text, its last line break included. */
  text: string;
}

export function sampleSelection(file: string, firstLine: number, count: number): SampleSelection {
  const documentText = readFileSync(join(SAMPLE_WORKSPACE, file), "utf8");
  const lines = documentText.split("\n");
  const start = lines.slice(0, firstLine - 1).join("\n").length + 1;
  const text = lines.slice(firstLine - 1, firstLine - 1 + count).join("\n") + "\n";
  return { documentText, start, text };
}

/** Polls `probe` until it returns something other than undefined/false; fails naming `what` and the last error. */
export async function until<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMilliseconds = 30_000, intervalMilliseconds = 100): Promise<T> {
  const deadline = Date.now() + timeoutMilliseconds;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
      lastError = undefined;
    } catch (error) {
      lastError = error;
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMilliseconds));
  }
  const detail = lastError instanceof Error ? ` (last error: ${lastError.message.split("\n")[0]})` : "";
  throw new Error(`timed out after ${timeoutMilliseconds / 1000} s waiting for ${what}${detail}`);
}

/** Saves the window (or `element`'s box) as SCREENSHOTS/`name` and checks it stays under MAX_SCREENSHOT_BYTES. */
export async function saveScreenshot(workbench: Workbench, name: string, element?: { screenshot(options: { path: string }): Promise<unknown> }): Promise<string> {
  const path = join(SCREENSHOTS, name);
  if (element) await element.screenshot({ path });
  else await workbench.screenshot(path);
  const bytes = statSync(path).size;
  assert.ok(bytes < MAX_SCREENSHOT_BYTES, `${path} has ${bytes} bytes; keep it under ${MAX_SCREENSHOT_BYTES}`);
  return path;
}

/** After a failed test: the window saved to `path` (outside the repository) and the last lines of code-server and the page. */
export async function reportFailure(workbench: Workbench | undefined, path: string): Promise<void> {
  if (!workbench) return;
  await workbench.screenshot(path).then(
    () => console.error(`      screenshot of the workbench at the failure: ${path}`),
    (error: unknown) => console.error(`      (no screenshot: ${String(error)})`),
  );
  console.error(`      last lines of code-server and the page:\n${workbench.log.slice(-25).map((line) => `        ${line}`).join("\n")}`);
}
