/**
 * What a server hands a fetch handler as its second argument (`env`, Hono's
 * `c.env`), read by shape alone, never by asking which runtime runs: the
 * request's connection, the server's port, the per-request completion
 * signal, and whether the server tells JS the end of a response at all.
 * This is the only code that knows how `Deno.serve` (a `ServeHandlerInfo`
 * per request), `Bun.serve` (its `Server`) and `@hono/node-server` (Node's
 * own request and response, `{ incoming, outgoing }`) shape `env`, how
 * Deno marks a response body it takes whole, and how a Node server tells
 * its accepted sockets; everything else asks these functions.
 *
 * @module
 */
import type { Connection } from "./connection.ts";

// deno-lint-ignore no-explicit-any
type Any = any;

/**
 * The request's socket when `env` is `@hono/node-server`'s
 * `{ incoming, outgoing }` (Node's `IncomingMessage` and `ServerResponse`)
 * and the socket is still connected; undefined otherwise.
 */
function nodeSocketOf(e: Any): Any {
  const socket = e.incoming?.socket;
  return typeof socket?.remoteAddress === "string" ? socket : undefined;
}

/**
 * The connection of `request` from `env`, or undefined when `env` tells
 * none:
 * - `incoming.socket` (Node's request, from `@hono/node-server`): both
 *   ends, as the socket tells them (`::ffff:a.b.c.d` for an IPv4 client of
 *   a dual-stack listener);
 * - an object with a `requestIP(req)` method (Bun's `Server`), whose `port`
 *   is also taken as the local port;
 * - `remoteAddr` `{hostname, port}` (Deno's `ServeHandlerInfo`, from
 *   `Deno.serve(app.fetch)` and `deno serve`);
 * - `info.remoteAddr` (`Deno.serve((req, info) => app.fetch(req, { info }))`).
 *
 * Unix sockets, `app.request` in tests and other servers tell none.
 *
 * @example
 * ```ts
 * import { envConnection } from "./_server_env.ts";
 * envConnection({ remoteAddr: { hostname: "127.0.0.1", port: 50312 } }, new Request("http://x/"));
 * // { remoteAddress: "127.0.0.1", remotePort: 50312 }
 * ```
 */
export function envConnection(env: unknown, request: Request): Connection | undefined {
  const e: Any = env;
  if (e === null || typeof e !== "object") return undefined;
  const socket = nodeSocketOf(e);
  if (socket) {
    return {
      remoteAddress: socket.remoteAddress,
      remotePort: socket.remotePort,
      localAddress: socket.localAddress,
      localPort: socket.localPort,
    };
  }
  if (typeof e.requestIP === "function") {
    const ip = e.requestIP(request);
    if (typeof ip?.address !== "string" || typeof ip.port !== "number") return undefined;
    const localPort = serverPortOf(e);
    return localPort === undefined
      ? { remoteAddress: ip.address, remotePort: ip.port }
      : { remoteAddress: ip.address, remotePort: ip.port, localPort };
  }
  const addr = e.remoteAddr ?? e.info?.remoteAddr;
  if (typeof addr?.hostname !== "string" || typeof addr.port !== "number") return undefined;
  return { remoteAddress: addr.hostname, remotePort: addr.port };
}

/**
 * The request socket's own descriptor, when `env` is `@hono/node-server`'s
 * and the socket has one (a plain TCP socket; not TLS or HTTP/2 streams);
 * undefined otherwise. It names the connection only while the request is
 * being served: once closed, the number may be reused.
 *
 * @example
 * ```ts
 * import { socketFdOf } from "./_server_env.ts";
 * socketFdOf({ incoming: { socket: { remoteAddress: "::1", _handle: { fd: 23 } } } }); // 23
 * ```
 */
export function socketFdOf(env: unknown): number | undefined {
  const socket = env !== null && typeof env === "object" ? nodeSocketOf(env) : undefined;
  return socket === undefined ? undefined : socketFd(socket);
}

/**
 * The request's connection as one object, the same for every request on
 * it, when `env` is `@hono/node-server`'s (connected or not): Node's TCP
 * socket, and for TLS the TCP socket under it (`_parent`), which is the
 * one a server's `connection` event gives (see {@link onAccept});
 * undefined for other servers.
 *
 * @example
 * ```ts
 * import { requestSocketOf } from "./_server_env.ts";
 * const socket = {};
 * requestSocketOf({ incoming: { socket }, outgoing: {} }) === socket; // true
 * ```
 */
export function requestSocketOf(env: unknown): object | undefined {
  const socket = (env as Any)?.incoming?.socket;
  if (socket === null || typeof socket !== "object") return undefined;
  const parent = socket._parent;
  return parent !== null && typeof parent === "object" ? parent : socket;
}

/**
 * A Node socket's own descriptor (`_handle.fd`: a TCP socket's, also
 * under TLS), while it is open; undefined otherwise.
 *
 * @example
 * ```ts
 * import { socketFd } from "./_server_env.ts";
 * socketFd({ _handle: { fd: 23 } }); // 23
 * ```
 */
export function socketFd(socket: object): number | undefined {
  const fd = (socket as Any)._handle?.fd;
  return Number.isInteger(fd) && fd >= 0 ? fd : undefined;
}

/**
 * The server that accepted a Node socket (`socket.server`, which
 * `node:net` sets as it accepts, in a cluster worker too); undefined for a
 * socket no server accepted.
 */
