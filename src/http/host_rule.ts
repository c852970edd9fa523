/**
 * Which Host header a state-changing or private endpoint answers: an IP
 * address, `localhost`, or a name the user configured. A page reached
 * through DNS rebinding (an attacker's name pointed at this machine)
 * carries the attacker's name in Host, so it is refused even when its
 * Origin matches.
 *
 * @module
 */
import { parseHost } from "../linux/address.ts";

/** Longest host name DNS allows, plus room for `[`, `]` and `:port`. */
const MAX_HOST_HEADER = 253 + 8;
/** A DNS name as users write it in options: labels of letters, digits, `-`, `_`, dot-separated. */
const HOST_NAME = /^(?=.{1,253}$)[a-z0-9_](?:[a-z0-9_-]{0,62})(?:\.[a-z0-9_](?:[a-z0-9_-]{0,62}))*\.?$/;

/** The host part of a Host header (`name`, `1.2.3.4`, `[::1]`, each with an optional `:port`), or null when malformed. */
function hostOf(header: string): string | null {
  let host = header, port = "";
  if (header.startsWith("[")) {
    const close = header.indexOf("]");
    if (close < 0) return null;
    host = header.slice(0, close + 1);
    const rest = header.slice(close + 1);
    if (rest !== "") {
      if (!rest.startsWith(":")) return null;
      port = rest.slice(1);
    }
  } else {
    const colon = header.indexOf(":");
    if (colon >= 0) {
      host = header.slice(0, colon);
      port = header.slice(colon + 1);
    }
  }
  if (port !== "" && !/^[0-9]{1,5}$/.test(port)) return null;
  return host.toLowerCase();
}

/**
 * A predicate telling whether a request's Host header is one this server
 * answers as itself: an IPv4 or bracketed IPv6 literal, `localhost`, or
 * one of `names` (compared without case; any port). A request without a
 * Host header passes: browsers always send one, so it is not a
 * cross-site request. Names are checked now: TypeError for a non-string,
 * RangeError for something that is not a host name.
 *
 * @example
 * ```ts
 * const allowed = hostRule(["stats.example.com"]);
 * allowed("127.0.0.1:9418");       // true
 * allowed("[::1]:9418");           // true
 * allowed("stats.example.com");    // true
 * allowed("rebound.example:9418"); // false
 * ```
 */
export function hostRule(names: readonly string[] = []): (host: string | null | undefined) => boolean {
  if (!Array.isArray(names)) throw new TypeError("hosts must be an array of host names");
  const known = new Set(["localhost"]);
  for (const name of names) {
    if (typeof name !== "string") throw new TypeError(`each host must be a string, got ${typeof name}`);
    const lower = name.toLowerCase();
    if (!HOST_NAME.test(lower)) {
      throw new RangeError(`${JSON.stringify(name)} is not a host name (give it without port or scheme)`);
    }
    known.add(lower.endsWith(".") ? lower.slice(0, -1) : lower);
  }
  return function allowedHost(header: string | null | undefined): boolean {
    if (header === null || header === undefined) return true;
    if (header.length > MAX_HOST_HEADER) return false;
    const host = hostOf(header);
    if (host === null || host === "") return false;
    if (known.has(host.endsWith(".") ? host.slice(0, -1) : host)) return true;
    if (host.startsWith("[")) return !host.includes("%") && parseHost(host) !== null;
    return parseHost(host)?.family === 4;
  };
}
