/**
 * TCP listen addresses: `1.2.3.4:80` and `[::1]:80` parsed strictly (no DNS),
 * printed canonically, and encoded as the 20-byte records libraindrops
 * takes: family, 0, port (u16 little-endian), 16 address bytes.
 *
 * @module
 */
import { AddressError } from "../errors.ts";

/** A parsed TCP address. */
export interface InetAddress {
  /** IPv4 or IPv6. */
  readonly family: 4 | 6;
  /** Address bytes in network order: 4 for IPv4, 16 for IPv6. */
  readonly bytes: Uint8Array;
  /** The TCP port, 0 to 65535. */
  readonly port: number;
}

/** Bytes per encoded address record. */
export const ADDR_RECORD = 20;

/**
 * Longer than any address: `[` + 45 characters of IPv6 + `%` + an interface
 * name (at most 15) + `]:65535`. Longer text is refused before any parsing,
 * so no input costs more than a short one.
 */
const MAX_TEXT = 72;

/** `text` without a trailing IPv6 scope id (`%eth0`); unchanged when it has none, or an empty one. */
function dropScope(text: string): string {
  const pct = text.indexOf("%");
  if (pct < 0 || pct === text.length - 1 || text.indexOf("%", pct + 1) >= 0) return text;
  return text.slice(0, pct);
}

/**
 * An address as typed, without the scope id of a bracketed IPv6 host:
 * `[fe80::1%eth0]:80` gives `[fe80::1]:80`; anything else comes back as it is.
 *
 * @example
 * ```ts
 * withoutScope("[fe80::1%eth0]:80"); // "[fe80::1]:80"
 * ```
 */
export function withoutScope(address: string): string {
  const close = address.indexOf("]");
  if (!address.startsWith("[") || close < 0) return address;
  return `[${dropScope(address.slice(1, close))}${address.slice(close)}`;
}

function parseIPv4(text: string): Uint8Array | null {
  const parts = text.split(".");
  if (parts.length !== 4) return null;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(parts[i]) || Number(parts[i]) > 255) return null;
    out[i] = Number(parts[i]);
  }
  return out;
}

function parseIPv6(text: string): Uint8Array | null {
  const halves = text.split("::");
  if (halves.length > 2) return null;
  const groups = (s: string) => (s === "" ? [] : s.split(":"));
  const head = groups(halves[0]);
  const tail = halves.length === 2 ? groups(halves[1]) : [];
  const words: number[] = [];
  const all = [...head, ...tail];
  // An embedded IPv4 address may end the text (::ffff:1.2.3.4).
  let v4: Uint8Array | null = null;
  if (all.length && all[all.length - 1].includes(".")) {
    v4 = parseIPv4(all[all.length - 1]);
    if (!v4) return null;
    (tail.length ? tail : head).pop();
  }
  for (const g of [...head, ...tail]) if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
  const total = head.length + tail.length + (v4 ? 2 : 0);
  if (halves.length === 1 ? total !== 8 : total > 7) return null;
  words.push(...head.map((g) => parseInt(g, 16)));
  if (halves.length === 2) { for (let i = total; i < 8; i++) words.push(0); }
  words.push(...tail.map((g) => parseInt(g, 16)));
  const out = new Uint8Array(16);
  words.forEach((w, i) => {
    out[2 * i] = w >> 8;
    out[2 * i + 1] = w & 0xff;
  });
  if (v4) out.set(v4, 12);
  return out;
}

/**
 * Parses a bare host: dotted IPv4, or IPv6 with or without brackets (a scope
 * id such as `%eth0` is dropped). Null when `text` is neither.
 *
 * @example
 * ```ts
 * parseHost("::1")?.family;      // 6
 * parseHost("10.0.0.1")?.bytes;  // Uint8Array [10, 0, 0, 1]
 * ```
 */
export function parseHost(text: string): Omit<InetAddress, "port"> | null {
  if (text.length > MAX_TEXT) return null;
  const v4 = parseIPv4(text);
  if (v4) return { family: 4, bytes: v4 };
  const bare = text.startsWith("[") && text.endsWith("]") ? text.slice(1, -1) : text;
  const v6 = parseIPv6(dropScope(bare));
  return v6 ? { family: 6, bytes: v6 } : null;
}

function parsePort(input: string, text: string): number {
  if (!/^[0-9]{1,5}$/.test(text)) throw new AddressError(input, text === "" ? "missing port" : "port is not a number");
  const port = Number(text);
  if (port > 65535) throw new AddressError(input, "port above 65535");
  return port;
}

