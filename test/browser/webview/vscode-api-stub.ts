/**
 * A stand-in for VS Code's `acquireVsCodeApi()` in the webview test page (../webview/page served by
 * webview-harness.ts): it records every message the webview posts and keeps the panel state, so a
 * test can read both with `page.evaluate`. Host messages are sent with `window.postMessage`, which
 * is how VS Code delivers them to a webview too.
 */

export interface VsCodeStub {
  /** Every message the webview posted, in order. */
  posted: unknown[];
  /** The last value passed to setState. */
  state: unknown;
  /** How many times acquireVsCodeApi was called (VS Code allows one call per page). */
  acquired: number;
}

declare global {
  interface Window {
    vscodeStub: VsCodeStub;
    acquireVsCodeApi: () => { postMessage(message: unknown): void; getState(): unknown; setState(state: unknown): void };
  }
}

const stub: VsCodeStub = { posted: [], state: undefined, acquired: 0 };
window.vscodeStub = stub;
window.acquireVsCodeApi = () => {
  stub.acquired += 1;
  if (stub.acquired > 1) throw new Error("acquireVsCodeApi may only be called once per page (as in VS Code)");
  return {
    // A structured clone, as VS Code's postMessage makes: a Svelte proxy or a function fails here too.
    postMessage: (message: unknown) => stub.posted.push(structuredClone(message)),
    getState: () => stub.state,
    setState: (state: unknown) => {
      stub.state = structuredClone(state);
    },
  };
};
