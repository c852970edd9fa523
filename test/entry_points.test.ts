/**
 * What each entry point loads: `mod.ts` only the core (no app folder, no
 * Hono), as Deno resolves its import closure.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";

const ROOT = new URL("..", import.meta.url).pathname;
const DENO = `${ROOT}node_modules/.bin/deno`;
const APP_FOLDERS = ["src/middleware/", "src/server/", "src/http/", "src/last_data_recv/", "src/watcher/", "src/cli/"];

/** The files and packages in the import closure of `entry`, relative to the repository. */
function closure(entry: string): string[] {
  const out = execFileSync(DENO, ["info", "--json", entry], { cwd: ROOT, encoding: "utf8" });
  const info: { modules: { specifier: string }[] } = JSON.parse(out);
  return info.modules.map((m) => m.specifier.replace(`file://${ROOT}`, ""));
}

test("the import closure of mod.ts holds no app file and no Hono", () => {
  const files = closure("mod.ts");
  assert.ok(files.includes("src/raindrops.ts") && files.includes("src/exposition/prom_client.ts"), files.join("\n"));
  for (const f of files) {
    assert.ok(!APP_FOLDERS.some((dir) => f.startsWith(dir)), `mod.ts loads the app file ${f}`);
    assert.doesNotMatch(f, /hono/, `mod.ts loads ${f}`);
  }
});

test("hono.ts leads to Hono (the check above can see it)", () => {
  assert.ok(closure("hono.ts").some((f) => /hono/.test(f) && f !== "hono.ts"));
});
