/**
 * Who may read the stats endpoint: the allow rules, checked against the
 * client's address.
 *
 * @module
 */
import { parseHost } from "../linux/address.ts";
import type { RequestView } from "../server/request_view.ts";

/**
 * Who may read the stats: `"loopback"` (the default: 127.0.0.0/8, ::1 and
 * ::ffff:127.0.0.0/104), `"any"`, a list of addresses and CIDR blocks
 * (IPv4 or IPv6), or a predicate given the client address (undefined when
 * unknown) and the context. A client whose address is unknown is refused by
 * every rule except `"any"` and a predicate that accepts it.
 */
export type AllowOption<C extends RequestView = RequestView> =
  | "loopback"
  | "any"
  | readonly string[]
  | ((address: string | undefined, c: C) => boolean | Promise<boolean>);

/** 16 bytes (IPv4 as ::ffff:a.b.c.d), or undefined when `text` is not an IP address. */
export function parseIP(text: string): number[] | undefined {
  const host = parseHost(text);
  if (!host) return undefined;
  return host.family === 6 ? [...host.bytes] : [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, ...host.bytes];
}

/** A test of an address against `addr` or `addr/prefix`; throws RangeError on a malformed entry. */
function cidr(entry: string): (ip: number[]) => boolean {
  const slash = entry.indexOf("/");
  const base = parseIP(slash < 0 ? entry : entry.slice(0, slash));
  if (!base) throw new RangeError(`allow entry ${JSON.stringify(entry)} is not an IP address or CIDR block`);
  const v4 = parseHost(slash < 0 ? entry : entry.slice(0, slash))?.family === 4;
  let bits = 128;
  if (slash >= 0) {
    const p = entry.slice(slash + 1);
    const max = v4 ? 32 : 128;
    if (!/^\d{1,3}$/.test(p) || Number(p) > max) {
      throw new RangeError(`allow entry ${JSON.stringify(entry)} has a bad prefix length (0 to ${max})`);
    }
    bits = Number(p) + (v4 ? 96 : 0);
  }
  return (ip) => {
    for (let i = 0; i < 16 && bits > i * 8; i++) {
      const n = Math.min(8, bits - i * 8);
      const mask = (0xff << (8 - n)) & 0xff;
      if ((ip[i] & mask) !== (base[i] & mask)) return false;
    }
    return true;
  };
}

const LOOPBACK = ["127.0.0.0/8", "::1"].map(cidr);

/**
 * True for loopback addresses: 127.0.0.0/8, ::1 and IPv4-mapped 127.x.
 *
 * @example
 * ```ts
 * isLoopback("127.0.0.1");        // true
 * isLoopback("::ffff:127.0.0.1"); // true
 * isLoopback("10.0.0.1");         // false
 * ```
 */
export function isLoopback(address: string): boolean {
  const ip = parseIP(address);
  return ip !== undefined && LOOPBACK.some((t) => t(ip));
}

/**
 * Turns an {@link AllowOption} into a predicate; checks it eagerly, throwing
 * TypeError for a wrong type and RangeError for a malformed address.
 *
 * @example
 * ```ts
 * import { compileAllow } from "./access.ts";
 * import { requestView } from "../server/request_view.ts";
 * const ok = compileAllow(["10.0.0.0/8", "::1"]);
 * ok("10.1.2.3", requestView(new Request("http://localhost/"), undefined)); // true
 * ```
 */
export function compileAllow<C extends RequestView>(
  allow: AllowOption<C> | undefined,
): (address: string | undefined, c: C) => boolean | Promise<boolean> {
  if (allow === undefined || allow === "loopback") return (a) => a !== undefined && isLoopback(a);
  if (allow === "any") return () => true;
  if (typeof allow === "function") return allow;
  if (Array.isArray(allow)) {
    const tests = allow.map((e) => {
      if (typeof e !== "string") throw new TypeError(`allow entries must be strings, got ${typeof e}`);
      return cidr(e);
    });
    return (a) => {
      const ip = a === undefined ? undefined : parseIP(a);
      return ip !== undefined && tests.some((t) => t(ip));
    };
  }
  if (typeof allow === "string") {
    throw new RangeError(`allow must be "loopback", "any", a list or a function, got "${allow}"`);
  }
  throw new TypeError(`allow must be "loopback", "any", an array of addresses or a function, got ${typeof allow}`);
}
