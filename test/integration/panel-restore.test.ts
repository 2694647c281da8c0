/**
 * The panel VS Code restores after a window reload, inside a real extension host: the restore is
 * played as VS Code plays it, by handing a new webview panel and a saved state (as the page saves
 * it, src/protocol.ts `PanelState`) to the WebviewPanelSerializer the extension registered.
 *
 *   the document still holds the saved text   the panel runs it linked: moving the cursor onto a
 *   (a CRLF file: the saved text has "\n")    token focuses it in the panel (`focusToken` goes to
 *                                             the page, the page answers `tokenFocused`)
 *   the document changed, or is gone          the panel runs the saved text unlinked, the output
 *                                             says why, no error notification
 *
 * It also checks that request ids go on counting in a new panel (one counter per extension host).
 *
 * How the serializer is reached: the test bundle gets the extension's own `vscode` API object (see
 * bad-input.test.ts), so a root `before` hook, which runs before any suite activates the extension,
 * wraps `window.registerWebviewPanelSerializer` (and the output channel and notifications) on it.
 */

import * as assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as vscode from "vscode";

import type { AttentionSummary } from "../../src/extension/attention-controller";
import { normalizeLineEndings, tokensOfText } from "../../src/extension/selection-tokens";
import { tokenBudget } from "../../src/extension/settings";
import { TextTokenizer } from "../../src/model/tokenizer";
import type { HostToWebviewMessage, PanelState, WebviewToHostMessage } from "../../src/protocol";
import { ApiPatches, attentionLens } from "./extension-hooks";
import { within } from "./within";

const VIEW_TYPE = "attentionLens.panel";
const MODEL_ID = "attention-lens-gqa";
const SETTLE_MS = 90_000;

let serializer: vscode.WebviewPanelSerializer | undefined;
const logLines: string[] = [];
const errorsShown: string[] = [];
const patches = new ApiPatches();

// A root hook: it runs before the `before` of every suite, so before anything activates the extension.
before(() => {
  if (attentionLens().isActive) return; // too late to see the serializer: the restore tests skip
  patches.wrap(vscode.window, "registerWebviewPanelSerializer", (original) =>
    ((viewType: string, registered: vscode.WebviewPanelSerializer) => {
      if (viewType === VIEW_TYPE) serializer = registered;
      return (original as (...args: unknown[]) => vscode.Disposable).call(vscode.window, viewType, registered);
    }) as typeof original,
  );
  patches.recordOutputChannel(logLines);
  patches.wrap(vscode.window, "showErrorMessage", (original) =>
    ((message: string, ...rest: unknown[]) => {
      errorsShown.push(message);
      return (original as (...args: unknown[]) => unknown).call(vscode.window, message, ...rest);
    }) as typeof original,
  );
});

after(() => {
  patches.undoAll();
});

let tokenizer: TextTokenizer | undefined;
function modelFolder(): string {
  return join(attentionLens().extensionPath, "media", "models", MODEL_ID);
}
function modelTokenizer(): TextTokenizer {
  tokenizer ??= TextTokenizer.fromJson(readFileSync(join(modelFolder(), "tokenizer.json"), "utf8"), "tokenizer.json");
  return tokenizer;
}
function modelContext(): number {
  return (JSON.parse(readFileSync(join(modelFolder(), "config.json"), "utf8")) as { max_position_embeddings: number }).max_position_embeddings;
}

function attentionTabs(): vscode.Tab[] {
  return vscode.window.tabGroups.all
    .flatMap((group) => group.tabs)
    .filter((tab) => tab.input instanceof vscode.TabInputWebview && tab.input.viewType.endsWith(VIEW_TYPE));
}

async function waitFor<T>(what: string, probe: () => T | undefined, milliseconds = 30_000): Promise<T> {
  const deadline = Date.now() + milliseconds;
  while (Date.now() < deadline) {
    const value = probe();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`timed out after ${milliseconds / 1000} s waiting for ${what}`);
}

/** Closes the Attention Lens panel (the controller allows one, and a restore is refused beside it). */
async function closePanels(): Promise<void> {
  for (const tab of attentionTabs()) await vscode.window.tabGroups.close(tab);
  await waitFor("the panel to close", () => (attentionTabs().length === 0 ? true : undefined));
  await new Promise((resolve) => setTimeout(resolve, 200)); // the extension hears of it
}

