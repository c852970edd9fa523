/**
 * Environment variables that choose where shared state lives. Deno lets JS
 * read one only with `--allow-env`; without it such a variable must not
 * pass for unset, or processes started with and without the flag would
 * silently use different files. Whether it is set is asked of the library
 * (the environment the process started with), never its value.
 *
 * @module
 */
import { RaindropsError } from "../errors.ts";
import { runtime } from "./ffi.ts";
import { native, runsInProcess } from "./library.ts";
import { cString } from "./memory.ts";

/**
 * The value of `name`, or undefined when it is unset. Throws a
 * RaindropsError (code `NOT_CAPABLE`) naming the flag when it is set but
 * the runtime will not let us read it; `what` says what it chooses.
 */
export function choosingVariable(name: string, what: string): string | undefined {
  const read = runtime().env(name);
  if (!("deniedFlag" in read)) return read.value;
  // In-process there is nothing shared to split, and no library to ask.
  if (runsInProcess() || native().rd_env_has(cString(name, "name")) !== 1) return undefined;
  throw new RaindropsError(
    `${name} is set, but Deno does not let raindrops read it: add ${read.deniedFlag} ` +
      `(it chooses ${what}; read as unset, processes with and without the flag would not share it)`,
    "NOT_CAPABLE",
  );
}
