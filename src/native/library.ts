/**
 * Finds and opens libraindrops.so on first use, so importing raindrops for
 * its types loads no native code.
 *
 * @module
 */
import { NativeLibraryError } from "../errors.ts";
import { type Bound, runtime } from "./ffi.ts";
import { type Symbols, symbols } from "./symbols.ts";

/** The local build, relative to this file. */
const LOCAL_BUILD = new URL("../../zig/zig-out/lib/libraindrops.so", import.meta.url);

/** The command that builds the library, shown when it is missing. */
export const BUILD_COMMAND = "make build";

let loaded: Bound<Symbols> | undefined;

/**
 * Paths to try: `RAINDROPS_LIB` alone when set (an explicit choice never
 * falls back silently to another build), else the local build.
 */
export function libraryCandidates(): string[] {
  const fromEnv = runtime().env("RAINDROPS_LIB");
  return fromEnv ? [fromEnv] : [decodeURIComponent(LOCAL_BUILD.pathname)];
}

/** The bound native functions, loading the library on the first call. */
export function native(): Bound<Symbols> {
  if (loaded) return loaded;
  const failures: string[] = [];
  for (const path of libraryCandidates()) {
    try {
      loaded = runtime().open(path, symbols).symbols;
      return loaded;
    } catch (e) {
      failures.push(`  ${path}: ${(e as Error).message}`);
    }
  }
  throw new NativeLibraryError(
    `cannot load libraindrops.so; tried:\n${failures.join("\n")}\n` +
      `build it with \`${BUILD_COMMAND}\` or set RAINDROPS_LIB to its path`,
  );
}
