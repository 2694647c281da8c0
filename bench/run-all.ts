/**
 * `npm run bench`: the engine benchmark at the bundled models' size (attention-bench.ts), then the
 * layer-by-layer decoder at real sizes against PyTorch (real-size-bench.ts), each writing its part
 * of bench/RESULTS.md, then what the next-token losses add to the panel's prefill
 * (next-token-loss-bench.ts), then what keeping a bfloat16 checkpoint at 16 bits saves and costs
 * (half-weights-bench.ts), then the lines view's planning and drawing in Chromium (lines-view-bench.ts). Arguments go to each (`-- --quick`: a short smoke run that writes nothing).
 */

import { execFileSync } from "node:child_process";
import { join, resolve } from "node:path";

const ROOT = resolve(__dirname, "..");
const tsx = join(ROOT, "node_modules", ".bin", "tsx");
for (const bench of ["attention-bench.ts", "real-size-bench.ts", "next-token-loss-bench.ts", "half-weights-bench.ts", "lines-view-bench.ts"]) {
  execFileSync(tsx, [join(ROOT, "bench", bench), ...process.argv.slice(2)], { stdio: "inherit" });
}
