/** Debian's Chromium; override with CHROMIUM_PATH. */
export declare const CHROMIUM_PATH: string;
/** The command-line flags to launch Chromium with, with or without WebGPU. */
export declare function chromiumFlags(webgpu: boolean): string[];
