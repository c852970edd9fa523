/**
 * A request's own TCP connection: as its server tells it (see
 * `_server_env.ts`), then its TCP_INFO, its local end and the listener that
 * accepted it: from the socket's own descriptor on Node.js, through
 * sock_diag elsewhere, since `Deno.serve` and `Bun.serve` hide socket
 * descriptors and local addresses.
 *
 * @module
 */
import { NoConnectionError } from "../errors.ts";
import { joinHostPort } from "../linux/address.ts";
import type { InetDiagSocket } from "../linux/diag_socket.ts";
import { tcpListenerOf } from "../linux/listen_stats.ts";
import { TcpInfo } from "../linux/tcp_info.ts";
import type { RequestView } from "./request_view.ts";
import { envConnection, socketFdOf } from "./_server_env.ts";

/**
 * A request's TCP connection as its server tells it. Every app's
 * `connection` option returns one (e.g. behind a proxy:
 * `(c) => ({ remoteAddress: c.req.header("x-real-ip") ?? "", remotePort: 0 })`).
 */
export interface Connection {
  /** The client's address (IP literal, no brackets). */
  readonly remoteAddress: string;
  /** The client's port. */
  readonly remotePort: number;
  /** This end's address, when the server tells it (else found from the kernel). */
  readonly localAddress?: string;
  /** This end's port, when the server tells it (Bun does, Deno does not). */
  readonly localPort?: number;
}

/**
 * The connection of the request in `c` as the server tells it in `c.env`:
 * Bun's `Server` (whose `port` is also taken as the local port), Deno's
 * `ServeHandlerInfo` (`Deno.serve(app.fetch)`, `deno serve`) or
 * `{ info: ServeHandlerInfo }`. Undefined when the env tells none of these
 * (unix sockets, `app.request` in tests, other servers). The default of
 * every app's `connection` option.
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import { connectionOf } from "raindrops/hono";
 * const app = new Hono();
 * app.get("/", (c) => c.text(connectionOf(c)?.remoteAddress ?? "unknown")); // "127.0.0.1"
 * Deno.serve(app.fetch);
 * ```
 */
export function connectionOf(
  c: Pick<RequestView, "env"> & { readonly req: Pick<RequestView["req"], "raw"> },
): Connection | undefined {
  return envConnection(c.env, c.req.raw);
}

/**
 * The kernel's TCP_INFO for the request's own connection: read from its
 * socket's descriptor on Node.js (`@hono/node-server`), else found by its
 * client address (see {@link TcpInfo.fromRemote}). Throws a
 * {@link NoConnectionError} when
 * `c.env` does not tell the connection, a NativeError (ENOENT) when the
 * connection is already gone.
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import { requestTcpInfo } from "raindrops/hono";
 * const app = new Hono();
 * app.get("/tcp", (c) => c.json(requestTcpInfo(c).fields));
 * ```
 */
export function requestTcpInfo(c: RequestView, sock?: InetDiagSocket): TcpInfo {
  const fd = socketFdOf(c.env);
  return fd === undefined ? infoByRemote(toldConnection(c), sock) : TcpInfo.fromFd(fd);
}

/** The request's connection as the server tells it; a NoConnectionError when it tells none. */
function toldConnection(c: RequestView): Connection {
  const conn = connectionOf(c);
  if (conn) return conn;
  throw new NoConnectionError(
    "c.env tells no client address (serve with Deno.serve(app.fetch), Bun.serve({ fetch: app.fetch }) " +
      "or @hono/node-server's serve({ fetch: app.fetch }))",
  );
}

/** TCP_INFO of the connection found by its client's end through sock_diag. */
function infoByRemote(conn: Connection, sock?: InetDiagSocket): TcpInfo {
  return TcpInfo.fromRemote(joinHostPort(conn.remoteAddress, conn.remotePort), { localPort: conn.localPort, sock });
}

/**
 * The server's end of the request's connection, `host:port`: the address
 * and port the client reached (as the server tells it, or found through
 * sock_diag), which finds the server's own listener. An
 * IPv4 client of a dual-stack listener gives an IPv4 address when the
 * server reports the client as IPv4, else `[::ffff:a.b.c.d]:port`.
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import { requestLocalAddress } from "raindrops/hono";
 * const app = new Hono();
 * app.get("/where", (c) => c.text(requestLocalAddress(c))); // "127.0.0.1:8080"
 * ```
 */
export function requestLocalAddress(c: RequestView, sock?: InetDiagSocket): string {
  const conn = toldConnection(c);
  return conn.localAddress !== undefined && conn.localPort !== undefined
    ? joinHostPort(conn.localAddress, conn.localPort)
    : infoByRemote(conn, sock).local!;
}

/**
 * The TCP listener that accepted the request's connection, as the kernel
 * keys it (`0.0.0.0:8080`, `[::]:8080`, `127.0.0.1:8080`): found from the
 * connection's local end, never from the host name the server reports
 * (`localhost`, `""`), so every server setup finds it. Undefined when the
 * listener is gone; throws as {@link requestTcpInfo} when the connection
 * cannot be found.
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import { requestListener } from "raindrops/hono";
 * const app = new Hono();
 * app.get("/who", (c) => c.text(requestListener(c) ?? "closed")); // "[::]:3000"
 * ```
 */
export function requestListener(c: RequestView, sock?: InetDiagSocket): string | undefined {
  return tcpListenerOf(requestLocalAddress(c, sock), sock)?.[0];
}
