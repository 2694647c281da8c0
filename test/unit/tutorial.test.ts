/**
 * docs/TUTORIAL.md cannot rot: every ```ts block in it is a program, run here the way the tutorial
 * tells a reader to run it (saved as a file in docs/, `tsx` from the repository root), and where the
 * tutorial shows what it prints (the ```output block that follows it), the printed text must be
 * exactly that. All blocks are also type-checked with the project's strict settings.
 *
 * A block that throws, prints something else or does not type-check fails the test; the last tests
 * here feed the checker a deliberately broken tutorial to show that it does.
 */

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";

import { checkBlock, extractBlocks, typeCheckBlocks } from "../../scripts/tutorial/tutorial-blocks";

const DOCS = join(__dirname, "..", "..", "docs");

describe("docs/TUTORIAL.md", function () {
  this.timeout(300_000);
  const markdown = readFileSync(join(DOCS, "TUTORIAL.md"), "utf8");
  const blocks = extractBlocks(markdown);

  it("has code blocks for every section, each with the output it prints", () => {
    assert.ok(blocks.length >= 10, `${blocks.length} blocks`);
    for (const block of blocks) assert.notEqual(block.expectedOutput, undefined, `the block on line ${block.line} shows no output`);
    for (const topic of ["sqrt(hs)", "causal mask", "Padding", "Dropout", "Multi-head", "Grouped-query", "KV cache"]) {
      assert.ok(markdown.includes(topic), topic);
    }
  });

  blocks.forEach((block, index) => {
    it(`the block on line ${block.line} runs and prints what the tutorial shows`, async () => {
      await checkBlock(block, index);
    });
  });

  it("every block type-checks with the project's strict settings", async () => {
    assert.equal(await typeCheckBlocks(blocks), "");
  });

  describe("the checker fails a broken tutorial", () => {
    const broken = [
      "```ts",
      'import { causalMask } from "../src/attention";',
      "console.log(causalMask(2, 2).shape.join(' x '));",
      "```",
      "",
      "```output",
      "2 x 3",
      "```",
      "",
      "```ts",
      'import { leftPad } from "../src/attention";',
      "leftPad(undefined as unknown as number[][], 0);",
      "```",
      "",
      "```ts",
      'import { notInTheLibrary } from "../src/attention";',
      "console.log(notInTheLibrary);",
      "```",
    ].join("\n");
    const brokenBlocks = extractBlocks(broken);

    it("a wrong output", async () => {
      await assert.rejects(checkBlock(brokenBlocks[0], 9000), /printed something else[\s\S]*2 x 2[\s\S]*2 x 3/);
    });

    it("a block that throws", async () => {
      await assert.rejects(checkBlock(brokenBlocks[1], 9001), /the block on line 10 failed:[\s\S]*TypeError/);
    });

    it("a block that does not type-check", async () => {
      assert.match(await typeCheckBlocks([brokenBlocks[2]]), /block on line 15.*notInTheLibrary/);
    });

    it("an unclosed block or a stray output block", () => {
      assert.throws(() => extractBlocks("```ts\nconsole.log(1)\n"), /opened on line 1 is never closed/);
      assert.throws(() => extractBlocks("```output\n1\n```"), /follows no ts block/);
    });
  });
});
