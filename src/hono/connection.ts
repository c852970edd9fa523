/**
 * A Hono request's own TCP connection: the client's address from what the
 * server handed the app as `c.env`, recognised by shape alone (never by
 * asking which runtime runs), then its TCP_INFO and its local end through
 * sock_diag, since `Deno.serve` and `Bun.serve` hide socket descriptors and
 * local addresses.
 *
 * @module
 */
import { NoConnectionError } from "../errors.ts";
import { joinHostPort } from "../linux/address.ts";
import type { InetDiagSocket } from "../linux/diag_socket.ts";
import { TcpInfo } from "../linux/tcp_info.ts";

/** The parts of a Hono `Context` read here: what the server passed as `env`, and the request. */
export interface RequestLike {
  readonly env: unknown;
  readonly req: { readonly raw: Request };
}

/** What a server tells about a request's connection. */
export interface RequestConnection {
  /** The client's address alone, e.g. `127.0.0.1` or `::1`. */
  host: string;
  /** The client's end, `host:port` (`[v6]:port`). */
  remote: string;
  /** The server's port, when the server tells it (Bun does, Deno does not). */
  localPort?: number;
}

// deno-lint-ignore no-explicit-any
type Any = any;

/** `{hostname, port}` of a TCP peer (Deno's `Deno.NetAddr`); undefined for a unix socket or anything else. */
function fromNetAddr(addr: Any): RequestConnection | undefined {
  if (typeof addr?.hostname !== "string" || typeof addr.port !== "number") return undefined;
  return { host: addr.hostname, remote: joinHostPort(addr.hostname, addr.port) };
}

/**
 * The client's address of the request in `c`, from `c.env`:
 * - an object with a `requestIP(req)` method (Bun's `Server`, what Hono
 *   gets from `Bun.serve({ fetch: app.fetch })`), whose `port` is also
 *   taken as the local port;
 * - `remoteAddr` `{hostname, port}` (Deno's `ServeHandlerInfo`, from
 *   `Deno.serve(app.fetch)`);
 * - `info.remoteAddr` (`Deno.serve((req, info) => app.fetch(req, { info }))`).
 *
 * Undefined when the env tells none of these (unix sockets, `app.request`
 * in tests, other servers).
 *
 * @example
 * ```ts
 * app.get("/", (c) => c.text(connectionOf(c)?.remote ?? "unknown"));
 * Deno.serve(app.fetch); // "127.0.0.1:50312"
 * ```
 */
export function connectionOf(c: RequestLike): RequestConnection | undefined {
  const env: Any = c.env;
  if (env === null || typeof env !== "object") return undefined;
  if (typeof env.requestIP === "function") {
    const ip = env.requestIP(c.req.raw);
    if (typeof ip?.address !== "string" || typeof ip.port !== "number") return undefined;
    const port = env.port;
    const localPort = Number.isInteger(port) && port > 0 && port <= 65535 ? port : undefined;
    return { host: ip.address, remote: joinHostPort(ip.address, ip.port), ...(localPort ? { localPort } : {}) };
  }
  return fromNetAddr(env.remoteAddr) ?? fromNetAddr(env.info?.remoteAddr);
}

/**
 * The kernel's TCP_INFO for the request's own connection (see
 * {@link TcpInfo.fromRemote}). Throws a {@link NoConnectionError} when
 * `c.env` does not tell the client's address, a NativeError (ENOENT) when
 * the connection is already gone.
 *
 * @example
 * ```ts
 * app.get("/tcp", (c) => c.json(requestTcpInfo(c).fields));
 * Bun.serve({ fetch: app.fetch });
 * ```
 */
export function requestTcpInfo(c: RequestLike, sock?: InetDiagSocket): TcpInfo {
  const conn = connectionOf(c);
  if (!conn) {
    throw new NoConnectionError(
      "c.env tells no client address (serve with Deno.serve(app.fetch) or Bun.serve({ fetch: app.fetch }))",
    );
  }
  return TcpInfo.fromRemote(conn.remote, { localPort: conn.localPort, sock });
}

/**
 * The server's end of the request's connection, `host:port`: the address
 * and port the client reached, which finds the server's own listener. An
 * IPv4 client of a dual-stack listener gives an IPv4 address when the
 * server reports the client as IPv4, else `[::ffff:a.b.c.d]:port`.
 *
 * @example
 * ```ts
 * app.get("/where", (c) => c.text(requestLocalAddress(c))); // "127.0.0.1:8080"
 * ```
 */
export function requestLocalAddress(c: RequestLike, sock?: InetDiagSocket): string {
  return requestTcpInfo(c, sock).local!;
}