export function acceptingServerOf(socket: object): object | undefined {
  const server = (socket as Any).server;
  return server !== null && typeof server === "object" ? server : undefined;
}

/**
 * Calls `accepted(socket)` for each connection a Node server (`net`,
 * `http`, `https`, `http2`: what `@hono/node-server`'s `serve()` returns)
 * accepts from now on, from its `connection` event (the TCP socket, before
 * any byte of it is read), and `closed()` once the server closes. Returns
 * the function that stops both; undefined when `server` is no Node server
 * (`Bun.serve`'s and `Deno.serve`'s have no such event).
 *
 * @example
 * ```ts
 * import { createServer } from "node:http";
 * import { onAccept } from "./_server_env.ts";
 * const server = createServer();
 * const stop = onAccept(server, (socket) => console.log("accepted", socket), () => console.log("closed"));
 * stop?.();
 * ```
 */
export function onAccept(
  server: unknown,
  accepted: (socket: object) => void,
  closed: () => void,
): (() => void) | undefined {
  const s: Any = server;
  if (s === null || typeof s !== "object") return undefined;
  if (typeof s.on !== "function" || typeof s.off !== "function" || typeof s.listen !== "function") return undefined;
  s.on("connection", accepted);
  s.once("close", closed);
  return () => {
    s.off("connection", accepted);
    s.off("close", closed);
  };
}

/**
 * The port the server listens on, when `env` is the server itself and says
 * (Bun's `Server`) or is Node's request (its socket's local port);
 * undefined otherwise (Deno tells only the client's end).
 * Cheaper than {@link envConnection}, which asks the server.
 *
 * @example
 * ```ts
 * import { serverPortOf } from "./_server_env.ts";
 * serverPortOf({ port: 8080, requestIP() {} }); // 8080
 * ```
 */
export function serverPortOf(env: unknown): number | undefined {
  const e: Any = env;
  if (e === null || typeof e !== "object") return undefined;
  const port = typeof e.requestIP === "function" ? e.port : nodeSocketOf(e)?.localPort;
  return Number.isInteger(port) && port > 0 && port <= 65535 ? port : undefined;
}

/**
 * Arranges for `done` to be called once the server has handed the response
 * on or the connection is gone, and returns true; returns false, calling
 * nothing, when `env` has no such signal. `done` is called exactly once,
 * never before this returns, with no argument. The signal: `env.completed`
 * of `Deno.serve`, or the `close` of Node's `env.outgoing`, which Node
 * emits once per response, a tick after its `finish` (the last byte handed
 * to the kernel) or when the connection is lost first, whatever the body.
 * On Node this costs one listener and no closure per request when `done`
 * is one shared function (and nothing to remove: it goes with the response).
 *
 * @example
 * ```ts
 * import { onCompletion } from "./_server_env.ts";
 * const done = () => console.log("done");
 * Deno.serve((_req, info) => {
 *   onCompletion(info, done);
 *   return new Response("hi");
 * });
 * ```
 */
export function onCompletion(env: unknown, done: () => void): boolean {
  const e: Any = env;
  const completed = e?.completed;
  if (completed && typeof completed.then === "function") {
    completed.then(done, done);
    return true;
  }
  const outgoing = e?.outgoing;
  if (typeof outgoing?.on !== "function" || typeof outgoing.closed !== "boolean") return false;
  if (outgoing.closed) queueMicrotask(done); // its close is past: done, but after the caller counts
  else outgoing.on("close", done);
  return true;
}

/**
 * True when `env` is a server that sends every response without telling
 * JS when it ends, and that takes a body as it is, so JS cannot tell a
 * streamed body from one it takes whole without converting it: Bun's
 * `Server` (told by its `pendingRequests` count, a count of the whole
 * server's requests, never of one response).
 *
 * @example
 * ```ts
 * import { endsUnseen } from "./_server_env.ts";
 * const fetch = (_req: Request, server: unknown) => new Response(String(endsUnseen(server))); // "true" on Bun
 * ```
 */
export function endsUnseen(env: unknown): boolean {
  return typeof env === "object" && env !== null && typeof (env as Any).pendingRequests === "number";
}

/**
 * The own property by which Deno marks a response whose body is a string or
 * bytes held for its fast path (found once, by its description, on a
 * response of our own); undefined on servers that mark no such thing.
 */
const WHOLE_BODY_MARK: symbol | undefined = Object.getOwnPropertySymbols(new Response("x"))
  .find((s) => s.description === "serve fast body");

/**
 * True when `env` has a completion signal (see {@link onCompletion}) that
 * settles as the server takes `res`, before any byte is sent, and so tells
 * nothing about the body: Deno takes a string or byte body whole. Asked
 * before reading the signal, which Deno creates on first read. False for
 * any other body, and on servers without the mark, so a change in the
 * server costs speed, never a count.
 *
 * @example
 * ```ts
 * import { completesAtHandOff } from "./_server_env.ts";
 * Deno.serve((_req, info) => {
 *   const res = new Response("hi");
 *   console.log(completesAtHandOff(info, res)); // true
 *   return res;
 * });
 * ```
 */
export function completesAtHandOff(env: unknown, res: Response): boolean {
  return WHOLE_BODY_MARK !== undefined && (res as Any)[WHOLE_BODY_MARK] != null &&
    typeof env === "object" && env !== null && "completed" in env;
}
