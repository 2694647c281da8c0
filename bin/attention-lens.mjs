#!/usr/bin/env node
// The `attention-lens` command: runs src/cli/main.ts through tsx (a devDependency), with no build step.
// tsImport loads the TypeScript with tsx's loader scoped to this import (the package is CommonJS,
// so main.ts and what it imports load as CommonJS modules).
import process from "node:process";
import { tsImport } from "tsx/esm/api";

const { runCommandLine } = await tsImport("../src/cli/main.ts", import.meta.url);
process.exitCode = await runCommandLine(process.argv.slice(2));
