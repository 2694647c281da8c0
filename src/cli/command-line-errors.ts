/**
 * The two kinds of failure the command line tells apart, by exit code:
 *
 *   2  UsageError        the command line itself is wrong (an unknown flag, a missing --out,
 *                        --text and --ids together): nothing was read or run
 *   1  everything else   a model folder, text file or token list that cannot be used, or a run that
 *                        failed: the errors of src/model and src/runtime, `ModelFolderError` and
 *                        `InputError`
 *
 * Each is reported as ONE line on stderr that says what is wrong and what to do.
 */

export const EXIT_SUCCESS = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** A mistake in the command line: exit code 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** A model folder (or file) that cannot be read, or is of a format this tool does not load: exit code 1. */
export class ModelFolderError extends Error {
  override name = "ModelFolderError";
}

/** A text file or token ids that cannot be run (unreadable, too long, ids outside the vocabulary): exit code 1. */
export class InputError extends Error {
  override name = "InputError";
}

/** The exit code for an error thrown while running a command. */
export function exitCodeOf(error: unknown): number {
  return error instanceof UsageError ? EXIT_USAGE : EXIT_FAILURE;
}

/** The one line printed for an error: its message, newlines folded, with the program's name in front. */
export function errorLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return `attention-lens: ${message.replace(/\s*\n\s*/g, " ")}`;
}