/** A restored panel: what the host sent its page, and what the page answered. */
interface RestoredPanel {
  panel: vscode.WebviewPanel;
  sent: HostToWebviewMessage[];
  received: WebviewToHostMessage[];
  /** The `showAttention` it got and its run report. */
  shown: Extract<HostToWebviewMessage, { type: "showAttention" }>;
}

/** Plays VS Code's restore: a new panel of the extension's view type and `state`, to its serializer. */
async function restorePanel(state: PanelState): Promise<RestoredPanel> {
  assert.ok(serializer, "the extension registered no serializer for its panel");
  const panel = vscode.window.createWebviewPanel(VIEW_TYPE, "Attention Lens", { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true }, { enableScripts: true });
  const sent: HostToWebviewMessage[] = [];
  const received: WebviewToHostMessage[] = [];
  const webview = panel.webview;
  const post = webview.postMessage.bind(webview);
  webview.postMessage = (message: unknown) => {
    sent.push(message as HostToWebviewMessage);
    return post(message);
  };
  panel.webview.onDidReceiveMessage((message: WebviewToHostMessage) => received.push(message));
  await serializer.deserializeWebviewPanel(panel, state);
  const shown = await waitFor("the restored panel's showAttention", () => sent.find((message) => message.type === "showAttention"), SETTLE_MS);
  await waitFor(
    `the restored panel to compute request #${shown.requestId}`,
    () => received.find((message) => message.type === "report" && (message.report.kind === "run" || message.report.kind === "failed") && message.requestId === shown.requestId),
    SETTLE_MS,
  );
  const failure = received.find((message) => message.type === "report" && message.report.kind === "failed");
  assert.equal(failure, undefined, `the restored panel failed: ${JSON.stringify(failure)}`);
  return { panel, sent, received, shown };
}

