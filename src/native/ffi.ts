/**
 * The only place that knows which runtime we are on. It turns the neutral
 * symbol table into `Deno.dlopen`, `bun:ffi` or `node:ffi` form and wraps
 * foreign memory in an ArrayBuffer; the rest of raindrops calls these
 * functions unaware.
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

/** An environment variable as the runtime lets us read it. */
export type EnvRead =
  | { readonly value: string | undefined }
  /** Not readable without a permission: `flag` grants it. */
  | { readonly value: undefined; readonly deniedFlag: string };

/** What differs between Deno, Bun and Node.js, behind one interface. */
export interface Runtime {
  readonly name: "deno" | "bun" | "node";
  /** Opens a shared library and binds the given symbols. */
  open<S extends SymbolTable>(path: string, table: S): NativeLibrary<S>;
  /** An ArrayBuffer over `bytes` of foreign memory at `address`, not a copy. */
  arrayBufferAt(address: number, bytes: number): ArrayBuffer;
  /** An environment variable, or the flag that would let us read it. */
  env(name: string): EnvRead;
  /** The command-line flag a refusal of `open` asks for (`--allow-ffi`), if it was one. */
  deniedFlag(error: unknown): string | undefined;
}

// deno-lint-ignore no-explicit-any
type Any = any;
const g = globalThis as Any;

/** Each runtime's name for each neutral type. */
const TYPE_NAMES: Record<Runtime["name"], Record<NativeType, string>> = {
  deno: { i32: "i32", u32: "u32", u64: "u64", usize: "usize", f64: "f64", buffer: "buffer", void: "void" },
  // Bun's "ptr" accepts a typed array or null; its "buffer" rejects null.
  bun: { i32: "i32", u32: "u32", u64: "u64", usize: "usize", f64: "f64", buffer: "ptr", void: "void" },
  node: { i32: "int32", u32: "uint32", u64: "uint64", usize: "uint64", f64: "float64", buffer: "buffer", void: "void" },
};

/**
 * The symbol table in one runtime's dlopen form: `form` shapes one function
 * from its argument and result type names.
 */
function dlopenSpecs(
  table: SymbolTable,
  runtime: Runtime["name"],
  form: (args: string[], returns: string) => unknown,
): Record<string, unknown> {
  const names = TYPE_NAMES[runtime];
  const specs: Record<string, unknown> = {};
  for (const [name, s] of Object.entries(table)) specs[name] = form(s.args.map((t) => names[t]), names[s.returns]);
  return specs;
}

/**
 * Binds a runtime's functions to the neutral conventions: usize results as
 * numbers (addresses and sizes fit one), and, where the runtime takes only
 * bigints for 64-bit arguments (`bigintArgs`), numbers converted. Functions
 * that need neither are returned as they are.
 */
function bindNeutral(table: SymbolTable, functions: Any, bigintArgs: boolean): Any {
  const symbols: Record<string, (...a: unknown[]) => unknown> = {};
  for (const [name, s] of Object.entries(table)) {
    const fn = functions[name];
    const wide = bigintArgs ? s.args.flatMap((t, i) => (t === "u64" || t === "usize" ? [i] : [])) : [];
    const toNumber = s.returns === "usize";
    symbols[name] = wide.length === 0 && !toNumber ? fn : (...a) => {
      for (const i of wide) a[i] = BigInt(a[i] as number | bigint);
      const result = fn(...a);
      return toNumber ? Number(result) : result;
    };
  }
  return symbols;
}

function bunRuntime(): Runtime {
  // Bun's synchronous import.meta.require, with a variable specifier so that
  // Deno's type checker never resolves bun:ffi.
  const specifier = "bun:ffi";
  const ffi = (import.meta as Any).require(specifier);
  return {
    name: "bun",
    open(path, table) {
      const lib = ffi.dlopen(path, dlopenSpecs(table, "bun", (args, returns) => ({ args, returns })));
      return { symbols: lib.symbols, close: () => lib.close() };
    },
    arrayBufferAt: (address, bytes) => ffi.toArrayBuffer(address, 0, bytes),
    env: (name) => ({ value: g.process?.env?.[name] }),
    deniedFlag: () => undefined,
  };
}

