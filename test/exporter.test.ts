/**
 * raindrops-exporter as a process on each runtime, against real listeners
 * and a real stats file; its collector and peaks in process.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { type RuntimeName, RUNTIMES, scriptArgs, tempShm } from "./_helpers.ts";
import { closeAll, connect, HeldListener } from "./fixtures/linux_sockets.ts";
import { EXPORTER, seriesOf, startExporter } from "./fixtures/exporter_process.ts";
import { Collector } from "../src/exporter/_collector.ts";
import { WindowedPeaks } from "../src/exposition/windowed_peaks.ts";
import { serveExporter } from "../src/exporter/_server.ts";
import { parseExporterArgs, UsageError } from "../src/exporter/_options.ts";
import { kernelListenerStats } from "../src/linux/listeners.ts";
import { NativeError } from "../src/errors.ts";
import { WorkerStats } from "../src/worker_stats.ts";
import { VERSION } from "../src/version.ts";

const RUNTIME_NAMES = Object.keys(RUNTIMES) as RuntimeName[];

async function get(url: string, init?: RequestInit): Promise<{ status: number; type: string; body: string }> {
  const res = await fetch(url, init);
  return { status: res.status, type: res.headers.get("content-type") ?? "", body: await res.text() };
}

/** Polls the metrics until `ok` holds for the parsed series (bounded); returns the last body. */
async function metricsUntil(url: string, ok: (s: Map<string, number>) => boolean, ms = 10_000): Promise<string> {
  let body = "";
  const end = Date.now() + ms;
  for (;;) {
    body = (await get(`${url}/metrics`)).body;
    if (ok(seriesOf(body))) return body;
    if (Date.now() > end) throw new Error(`metrics never matched within ${ms} ms:\n${body}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function promtoolLint(body: string): string | undefined {
  const r = spawnSync("promtool", ["check", "metrics"], { input: body, encoding: "utf8" });
  return r.error ? undefined : `${r.status} ${r.stdout}${r.stderr}`;
}

function run(runtime: RuntimeName, args: string[]) {
  return spawnSync(RUNTIMES[runtime], [...scriptArgs(runtime, EXPORTER), ...args], {
    encoding: "utf8",
    timeout: 30_000,
  });
}

for (const rt of RUNTIME_NAMES) {
  test(
    `${rt}: serves a listener's queue, its _max peak after the queue drains, stats files, build info and scrape duration`,
    {
      timeout: 90_000,
    },
    async () => {
      await using held = await HeldListener.start(["tcp", "127.0.0.1"]);
      const a = `127.0.0.1:${held.port}`;
      using stats = tempShm("exporter");
      using missing = tempShm("exporter-missing");
      const worker = WorkerStats.open(stats.path);
      worker.incr(WorkerStats.CALLING);
      const clients = [];
      for (let i = 0; i < 3; i++) clients.push(await connect({ host: "127.0.0.1", port: held.port }));
      await using exporter = await startExporter(rt, [
        "--peak.interval=0.05",
        "--peak.window=60",
        `--stats=${stats.path}`,
        `--stats=${missing.path}`,
        a,
      ]);
      const q = `raindrops_listener_queued_connections{listener="${a}"}`;
      await metricsUntil(exporter.url, (s) => s.get(q) === 3);
      await held.accept(3);
      const body = await metricsUntil(exporter.url, (s) => s.get(q) === 0);
      const s = seriesOf(body);
      assert.equal(s.get(`raindrops_listener_active_connections{listener="${a}"}`), 3);
      assert.equal(s.get(`raindrops_listener_queued_connections_max{listener="${a}"}`), 3, body);
      assert.equal(s.get(`raindrops_listener_active_connections_max{listener="${a}"}`), 3, body);
      assert.ok((s.get(`raindrops_listener_backlog_connections{listener="${a}"}`) ?? 0) > 0);
      // Nothing resets on read: a second scraper sees the same peak.
      const again = seriesOf((await get(`${exporter.url}/metrics`)).body);
      assert.equal(again.get(`raindrops_listener_queued_connections_max{listener="${a}"}`), 3);
      assert.equal(s.get(`raindrops_calling_requests{stats="${stats.path}"}`), 1);
      assert.equal(s.get(`raindrops_workers{stats="${stats.path}"}`), 1);
      assert.equal(s.get(`raindrops_exporter_stats_file_up{stats="${stats.path}"}`), 1);
      assert.equal(s.get(`raindrops_exporter_stats_file_up{stats="${missing.path}"}`), 0);
      assert.equal(existsSync(missing.path), false, "the exporter created a stats file");
      assert.equal(s.get(`raindrops_exporter_build_info{version="${VERSION}"}`), 1);
      const duration = s.get("raindrops_exporter_scrape_duration_seconds")!;
      assert.ok(duration >= 0 && duration < 5, `scrape duration ${duration}`);
      assert.ok(s.get("process_cpu_seconds_total")! > 0);
      const lint = promtoolLint(body);
      if (lint !== undefined) assert.equal(lint, "0 ", `promtool check metrics:\n${lint}`);
      assert.match(exporter.stderr(), new RegExp(`stats file ${missing.path}: ENOENT`));

      const om = await get(`${exporter.url}/metrics`, {
        headers: { accept: "application/openmetrics-text;version=1.0.0" },
      });
      assert.match(om.type, /^application\/openmetrics-text; version=1\.0\.0/);
      assert.ok(om.body.endsWith("# EOF\n"));
      assert.match(om.body, /^# TYPE process_cpu_seconds counter$/m);
      const landing = await get(`${exporter.url}/`);
      assert.equal(landing.status, 200);
      assert.match(landing.body, /<a href="\/metrics">/);
      assert.match(landing.body, new RegExp(a.replaceAll(".", "\\.")));
      assert.equal((await get(`${exporter.url}/-/healthy`)).status, 200);
      assert.equal((await get(`${exporter.url}/nope`)).status, 404);
      assert.equal((await get(`${exporter.url}/metrics`, { method: "POST" })).status, 405);
      assert.equal(await exporter.stop(), 0);
      worker.release();
      await closeAll(clients);
    },
  );

  test(`${rt}: with no listener given, reports every listener up to --max-listeners`, { timeout: 60_000 }, async () => {
    await using held = await HeldListener.start(["tcp", "127.0.0.1"]);
    const a = `127.0.0.1:${held.port}`;
    // Other processes on the machine may hold thousands of listeners: no cap here.
    await using all = await startExporter(rt, ["--max-listeners=1000000"]);
    const everyone = seriesOf(
      await metricsUntil(all.url, (s) => s.has(`raindrops_listener_queued_connections{listener="${a}"}`), 30_000),
    );
    assert.ok(everyone.get("raindrops_exporter_listeners_found")! >= 2); // the held listener and the exporter's own
    await using capped = await startExporter(rt, ["--max-listeners=1"]);
    const one = seriesOf((await get(`${capped.url}/metrics`)).body);
    const listeners = [...one.keys()].filter((k) => k.startsWith("raindrops_listener_queued_connections{"));
    assert.equal(listeners.length, 1);
    assert.ok(one.get("raindrops_exporter_listeners_found")! >= 2);
  });

  test(
    `${rt}: bad input exits 2 naming the fix; a taken address exits 1; --version prints it`,
    { timeout: 60_000 },
    async () => {
      const star = run(rt, ["*:8080"]);
      assert.equal(star.status, 2);
      assert.match(star.stderr, /write \[::\]:8080/);
      const listen = run(rt, ["--web.listen-address=localhost"]);
      assert.equal(listen.status, 2);
      assert.match(listen.stderr, /HOST:PORT/);
      await using first = await startExporter(rt, ["127.0.0.1:1"]);
      const taken = run(rt, [`--web.listen-address=${first.address}`, "127.0.0.1:1"]);
      assert.equal(taken.status, 1);
      assert.match(taken.stderr, new RegExp(`cannot listen on ${first.address}`));
      const version = run(rt, ["--version"]);
      assert.equal(version.status, 0);
      assert.equal(version.stdout, `raindrops-exporter ${VERSION}\n`);
    },
  );
}

test("a failed kernel call makes the scrape answer 500 (Prometheus' up is 0), and the next good one 200", async () => {
  // A fake source: a sock_diag failure cannot be provoked on demand. It fails
  // the way the kernel source does, with a NativeError.
  let failing = false;
  const source = (names: readonly string[] | undefined) => {
    if (failing) throw new NativeError("sock_diag TCP listeners", 105, "");
    return kernelListenerStats(names);
  };
  const lines: string[] = [];
  const collector = new Collector({
    listeners: ["127.0.0.1:1"],
    stats: [],
    maxListeners: 10,
    peakWindowMs: 60_000,
    listenStats: source,
  });
  const running = await serveExporter(collector, {
    host: "127.0.0.1",
    port: 0,
    telemetryPath: "/metrics",
    peakIntervalMs: 60_000,
    listeners: ["127.0.0.1:1"],
    log: (l) => lines.push(l),
  });
  try {
    assert.equal((await get(`${running.url}/metrics`)).status, 200);
    failing = true;
    const failed = await get(`${running.url}/metrics`);
    assert.equal(failed.status, 500);
    assert.match(failed.body, /scrape failed: .*sock_diag TCP listeners/);
    assert.match(lines.join("\n"), /scrape failed/);
    failing = false;
    assert.equal((await get(`${running.url}/metrics`)).status, 200);
  } finally {
    await running.close();
  }
});

test("a peak stays for the window, is the same for every reader, and leaves after it", () => {
  const peaks = new WindowedPeaks(10_000);
  const t0 = 1_000_000;
  peaks.add(new Map([["a:1", { active: 1, queued: 7 }]]), t0);
  peaks.add(new Map([["a:1", { active: 4, queued: 0 }]]), t0 + 500);
  assert.deepEqual(peaks.read(t0 + 9_000).get("a:1"), { active: 4, queued: 7 });
  assert.deepEqual(peaks.read(t0 + 9_000).get("a:1"), { active: 4, queued: 7 });
  peaks.add(new Map([["a:1", { active: 2, queued: 1 }]]), t0 + 10_500);
  assert.deepEqual(peaks.read(t0 + 11_500).get("a:1"), { active: 2, queued: 1 });
  assert.equal(peaks.read(t0 + 30_000).get("a:1"), undefined);
  assert.throws(() => new WindowedPeaks(0), RangeError);
});

test("exporter flags: Prometheus names, :PORT for every interface, checked values", () => {
  const o = parseExporterArgs([
    "--web.listen-address=:9100",
    "--stats",
    "/dev/shm/x",
    "--peak.interval=0.5",
    "[::]:80",
  ]);
  assert.equal(o.host, "");
  assert.equal(o.port, 9100);
  assert.deepEqual(o.stats, ["/dev/shm/x"]);
  assert.equal(o.peakIntervalMs, 500);
  assert.deepEqual(o.listeners, ["[::]:80"]);
  assert.equal(parseExporterArgs(["--web.listen-address=[::1]:9"]).host, "::1");
  assert.throws(() => parseExporterArgs(["--max-listeners=0"]), UsageError);
  assert.throws(() => parseExporterArgs(["--peak.window=0.1", "--peak.interval=1"]), UsageError);
  assert.throws(() => parseExporterArgs(["--web.telemetry-path=metrics"]), UsageError);
  assert.throws(() => parseExporterArgs(["--bogus"]), /unknown option --bogus/);
});
