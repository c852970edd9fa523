/**
 * Finds and opens libraindrops.so on first use, so importing raindrops for
 * its types loads no native code.
 *
 * @module
 */
import process from "node:process";
import { NativeLibraryError, NativeUnavailableError } from "../errors.ts";
import { type Bound, runtime } from "./ffi.ts";
import { type Symbols, symbols } from "./symbols.ts";

/** The CPUs the package ships a library for, as Zig names them. */
export const PACKAGED_TARGETS = ["x86_64-linux", "aarch64-linux"] as const;

/** This machine as Zig names a target: `x86_64-linux`, `aarch64-linux`, … */
export function hostTarget(): string {
  const cpu = ({ x64: "x86_64", arm64: "aarch64" } as Record<string, string>)[process.arch] ?? process.arch;
  return `${cpu}-${process.platform}`;
}

/** The library an installed package carries for this CPU, next to the package's modules. */
function packagedLibrary(): URL {
  return new URL(`../../native/${hostTarget()}/libraindrops.so`, import.meta.url);
}

/** The local build of a clone, relative to this file. */
const LOCAL_BUILD = new URL("../../zig/zig-out/lib/libraindrops.so", import.meta.url);

/** The command that builds the library in a clone, shown when it is missing. */
export const BUILD_COMMAND = "make build";

let loaded: Bound<Symbols> | undefined;

/** A file URL as a path; other URLs (a compiled binary's virtual files) as they are. */
function pathOf(url: URL): string {
  return url.protocol === "file:" ? decodeURIComponent(url.pathname) : url.href;
}

/**
 * How this copy of raindrops was installed: inside a compiled program or
 * fetched from a URL (no library file can sit beside it), as the npm
 * package (compiled JavaScript), or as a clone of the repository (the
 * TypeScript sources).
 */
export function installation(): "compiled" | "package" | "clone" {
  const here = new URL(import.meta.url);
  // A compiled program's modules live in a virtual file system: Bun's
  // /$bunfs/, Deno's /tmp/deno-compile-<name>/.
  if (here.protocol !== "file:" || /\/\$bunfs\/|\/deno-compile-/.test(decodeURIComponent(here.pathname))) {
    return "compiled";
  }
  return here.pathname.endsWith(".js") ? "package" : "clone";
}

/** The paths to try and what keeps `RAINDROPS_LIB` from being one of them. */
interface Candidates {
  readonly paths: string[];
  /** The flag without which `RAINDROPS_LIB` could not be read, if that happened. */
  readonly envDenied?: string;
}

/**
 * Paths to try, in order: the library packaged for this CPU next to the
 * modules, then `RAINDROPS_LIB` when set, else (in a clone only) the local
 * build. An explicit `RAINDROPS_LIB` never falls back silently to the local
 * build.
 */
export function libraryCandidates(): Candidates {
  const fromEnv = runtime().env("RAINDROPS_LIB");
  const paths = [pathOf(packagedLibrary())];
  if (fromEnv.value) paths.push(fromEnv.value);
  else if (installation() === "clone") paths.push(pathOf(LOCAL_BUILD));
  return "deniedFlag" in fromEnv ? { paths, envDenied: fromEnv.deniedFlag } : { paths };
}

/** What to do when no candidate loads, for the way raindrops was installed. */
function advice(): string {
  switch (installation()) {
    case "compiled":
      return "raindrops is running from a compiled binary or a remote URL, where no library file sits beside it: " +
        "ship libraindrops.so with your program and set RAINDROPS_LIB to its absolute path";
    case "package": {
      const target = hostTarget();
      return (PACKAGED_TARGETS as readonly string[]).includes(target)
        ? `the package's library for ${target} did not load (see its error above); ` +
          "reinstall the package, or build libraindrops.so with Zig and set RAINDROPS_LIB to its path"
        : `this package carries libraries for ${PACKAGED_TARGETS.join(" and ")}, not ${target}: ` +
          "build libraindrops.so from the package's repository with Zig and set RAINDROPS_LIB to its path";
    }
    case "clone":
      return `in a clone of the repository, build it with \`${BUILD_COMMAND}\`, or set RAINDROPS_LIB to its path`;
  }
}

/**
 * The closing lines of the error: a permission the runtime refused names
 * its flag (nothing else would help), an unreadable `RAINDROPS_LIB` names
 * the flag that reads it, else the advice for the installation.
 */
