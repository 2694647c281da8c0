import assert from "node:assert/strict";

import { parsePanelState, savedTextInDocument } from "../../src/extension/panel-state";
import { normalizeLineEndings } from "../../src/extension/selection-tokens";

/** A state as the webview saves it (webview/lens-session.svelte.ts `saveState`). */
const SAVED = {
  modelId: "attention-lens-gqa",
  text: "function softmax(x) {\n  return x;\n}",
  source: "attention.ts:4-6",
  selection: { layer: 2, head: 5 },
  lockedToken: 3,
  mode: "compare",
  compareWith: "attention-lens-mqa",
  documentUri: "file:///home/someone/project/attention.ts",
  documentStart: 120,
};

describe("extension: the panel's saved state", () => {
  describe("parsePanelState", () => {
    it("keeps every field of a valid state", () => {
      assert.deepEqual(parsePanelState(SAVED), SAVED);
    });

    it("keeps each mode and an untitled document's URI", () => {
      for (const mode of ["attention", "compare", "decode", "stages", "batch"]) {
        assert.equal(parsePanelState({ ...SAVED, mode })?.mode, mode);
      }
      const untitled = parsePanelState({ ...SAVED, documentUri: "untitled:Untitled-1", documentStart: 0 });
      assert.equal(untitled?.documentUri, "untitled:Untitled-1");
      assert.equal(untitled?.documentStart, 0);
    });

    it("a state saved before modes and document links: the text, nothing more", () => {
      const { mode: _mode, compareWith: _compareWith, documentUri: _uri, documentStart: _start, ...old } = SAVED;
      const parsed = parsePanelState(old);
      assert.deepEqual(parsed, old);
      assert.ok(parsed && !("mode" in parsed) && !("documentUri" in parsed) && !("documentStart" in parsed));
    });

    it("refuses what is not a state with text", () => {
      for (const bad of [undefined, null, 42, "text", [], { ...SAVED, text: "  \n " }, { ...SAVED, modelId: 7 }, { ...SAVED, source: undefined }]) {
        assert.equal(parsePanelState(bad), undefined, `accepted ${JSON.stringify(bad)}`);
      }
    });

    it("drops a mode that is not one of the panel's", () => {
      for (const mode of ["heatmap", "", 3, null, "toString", "__proto__"]) {
        const parsed = parsePanelState({ ...SAVED, mode });
        assert.ok(parsed, `refused the whole state for mode ${JSON.stringify(mode)}`);
        assert.ok(!("mode" in parsed), `kept mode ${JSON.stringify(mode)}`);
      }
    });

    it("drops a model B that is not a model id", () => {
      for (const compareWith of ["", "   ", 5, null, {}]) {
        const parsed = parsePanelState({ ...SAVED, compareWith });
        assert.ok(parsed && !("compareWith" in parsed), `kept compareWith ${JSON.stringify(compareWith)}`);
      }
    });

    it("drops the document link unless both a URI and an offset are valid", () => {
      const badLinks: Record<string, unknown>[] = [
        { documentUri: "attention.ts" }, // no scheme
        { documentUri: "" },
        { documentUri: "file:" },
        { documentUri: 12 },
        { documentStart: -1 },
        { documentStart: 1.5 },
        { documentStart: "120" },
        { documentStart: Number.POSITIVE_INFINITY },
        { documentStart: undefined },
        { documentUri: undefined },
      ];
      for (const link of badLinks) {
        const parsed = parsePanelState({ ...SAVED, ...link });
        assert.ok(parsed, `refused the whole state for ${JSON.stringify(link)}`);
        assert.ok(!("documentUri" in parsed) && !("documentStart" in parsed), `kept a link for ${JSON.stringify(link)}`);
        assert.equal(parsed.text, SAVED.text, "the text is still shown");
      }
    });

    it("falls back for a bad head selection and a bad lock", () => {
      const parsed = parsePanelState({ ...SAVED, selection: { layer: -1, head: 0 }, lockedToken: -2 });
      assert.deepEqual(parsed?.selection, { layer: 0, head: "mean" });
      assert.equal(parsed?.lockedToken, null);
    });
  });

  describe("savedTextInDocument", () => {
    it("finds the text at its offset and returns it as in the document", () => {
      const document = "// header\nconst a = 1;\nconst b = 2;\n";
      assert.equal(savedTextInDocument(document, 10, "const a = 1;\nconst"), "const a = 1;\nconst");
      assert.equal(savedTextInDocument(document, 0, document), document);
    });

    it("matches a CRLF document against the text the model saw (\\r\\n as \\n)", () => {
      const document = "// header\r\nconst a = 1;\r\nconst b = 2;\r\n";
      const start = document.indexOf("const a");
      const original = document.slice(start); // "const a = 1;\r\nconst b = 2;\r\n"
      const shown = normalizeLineEndings(original).text;
      assert.equal(shown, "const a = 1;\nconst b = 2;\n");
      assert.equal(savedTextInDocument(document, start, shown), original);
      // The part before the final line break: it ends before "\r\n".
      assert.equal(savedTextInDocument(document, start, "const a = 1;\nconst b = 2;"), "const a = 1;\r\nconst b = 2;");
    });

    it("keeps a lone \\r, and an \\r before \\r\\n, as the normalization does", () => {
      const document = "a\rb\r\r\nc";
      const shown = normalizeLineEndings(document).text; // "a\rb\r\nc"
      assert.equal(savedTextInDocument(document, 0, shown), document);
    });

    it("refuses a document that changed or moved the text", () => {
      const document = "const a = 1;\nconst b = 2;\n";
      assert.equal(savedTextInDocument(document, 0, "const a = 2;"), undefined, "an edited character");
      assert.equal(savedTextInDocument(document, 1, "const a = 1;"), undefined, "the text moved");
      assert.equal(savedTextInDocument(document, 13, "const b = 2;\nconst c"), undefined, "the document ends first");
      assert.equal(savedTextInDocument("a\nb", 0, "a\r\nb"), undefined, "a \\n where the text had \\r\\n");
      assert.equal(savedTextInDocument(document, 40, "x"), undefined, "an offset past the end");
      assert.equal(savedTextInDocument(document, -1, "x"), undefined, "a negative offset");
    });
  });
});
