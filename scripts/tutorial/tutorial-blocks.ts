/**
 * The runnable blocks of docs/TUTORIAL.md: every ```ts block is a program, run the way the tutorial
 * tells a reader to run it (saved as a file in docs/, `tsx` from the repository root); the
 * ```output block after it is what it prints. Used by test/unit/tutorial.test.ts (which checks the
 * outputs) and by scripts/tutorial/update-outputs.ts (which rewrites them after a retrain).
 */

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);
const ROOT = join(__dirname, "..", "..");
const DOCS = join(ROOT, "docs");
const TSX = join(ROOT, "node_modules", "tsx", "dist", "cli.mjs");
const TSC = join(ROOT, "node_modules", "typescript", "bin", "tsc");

export interface TutorialBlock {
  /** 1-based line of the opening fence, for messages. */
  line: number;
  code: string;
  /** The ```output block after it (before the next ```ts), if any. */
  expectedOutput?: string;
}

/** The ```ts blocks of a markdown text, each with the ```output block that follows it. */
export function extractBlocks(markdown: string): TutorialBlock[] {
  const lines = markdown.split("\n");
  const blocks: TutorialBlock[] = [];
  let index = 0;
  while (index < lines.length) {
    const fence = /^```(\w*)\s*$/.exec(lines[index]);
    if (!fence) {
      index++;
      continue;
    }
    const start = index;
    const body: string[] = [];
    index++;
    while (index < lines.length && !/^```\s*$/.test(lines[index])) body.push(lines[index++]);
    if (index === lines.length) throw new Error(`the code block opened on line ${start + 1} is never closed`);
    index++; // the closing fence
    const text = body.join("\n");
    if (fence[1] === "ts") blocks.push({ line: start + 1, code: text });
    else if (fence[1] === "output") {
      const last = blocks.at(-1);
      if (!last || last.expectedOutput !== undefined) throw new Error(`the output block on line ${start + 1} follows no ts block`);
      last.expectedOutput = text;
    }
  }
  return blocks;
}

/** Where a block is written to run: in docs/, so `../src/...` imports resolve as for a reader. */
function blockPath(index: number): string {
  return join(DOCS, `.tutorial-block-${process.pid}-${index}.ts`);
}

/** Runs one block with tsx from the repository root; returns what it printed (stdout). */
export async function runBlock(block: TutorialBlock, index: number): Promise<string> {
  const file = blockPath(index);
  writeFileSync(file, block.code + "\n");
  try {
    const { stdout } = await run(process.execPath, [TSX, file], { cwd: ROOT, timeout: 120_000, maxBuffer: 1 << 24 });
    return stdout;
  } catch (error) {
    const failure = error as { stderr?: string; message: string };
    throw new Error(`the block on line ${block.line} failed:\n${failure.stderr || failure.message}`);
  } finally {
    rmSync(file, { force: true });
  }
}

/** Runs a block and checks its output against the document's. */
export async function checkBlock(block: TutorialBlock, index: number): Promise<void> {
  const printed = await runBlock(block, index);
  if (block.expectedOutput !== undefined) {
    assert.equal(printed.replace(/\n$/, ""), block.expectedOutput, `the block on line ${block.line} printed something else`);
  }
}

/** Type-checks all blocks at once (strict, as the project); returns tsc's complaints, "" when none. */
export async function typeCheckBlocks(blocks: readonly TutorialBlock[]): Promise<string> {
  const files = blocks.map((block, index) => {
    const file = blockPath(1000 + index);
    writeFileSync(file, block.code + "\n");
    return file;
  });
  try {
    await run(
      process.execPath,
      [TSC, "--noEmit", "--strict", "--target", "ES2022", "--module", "ESNext", "--moduleResolution", "Bundler", "--lib", "ES2022,DOM", "--types", "node", "--skipLibCheck", "--esModuleInterop", "--isolatedModules", "--noUnusedLocals", ...files],
      { cwd: ROOT, timeout: 300_000, maxBuffer: 1 << 24 },
    );
    return "";
  } catch (error) {
    const failure = error as { stdout?: string; message: string };
    let complaints = failure.stdout || failure.message;
    files.forEach((file, index) => {
      complaints = complaints.split(file.slice(ROOT.length + 1)).join(`TUTORIAL.md block on line ${blocks[index].line}`);
    });
    return complaints;
  } finally {
    for (const file of files) rmSync(file, { force: true });
  }
}
