/**
 * Counts per TCP listen address from one cheap sock_diag dump each: the
 * half-open connections (SYN_RECV request sockets: a SYN answered, the
 * handshake not completed), and the accept queue alone (LISTEN sockets
 * only, for sampling often).
 *
 * @module
 */
import { native } from "../native/library.ts";
import { ADDR_RECORD, encodeAddress, parseAddress } from "./address.ts";
import { diagError, type InetDiagSocket, withSocket } from "./diag_socket.ts";

/**
 * The TCP addresses (`host:port`, `[v6]:port`) among listener names, the
 * rest being unix socket paths and `@names`.
 *
 * @example
 * ```ts
 * tcpAddressesOf(["0.0.0.0:80", "/run/app.sock"]); // ["0.0.0.0:80"]
 * ```
 */
export function tcpAddressesOf(listeners: Iterable<string>): string[] {
  return [...listeners].filter((l) => {
    try {
      parseAddress(l);
      return true;
    } catch {
      return false;
    }
  });
}

type Query = (fd: number, query: Uint8Array, out: Uint32Array, scratch: Uint8Array) => number;

/** One u32 per address from `call`; `what` names the query in errors. */
function perAddress(what: string, call: Query, addresses: readonly string[], sock?: InetDiagSocket) {
  if (!Array.isArray(addresses) || !addresses.every((a) => typeof a === "string")) {
    throw new TypeError("addresses must be an array of host:port strings");
  }
  const out = new Map<string, number>();
  if (addresses.length === 0) return out;
  const query = new Uint8Array(addresses.length * ADDR_RECORD);
  addresses.forEach((a, i) => encodeAddress(parseAddress(a), query, i * ADDR_RECORD));
  const counts = new Uint32Array(addresses.length);
  const n = withSocket(sock, (s) => call(s.fd, query, counts, s.scratch));
  if (n < 0) throw diagError(`${what} of ${addresses.join(", ")}`, n);
  addresses.forEach((a, i) => out.set(a, counts[i]));
  return out;
}

/**
 * Each TCP listen address's half-open (SYN_RECV) connections, by the
 * address as given (`host:port`, `[v6]:port`; a wildcard such as
 * `0.0.0.0:80` counts those on any local address of its family). A
 * listener under a SYN flood answers with syncookies and keeps no such
 * socket, so these are the handshakes it is holding state for. Throws an
 * `AddressError` for a bad address, a `NativeError` when the kernel
 * cannot answer (no `inet_diag`).
 *
 * @example
 * ```ts
 * import { tcpSynRecvConnections } from "raindrops";
 * tcpSynRecvConnections(["0.0.0.0:8080"]); // Map { "0.0.0.0:8080" => 0 }
 * ```
 */
export function tcpSynRecvConnections(addresses: readonly string[], sock?: InetDiagSocket): Map<string, number> {
  return perAddress(
    "SYN_RECV",
    (fd, q, out, s) => native().rd_tcp_syn_recv(fd, q, q.length, out, out.byteLength, s, s.length),
    addresses,
    sock,
  );
}

/**
 * Each TCP listen address's `queued` alone (connections waiting for
 * accept on the LISTEN sockets bound exactly to it), from a dump of
 * listening sockets only: `tcpListenerStats` also counts accepted
 * connections, which makes the kernel walk every established socket of
 * the machine. Errors as {@link tcpSynRecvConnections}.
 *
 * @example
 * ```ts
 * import { tcpListenQueued } from "raindrops";
 * tcpListenQueued(["0.0.0.0:8080"]); // Map { "0.0.0.0:8080" => 0 }
 * ```
 */
export function tcpListenQueued(addresses: readonly string[], sock?: InetDiagSocket): Map<string, number> {
  return perAddress(
    "listen queue",
    (fd, q, out, s) => native().rd_tcp_listen_queued(fd, q, q.length, out, out.byteLength, s, s.length),
    addresses,
    sock,
  );
}
