/**
 * A real workbench for the end-to-end tests: code-server (scripts/code-server.mjs) with the packaged
 * extension INSTALLED from attention-lens.vsix (no extensionDevelopmentPath), opened in Debian's
 * headless Chromium with playwright-core, and the few gestures the tests need: Quick Open, the
 * command palette, the webview's content inside its nested iframes, and the editor's DOM.
 *
 *   installVsix(vsix, profile)       code-server --install-extension into a fresh extensions folder
 *   startWorkbench(options)          code-server on the sample folder + Chromium on its workbench
 *   workbench.openFile(name)         Ctrl+P, the name, Enter
 *   workbench.selectLines(...)       that file opened, lines selected with the keyboard
 *   workbench.hideSideBar()          Ctrl+B: more room for the editor and the panel
 *   workbench.narrowFirstGroup(px)   drags the sash between the editor and the panel: a wider panel
 *   workbench.runCommand(title)      F1, the title, Enter
 *   workbench.webview()              the panel's page (a FrameLocator two iframes deep)
 *   workbench.screenshot(path)       the whole window
 *
 * Nothing is downloaded: the browser is /usr/bin/chromium (CHROMIUM_PATH), code-server was installed
 * from npm by scripts/code-server.mjs, the extension comes from `npm run package`.
 */

import type { ChildProcess, SpawnSyncReturns } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { chromium, type BrowserContext, type FrameLocator, type Locator, type Page } from "playwright-core";
import { CHROMIUM_PATH, chromiumFlags } from "../browser/harness";

export const REPOSITORY_ROOT = resolve(__dirname, "..", "..");
export const SAMPLE_WORKSPACE = join(REPOSITORY_ROOT, "media", "sample");
export const DEFAULT_VSIX = join(REPOSITORY_ROOT, "attention-lens.vsix");
export { CHROMIUM_PATH };
export const EXTENSION_ID = "attention-lens.attention-lens";

/** The browser harness's flags with the GPU off (the panel then runs on wasm). */
const CHROMIUM_FLAGS = chromiumFlags(false);

// ---------------------------------------------------------------------------------------------
// scripts/code-server.mjs (plain JavaScript without type declarations: imported by URL, typed here)

interface CodeServer {
  url: string;
  port: number;
  process: ChildProcess;
  userDataDir: string;
  extensionsDir: string;
  stop(): Promise<void>;
}

interface CodeServerModule {
  DEFAULT_USER_SETTINGS: Record<string, unknown>;
  ensureCodeServer(options?: { log?: (line: string) => void }): Promise<{ home: string; version: string; cached: boolean }>;
  startCodeServer(options: {
    folder?: string;
    userDataDir?: string;
    extensionsDir?: string;
    env?: Record<string, string>;
    settings?: Record<string, unknown>;
    print?: (line: string) => void;
    log?: (line: string) => void;
  }): Promise<CodeServer>;
  runCodeServerCli(args: string[], options?: { stdio?: "pipe" | "inherit"; log?: (line: string) => void }): Promise<SpawnSyncReturns<string>>;
  workbenchUrl(serverUrl: string, options: { folder?: string; extensionDevelopmentPath?: string; extensionTestsPath?: string }): string;
}

export async function loadCodeServerScript(): Promise<CodeServerModule> {
  return (await import(pathToFileURL(join(REPOSITORY_ROOT, "scripts", "code-server.mjs")).href)) as CodeServerModule;
}

// ---------------------------------------------------------------------------------------------
// Installing the packaged extension

/** A fresh code-server profile: user data and extensions folders under one temporary folder. */
export interface Profile {
  root: string;
  userDataDir: string;
  extensionsDir: string;
  remove(): void;
}

export function createProfile(): Profile {
  const root = mkdtempSync(join(tmpdir(), "attention-lens-e2e-"));
  const userDataDir = join(root, "user-data");
  const extensionsDir = join(root, "extensions");
  mkdirSync(userDataDir, { recursive: true });
  mkdirSync(extensionsDir, { recursive: true });
  return { root, userDataDir, extensionsDir, remove: () => rmSync(root, { recursive: true, force: true }) };
}

