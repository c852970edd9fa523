/**
 * The network namespace's TCP listen-queue drop counters, from
 * `/proc/net/netstat` (the `TcpExt` lines; `nstat` and `netstat -s`
 * read the same).
 *
 * @module
 */
import { readFileSync } from "node:fs";
import { Errno, NativeError } from "../errors.ts";

/** The namespace's listen-queue drop counters since boot (or since the namespace was made). */
export interface ListenDrops {
  /**
   * `ListenOverflows`: times a listener's accept queue was full when a
   * handshake completed or a SYN came in (the connection or SYN was
   * dropped).
   */
  readonly listenOverflows: number;
  /**
   * `ListenDrops`: connections a listener dropped for any reason,
   * overflows included.
   */
  readonly listenDrops: number;
}

/** Where the counters are read; a parameter for tests of a missing file. */
const NETSTAT = "/proc/net/netstat";

/**
 * `ListenOverflows` and `ListenDrops` of this process's network namespace
 * (every listener in it, not only this process's). Throws a
 * {@link NativeError} naming the file when it cannot be read (ENOENT
 * without procfs, e.g. in a sandbox) or lacks the counters (EPROTO).
 *
 * @example
 * ```ts
 * import { listenDrops } from "raindrops";
 * listenDrops(); // { listenOverflows: 0, listenDrops: 0 }
 * ```
 */
export function listenDrops(path: string = NETSTAT): ListenDrops {
  let text: string;
  try {
    text = readFileSync(path, "latin1");
  } catch (e) {
    const code = (e as { code?: string }).code ?? "";
    const errno = (Errno as Record<string, number>)[code] ?? Errno.ENOENT;
    throw new NativeError(`read ${path}`, errno, "the network namespace's TcpExt counters; is /proc mounted?");
  }
  // A header line of names, then a line of values, both starting "TcpExt:".
  const lines = text.split("\n").filter((l) => l.startsWith("TcpExt:"));
  const names = lines[0]?.split(" "), values = lines[1]?.split(" ");
  const at = (name: string) => {
    const i = names?.indexOf(name) ?? -1;
    const v = i > 0 ? Number(values?.[i]) : NaN;
    if (!Number.isSafeInteger(v)) {
      throw new NativeError(`read ${path}`, Errno.EPROTO, `no TcpExt ${name} counter in it`);
    }
    return v;
  };
  return { listenOverflows: at("ListenOverflows"), listenDrops: at("ListenDrops") };
}
