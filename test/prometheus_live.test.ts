/**
 * A real Prometheus scraping a real multi-worker app: Bun workers sharing a
 * reusePort port and `deno serve --parallel` on another, all counting into
 * one stats file. Blocks the Bun workers' event loops while clients connect,
 * so the kernel's accept queue fills, and asks Prometheus' HTTP API for the
 * series, the counter's rate, the queue, the rules' output and every query
 * of the Grafana dashboard. A third listener, with TCP_DEFER_ACCEPT, holds
 * half-open connections for the SYN_RECV series. Skips only when
 * Prometheus is not installed.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { tempShm } from "./_helpers.ts";
import { freePort, waitFor } from "./fixtures/middleware_serve.ts";
import { spawnExampleServers } from "../examples/example_servers.ts";
import { hasSs, idleListener, ssSynRecv } from "./fixtures/idle_listener.ts";
import { type LocalPrometheus, prometheusBinary, startPrometheus } from "../prometheus/local_prometheus.ts";

const DASHBOARD = new URL("../prometheus/grafana-dashboard.json", import.meta.url).pathname;

/** Every panel query of the dashboard, with its variables set as Grafana would for "All". */
function dashboardQueries(): string[] {
  const dashboard = JSON.parse(readFileSync(DASHBOARD, "utf8"));
  return dashboard.panels.flatMap((p: { targets: { expr: string }[] }) => p.targets.map((t) => t.expr))
    .map((e: string) => e.replaceAll("$instance", ".*").replaceAll("$__rate_interval", "5s"));
}

function stopped(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once("exit", () => resolve());
    child.kill("SIGTERM");
  });
}

/** Polls a query until every answer satisfies `ok` and there is one (bounded). */
async function eventually(
  prom: LocalPrometheus,
  expr: string,
  ok: (values: number[]) => boolean,
  ms = 10_000,
): Promise<number[]> {
  let values: number[] = [];
  await waitFor(async () => {
    values = (await prom.query(expr)).map((r) => Number(r.value[1]));
    return values.length > 0 && ok(values);
  }, ms);
  return values;
}

