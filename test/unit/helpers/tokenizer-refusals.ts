/**
 * The check every "this tokenizer.json is refused" test makes: loading `json` throws a
 * TokenizerError whose message starts with the file's name and says `message`.
 */

import assert from "node:assert/strict";
import { TextTokenizer, TokenizerError } from "../../../src/model/tokenizer";

export function assertTokenizerRefused(json: object, message: RegExp, source = "models/x/tokenizer.json"): void {
  const prefix = new RegExp(`^${source.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}: `);
  assert.throws(
    () => TextTokenizer.fromJson(json, source),
    (error: unknown) => {
      assert.ok(error instanceof TokenizerError, `expected a TokenizerError, got ${String(error)}`);
      assert.match(error.message, prefix);
      assert.match(error.message, message);
      return true;
    },
  );
}
