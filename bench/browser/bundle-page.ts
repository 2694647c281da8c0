/**
 * A benchmark page's script bundled for Chromium, in memory: what the Chromium benchmarks
 * (real-size-browser.ts, lines-view-bench.ts) serve as /page.js.
 */

import * as esbuild from "esbuild";

export async function bundlePage(entryPoint: string): Promise<Uint8Array> {
  const bundle = await esbuild.build({
    entryPoints: [entryPoint],
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    outfile: "/page.js",
    write: false,
    logLevel: "silent",
  });
  return bundle.outputFiles[0].contents;
}