test(
  "a real Prometheus scrapes Bun workers and deno serve --parallel: series, request rate, a queue build-up, request metrics, rules and dashboard",
  { timeout: 120_000 },
  async (t) => {
    if (!prometheusBinary()) {
      t.skip("prometheus not installed (Debian package prometheus; .ci/run installs it): skipping");
      return;
    }
    using stats = tempShm("prom-live");
    const bunPort = await freePort(), denoPort = await freePort();
    const bunListener = `127.0.0.1:${bunPort}`, denoListener = `127.0.0.1:${denoPort}`;
    const deferred = await idleListener({ backlog: 16, deferAccept: true });
    const deferredListener = `127.0.0.1:${deferred.port}`;
    const env = {
      ...process.env,
      RAINDROPS_STATS: stats.path,
      RAINDROPS_LISTENERS: `${bunListener},${denoListener},${deferredListener}`,
      DENO_JOBS: "2",
      RAINDROPS_REQUEST_METRICS: "all",
    };
    const servers = spawnExampleServers(bunPort, denoPort, env);
    let prom: LocalPrometheus | undefined;
    const held: Socket[] = [];
    try {
      const workersUp = await waitFor(async () => {
        try {
          const counts = await Promise.all(
            [bunListener, denoListener].map(async (l) =>
              (await (await fetch(`http://${l}/_raindrops?format=json`)).json()).workers
            ),
          );
          return counts.every((n) => n === 4);
        } catch {
          return false;
        }
      }, 20_000);
      assert.ok(workersUp, "2 Bun workers and 2 deno serve threads share the stats file");
      prom = await startPrometheus({ targets: [bunListener, denoListener], dirPrefix: "/tmp/raindrops-test-prom-" });

      assert.deepEqual(await eventually(prom, "up", (v) => v.length === 2 && v.every((x) => x === 1)), [1, 1]);
      assert.deepEqual(await eventually(prom, "raindrops_workers", (v) => v.length === 2), [4, 4]);
      const backlogs = await eventually(prom, "raindrops_listener_backlog_connections", (v) => v.length === 6);
      assert.ok(backlogs.every((b) => b > 0), `backlog of each listener, from each target: ${backlogs}`);

      // Traffic for the counter: 200 requests over both servers.
      for (let i = 0; i < 100; i++) {
        await Promise.all([bunPort, denoPort].map(async (p) => (await fetch(`http://127.0.0.1:${p}/`)).text()));
      }
      const rates = await eventually(
        prom,
        "rate(raindrops_requests_total[5s])",
        (v) => v.length === 2 && v.every((r) => r > 0),
      );
      assert.ok(rates.every((r) => r > 0), `request rate from both targets: ${rates}`);
      const total = await eventually(prom, "max(raindrops_requests_total)", (v) => v[0] >= 200);
      assert.ok(total[0] >= 200, `requests_total ${total}`);
      // The duration histogram over every worker (both targets read the same file): the route pattern, never the URL.
      const timed = await eventually(
        prom,
        'max(sum by (instance) (raindrops_request_duration_seconds_count{route="/",status="2xx"}))',
        (v) => v[0] >= 200,
      );
      assert.ok(timed[0] >= 200, `request_duration count ${timed}`);

      // Queue build-up: block the Bun workers' event loops for 3 s, then
      // connect clients; those the kernel hands to a blocked worker wait in
      // its accept queue. deno serve (not blocked) keeps reporting both listeners.
      const blockers = Array.from(
        { length: 6 },
        () => fetch(`http://${bunListener}/work?ms=3000`).then((r) => r.text()).catch(() => ""),
      );
      await new Promise((r) => setTimeout(r, 300));
      for (let i = 0; i < 40; i++) {
        const s = connect(bunPort, "127.0.0.1");
        s.on("error", () => {});
        held.push(s);
      }
      // Requests a proxy stamped now, which wait behind the blocked event loops.
      const stamped = Array.from(
        { length: 6 },
        () =>
          fetch(`http://${bunListener}/`, {
            headers: { "x-request-start": `t=${Date.now() * 1000}`, connection: "close" },
          })
            .then((r) => r.text()).catch(() => ""),
      );
      const queued = await eventually(
        prom,
        `max_over_time(raindrops_listener_queued_connections{instance="${denoListener}",listener="${bunListener}"}[1m])`,
        (v) => v[0] > 0,
      );
      assert.ok(queued[0] > 0, `the accept queue of ${bunListener} was seen above 0: ${queued}`);
      await Promise.all([...blockers, ...stamped]);
      const peak = await eventually(
        prom,
        `raindrops_listener_queued_connections_max{instance="${denoListener}",listener="${bunListener}"}`,
        (v) => v[0] > 0,
      );
      assert.ok(peak[0] > 0, `the windowed peak of queued, sampled by the workers: ${peak}`);
      const waited = await eventually(
        prom,
        "max(raindrops_queue_wait_seconds_sum / raindrops_queue_wait_seconds_count)",
        (v) => v[0] > 0.1,
      );
      assert.ok(waited[0] > 0.1, `queue wait while the event loops were blocked: ${waited} s on average`);
      const drained = await eventually(
        prom,
        `raindrops_listener_queued_connections{instance="${denoListener}",listener="${bunListener}"}`,
        (v) => v[0] === 0,
      );
      assert.deepEqual(drained, [0], "and drained once the workers run again");

      // The recording rules ran on the real series.
      const recorded = await eventually(
        prom,
        `listener:raindrops_listener_queued_connections:max1m{listener="${bunListener}"}`,
        (v) => v.some((x) => x > 0),
      );
      assert.ok(recorded.some((x) => x > 0), `recording rule: ${recorded}`);

      // Utilization: every worker held inside the app (CPU-bound requests, each on a new connection, so the
      // kernel spreads them), for about 4 s: busy seconds grow by about one per second per worker.
      let loading = true;
      const load = [bunPort, denoPort].flatMap((p) =>
        Array.from({ length: 6 }, async () => {
          const until = Date.now() + 20_000;
          while (loading && Date.now() < until) {
            await fetch(`http://127.0.0.1:${p}/work?ms=300`, { headers: { connection: "close" } })
              .then((r) => r.text()).catch(() => "");
          }
        })
      );
      try {
        const utilization = await eventually(
          prom,
          "max(rate(raindrops_busy_seconds_total[5s]) / raindrops_workers)",
          (v) => v[0] > 0.8,
          20_000,
        );
        // Above 1 only by the requests a worker's server handed it before the last one's response left the
        // app (a blocked event loop answers them in one go): `calling` counts those too.
        assert.ok(utilization[0] > 0.8 && utilization[0] < 2, `utilization near 1: ${utilization}`);
      } finally {
        loading = false;
        await Promise.all(load);
      }
      const calls = await eventually(prom, "max(raindrops_calling_requests_max)", (v) => v[0] >= 1);
      assert.ok(calls[0] >= 1, `calling peak ${calls}`);

      // Overflows: a backlog-1 listener that never accepts, overfilled.
      const before = (await eventually(prom, "max(raindrops_listen_overflows_total)", () => true))[0];
      const small = await idleListener();
      const extra: Socket[] = [];
      try {
        for (let i = 0; i < 5; i++) {
          const s = connect(small.port, "127.0.0.1");
          s.on("error", () => {});
          extra.push(s);
        }
        const overflows = await eventually(prom, "max(raindrops_listen_overflows_total)", (v) => v[0] > before);
        assert.ok(overflows[0] > before, `listen overflows ${before} -> ${overflows}`);
        const drops = await eventually(prom, "max(raindrops_listen_drops_total)", (v) => v[0] >= overflows[0]);
        assert.ok(drops[0] >= overflows[0], "ListenDrops counts overflows too");
      } finally {
        for (const s of extra) s.destroy();
        small.close();
      }
      // Half-open connections: 5 clients that connect and send nothing stay SYN_RECV at the deferred listener.
      const quiet: Socket[] = await Promise.all(
        Array.from({ length: 5 }, () =>
          new Promise<Socket>((resolve, reject) => {
            const s = connect(deferred.port, "127.0.0.1", () => resolve(s));
            s.once("error", reject);
            held.push(s);
          })),
      );
      const synRecv = await eventually(
        prom,
        `raindrops_listener_syn_recv_connections{listener="${deferredListener}"}`,
        (v) => v.length === 2 && v.every((x) => x === 5),
      );
      assert.deepEqual(synRecv, [5, 5], "both targets count the 5 half-open connections");
      if (hasSs) assert.equal(ssSynRecv(deferred.port), 5, "as ss counts them");
      const others = await eventually(
        prom,
        `raindrops_listener_syn_recv_connections{listener=~"${bunListener}|${denoListener}"}`,
        (v) => v.length === 4,
      );
      assert.deepEqual(others, [0, 0, 0, 0], "the HTTP listeners' handshakes complete at once on loopback");
      for (const s of quiet) s.end(); // a FIN completes the handshake
      assert.deepEqual(
        await eventually(
          prom,
          `raindrops_listener_syn_recv_connections{listener="${deferredListener}"}`,
          (v) => v.length === 2 && v.every((x) => x === 0),
        ),
        [0, 0],
        "and 0 once the clients close",
      );

      // The new recording rules ran on the real series.
      for (
        const rule of [
          "instance:raindrops_request_duration_seconds:p99_5m",
          "instance:raindrops_queue_wait_seconds:p99_5m",
        ]
      ) {
        const v = await eventually(prom, rule, (x) => x.some((y) => y > 0));
        assert.ok(v.some((y) => y > 0), `${rule}: ${v}`);
      }
      const util = await eventually(prom, "instance:raindrops_utilization:ratio_1m", (v) => v.some((y) => y > 0.1));
      assert.ok(util.some((y) => y > 0.1), `utilization rule ${util}`);
      const inc = await eventually(prom, "instance:raindrops_listen_overflows:increase5m", (v) => v.some((y) => y > 0));
      assert.ok(inc.some((y) => y > 0), `overflows rule ${inc}`);

      // Every dashboard query parses and returns data.
      for (const expr of dashboardQueries()) {
        const result = await prom.query(expr);
        assert.ok(result.length > 0, `dashboard query returned no data: ${expr}`);
      }
    } finally {
      for (const s of held) s.destroy();
      deferred.close();
      await prom?.stop();
      await Promise.all(servers.map(stopped));
    }
  },
);