function summary(refusedFlag: string | undefined, envDenied: string | undefined): string {
  const name = runtime().name;
  if (refusedFlag) {
    const how = name === "node" ? `node --permission ${refusedFlag}` : `deno run ${refusedFlag}`;
    return `${name === "node" ? "Node.js" : "Deno"} refused to load a native library: ` +
      `grant it with ${refusedFlag} (\`${how} …\`)`;
  }
  const env = envDenied
    ? `RAINDROPS_LIB could not be read: Deno grants environment variables only with --allow-env; ` +
      `if you set it, add ${envDenied}\n`
    : "";
  return env + advice();
}

/**
 * Why raindrops runs in-process (see {@link runsInProcess}), once it was
 * decided; undefined while the library may still load or has loaded.
 */
let inProcessReason: string | undefined;

/** Set by {@link fakeNoBuildForPlatform}: a fake, for tests on Linux, of a platform with no build. */
let fakedNoBuild = false;

/**
 * A fake for tests: from now on this process behaves as on a platform the
 * library has no build for (macOS, Windows): no library is tried, and the
 * default of `RAINDROPS_NATIVE` is `optional`. Call it before anything
 * loads the library.
 */
export function fakeNoBuildForPlatform(): void {
  if (loaded) throw new Error("fakeNoBuildForPlatform() must be called before the native library loads");
  fakedNoBuild = true;
}

/** True where libraindrops can exist at all: Linux (netlink, /proc), unless faked away. */
function platformHasBuild(): boolean {
  return process.platform === "linux" && !fakedNoBuild;
}

/**
 * `RAINDROPS_NATIVE`: `required` (a library that does not load is a
 * NativeLibraryError) or `optional` (raindrops runs in-process instead);
 * unset, or not readable (Deno without `--allow-env`), `required` on
 * Linux and `optional` elsewhere.
 */
function nativeSetting(): "required" | "optional" {
  let value: string | undefined;
  try {
    value = runtime().env("RAINDROPS_NATIVE").value;
  } catch {
    value = undefined; // no supported runtime: its own error says so
  }
  if (value !== undefined && value !== "" && value !== "required" && value !== "optional") {
    throw new RangeError(`RAINDROPS_NATIVE must be "required" or "optional", got "${value}"`);
  }
  return value || (platformHasBuild() ? "required" : "optional");
}

/** Opens the library from the first candidate that loads; a NativeLibraryError saying why none did. */
function load(): Bound<Symbols> {
  if (!platformHasBuild()) {
    const platform = fakedNoBuild ? `${process.platform} (faked: fakeNoBuildForPlatform)` : process.platform;
    throw new NativeLibraryError(
      `libraindrops has no build for ${platform}: it reads Linux's netlink sock_diag and /proc, ` +
        "so shared counter files and listener statistics need Linux",
    );
  }
  const failures: string[] = [];
  const { paths, envDenied } = libraryCandidates();
  let refusedFlag: string | undefined;
  for (const path of paths) {
    try {
      return runtime().open(path, symbols).symbols;
    } catch (e) {
      refusedFlag ??= runtime().deniedFlag(e);
      failures.push(`  ${path}: ${(e as Error).message}`);
    }
  }
  throw new NativeLibraryError(
    `cannot load libraindrops.so; tried:\n${failures.join("\n")}\n${summary(refusedFlag, envDenied)}`,
  );
}

/**
 * The bound native functions, loading the library on the first call.
 * Throws NativeLibraryError when it does not load, or, once raindrops runs
 * in-process, NativeUnavailableError (listener stats, TCP_INFO and the
 * other kernel facts have no in-process stand-in).
 */
export function native(): Bound<Symbols> {
  if (loaded) return loaded;
  if (inProcessReason === undefined) {
    try {
      return loaded = load();
    } catch (e) {
      if (!(e instanceof NativeLibraryError)) throw e;
      if (nativeSetting() === "required") throw e;
      inProcessReason = e.message;
      console.warn(
        `raindrops: running in-process, without its native library (RAINDROPS_NATIVE=optional${
          process.platform === "linux" && !fakedNoBuild ? "" : ", the default off Linux"
        }): counters and stats files are this process's own memory, shared with no other process or ` +
          `thread, and listener statistics are unavailable. Why: ${inProcessReason}`,
      );
    }
  }
  throw new NativeUnavailableError(inProcessReason);
}

/**
 * True when raindrops runs without its native library, on memory of its
 * own (see `RAINDROPS_NATIVE`); loads the library on the first call.
 */
export function runsInProcess(): boolean {
  if (loaded) return false;
  try {
    native();
    return false;
  } catch (e) {
    if (e instanceof NativeUnavailableError) return true;
    throw e;
  }
}
