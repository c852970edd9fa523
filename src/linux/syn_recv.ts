/**
 * Half-open connections of TCP listeners: SYN_RECV request sockets (a SYN
 * answered, the handshake not completed), read from the kernel over
 * netlink sock_diag.
 *
 * @module
 */
import { native } from "../native/library.ts";
import { ADDR_RECORD, encodeAddress, formatAddress, parseAddress } from "./address.ts";
import { diagError, type InetDiagSocket, withSocket } from "./diag_socket.ts";

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
  if (!Array.isArray(addresses) || !addresses.every((a) => typeof a === "string")) {
    throw new TypeError("addresses must be an array of host:port strings");
  }
  const out = new Map<string, number>();
  if (addresses.length === 0) return out;
  const query = new Uint8Array(addresses.length * ADDR_RECORD);
  const parsed = addresses.map((a, i) => {
    const addr = parseAddress(a);
    encodeAddress(addr, query, i * ADDR_RECORD);
    return addr;
  });
  const counts = new Uint32Array(addresses.length);
  const n = withSocket(
    sock,
    (s) => native().rd_tcp_syn_recv(s.fd, query, query.length, counts, counts.byteLength, s.scratch, s.scratch.length),
  );
  if (n < 0) throw diagError(`SYN_RECV of ${parsed.map(formatAddress).join(", ")}`, n);
  addresses.forEach((a, i) => out.set(a, counts[i]));
  return out;
}
