// Bundles the extension (Node, CommonJS, `vscode` left external) and the webview (browser, ESM)
// with esbuild. `--watch` rebuilds on change; `--production` minifies and drops source maps.
import { existsSync } from "node:fs";
import * as esbuild from "esbuild";

const watch = process.argv.includes("--watch");
const production = process.argv.includes("--production");

const targets = [
  {
    name: "extension",
    entryPoints: ["src/extension/extension.ts"],
    outfile: "dist/extension.js",
    platform: "node",
    format: "cjs",
    target: "node20",
    external: ["vscode"],
  },
  {
    name: "webview",
    entryPoints: ["webview/main.ts"],
    outfile: "dist/webview.js",
    platform: "browser",
    format: "esm",
    target: "es2022",
  },
];

/** Prints each rebuild's result, so `npm run watch` shows errors as they happen. */
const reportPlugin = (name) => ({
  name: "report",
  setup(build) {
    build.onEnd((result) => {
      const when = new Date().toLocaleTimeString();
      if (result.errors.length > 0) console.error(`[${when}] ${name}: ${result.errors.length} error(s)`);
      else console.log(`[${when}] ${name}: built`);
    });
  },
});

const contexts = [];
for (const { name, ...options } of targets) {
  const missing = options.entryPoints.filter((entry) => !existsSync(entry));
  if (missing.length > 0) {
    console.log(`${name}: ${missing.join(", ")} does not exist yet; nothing to bundle`);
    continue;
  }
  contexts.push(
    await esbuild.context({
      ...options,
      bundle: true,
      minify: production,
      sourcemap: production ? false : "linked",
      logLevel: "warning",
      plugins: [reportPlugin(name)],
    }),
  );
}

if (watch) {
  await Promise.all(contexts.map((context) => context.watch()));
  console.log("watching for changes (Ctrl+C to stop)");
} else {
  try {
    const results = await Promise.allSettled(contexts.map((context) => context.rebuild()));
    if (results.some((result) => result.status === "rejected")) process.exitCode = 1;
  } finally {
    await Promise.all(contexts.map((context) => context.dispose()));
  }
}
