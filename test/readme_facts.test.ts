/**
 * Sentences of the README checked against what the package does: each test
 * quotes the README and runs the code it describes.
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { Hono } from "hono";
import { raindrops } from "../src/middleware/middleware.ts";
import { WorkerStats } from "../src/worker_stats.ts";
import { RUNTIMES, scriptArgs, tempShm } from "./_helpers.ts";
import { hostRuntime } from "./fixtures/host_runtime.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const README = readFileSync(join(ROOT, "README.md"), "utf8");
const DIR = join(ROOT, "test-output", `readme-facts-${hostRuntime}-${process.pid}`);
mkdirSync(DIR, { recursive: true });
after(() => rmSync(DIR, { recursive: true, force: true }));

/** Asserts the README holds `text`, whatever its line breaks. */
function says(text: string): void {
  const flat = README.replace(/\s+/g, " ");
  assert.ok(flat.includes(text.replace(/\s+/g, " ")), `README does not say: ${text}`);
}

test("the default stats path is /dev/shm/raindrops-<uid>/<script>-<hash>, as the README says", () => {
  says("else `/dev/shm/raindrops-<uid>/<name>`");
  says("(`/dev/shm/raindrops-1000/app-3f2a9c01` for `app.ts`)");
  const app = join(DIR, "app.ts");
  writeFileSync(app, `import { defaultStatsPath } from "${ROOT}src/stats_path.ts";\nconsole.log(defaultStatsPath());\n`);
  const env = { ...process.env };
  delete env.RAINDROPS_STATS;
  const r = spawnSync(RUNTIMES[hostRuntime], scriptArgs(hostRuntime, app), { env, encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout.trim(), new RegExp(`^/dev/shm/raindrops-${process.geteuid!()}/app-[0-9a-f]{8}$`));
});

test("a route registered before the middleware is not counted, and hides the stats path it matches", async () => {
  says("a route registered before the middleware answers without it: its requests are not counted");
  using tmp = tempShm("readme-order");
  const local = { remoteAddr: { hostname: "127.0.0.1", port: 1 } };
  let during = "";
  const app = new Hono();
  app.get("/early", async (c) => {
    during = await (await app.request("/_raindrops", {}, local)).text();
    return c.text("early");
  });
  app.use(raindrops({ stats: tmp.path }));
  app.get("/late", async (c) => c.text(await (await app.request("/_raindrops", {}, local)).text()));
  await app.request("/early", {}, local);
  assert.match(during, /^calling: 0$/m);
  assert.match(await (await app.request("/late", {}, local)).text(), /^calling: 1$/m);
  const hiding = new Hono().get("*", (c) => c.text("catch-all")).use(raindrops({ stats: tmp.path }));
  assert.equal(await (await hiding.request("/_raindrops", {}, local)).text(), "catch-all");
  WorkerStats.open(tmp.path).release();
});
