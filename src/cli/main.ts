/**
 * The command line's entry point: `attention-lens <command> [flags]`. bin/attention-lens.mjs loads
 * this file through tsx and calls `runCommandLine` with the arguments after the program name.
 *
 * Output: --help text on stdout; one summary line on stdout after a success; one line on stderr
 * for a failure (what is wrong and what to do). The exit codes are in command-line-errors.ts.
 */

import { errorLine, EXIT_SUCCESS, exitCodeOf, UsageError } from "./command-line-errors";
import { MAIN_HELP, MAPS_HELP } from "./help-text";
import { parseMapsArguments } from "./maps-arguments";
import { runMapsCommand } from "./maps-command";

export interface CommandLineOutput {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

const processOutput: CommandLineOutput = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
};

const COMMANDS = ["maps"] as const;

async function runCommand(argv: readonly string[], output: CommandLineOutput): Promise<void> {
  const [command, ...rest] = argv;
  if (command === undefined) throw new UsageError(`no command given; use one of ${COMMANDS.join(", ")}, or run attention-lens --help`);
  if (command === "--help" || command === "-h" || command === "help") {
    output.stdout(MAIN_HELP);
    return;
  }
  if (command !== "maps") {
    throw new UsageError(`unknown command ${JSON.stringify(command)}; use one of ${COMMANDS.join(", ")}, or run attention-lens --help`);
  }
  const parsed = parseMapsArguments(rest);
  if (parsed.help) {
    output.stdout(MAPS_HELP);
    return;
  }
  const result = await runMapsCommand(parsed.options);
  const cut = result.totalTokens > result.tokenCount ? ` (the first of ${result.totalTokens}, --max-tokens)` : "";
  output.stdout(`wrote ${result.outPath}: ${result.tokenCount} tokens${cut}, run on ${result.backend}\n`);
}

/** Runs the command line; returns the exit code (0 success, 1 failure, 2 usage error). */
export async function runCommandLine(argv: readonly string[], output: CommandLineOutput = processOutput): Promise<number> {
  try {
    await runCommand(argv, output);
    return EXIT_SUCCESS;
  } catch (error) {
    output.stderr(`${errorLine(error)}\n`);
    return exitCodeOf(error);
  }
}
