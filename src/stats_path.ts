/**
 * Where the middleware's shared stats file lives when no `stats` option
 * says: one name per user and main script, so workers started separately
 * from the same script find the same file.
 *
 * @module
 */
import process from "node:process";
import { choosingVariable } from "./native/environment.ts";
import { runsInProcess } from "./native/library.ts";
import { privateDir } from "./private_dir.ts";

/** 32-bit FNV-1a of a string, as 8 hex digits. */
function fnv1a(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return (h >>> 0).toString(16).padStart(8, "0");
}

/**
 * The stats file used when `stats` is not given: `$RAINDROPS_STATS` if set
 * (on Deno a set one that `--allow-env` does not grant is a RaindropsError
 * naming the flag, code `NOT_CAPABLE`, rather than passing for unset);
 * else `<name>` in this user's private directory (see {@link privateDir}),
 * with `name` from the option, defaulting to `<script>-<hash>` of the main
 * script (`process.argv[1]`), so every worker started from the same script
 * by the same user shares one file and no other user can plant it. When
 * raindrops runs in-process (no native library, see `RAINDROPS_NATIVE`),
 * the directory is `in-process`: a name for this process's own memory,
 * not a file.
 *
 * @example
 * ```ts
 * defaultStatsPath("shop"); // "/dev/shm/raindrops-1000/shop" (unless RAINDROPS_STATS is set)
 * defaultStatsPath();       // e.g. "/dev/shm/raindrops-1000/server-3f2a9c01"
 * ```
 */
export function defaultStatsPath(name?: string): string {
  const fromEnv = choosingVariable("RAINDROPS_STATS", "the stats file every worker shares");
  if (fromEnv) return fromEnv;
  if (name !== undefined) {
    if (typeof name !== "string") throw new TypeError(`name must be a string, got ${typeof name}`);
    if (!/^[\w.-]{1,200}$/.test(name)) throw new RangeError(`name must be 1 to 200 of [A-Za-z0-9_.-], got "${name}"`);
    return `${statsDir()}/${name}`;
  }
  const script = process.argv[1] ?? "main";
  const base = script.split("/").pop()!.replace(/\.[^.]*$/, "").replace(/[^\w.-]/g, "_").slice(0, 60) || "main";
  return `${statsDir()}/${base}-${fnv1a(script)}`;
}

/** The directory of default stats files: this user's private one, or `in-process` with no library. */
function statsDir(): string {
  return runsInProcess() ? "in-process" : privateDir();
}