/**
 * Parses `host:port`, where host is a dotted IPv4 address or a bracketed
 * IPv6 address; an IPv6 scope id (`%eth0`) is accepted and dropped.
 *
 * @example
 * ```ts
 * parseAddress("[::1]:8080"); // { family: 6, bytes: <16 bytes>, port: 8080 }
 * ```
 */
export function parseAddress(input: string): InetAddress {
  if (typeof input !== "string") throw new TypeError(`address must be a string, got ${typeof input}`);
  if (input.length > MAX_TEXT) {
    throw new AddressError(`${input.slice(0, MAX_TEXT)}...`, `longer than ${MAX_TEXT} characters`);
  }
  if (input.startsWith("[")) {
    const close = input.indexOf("]");
    if (close < 0) throw new AddressError(input, "unclosed [");
    if (input[close + 1] !== ":") throw new AddressError(input, "missing port");
    const host = dropScope(input.slice(1, close));
    const bytes = parseIPv6(host);
    if (!bytes) throw new AddressError(input, "bad IPv6 address");
    return { family: 6, bytes, port: parsePort(input, input.slice(close + 2)) };
  }
  const colon = input.lastIndexOf(":");
  if (colon < 0) throw new AddressError(input, "missing port");
  const host = input.slice(0, colon);
  if (host.includes(":")) throw new AddressError(input, "IPv6 addresses need brackets: [addr]:port");
  const bytes = parseIPv4(host);
  if (!bytes) throw new AddressError(input, "bad IPv4 address (no host names: no DNS lookups here)");
  return { family: 4, bytes, port: parsePort(input, input.slice(colon + 1)) };
}

function formatIPv6(b: Uint8Array): string {
  const words = Array.from({ length: 8 }, (_, i) => (b[2 * i] << 8) | b[2 * i + 1]);
  if (words.slice(0, 5).every((w) => w === 0) && words[5] === 0xffff) {
    return `::ffff:${b[12]}.${b[13]}.${b[14]}.${b[15]}`;
  }
  // RFC 5952: compress the longest run (of two or more) of zero words.
  let best = -1, bestLen = 1;
  for (let i = 0; i < 8;) {
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j === i ? i + 1 : j;
  }
  const hex = words.map((w) => w.toString(16));
  if (best < 0) return hex.join(":");
  return `${hex.slice(0, best).join(":")}::${hex.slice(best + bestLen).join(":")}`;
}

/**
 * `host:port`, bracketing an IPv6 host: the form every API here takes.
 *
 * @example
 * ```ts
 * joinHostPort("::1", 80);       // "[::1]:80"
 * joinHostPort("127.0.0.1", 80); // "127.0.0.1:80"
 * ```
 */
export function joinHostPort(host: string, port: number): string {
  return host.includes(":") && !host.startsWith("[") ? `[${host}]:${port}` : `${host}:${port}`;
}

/** The canonical text of an address: `127.0.0.1:80`, `[::1]:80`. */
export function formatAddress(a: InetAddress): string {
  if (a.family === 4) return `${a.bytes[0]}.${a.bytes[1]}.${a.bytes[2]}.${a.bytes[3]}:${a.port}`;
  return `[${formatIPv6(a.bytes)}]:${a.port}`;
}

/** Writes the 20-byte native record of `a` into `out` at `offset`. */
export function encodeAddress(a: InetAddress, out: Uint8Array, offset = 0): void {
  out.fill(0, offset, offset + ADDR_RECORD);
  out[offset] = a.family;
  out[offset + 2] = a.port & 0xff;
  out[offset + 3] = a.port >> 8;
  out.set(a.bytes, offset + 4);
}

/** The canonical text of the 20-byte native record at `offset`, as {@link formatAddress} gives it. */
export function formatRecord(buf: Uint8Array, offset = 0): string {
  if (buf[offset] === 6) return formatAddress(decodeAddress(buf, offset));
  const port = buf[offset + 2] | (buf[offset + 3] << 8);
  return `${buf[offset + 4]}.${buf[offset + 5]}.${buf[offset + 6]}.${buf[offset + 7]}:${port}`;
}

/** Reads a 20-byte native record. */
export function decodeAddress(buf: Uint8Array, offset = 0): InetAddress {
  const family = buf[offset] === 6 ? 6 : 4;
  const len = family === 4 ? 4 : 16;
  return {
    family,
    port: buf[offset + 2] | (buf[offset + 3] << 8),
    bytes: buf.slice(offset + 4, offset + 4 + len),
  };
}