/** The extension's version in the repository's package.json (what `npm run package` puts in the .vsix). */
export function packageVersion(): string {
  return (JSON.parse(readFileSync(join(REPOSITORY_ROOT, "package.json"), "utf8")) as { version: string }).version;
}

/**
 * Installs `vsix` into the profile's extensions folder with code-server's command line and checks
 * that `--list-extensions --show-versions` then lists it. Returns the listed "id@version".
 */
export async function installVsix(vsix: string, profile: Profile): Promise<string> {
  if (!existsSync(vsix)) {
    throw new Error(`${vsix} does not exist: run "npm run package" first (npm run test:e2e does)`);
  }
  const codeServer = await loadCodeServerScript();
  const common = ["--user-data-dir", profile.userDataDir, "--extensions-dir", profile.extensionsDir];
  const installed = await codeServer.runCodeServerCli([...common, "--install-extension", vsix], { stdio: "pipe" });
  if (installed.status !== 0) {
    throw new Error(`code-server --install-extension ${vsix} failed (exit code ${installed.status}):\n${installed.stdout}\n${installed.stderr}`);
  }
  const listed = await codeServer.runCodeServerCli([...common, "--list-extensions", "--show-versions"], { stdio: "pipe" });
  const line = (listed.stdout ?? "").split("\n").find((entry) => entry.toLowerCase().startsWith(`${EXTENSION_ID}@`));
  if (!line) {
    throw new Error(
      `after installing ${vsix}, code-server --list-extensions does not list ${EXTENSION_ID}:\n${listed.stdout}\n${listed.stderr}`,
    );
  }
  return line.trim();
}

// ---------------------------------------------------------------------------------------------
// The workbench

export type ThemeKind = "dark" | "light";

export const THEME_NAMES: Record<ThemeKind, string> = {
  dark: "Default Dark Modern",
  light: "Default Light Modern",
};

/** The settings every e2e profile starts with, on top of scripts/code-server.mjs's defaults. */
export function userSettings(defaults: Record<string, unknown>, theme: ThemeKind, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    ...defaults,
    "workbench.colorTheme": THEME_NAMES[theme],
    // Nothing that pops up over the editor or the panel while the test looks at them.
    "workbench.tips.enabled": false,
    "workbench.welcomePage.walkthroughs.openOnInstall": false,
    "editor.minimap.enabled": false,
    "editor.hover.enabled": false,
    "editor.lightbulb.enabled": "off",
    "editor.cursorBlinking": "solid",
    "extensions.ignoreRecommendations": true,
    "git.enabled": false,
    "chat.commandCenter.enabled": false,
    "workbench.secondarySideBar.defaultVisibility": "hidden",
    "window.commandCenter": false,
    ...extra,
  };
}

export function settingsFile(profile: Profile): string {
  return join(profile.userDataDir, "User", "settings.json");
}

export function writeUserSettings(profile: Profile, settings: Record<string, unknown>): void {
  const file = settingsFile(profile);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(settings, null, 2) + "\n");
}

export interface WorkbenchOptions {
  profile: Profile;
  folder?: string;
  width?: number;
  height?: number;
  /** Lines of code-server's output and the page's console go here (default: kept, not printed). */
  print?: (line: string) => void;
}

export interface Workbench {
  page: Page;
  context: BrowserContext;
  server: CodeServer;
  /** The last lines of code-server's output and the page's console problems, for failure reports. */
  log: string[];
  openFile(name: string): Promise<void>;
  /** Opens `name` and selects `count` whole lines from `firstLine` (1-based) with the keyboard: the cursor ends at the start of the next line. */
  selectLines(name: string, firstLine: number, count: number): Promise<void>;
  /** Ctrl+B, and waits until the side bar is gone. */
  hideSideBar(): Promise<void>;
  /** Drags the sash between the first two editor groups (the editor, the panel) so the first is about `width` pixels wide. */
  narrowFirstGroup(width: number): Promise<void>;
  runCommand(title: string): Promise<void>;
  /** "Preferences: Color Theme" from the command palette, then the theme labelled `label` ("Light Modern"). */
  pickColorTheme(label: string): Promise<void>;
  /** The panel's page: the webview's inner iframe (#active-frame) inside its outer iframe. */
  webview(): FrameLocator;
  /** The editor (Monaco) showing `name`. */
  editor(name: string): Locator;
  screenshot(path: string): Promise<void>;
  close(): Promise<void>;
}

