/**
 * The one description of libraindrops' C ABI, shared by both runtimes
 * (translated in ffi.ts). Each entry mirrors an `export fn` in zig/src;
 * test/symbols.test.ts checks this table against the library's exports.
 *
 * Neutral types: `i32`/`u32`/`u64`/`usize`/`f64` numbers, `buffer` for a
 * typed array (or null) passed by pointer, `void`. 64-bit types are kept out
 * of hot calls: they cost a BigInt on Deno.
 *
 * @module
 */
import type { SymbolTable } from "./ffi.ts";

export const symbols = {
  // zig/src/shm.zig: shared counter memory
  rd_page_size: { args: [], returns: "u32" },
  rd_slot_size: { args: [], returns: "u32" },
  rd_map: { args: ["buffer" /* path\0 or null */, "usize" /* bytes */, "u32" /* zero */, "buffer" /* out addr u64 */], returns: "i32" },
  rd_unmap: { args: ["usize" /* addr */, "usize" /* bytes */], returns: "i32" },
  rd_grow: { args: ["buffer" /* path\0 or null */, "usize" /* addr */, "usize" /* old bytes */, "usize" /* new bytes */, "buffer" /* out addr u64 */], returns: "i32" },
  rd_add: { args: ["usize" /* addr */, "u32" /* slot */, "u32" /* index */, "u64" /* delta */], returns: "u64" },
  rd_sub: { args: ["usize", "u32", "u32", "u64"], returns: "u64" },
  rd_load: { args: ["usize", "u32", "u32"], returns: "u64" },
  rd_store: { args: ["usize", "u32", "u32", "u64" /* value */], returns: "void" },
} as const satisfies SymbolTable;

export type Symbols = typeof symbols;
