/**
 * raindrops-exporter watching a server nobody here wrote: Debian's
 * `unicorn` (the Ruby gem's home) with one slow worker and a listen backlog
 * of 16 on loopback, loaded by `wrk` until its accept queue builds, and a
 * real Prometheus scraping the exporter. Skips only when unicorn, wrk or
 * prometheus is not installed (Debian packages unicorn, wrk, prometheus).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import process from "node:process";
import { availableParallelism } from "node:os";
import { type RuntimeName, RUNTIMES } from "./_helpers.ts";
import { startExporter } from "./fixtures/exporter_process.ts";
import { freePort, startPrometheus } from "../prometheus/local_prometheus.ts";

const UNICORN = new URL("./fixtures/unicorn/", import.meta.url).pathname;

function installed(cmd: string, arg: string): boolean {
  return !spawnSync(cmd, [arg], { stdio: "ignore" }).error;
}

/** Ends a child we started, by its PID, and waits (bounded) for it. */
async function end(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  process.kill(child.pid!, signal);
  const t = setTimeout(() => child.exitCode === null && process.kill(child.pid!, "SIGKILL"), 10_000);
  await exited;
  clearTimeout(t);
}

/** Polls `probe` until it returns true (bounded by `ms`). */
async function until(probe: () => Promise<boolean>, ms: number, what: () => string): Promise<void> {
  const stop = Date.now() + ms;
  while (!(await probe())) {
    if (Date.now() > stop) throw new Error(`timed out after ${ms} ms: ${what()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

for (const rt of Object.keys(RUNTIMES) as RuntimeName[]) {
  test(`${rt}: Prometheus scraping the exporter sees unicorn's accept queue build under wrk`, {
    timeout: 120_000,
  }, async (t) => {
    const missing = [["unicorn", "-v"], ["wrk", "-v"], ["prometheus", "--version"]].filter(([c, a]) =>
      !installed(c, a)
    );
    if (missing.length) {
      t.skip(`not installed: ${missing.map(([c]) => c).join(", ")} (Debian packages unicorn, wrk, prometheus)`);
      return;
    }
    const listen = `127.0.0.1:${await freePort()}`;
    const unicorn = spawn("unicorn", ["-c", `${UNICORN}unicorn.conf.rb`, `${UNICORN}config.ru`], {
      env: { ...process.env, UNICORN_LISTEN: listen, UNICORN_BACKLOG: "16", SLOW_APP_SECONDS: "0.05" },
      stdio: ["ignore", "ignore", "pipe"],
      cwd: UNICORN,
    });
    let unicornLog = "";
    unicorn.stderr!.on("data", (d) => (unicornLog = (unicornLog + d).slice(-4000)));
    let wrk: ChildProcess | undefined;
    try {
      await until(
        async () => {
          try {
            return (await (await fetch(`http://${listen}/`)).text()) === "slow\n";
          } catch {
            return false;
          }
        },
        30_000,
        () => unicornLog,
      );
      await using exporter = await startExporter(rt, ["--peak.interval=0.1", listen]);
      const prom = await startPrometheus({ targets: [exporter.address], metricsPath: "/metrics", interval: "1s" });
      try {
        const value = async (expr: string) => {
          const r = await prom.query(expr);
          return r.length ? Number(r[0].value[1]) : undefined;
        };
        await until(async () => (await value("up")) === 1, 20_000, () => exporter.stderr());
        // 64 connections against one worker that takes 50 ms a request: the queue holds the rest.
        wrk = spawn("wrk", ["-t", "2", "-c", "64", "-d", "60s", `http://${listen}/`], { stdio: "ignore" });
        const sel = `{listener="${listen}"}`;
        let seen = "";
        await until(
          async () => {
            const q = await value(`raindrops_listener_queued_connections${sel}`);
            seen = `queued ${q}`;
            return q !== undefined && q > 0;
          },
          30_000,
          () => seen,
        );
        const peak = await value(`raindrops_listener_queued_connections_max${sel}`);
        assert.ok(peak !== undefined && peak > 0, `queued_max ${peak}`);
        // The kernel lets the queue reach backlog + 1, and checks that limit
        // without a lock, so each CPU completing a handshake at once may pass it.
        const most = 16 + 1 + availableParallelism();
        assert.ok(peak <= most, `queued_max ${peak} beyond the backlog of 16 (+1, +1 a CPU the kernel allows)`);
        assert.equal(await value(`raindrops_listener_backlog_connections${sel}`), 16);
        // unicorn's worker closes each connection before it accepts the next: a scrape can fall between.
        await until(
          async () => ((await value(`raindrops_listener_active_connections${sel}`)) ?? 0) >= 1,
          10_000,
          () => "active stayed 0",
        );
        assert.equal(await value(`raindrops_exporter_build_info`), 1);
        assert.ok((await value(`raindrops_exporter_scrape_duration_seconds`))! >= 0);
        assert.equal(await value("up"), 1);
      } finally {
        if (wrk) await end(wrk, "SIGINT");
        await prom.stop();
      }
    } finally {
      if (wrk) await end(wrk, "SIGKILL");
      await end(unicorn, "SIGQUIT"); // unicorn's graceful stop: the master ends its worker
    }
  });
}
