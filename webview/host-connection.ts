/**
 * The webview's side of the message channel to the extension host, typed with src/protocol.ts.
 *
 * VS Code gives a webview `acquireVsCodeApi()` (callable once per page): `postMessage` sends to the
 * host, `getState`/`setState` keep a small JSON value across the panel being hidden and restored.
 * Host messages arrive as `message` events on `window`.
 */

import type { HostToWebviewMessage, PanelState, WebviewToHostMessage } from "../src/protocol";

/** What `acquireVsCodeApi()` returns (the part used here). */
export interface VsCodeApi {
  postMessage(message: unknown): void;
  getState(): unknown;
  setState(state: unknown): void;
}

declare global {
  /** Defined by VS Code in every webview (a test page defines a stand-in). */
  function acquireVsCodeApi(): VsCodeApi;
}

const HOST_MESSAGE_TYPES: ReadonlySet<string> = new Set<HostToWebviewMessage["type"]>([
  "showAttention",
  "focusToken",
  "settingsChanged",
  "cancel",
  "decodeControl",
  "modelFileBytes",
  "observe",
  "requestExport",
]);

/** Whether `value` looks like a host message (the host is trusted; this filters other senders). */
export function isHostMessage(value: unknown): value is HostToWebviewMessage {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as { type?: unknown }).type === "string" &&
    HOST_MESSAGE_TYPES.has((value as { type: string }).type)
  );
}

/** Whether `value` is a `PanelState` saved by an earlier page. */
function isPanelState(value: unknown): value is PanelState {
  if (typeof value !== "object" || value === null) return false;
  const state = value as Partial<PanelState>;
  return (
    typeof state.modelId === "string" &&
    typeof state.text === "string" &&
    typeof state.selection === "object" &&
    state.selection !== null &&
    typeof state.selection.layer === "number"
  );
}

export class HostConnection {
  constructor(private readonly api: VsCodeApi) {}

  post(message: WebviewToHostMessage): void {
    this.api.postMessage(message);
  }

  /** Calls `handler` for every host message; returns a function that stops listening. */
  listen(handler: (message: HostToWebviewMessage) => void): () => void {
    const onMessage = (event: MessageEvent) => {
      if (isHostMessage(event.data)) handler(event.data);
    };
    window.addEventListener("message", onMessage);
    return () => window.removeEventListener("message", onMessage);
  }

  /** The panel state saved before a reload, if any. */
  savedState(): PanelState | undefined {
    const state = this.api.getState();
    return isPanelState(state) ? state : undefined;
  }

  saveState(state: PanelState): void {
    this.api.setState(state);
  }
}
