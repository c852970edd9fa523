// deno-fmt-ignore-file: one line per native function, each argument annotated
/**
 * The one description of libraindrops' C ABI, shared by both runtimes
 * (translated in ffi.ts). Each entry mirrors an `export fn` in
 * zig/src/abi.zig; test/symbols.test.ts checks this table against the
 * library's exports. Record layouts are in records.ts.
 *
 * Neutral types: `i32`/`u32`/`u64`/`usize`/`f64` numbers, `buffer` for a
 * typed array (or null) passed by pointer, `void`. 64-bit types are kept out
 * of hot calls: they cost a BigInt on Deno.
 *
 * @module
 */
import type { SymbolTable } from "./ffi.ts";

export const symbols = {
  // Shared counter memory (zig/src/shm.zig).
  rd_page_size: { args: [], returns: "u32" },
  rd_slot_size: { args: [], returns: "u32" },
  rd_map: { args: ["buffer" /* path\0 */, "usize" /* bytes */, "u32" /* zero */, "buffer" /* out MAPPING record */], returns: "i32" },
  rd_unmap: { args: ["usize" /* addr */], returns: "i32" },
  rd_grow: { args: ["buffer" /* path\0 */, "usize" /* old bytes */, "usize" /* new bytes */, "buffer" /* in/out Mapping */], returns: "i32" },
  rd_file_owner: { args: ["buffer" /* path\0 */, "buffer" /* out: owner uid, our euid (u32 each) */], returns: "i32" },
  rd_private_dir: { args: ["buffer" /* parent\0 */, "buffer" /* out path\0 */, "u32" /* out length */], returns: "i32" /* path length */ },
  rd_private_temp_dir: { args: ["buffer" /* parent\0 */, "buffer" /* out path\0 */, "u32" /* out length */], returns: "i32" /* path length */ },

  // Thread identity (zig/src/thread.zig).
  rd_thread_id: { args: [], returns: "i32" /* gettid() */ },
  rd_thread_start: { args: ["i32" /* tid */], returns: "f64" /* clock ticks since boot, or -errno */ },

  // The starting environment (zig/src/environ.zig), for variables Deno hides without --allow-env.
  rd_env_has: { args: ["buffer" /* name\0 */], returns: "i32" /* 1: the process started with it set, 0: not */ },

  // sock_diag (zig/src/netlink.zig, tcp_listeners.zig, unix_diag.zig, tcp_info.zig).
  // Addresses are 20-byte records (src/linux/address.ts); `scratch` is the
  // caller's receive buffer (>= 32 KiB); record outputs are typed-array
  // buffers (aligned). Results: counts, or -errno.
  rd_diag_open: { args: [], returns: "i32" /* fd */ },
  rd_diag_close: { args: ["i32" /* fd */], returns: "i32" },
  rd_diag_shared: { args: [], returns: "i32" /* the process's shared fd */ },
  rd_tcp_listener_stats: {
    args: ["i32" /* fd */, "buffer" /* query */, "u32", "buffer" /* out: LISTENER_FIGURES, or TCP_LISTENER for all */, "u32", "buffer" /* scratch */, "u32"],
    returns: "i32", // records written
  },
  rd_unix_listener_stats: {
    args: ["i32" /* fd */, "buffer" /* NUL-separated names */, "u32", "buffer" /* out: LISTENER_FIGURES, or UNIX_LISTENER + name for all */, "u32", "buffer" /* scratch */, "u32"],
    returns: "i32", // records written
  },
  rd_tcp_info_by_addr: {
    args: ["i32" /* fd */, "buffer" /* local */, "buffer" /* remote */, "buffer" /* out */, "u32", "buffer" /* scratch */, "u32"],
    returns: "i32", // bytes of tcp_info the kernel returned
  },
  rd_tcp_info_by_remote: {
    args: ["i32" /* fd */, "buffer" /* remote */, "u32" /* local port or 0 */, "buffer" /* local: hint in, found out */, "buffer" /* inode out, or null */, "buffer" /* out */, "u32", "buffer" /* scratch */, "u32"],
    returns: "i32", // bytes of tcp_info the kernel returned
  },
  rd_tcp_info_fd: { args: ["i32" /* socket fd */, "buffer" /* out */, "u32"], returns: "i32" /* bytes */ },
  rd_tcp_info_fd_checked: { args: ["i32" /* socket fd */, "u32" /* its inode */, "buffer" /* out */, "u32"], returns: "i32" /* bytes */ },
  rd_socket_fds: { args: ["buffer" /* out: SOCKET_FD records */, "u32"], returns: "i32" /* sockets */ },
  rd_tcp_local_port: { args: ["i32" /* socket fd */, "u32" /* 1 listening, 0 connected */], returns: "i32" /* port */ },
  rd_tcp_ends: { args: ["i32" /* socket fd */, "buffer" /* out: local, remote address records */], returns: "i32" /* 0 */ },

  rd_tcp_syn_recv: { args: ["i32" /* fd */, "buffer" /* query: addr20 records */, "u32", "buffer" /* out: u32 per record */, "u32", "buffer" /* scratch */, "u32"], returns: "i32" /* records written */ }, // zig/src/syn_recv.zig

  rd_tcp_listen_queued: { args: ["i32" /* fd */, "buffer" /* query: addr20 records */, "u32", "buffer" /* out: u32 per record */, "u32", "buffer" /* scratch */, "u32"], returns: "i32" /* records written */ }, // zig/src/listen_queue.zig
  rd_monotonic_ms: { args: [], returns: "f64" /* CLOCK_MONOTONIC in ms */ }, // zig/src/clock.zig

  // Connection arrivals at this process's listeners (zig/src/arrivals.zig).
  rd_arrivals_open: { args: ["buffer" /* listener fds, i32 each */, "u32" /* bytes */], returns: "i32" /* handle */ },
  rd_arrivals_take: { args: ["i32" /* handle */], returns: "i32" /* 1: some arrived since the last call, 0: none */ },
  rd_arrivals_close: { args: ["i32" /* handle */], returns: "i32" },

  // For test/records.test.ts only: the layout of every record, as text.
  rd_abi_layout: { args: ["buffer" /* out */, "u32"], returns: "i32" /* text length */ },
} as const satisfies SymbolTable;

export type Symbols = typeof symbols;
