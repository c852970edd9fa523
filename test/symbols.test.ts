import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { symbols } from "../src/native/symbols.ts";
import { libraryCandidates, native } from "../src/native/library.ts";

test("the symbol table lists exactly the library's exported functions", () => {
  native(); // loads (and so validates) every entry of the table
  const path = libraryCandidates().paths.at(-1)!;
  const exported = execFileSync("nm", ["-D", "--defined-only", path], { encoding: "utf8" })
    .split("\n")
    .map((line) => line.trim().split(/\s+/))
    .filter((f) => f[1] === "T" && f[2]?.startsWith("rd_"))
    .map((f) => f[2])
    .sort();
  assert.deepEqual(Object.keys(symbols).sort(), exported);
});

test("importing mod.ts loads no native code until first use", () => {
  const script = `import * as m from "${new URL("../mod.ts", import.meta.url).href}";
    const maps = Deno.readTextFileSync("/proc/self/maps");
    console.log(typeof m.Raindrops + " " + String(maps.includes("libraindrops.so")));`;
  const deno = new URL("../node_modules/.bin/deno", import.meta.url).pathname;
  const out = execFileSync(deno, ["eval", script], { encoding: "utf8" }).trim();
  assert.equal(out, "function false");
});
