// The browser every test launches: Debian's Chromium (never a downloaded one) and its flags. Plain
// JavaScript so that scripts/code-server-as-vscode.mjs (run by node) and the TypeScript test
// harnesses (test/browser/harness.ts) share one copy; types in chromium.d.mts.

/** Debian's Chromium; override with CHROMIUM_PATH. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

/** Flags for every launch: no network chatter, no first-run UI. */
const COMMON_FLAGS = [
  "--no-sandbox",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
  "--disable-quic",
];

/** WebGPU on SwiftShader's Vulkan, measured to work with Debian's Chromium without a GPU. */
const WEBGPU_FLAGS = ["--enable-unsafe-webgpu", "--enable-features=Vulkan", "--use-angle=swiftshader", "--use-webgpu-adapter=swiftshader"];

/** The command-line flags to launch Chromium with, with or without WebGPU. */
export function chromiumFlags(webgpu) {
  return [...COMMON_FLAGS, ...(webgpu ? WEBGPU_FLAGS : ["--disable-gpu"])];
}
