/**
 * Byte layouts of the records libraindrops writes for its callers, the one
 * TypeScript copy of zig/src/records.zig: each record's size and its
 * fields' offsets (counts are native-endian u32). test/records.test.ts
 * checks them against the layout the library reports, so they cannot drift.
 *
 * @example
 * ```ts
 * import { LISTENER_FIGURES } from "./records.ts";
 * const answer = new Uint8Array(2 * LISTENER_FIGURES.size); // two records, as the library fills them
 * const view = new DataView(answer.buffer);
 * const queuedOfSecond = view.getUint32(1 * LISTENER_FIGURES.size + LISTENER_FIGURES.queued, true);
 * ```
 *
 * @module
 */

/** A file mapping: address, device and inode (u64 each). */
export const MAPPING = { size: 24, addr: 0, dev: 8, ino: 16 } as const;

/** One listener's figures, the answer for one queried address or unix name. */
export const LISTENER_FIGURES = { size: 16, active: 0, queued: 4, backlog: 8, listeners: 12 } as const;

/** One listening TCP address of the all-listeners answer: its address record, then its figures. */
export const TCP_LISTENER = { size: 32, addr: 0, active: 20, queued: 24, backlog: 28 } as const;

/**
 * One listening unix name of the all-listeners answer; `name_len` bytes of
 * name follow it, zero-padded to a multiple of 4.
 */
export const UNIX_LISTENER = { size: 16, active: 0, queued: 4, backlog: 8, name_len: 12 } as const;

/** One socket descriptor of this process and its inode. */
export const SOCKET_FD = { size: 8, fd: 0, inode: 4 } as const;

/** Every record by its name in zig/src/records.zig. */
export const RECORDS = {
  Mapping: MAPPING,
  ListenerFigures: LISTENER_FIGURES,
  TcpListener: TCP_LISTENER,
  UnixListener: UNIX_LISTENER,
  SocketFd: SOCKET_FD,
} as const;
