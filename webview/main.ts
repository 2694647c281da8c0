/**
 * The webview's entry point: connects to the extension host, mounts the Svelte app and says
 * "ready", after which the host sends `showAttention`; releases the session when the page goes away.
 */

import { mount } from "svelte";
import App from "./App.svelte";
import { HostConnection } from "./host-connection";
import { LensSession } from "./lens-session.svelte";
import "./theme.css";

const host = new HostConnection(acquireVsCodeApi());
const session = new LensSession(host);
const target = document.getElementById("app") ?? document.body;
target.replaceChildren(); // the page's "Loading…" line

mount(App, { target, props: { session } });
host.listen((message) => session.handle(message));
window.addEventListener("error", (event) => {
  host.post({ type: "log", level: "error", message: `webview: ${event.message}` });
});
window.addEventListener("unhandledrejection", (event) => {
  const reason = event.reason instanceof Error ? event.reason.message : String(event.reason);
  host.post({ type: "log", level: "error", message: `webview: unhandled rejection: ${reason}` });
});
// The page goes away (the panel closed, or hidden and not kept): stop a playing decode and release
// the loaded models' onnxruntime sessions and weights.
window.addEventListener("pagehide", () => {
  void session.dispose();
});
host.post({ type: "ready" });
