/**
 * What integration tests use to watch the extension from inside the extension host: the extension
 * itself, and patches of VS Code API functions (notifications, the output channel, the panel
 * serializer) that record what the extension does and are undone together at the end.
 */

import * as assert from "node:assert/strict";
import { format } from "node:util";
import * as vscode from "vscode";

import type { AttentionLensApi } from "../../src/extension/extension";
import type { TestHook } from "../../src/extension/test-hook";

export const EXTENSION_ID = "attention-lens.attention-lens";
export const OUTPUT_CHANNEL = "Attention Lens";

/** The Attention Lens extension, as the extension host loaded it. */
export function attentionLens(): vscode.Extension<unknown> {
  const found = vscode.extensions.getExtension(EXTENSION_ID);
  assert.ok(found, `${EXTENSION_ID} is not loaded; is the repository the extensionDevelopmentPath?`);
  return found;
}

/** Output channel methods whose lines are recorded. */
const WRITING_METHODS = new Set(["trace", "debug", "info", "warn", "error", "append", "appendLine"]);

/** Replaced API functions, each put back by `undoAll` (last replaced, first put back). */
export class ApiPatches {
  private readonly undo: (() => void)[] = [];

  /** Replaces `object[key]` with `wrapper(original)`. */
  wrap<T extends object, K extends keyof T>(object: T, key: K, wrapper: (original: T[K]) => T[K]): void {
    const original = object[key];
    const replacement = wrapper(original);
    (object as Record<K, T[K]>)[key] = replacement;
    assert.equal(object[key], replacement, `could not replace ${String(key)} (a frozen API object?)`);
    this.undo.push(() => {
      (object as Record<K, T[K]>)[key] = original;
    });
  }

  /**
   * Appends every line the extension writes to its output channel to `lines` ("info: ..."). Only
   * channels created after this call are seen: call it before the extension activates.
   * `onCreated` runs when the extension creates its channel.
   */
  recordOutputChannel(lines: string[], onCreated?: () => void): void {
    this.wrap(vscode.window, "createOutputChannel", (original) =>
      ((name: string, options?: unknown) => {
        const channel = (original as (...args: unknown[]) => object).call(vscode.window, name, options);
        if (name !== OUTPUT_CHANNEL) return channel;
        onCreated?.();
        return new Proxy(channel, {
          get(target, property, receiver) {
            const value: unknown = Reflect.get(target, property, receiver);
            if (typeof value !== "function") return value;
            if (typeof property === "string" && WRITING_METHODS.has(property)) {
              return (...args: unknown[]) => {
                lines.push(`${property}: ${format(...args)}`);
                return (value as (...args: unknown[]) => unknown).apply(target, args);
              };
            }
            return (value as (...args: unknown[]) => unknown).bind(target);
          },
        });
      }) as typeof original,
    );
  }

  undoAll(): void {
    for (const undo of this.undo.splice(0).reverse()) undo();
  }
}

/** The extension's test hook: activate returns it when VS Code runs the extension for tests. */
export function testHook(): TestHook {
  const api = attentionLens().exports as AttentionLensApi;
  assert.ok(api?.testHook, "the extension returned no test hook: is it running in test mode?");
  return api.testHook;
}

/** A head's (T, T) map of the run the panel shows, as query rows over keys (through the test hook). */
export async function shownHeadWeights(layer = 0, head = 0): Promise<number[][]> {
  const observation = await testHook().observe({ what: "headWeights", layer, head });
  assert.ok(observation && "rows" in observation, `the panel shows no maps of layer ${layer}, head ${head}: ${JSON.stringify(observation)}`);
  return observation.rows;
}
