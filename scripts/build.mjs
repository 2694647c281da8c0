// Bundles the extension (Node, CommonJS, `vscode` left external) and the webview (browser, ESM, a
// Svelte 5 app) with esbuild. `--watch` rebuilds on change; `--production` minifies and drops source
// maps.
//
// The webview target writes three things:
//
//   dist/webview.js     the Svelte app with onnxruntime-web and the model code bundled in
//   dist/webview.css    every component's styles (Svelte's css: "external"): a file, so the webview's
//                       Content-Security-Policy can allow styles by source (style-src ${cspSource})
//   dist/ort/           the onnxruntime-web files the bundle loads at run time from `wasmPaths`
//
// Which onnxruntime-web files: `import "onnxruntime-web"` resolves (package.json "exports",
// condition "import") to dist/ort.bundle.min.mjs, whose one wasm build is the JSEP build: it serves
// both the "wasm" (CPU) and the "webgpu" execution providers. With `env.wasm.wasmPaths` set to a
// prefix it imports ort-wasm-simd-threaded.jsep.mjs from that prefix (the Emscripten glue; the copy
// embedded in the bundle is used only without a prefix) and fetches ort-wasm-simd-threaded.jsep.wasm
// from it. The other files in node_modules/onnxruntime-web/dist (the plain, asyncify and JSPI
// builds) belong to other entry points (onnxruntime-web/wasm, /webgpu, /jspi) and are not copied.
// test/unit/webview-page.test.ts checks in Chromium that these two files are all the page asks for.
//
// Used as a module (test/unit/webview-page.test.ts), `buildWebview` writes the webview target into
// another folder.
import { copyFile, mkdir, stat } from "node:fs/promises";
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";
import sveltePlugin from "esbuild-svelte";

const REPOSITORY_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const ONNXRUNTIME_DIST = join(REPOSITORY_ROOT, "node_modules", "onnxruntime-web", "dist");

/** The onnxruntime-web files that dist/webview.js loads at run time (see the top of this file). */
export const ORT_RUNTIME_FILES = ["ort-wasm-simd-threaded.jsep.mjs", "ort-wasm-simd-threaded.jsep.wasm"];

/** The extension target: unchanged by the webview's needs. */
const extensionTarget = {
  name: "extension",
  entryPoints: ["src/extension/extension.ts"],
  outfile: "dist/extension.js",
  platform: "node",
  format: "cjs",
  target: "node20",
  external: ["vscode"],
};

/** The webview target: the Svelte app, its CSS beside it. */
function webviewTarget(outdir, production) {
  return {
    name: "webview",
    entryPoints: { webview: "webview/main.ts" },
    outdir,
    platform: "browser",
    format: "esm",
    target: "es2022",
    // "svelte" picks Svelte's own sources; "production"/"development" pick Svelte's runtime checks.
    conditions: ["svelte", "browser", production ? "production" : "development"],
    mainFields: ["svelte", "browser", "module", "main"],
    plugins: [
      sveltePlugin({
        compilerOptions: { css: "external", dev: !production },
        // .svelte.ts modules are stripped of their types by esbuild's transform first, which cannot
        // write linked source maps: give it only what it needs.
        esbuildTsTransformOptions: { target: "es2022" },
      }),
    ],
  };
}

/** Copies ORT_RUNTIME_FILES into `<outdir>/ort/`, skipping files that are already up to date. */
export async function copyOnnxRuntimeFiles(outdir) {
  const target = join(outdir, "ort");
  await mkdir(target, { recursive: true });
  for (const file of ORT_RUNTIME_FILES) {
    const from = join(ONNXRUNTIME_DIST, file);
    if (!existsSync(from)) {
      throw new Error(
        `build: ${from} does not exist; is onnxruntime-web installed (npm ci)? The webview loads ${ORT_RUNTIME_FILES.join(" and ")} at run time`,
      );
    }
    const to = join(target, file);
    const [source, copied] = await Promise.all([stat(from), stat(to).catch(() => undefined)]);
    if (copied && copied.size === source.size && copied.mtimeMs >= source.mtimeMs) continue;
    await copyFile(from, to);
  }
}

/** Prints each rebuild's result, so `npm run watch` shows errors as they happen. */
const reportPlugin = (name, quiet) => ({
  name: "report",
  setup(build) {
    build.onEnd((result) => {
      const when = new Date().toLocaleTimeString();
      if (result.errors.length > 0) console.error(`[${when}] ${name}: ${result.errors.length} error(s)`);
      else if (!quiet) console.log(`[${when}] ${name}: built`);
    });
  },
});

function contextOptions({ name, plugins = [], ...options }, production, quiet = false) {
  return {
    ...options,
    absWorkingDir: REPOSITORY_ROOT,
    bundle: true,
    minify: production,
    sourcemap: production ? false : "linked",
    logLevel: quiet ? "silent" : "warning",
    plugins: [...plugins, reportPlugin(name, quiet)],
  };
}

/**
 * Builds the webview once into `outdir` (webview.js, webview.css, ort/). Returns esbuild's result;
 * throws on a build error.
 */
export async function buildWebview({ outdir, production = false, quiet = true }) {
  await copyOnnxRuntimeFiles(outdir);
  return esbuild.build(contextOptions(webviewTarget(outdir, production), production, quiet));
}

async function main() {
  const watch = process.argv.includes("--watch");
  const production = process.argv.includes("--production");
  const targets = [extensionTarget, webviewTarget(join(REPOSITORY_ROOT, "dist"), production)];

  const contexts = [];
  for (const target of targets) {
    const entries = Object.values(target.entryPoints);
    const missing = entries.filter((entry) => !existsSync(join(REPOSITORY_ROOT, entry)));
    if (missing.length > 0) {
      console.log(`${target.name}: ${missing.join(", ")} does not exist yet; nothing to bundle`);
      continue;
    }
    if (target.name === "webview") await copyOnnxRuntimeFiles(join(REPOSITORY_ROOT, "dist"));
    contexts.push(await esbuild.context(contextOptions(target, production)));
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
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
