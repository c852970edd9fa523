/**
 * Sentences of the README checked against what the package does: each test
 * quotes the README and runs the code it describes.
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { Hono } from "hono";
import { raindrops } from "../src/middleware/middleware.ts";
import { WorkerStats } from "../src/worker_stats.ts";
import { tcpListenerStats } from "../src/linux/listen_stats.ts";
import { nothingListens } from "../src/linux/listeners.ts";
import { freePort, rawGet, waitFor } from "./fixtures/middleware_serve.ts";
import { codeBlocks } from "./fixtures/readme.ts";
import { RUNTIMES, scriptArgs, tempShm } from "./_helpers.ts";
import { hostRuntime, onlyUnder } from "./fixtures/host_runtime.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const README = readFileSync(join(ROOT, "README.md"), "utf8");
const DIR = join(ROOT, "test-output", `readme-facts-${hostRuntime}-${process.pid}`);
mkdirSync(DIR, { recursive: true });
after(() => rmSync(DIR, { recursive: true, force: true }));

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** Asserts the README holds `text`, whatever its line breaks. */
function says(text: string): void {
  const flat = README.replace(/\s+/g, " ");
  assert.ok(flat.includes(text.replace(/\s+/g, " ")), `README does not say: ${text}`);
}

test("the default stats path is /dev/shm/raindrops-<uid>/<script>-<hash>, as the README says", () => {
  says("else `/dev/shm/raindrops-<uid>/<name>`");
  says("(`/dev/shm/raindrops-1000/app-3f2a9c01` for `app.ts`)");
  const app = join(DIR, "app.ts");
  writeFileSync(
    app,
    `import { defaultStatsPath } from "${ROOT}src/stats_path.ts";\nconsole.log(defaultStatsPath());\n`,
  );
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

// The README's sentence is about `deno serve` and `bun`; Node.js serves no default export.
if (hostRuntime !== "node") {
  test(`${hostRuntime} names its default listener as the README says; which name reads what`, async () => {
    const wildcard = hostRuntime === "bun" ? "[::]" : "0.0.0.0";
    says(
      "`deno serve app.ts` (and `Deno.serve`) bind `0.0.0.0`, port 8000; `bun app.ts` (and `Bun.serve`) bind `[::]`, port 3000, so there the lines read `[::]:3000 active: 15`",
    );
    says(
      "`127.0.0.1:P` and `0.0.0.0:P` read 0. Under a `0.0.0.0:P` listener, `127.0.0.1:P` counts the connections made to 127.0.0.1 but no queue",
    );
    const block = codeBlocks().find((b) => b.lang === "ts" && b.code.includes("app.use(raindrops());"))!;
    const file = join(DIR, "app.ts");
    writeFileSync(file, block.code.replaceAll(`from "raindrops/hono"`, `from "${ROOT}hono.ts"`));
    using tmp = tempShm("readme-listener");
    const port = await freePort();
    // As the README runs it: `deno serve app.ts` / `bun app.ts`, on a free port instead of 8000 / 3000.
    const args = hostRuntime === "deno" ? ["serve", "-A", "--port", String(port), file] : [file];
    const child = spawn(RUNTIMES[hostRuntime], args, {
      env: { ...process.env, PORT: String(port), RAINDROPS_STATS: tmp.path, NO_COLOR: "1" },
      stdio: "ignore",
    });
    try {
      let text = "";
      await waitFor(async () => {
        text = await fetch(`http://127.0.0.1:${port}/_raindrops`).then((r) => r.text(), () => "");
        return text !== "";
      }, 15_000);
      assert.match(
        text,
        new RegExp(`^${escape(`${wildcard}:${port}`)} active: 1\\n${escape(`${wildcard}:${port}`)} queued: 0$`, "m"),
      );
      // A keep-alive connection from 127.0.0.1, then the names the README compares.
      const stats = tcpListenerStats([`0.0.0.0:${port}`, `[::]:${port}`, `127.0.0.1:${port}`]);
      const active = (name: string) => stats.get(name)!.active;
      if (hostRuntime === "bun") {
        assert.ok(active(`[::]:${port}`) >= 1);
        assert.equal(active(`127.0.0.1:${port}`) + active(`0.0.0.0:${port}`), 0);
      } else {
        assert.ok(active(`127.0.0.1:${port}`) >= 1);
        assert.equal(stats.get(`127.0.0.1:${port}`)!.listeners, 0, "the queue is the wildcard's");
      }
      for (const name of [`0.0.0.0:${port}`, `[::]:${port}`, `127.0.0.1:${port}`]) {
        const unlistened = hostRuntime === "deno" && name.startsWith("[::]");
        assert.equal(
          nothingListens(name, stats.get(name)!),
          unlistened,
          `${name}: ${unlistened ? "no" : "a"} wildcard`,
        );
      }
    } finally {
      // A child that already ended fires no second close.
      if (child.exitCode === null && child.signalCode === null) {
        const closed = new Promise((r) => child.once("close", r));
        child.kill("SIGKILL");
        await closed;
      }
    }
  });
}

/** The pids of `pid`'s child processes. */
function childrenOf(pid: number): number[] {
  const path = `/proc/${pid}/task/${pid}/children`;
  return existsSync(path) ? readFileSync(path, "utf8").trim().split(/\s+/).filter(Boolean).map(Number) : [];
}

onlyUnder("bun", "the README's Bun workers share the stats file and LastDataRecv's aggregate", async () => {
  says("give it a `SharedAggregate` beside that file, else each worker answers with its own connections only");
  const block = codeBlocks().find((b) => b.lang === "ts" && b.code.includes("Bun.spawn("))!;
  const file = join(DIR, "workers.ts");
  writeFileSync(
    file,
    block.code.replaceAll(`from "raindrops/hono"`, `from "${ROOT}hono.ts"`).replaceAll(
      `from "raindrops"`,
      `from "${ROOT}mod.ts"`,
    ),
  );
  using tmp = tempShm("readme-workers");
  const port = await freePort();
  const parent = spawn(RUNTIMES.bun, [file], {
    env: { ...process.env, PORT: String(port), RAINDROPS_STATS: tmp.path },
    stdio: ["ignore", "inherit", "inherit"],
  });
  const cpus = availableParallelism();
  try {
    let json: { workers?: number; stats?: string } = {};
    const up = await waitFor(async () => {
      json = await fetch(`http://127.0.0.1:${port}/_raindrops?format=json`).then((r) => r.json(), () => ({}));
      return json.workers === cpus;
    }, 20_000);
    assert.ok(up, `workers: ${json.workers}, want ${cpus}`);
    assert.equal(json.stats, tmp.path);
    for (let i = 0; i < 6; i++) assert.equal((await rawGet(port, "/")).body, "hi");
    // Each report's own connection is recorded before it answers: a shared count rises by one each time.
    const counts: number[] = [];
    for (let i = 0; i < 4; i++) {
      counts.push(Number((await rawGet(port, "/_raindrops/last_data_recv")).headers.get("x-count")));
    }
    assert.ok(counts[0] >= 7, counts.join(" "));
    assert.deepEqual(counts, [0, 1, 2, 3].map((i) => counts[0] + i));
  } finally {
    const workers = childrenOf(parent.pid!);
    parent.kill("SIGKILL");
    await new Promise((r) => parent.once("close", r));
    for (const pid of workers) process.kill(pid, "SIGKILL");
    await waitFor(() => workers.every((pid) => !existsSync(`/proc/${pid}`)), 5000);
    rmSync(`${tmp.path}.ldr`, { force: true });
  }
});