/**
 * Moves the quick input's focus (arrow keys) to the row whose label is exactly `label`: the palette
 * may rank another entry first ("Preferences: Browse Color Themes in Marketplace").
 */
async function focusListRow(page: Page, label: string): Promise<void> {
  const rows = page.locator(".quick-input-list .monaco-list-row");
  await rows.filter({ hasText: label }).first().waitFor({ state: "visible" });
  for (let step = 0; step < 20; step++) {
    const focused = await page
      .locator(".quick-input-list .monaco-list-row.focused .label-name")
      .first()
      .textContent({ timeout: 5_000 })
      .catch(() => null);
    if (focused?.trim() === label) return;
    await page.keyboard.press("ArrowDown");
  }
  const labels = await page.locator(".quick-input-list .monaco-list-row .label-name").allTextContents();
  throw new Error(`the quick input has no row "${label}" to pick; it lists ${JSON.stringify(labels)}`);
}

/** Starts code-server on `folder` with the profile's installed extensions and opens the workbench. */
export async function startWorkbench(options: WorkbenchOptions): Promise<Workbench> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`no Chromium at ${CHROMIUM_PATH}; install it with "apt-get install -y chromium" (or set CHROMIUM_PATH)`);
  }
  const codeServer = await loadCodeServerScript();
  const folder = options.folder ?? SAMPLE_WORKSPACE;
  const log: string[] = [];
  const keep = (line: string) => {
    log.push(line);
    if (log.length > 200) log.shift();
    options.print?.(line);
  };
  const server = await codeServer.startCodeServer({
    folder,
    userDataDir: options.profile.userDataDir,
    extensionsDir: options.profile.extensionsDir,
    print: (line) => keep(`[code-server] ${line}`),
    log: (line) => keep(`[code-server.mjs] ${line}`),
  });

  const browserProfile = mkdtempSync(join(tmpdir(), "attention-lens-e2e-chromium-"));
  let context: BrowserContext | undefined;
  const close = async () => {
    await context?.close().catch(() => undefined);
    rmSync(browserProfile, { recursive: true, force: true });
    await server.stop().catch(() => undefined);
  };
  try {
    context = await chromium.launchPersistentContext(browserProfile, {
      executablePath: CHROMIUM_PATH,
      headless: true,
      args: CHROMIUM_FLAGS,
      viewport: { width: options.width ?? 1280, height: options.height ?? 800 },
    });
    const page = context.pages()[0] ?? (await context.newPage());
    page.setDefaultTimeout(60_000);
    page.on("console", (message) => {
      if (message.type() === "error" || message.type() === "warning") keep(`[page ${message.type()}] ${message.text()}`);
    });
    page.on("pageerror", (error) => keep(`[page uncaught] ${error.stack ?? error.message}`));

    // No extensionDevelopmentPath: the workbench runs the extension installed from the .vsix.
    await page.goto(codeServer.workbenchUrl(server.url, { folder }));
    await page.locator(".monaco-workbench").waitFor({ state: "visible", timeout: 90_000 });
    // The explorer lists the folder once the workbench has connected to its server.
    await page.locator(".explorer-folders-view .monaco-list-row").first().waitFor({ state: "visible", timeout: 90_000 });

    const workbench: Workbench = {
      page,
      context,
      server,
      log,
      async openFile(name) {
        // The keyboard must be in the workbench, not in the panel's page: a click on the explorer when
        // it shows, else on the first editor group's active tab (the file then opens in that group).
        // A file already open in the first group: its tab.
        const firstGroup = page.locator(".part.editor .editor-group-container").first();
        const openTab = firstGroup.locator(`.tab[data-resource-name="${name}"]`);
        if (await openTab.isVisible()) {
          await openTab.click();
          await firstGroup.locator(`.tab.active[data-resource-name="${name}"]`).waitFor({ state: "visible" });
          await this.editor(name).locator(".view-lines").waitFor({ state: "visible" });
          return;
        }
        const explorerRow = page.locator(".explorer-folders-view .monaco-list-row").first();
        const firstGroupTab = firstGroup.locator(".tab.active");
        if (await explorerRow.isVisible()) await explorerRow.click();
        else if (await firstGroupTab.isVisible()) await firstGroupTab.click();
        await page.keyboard.press("Control+P");
        const input = page.locator(".quick-input-widget input.input");
        await input.waitFor({ state: "visible" });
        await input.fill(name);
        await page.locator(".quick-input-list .monaco-list-row", { hasText: name }).first().waitFor({ state: "visible" });
        await page.keyboard.press("Enter");
        await page.locator(`.tab.active[data-resource-name="${name}"]`).waitFor({ state: "visible" });
        await this.editor(name).locator(".view-lines").waitFor({ state: "visible" });
      },
      async selectLines(name, firstLine, count) {
        await this.openFile(name);
        await this.editor(name).locator(".view-lines").click();
        await page.keyboard.press("Control+Home");
        for (let line = 1; line < firstLine; line++) await page.keyboard.press("ArrowDown");
        for (let line = 0; line < count; line++) await page.keyboard.press("Shift+ArrowDown");
      },
      async hideSideBar() {
        if (!(await page.locator(".part.sidebar").isVisible())) return;
        await page.keyboard.press("Control+B");
        await page.locator(".part.sidebar").waitFor({ state: "hidden", timeout: 10_000 });
      },
      async narrowFirstGroup(width) {
        const groups = page.locator(".part.editor .editor-group-container");
        const box = await groups.nth(1).boundingBox();
        const first = await groups.nth(0).boundingBox();
        if (!box || !first) throw new Error("narrowFirstGroup: there are not two editor groups side by side");
        const y = box.y + box.height / 2;
        await page.mouse.move(box.x - 1, y);
        await page.mouse.down();
        await page.mouse.move(first.x + width, y, { steps: 12 });
        await page.mouse.up();
        const after = await groups.nth(0).boundingBox();
        if (!after || Math.abs(after.width - width) > 40) {
          throw new Error(`narrowFirstGroup: the first group is ${after?.width ?? "?"} pixels wide after the drag, not about ${width}`);
        }
        await page.mouse.move(0, 0);
      },
      async runCommand(title) {
        const input = page.locator(".quick-input-widget input.input");
        // The palette lists the commands known when it opens: right after start-up the extension's
        // may come later, so a palette without the title is closed and opened again.
        for (let attempt = 1; ; attempt++) {
          await page.keyboard.press("F1");
          await input.waitFor({ state: "visible" });
          await input.fill(`>${title}`);
          const listed = await page
            .locator(".quick-input-list .monaco-list-row", { hasText: title })
            .first()
            .waitFor({ state: "visible", timeout: 15_000 })
            .then(() => true, () => false);
          if (listed || attempt === 4) break;
          await page.keyboard.press("Escape");
          await input.waitFor({ state: "hidden" });
        }
        await focusListRow(page, title);
        await page.keyboard.press("Enter");
        await input.waitFor({ state: "hidden" });
      },
      async pickColorTheme(label) {
        await page.keyboard.press("F1");
        const input = page.locator(".quick-input-widget input.input");
        await input.waitFor({ state: "visible" });
        await input.fill(">Preferences: Color Theme");
        await focusListRow(page, "Preferences: Color Theme");
        await page.keyboard.press("Enter");
        // The theme picker replaces the command list in the same widget, with an empty filter.
        await page.locator(".quick-input-list .monaco-list-row", { hasText: "Dark Modern" }).first().waitFor({ state: "visible" });
        await input.fill(label);
        await focusListRow(page, label);
        await page.keyboard.press("Enter");
        await input.waitFor({ state: "hidden" });
      },
      webview() {
        return page.frameLocator("iframe.webview.ready").frameLocator("iframe#active-frame");
      },
      editor(name) {
        return page.locator(`.editor-group-container:has(.tab.active[data-resource-name="${name}"]) .editor-instance .monaco-editor`).first();
      },
      async screenshot(path) {
        mkdirSync(dirname(path), { recursive: true });
        await page.screenshot({ path });
      },
      close,
    };
    return workbench;
  } catch (error) {
    await close();
    throw error;
  }
}
