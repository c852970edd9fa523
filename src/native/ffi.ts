/**
 * The only place that knows which runtime we are on. It turns the neutral
 * symbol table into `Deno.dlopen` or `bun:ffi` form and wraps foreign memory
 * in an ArrayBuffer; the rest of raindrops calls these functions unaware.
 *
 * @module
 */
import { NativeLibraryError } from "../errors.ts";

/** A C type in the neutral symbol table. */
export type NativeType = "i32" | "u32" | "u64" | "usize" | "f64" | "buffer" | "void";

/** One native function: argument and result types. */
export interface SymbolSpec {
  readonly args: readonly NativeType[];
  readonly returns: NativeType;
}

/** Every native function by name. */
export type SymbolTable = Record<string, SymbolSpec>;

/** JS value for a native argument of type `T`. */
type ArgValue<T extends NativeType> = T extends "buffer" ? ArrayBufferView | null
  : T extends "u64" | "usize" ? number | bigint
  : number;

/** JS value for a native result of type `T` (64-bit results come back as bigint). */
type ReturnValue<T extends NativeType> = T extends "void" ? void
  : T extends "u64" ? bigint
  : number;

type ArgValues<A extends readonly NativeType[]> = { [K in keyof A]: A[K] extends NativeType ? ArgValue<A[K]> : never };

/** Callable functions typed from a symbol table. */
export type Bound<S extends SymbolTable> = {
  [K in keyof S]: (...args: ArgValues<S[K]["args"]>) => ReturnValue<S[K]["returns"]>;
};

/** An open native library. */
export interface NativeLibrary<S extends SymbolTable> {
  readonly symbols: Bound<S>;
  close(): void;
}

/** What differs between Deno and Bun, behind one interface. */
export interface Runtime {
  readonly name: "deno" | "bun";
  /** Opens a shared library and binds the given symbols. */
  open<S extends SymbolTable>(path: string, table: S): NativeLibrary<S>;
  /** An ArrayBuffer over `bytes` of foreign memory at `address`. */
  arrayBufferAt(address: number, bytes: number): ArrayBuffer;
  /** An environment variable, or undefined. */
  env(name: string): string | undefined;
}

// deno-lint-ignore no-explicit-any
type Any = any;
const g = globalThis as Any;

function bunRuntime(): Runtime {
  // Bun's synchronous import.meta.require, with a variable specifier so that
  // Deno's type checker never resolves bun:ffi.
  const specifier = "bun:ffi";
  const ffi = (import.meta as Any).require(specifier);
  // Bun's "ptr" accepts a typed array or null; its "buffer" rejects null.
  const toBun = (t: NativeType) => (t === "buffer" ? "ptr" : t);
  return {
    name: "bun",
    open(path, table) {
      const specs: Record<string, unknown> = {};
      for (const [name, s] of Object.entries(table)) {
        specs[name] = { args: s.args.map(toBun), returns: toBun(s.returns) };
      }
      const lib = ffi.dlopen(path, specs);
      return { symbols: lib.symbols, close: () => lib.close() };
    },
    arrayBufferAt: (address, bytes) => ffi.toArrayBuffer(address, 0, bytes),
    env: (name) => g.process?.env?.[name],
  };
}

function denoRuntime(): Runtime {
  const Deno = g.Deno;
  return {
    name: "deno",
    open(path, table) {
      const specs: Record<string, unknown> = {};
      for (const [name, s] of Object.entries(table)) {
        specs[name] = { parameters: [...s.args], result: s.returns };
      }
      const lib = Deno.dlopen(path, specs);
      const symbols: Record<string, (...a: unknown[]) => unknown> = {};
      for (const [name, s] of Object.entries(table)) {
        const fn = lib.symbols[name];
        // Deno returns usize as bigint; addresses and sizes fit a number.
        symbols[name] = s.returns === "usize" ? (...a) => Number(fn(...a)) : fn;
      }
      return { symbols: symbols as Any, close: () => lib.close() };
    },
    arrayBufferAt: (address, bytes) =>
      Deno.UnsafePointerView.getArrayBuffer(Deno.UnsafePointer.create(BigInt(address)), bytes),
    env: (name) => {
      try {
        return Deno.env.get(name);
      } catch {
        return undefined; // no --allow-env: behave as if unset
      }
    },
  };
}

let current: Runtime | undefined;

/** The name of a runtime raindrops cannot run on, for the error. */
function unsupportedName(): string {
  const node = g.process?.versions?.node;
  return typeof node === "string" ? `Node.js ${node}` : "this JavaScript runtime";
}

/**
 * The runtime adapter, created on first use. Bun is checked first: test
 * shims may define `globalThis.Deno` on Bun. Anything else (Node.js has no
 * FFI that raindrops can use) is a NativeLibraryError saying so.
 */
export function runtime(): Runtime {
  if (current) return current;
  if (typeof g.Bun !== "undefined") current = bunRuntime();
  else if (typeof g.Deno?.dlopen === "function") current = denoRuntime();
  else {
    throw new NativeLibraryError(
      `unsupported runtime: ${unsupportedName()}; raindrops runs on Deno (2 or later) and Bun (1.1 or later), ` +
        "whose FFI (Deno.dlopen, bun:ffi) it uses",
    );
  }
  return current;
}
