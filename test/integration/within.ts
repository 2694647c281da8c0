/**
 * A bound on how long an integration test waits for a command: the extension host never times a
 * command out, so a hung one would stall the whole suite instead of failing its test.
 */

/** Settles with `promise`'s value, or rejects naming `what` after `milliseconds`. */
export async function within<T>(promise: Thenable<T>, milliseconds: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      Promise.resolve(promise),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} did not settle within ${milliseconds / 1000} s`)), milliseconds);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