/** The flag named by Deno's "run again with the --allow-… flag", for a refusal. */
function denoDeniedFlag(error: unknown): string | undefined {
  if (!(error instanceof g.Deno.errors.NotCapable || error instanceof g.Deno.errors.PermissionDenied)) return undefined;
  return /run again with the (--allow-[a-z-]+) flag/.exec((error as Error).message)?.[1] ?? "--allow-ffi";
}

function denoRuntime(): Runtime {
  const Deno = g.Deno;
  return {
    name: "deno",
    open(path, table) {
      const lib = Deno.dlopen(path, dlopenSpecs(table, "deno", (parameters, result) => ({ parameters, result })));
      return { symbols: bindNeutral(table, lib.symbols, false), close: () => lib.close() };
    },
    arrayBufferAt: (address, bytes) =>
      Deno.UnsafePointerView.getArrayBuffer(Deno.UnsafePointer.create(BigInt(address)), bytes),
    env: (name) => {
      try {
        return { value: Deno.env.get(name) };
      } catch (e) {
        const flag = denoDeniedFlag(e);
        if (flag === undefined) throw e;
        return { value: undefined, deniedFlag: `--allow-env=${name}` };
      }
    },
    deniedFlag: denoDeniedFlag,
  };
}

/** The first Node.js major version whose node:ffi raindrops uses. */
const NODE_FFI_MAJOR = 26;

/**
 * Node.js 26 and later: node:ffi, loaded synchronously. Its 64-bit
 * arguments take bigints only; `toArrayBuffer(…, false)` views memory
 * without copying.
 */
function nodeRuntime(version: string): Runtime {
  const ffi = g.process.getBuiltinModule?.("node:ffi");
  if (!ffi) throw nodeWithoutFfi(version);
  return {
    name: "node",
    open(path, table) {
      const lib = ffi.dlopen(
        path,
        dlopenSpecs(table, "node", (args, returns) => ({ arguments: args, return: returns })),
      );
      return { symbols: bindNeutral(table, lib.functions, true), close: () => lib.lib.close() };
    },
    arrayBufferAt: (address, bytes) => ffi.toArrayBuffer(BigInt(address), bytes, false),
    env: (name) => ({ value: g.process.env[name] }),
    // Under --permission, node:ffi refuses with ERR_ACCESS_DENIED until --allow-ffi.
    deniedFlag: (error) => (error as { code?: unknown })?.code === "ERR_ACCESS_DENIED" ? "--allow-ffi" : undefined,
  };
}

/** Why this Node.js has no node:ffi, and what runs raindrops. */
function nodeWithoutFfi(version: string): NativeLibraryError {
  const major = Number(version.split(".")[0]);
  return new NativeLibraryError(
    major >= NODE_FFI_MAJOR
      ? `node:ffi is turned off in Node.js ${version}: raindrops loads its native library with it; ` +
        "remove --no-experimental-ffi from the command line or NODE_OPTIONS"
      : `Node.js ${version} has no node:ffi, which raindrops loads its native library with: ` +
        `use Node.js ${NODE_FFI_MAJOR} or later (node:ffi is on there unless --no-experimental-ffi is given), ` +
        "or Deno 2 or Bun 1.1 or later",
  );
}

let current: Runtime | undefined;

/**
 * The runtime adapter, created on first use. Bun is checked first: test
 * shims may define `globalThis.Deno` on Bun, and Deno and Bun both define
 * `process.versions.node`. Anything else is a NativeLibraryError saying
 * what raindrops runs on.
 */
export function runtime(): Runtime {
  if (current) return current;
  const node = g.process?.versions?.node;
  if (typeof g.Bun !== "undefined") current = bunRuntime();
  else if (typeof g.Deno?.dlopen === "function") current = denoRuntime();
  else if (typeof node === "string") current = nodeRuntime(node);
  else {
    throw new NativeLibraryError(
      "unsupported runtime: raindrops runs on Deno (2 or later), Bun (1.1 or later) and Node.js " +
        `(${NODE_FFI_MAJOR} or later), whose FFI (Deno.dlopen, bun:ffi, node:ffi) it uses`,
    );
  }
  return current;
}