describe("Attention Lens restored after a reload", function () {
  this.timeout(180_000);
  let scratch: string;

  before(async function () {
    if (attentionLens().isActive && !serializer) {
      console.log("      (the extension was active before this file's root hook ran: its serializer cannot be reached; skipped)");
      this.skip();
    }
    await attentionLens().activate();
    scratch = mkdtempSync(join(tmpdir(), "attention-lens-restore-"));
  });

  after(async () => {
    await vscode.commands.executeCommand("workbench.action.closeAllEditors");
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  beforeEach(async () => {
    await vscode.commands.executeCommand("workbench.action.closeAllEditors");
    await closePanels();
    logLines.length = 0;
    errorsShown.length = 0;
  });

  it("links the panel to its unchanged CRLF document again: the cursor focuses tokens; request ids go on counting", async () => {
    const path = join(scratch, "restore-crlf.ts");
    writeFileSync(path, "const header = 0;\r\nfunction softmax(values) {\r\n  const largest = Math.max(...values);\r\n  return values.map((value) => Math.exp(value - largest));\r\n}\r\n");
    const document = await vscode.workspace.openTextDocument(vscode.Uri.file(path));
    const editor = await vscode.window.showTextDocument(document, vscode.ViewColumn.One);
    const documentText = document.getText();
    const start = documentText.indexOf("function");
    const original = documentText.slice(start, documentText.indexOf("}") + 1); // lines 2-5, with "\r\n"

    // A run in a first panel, for its request id.
    editor.selection = new vscode.Selection(document.positionAt(start), document.positionAt(start + original.length));
    const first = await within(vscode.commands.executeCommand<AttentionSummary | undefined>("attentionLens.showAttention"), SETTLE_MS, "Show Attention");
    assert.ok(first, "Show Attention computed nothing");
    await closePanels();
    editor.selection = new vscode.Selection(0, 0, 0, 0);

    const savedText = normalizeLineEndings(original).text;
    const restored = await restorePanel({
      modelId: MODEL_ID,
      text: savedText,
      source: "restore-crlf.ts:2-5",
      selection: { layer: 0, head: "mean" },
      lockedToken: null,
      mode: "attention",
      documentUri: document.uri.toString(),
      documentStart: start,
    });
    const { shown } = restored;
    assert.ok(shown.requestId > first.requestId, `the new panel's request #${shown.requestId} reuses an id (the first panel's was #${first.requestId})`);
    assert.equal(shown.text, savedText);
    assert.equal(shown.documentUri, document.uri.toString(), "the host sends the document with showAttention, for the page to save it");
    assert.equal(shown.documentStart, start);
    assert.ok(logLines.some((line) => /restored the panel: .* the editor follows it again/.test(line)), `the log: ${JSON.stringify(logLines)}`);

    // The tokens and document ranges the host computes (selection-tokens.ts), on the document's own text.
    const expected = tokensOfText(original, modelTokenizer(), tokenBudget(512, modelContext()), start);
    assert.deepEqual(shown.tokens, expected.tokens, "the restored panel shows the same tokens as Show Attention would");
    // A token on the third line: its document offset is past two dropped "\r".
    const inText = savedText.indexOf("largest");
    const largest = expected.tokens.findIndex((token, index) => index > 0 && token.start <= inText && inText < token.end);
    assert.ok(largest > 0, "a token holds the start of 'largest'");
    const [tokenStart] = expected.documentRanges[largest];
    assert.equal(documentText.slice(tokenStart, tokenStart + 3), savedText.slice(expected.tokens[largest].start, expected.tokens[largest].start + 3));

    editor.selection = new vscode.Selection(document.positionAt(tokenStart), document.positionAt(tokenStart));
    await waitFor(
      `focusToken ${largest} to reach the page (sent: ${JSON.stringify(restored.sent.filter((message) => message.type === "focusToken"))})`,
      () => restored.sent.find((message) => message.type === "focusToken" && message.tokenIndex === largest && message.requestId === shown.requestId),
      10_000,
    );
    const focused = await waitFor(
      "the page to focus the token",
      () => restored.received.find((message) => message.type === "tokenFocused" && message.tokenIndex === largest),
      10_000,
    );
    assert.equal(focused.type === "tokenFocused" && focused.weights.length, expected.tokens.length, "the focused token's weights over every token");
    assert.deepEqual(errorsShown, []);
  });

  it("a document that changed, or is gone: the saved text runs unlinked and the output says why, no error", async () => {
    const path = join(scratch, "restore-changed.ts");
    writeFileSync(path, "const a = 1;\nfunction twice(x) {\n  return x + x;\n}\n");
    const document = await vscode.workspace.openTextDocument(vscode.Uri.file(path));
    const editor = await vscode.window.showTextDocument(document, vscode.ViewColumn.One);
    const start = document.getText().indexOf("function");
    const savedText = "function twice(x) {\n  return 2 * x;\n}"; // what the line said when the panel was saved

    const changed = await restorePanel({
      modelId: MODEL_ID,
      text: savedText,
      source: "restore-changed.ts:2-4",
      selection: { layer: 1, head: 2 },
      lockedToken: null,
      documentUri: document.uri.toString(),
      documentStart: start,
    });
    assert.equal(changed.shown.text, savedText, "the panel still shows the saved text");
    assert.equal(changed.shown.documentUri, undefined, "no document link is sent");
    assert.ok(
      logLines.some((line) => /restored the panel: .*does not follow it .*restore-changed\.ts no longer holds the shown text/.test(line)),
      `the log should say why the editor does not follow: ${JSON.stringify(logLines)}`,
    );
    editor.selection = new vscode.Selection(document.positionAt(start + 2), document.positionAt(start + 2));
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.deepEqual(changed.sent.filter((message) => message.type === "focusToken"), [], "the cursor in a changed document focuses nothing");

    await closePanels();
    logLines.length = 0;
    const gone = await restorePanel({
      modelId: MODEL_ID,
      text: savedText,
      source: "deleted.ts:2-4",
      selection: { layer: 0, head: 0 },
      lockedToken: null,
      documentUri: vscode.Uri.file(join(scratch, "deleted.ts")).toString(),
      documentStart: 0,
    });
    assert.equal(gone.shown.text, savedText);
    assert.equal(gone.shown.documentUri, undefined);
    assert.ok(logLines.some((line) => /restored the panel: .*deleted\.ts cannot be opened/.test(line)), `the log: ${JSON.stringify(logLines)}`);
    assert.deepEqual(errorsShown, [], "a missing document is no error");
  });
});
