/**
 * The small HTTP server both browser harnesses (harness.ts, webview/webview-harness.ts) serve their
 * page from, on 127.0.0.1 and a free port: `route` says what each path is (bytes or a file on disk,
 * their type taken from the path's extension), anything else is a 404. Nothing is cached.
 */

import { createReadStream, statSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".map": "application/json; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".wasm": "application/wasm",
};

/** The Content-Type of `path` by its extension ("/" is the page: HTML). */
export function contentType(path: string): string {
  if (path === "/") return CONTENT_TYPES[".html"];
  const extension = /\.[a-z0-9]+$/i.exec(path)?.[0].toLowerCase() ?? "";
  return CONTENT_TYPES[extension] ?? "application/octet-stream";
}

/** What a path serves: bytes (or text), a file on disk, or nothing (204). */
export type Served = { bytes: Uint8Array | string } | { file: string } | { empty: true };

export interface StaticServer {
  /** e.g. http://127.0.0.1:41234 (no trailing "/"). */
  origin: string;
  close(): Promise<void>;
}

/** Starts the server; `onRequest` sees every path asked for, in order. */
export async function startStaticServer(route: (path: string) => Served | undefined, onRequest?: (path: string) => void): Promise<StaticServer> {
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const path = decodeURIComponent(new URL(request.url ?? "/", "http://127.0.0.1").pathname);
    onRequest?.(path);
    const headers = { "Cache-Control": "no-store", "Content-Type": contentType(path) };
    const served = route(path);
    if (!served) {
      response.writeHead(404, { "Content-Type": "text/plain" });
      response.end(`not found: ${path}`);
    } else if ("empty" in served) {
      response.writeHead(204).end();
    } else if ("file" in served) {
      response.writeHead(200, { ...headers, "Content-Length": statSync(served.file).size });
      createReadStream(served.file).pipe(response);
    } else {
      const bytes = typeof served.bytes === "string" ? new TextEncoder().encode(served.bytes) : served.bytes;
      response.writeHead(200, { ...headers, "Content-Length": bytes.byteLength });
      response.end(bytes);
    }
  });
  await new Promise<void>((resolveListen, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolveListen());
  });
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolveClose) => server.close(() => resolveClose()));
    },
  };
}
