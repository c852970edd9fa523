/**
 * The CLI's command-line arguments, read with standard APIs on every
 * runtime.
 *
 * @module
 */
import { readFileSync } from "node:fs";
import process from "node:process";

/**
 * The arguments after the script, exactly as given. Bun drops a `--` that
 * directly follows the script from `process.argv`, so `script -- -d` would
 * read `-d` as an option; the kernel's copy of the command line keeps it.
 */
export function commandLineArgs(): string[] {
  const args = process.argv.slice(2);
  let cmdline: string[];
  try {
    cmdline = readFileSync("/proc/self/cmdline", "utf8").split("\0").slice(0, -1);
  } catch {
    return args;
  }
  const at = cmdline.length - args.length - 1;
  return at > 0 && cmdline[at] === "--" ? ["--", ...args] : args;
}
