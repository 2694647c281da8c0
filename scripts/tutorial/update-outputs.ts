/**
 * Rewrites the ```output blocks of docs/TUTORIAL.md with what each ```ts block prints now. Some
 * blocks run the bundled models, so their numbers change when the models are retrained:
 *
 *   npx tsx scripts/tutorial/update-outputs.ts
 *
 * A block that fails stops the rewrite (the file is left as it was). Review the diff: the prose
 * around a block may describe its numbers.
 */

import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import { extractBlocks, runBlock } from "./tutorial-blocks";

const TUTORIAL = join(__dirname, "..", "..", "docs", "TUTORIAL.md");

async function main(): Promise<void> {
  const markdown = readFileSync(TUTORIAL, "utf8");
  const blocks = extractBlocks(markdown);
  const lines = markdown.split("\n");
  // Output blocks to replace, from the last so earlier line numbers stay valid.
  const replacements: { from: number; to: number; text: string }[] = [];
  for (const [index, block] of blocks.entries()) {
    const printed = (await runBlock(block, index)).replace(/\n$/, "");
    if (block.expectedOutput === undefined || block.expectedOutput === printed) continue;
    // The output block is the first ```output fence after the ts block's closing fence.
    let fence = block.line - 1 + block.code.split("\n").length + 2;
    while (!/^```output\s*$/.test(lines[fence])) fence++;
    const outputLines = block.expectedOutput.split("\n").length;
    replacements.push({ from: fence + 1, to: fence + 1 + outputLines, text: printed });
    console.log(`block on line ${block.line}: output updated`);
  }
  for (const { from, to, text } of replacements.reverse()) lines.splice(from, to - from, ...text.split("\n"));
  writeFileSync(TUTORIAL, lines.join("\n"));
  console.log(replacements.length === 0 ? "every output was up to date" : `${replacements.length} output block(s) rewritten`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
