/**
 * The middleware's request metrics: the duration histogram (exact across
 * worker processes), busy seconds, the windowed peaks, the proxy's queue
 * wait with its clock-skew guard, and the kernel's listen drops.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";
import { Hono } from "hono";
import { QueueWaitAggregate, raindrops, withRaindrops } from "../hono.ts";
import { listenDrops, Registry, tcpListenQueued, tcpSynRecvConnections } from "../mod.ts";
import { NativeError } from "../src/errors.ts";
import { queueWaitOf, requestStartSeconds } from "../src/middleware/_request_start.ts";
import { RUNTIMES, tempShm } from "./_helpers.ts";
import { fixture } from "./_helpers.ts";
import { hasSs, idleListener, ssSynRecv } from "./fixtures/idle_listener.ts";
import { queuedListener } from "./fixtures/queued_listener.ts";
import { freePort, spawnWorker, stopWorker, waitFor, type WorkerChild } from "./fixtures/middleware_serve.ts";

const LOCAL = { remoteAddr: { hostname: "127.0.0.1", port: 1 } };
const here = typeof (globalThis as { Bun?: unknown }).Bun !== "undefined" ? "bun" : "deno";

/** The value of every sample of `name` whose labels include `labels`, from Prometheus text. */
function samples(text: string, name: string, labels = ""): number[] {
  return text.split("\n").filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `))
    .filter((l) => l.includes(labels)).map((l) => Number(l.slice(l.lastIndexOf(" ") + 1)));
}
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

test("X-Request-Start: seconds, milliseconds, microseconds and nanoseconds told by magnitude; junk refused", () => {
  assert.equal(requestStartSeconds("t=1700000000.25"), 1700000000.25);
  assert.equal(requestStartSeconds("1700000000250"), 1700000000.25);
  assert.equal(requestStartSeconds("t=1700000000250000"), 1700000000.25);
  assert.ok(Math.abs(requestStartSeconds("t=1700000000250000000")! - 1700000000.25) < 1e-6); // past 2^53: rounded
  for (const bad of ["", "t=", "t=-5", "t=abc", "t=1e9", "0", "t=12 34"]) {
    assert.equal(requestStartSeconds(bad), undefined, bad);
  }
  assert.equal(queueWaitOf("t=100.5", 101, 60), 0.5);
  assert.equal(queueWaitOf("t=101.5", 101, 60), "negative");
  assert.equal(queueWaitOf("t=1", 101, 60), "too_large");
  assert.equal(queueWaitOf("x", 101, 60), "unparsable");
});

test("app.use: duration by method, status class and route pattern; busy seconds; queue wait with skew dropped and counted", async () => {
  using tmp = tempShm("rm-use");
  const app = new Hono()
    .use(raindrops({ stats: tmp.path, requestDuration: { route: true }, busySeconds: true, queueWait: true }))
    .get("/users/:id", (c) => c.text(c.req.param("id")))
    .post("/users/:id", (c) => c.text("no", 404))
    .get("/slow", async (c) => {
      await new Promise((r) => setTimeout(r, 120));
      return c.text("slow");
    });
  app.onError((_e, c) => c.text("failed", 500));
  for (let i = 0; i < 5; i++) await (await app.request(`/users/${i}`)).text();
  await (await app.request("/users/7", { method: "POST" })).text();
  const now = Date.now();
  await (await app.request("/slow", { headers: { "x-request-start": `t=${(now - 250) * 1000}` } })).text();
  await (await app.request("/slow", { headers: { "x-request-start": `t=${(now + 60_000) / 1000}` } })).text();
  await (await app.request("/slow", { headers: { "x-request-start": "t=soon" } })).text();
  const text = await (await app.request("/_raindrops?format=prometheus", {}, LOCAL)).text();
  assert.deepEqual(
    samples(text, "raindrops_request_duration_seconds_count", 'route="/users/:id"'),
    [5, 1],
    "GET 2xx and POST 4xx of the pattern, never the URL",
  );
  assert.match(text, /raindrops_request_duration_seconds_count\{method="POST",status="4xx",route="\/users\/:id"\} 1/);
  assert.ok(!text.includes('route="/users/1"'));
  assert.deepEqual(samples(text, "raindrops_request_duration_seconds_count", 'route="/slow"'), [3]);
  const slowSum = samples(text, "raindrops_request_duration_seconds_sum", 'route="/slow"')[0];
  assert.ok(slowSum >= 0.34, `3 requests of 120 ms: ${slowSum}`);
  const busy = samples(text, "raindrops_busy_seconds_total")[0];
  assert.ok(busy >= slowSum && busy < slowSum + 0.5, `busy ${busy} covers the requests' time ${slowSum}`);
  assert.deepEqual(samples(text, "raindrops_queue_wait_seconds_count"), [1]);
  const wait = samples(text, "raindrops_queue_wait_seconds_sum")[0];
  assert.ok(wait >= 0.25 && wait < 5, `wait ${wait}`);
  assert.deepEqual(samples(text, "raindrops_queue_wait_dropped_total", 'reason="negative"'), [1]);
  assert.deepEqual(samples(text, "raindrops_queue_wait_dropped_total", 'reason="unparsable"'), [1]);
  assert.deepEqual(samples(text, "raindrops_calling_requests_max"), [1]);
});

test("app.use with route: an error Hono rethrows reaches the caller and counts as 5xx under its pattern", async () => {
  using tmp = tempShm("rm-rethrow");
  const app = new Hono()
    .use(raindrops({ stats: tmp.path, requestDuration: { route: true } }))
    .get("/fail/:id", () => {
      throw new Error("handler broke");
    });
  app.onError((e) => {
    throw e; // an error handler that rethrows: next() rejects in the middleware
  });
  await assert.rejects(async () => await app.request("/fail/1"), /handler broke/);
  const text = await (await app.request("/_raindrops?format=prometheus", {}, LOCAL)).text();
  assert.match(text, /raindrops_request_duration_seconds_count\{method="GET",status="5xx",route="\/fail\/:id"\} 1/);
  assert.match(text, /^raindrops_calling_requests 0$/m);
});

test("withRaindrops: a thrown handler counts as 5xx; options are checked at setup", async () => {
  using tmp = tempShm("rm-fetch");
  const fetch = withRaindrops((req) => {
    if (new URL(req.url).pathname === "/boom") throw new Error("boom");
    return new Response("ok");
  }, { stats: tmp.path, requestDuration: true });
  await (fetch(new Request("http://x/")) as Response).text();
  assert.throws(() => fetch(new Request("http://x/boom")), /boom/);
  const res = await fetch(new Request("http://127.0.0.1/_raindrops?format=prometheus"), {
    remoteAddr: { hostname: "127.0.0.1", port: 1 },
  });
  const text = await res.text();
  assert.deepEqual(samples(text, "raindrops_request_duration_seconds_count", 'status="2xx"'), [1]);
  assert.deepEqual(samples(text, "raindrops_request_duration_seconds_count", 'status="5xx"'), [1]);
  assert.ok(!text.includes("raindrops_queue_wait_seconds"), "queue wait is off by default");
  assert.throws(() => withRaindrops(fetch, { peaks: { windowMs: 0 } }), RangeError);
  assert.throws(() => withRaindrops(fetch, { queueWait: { header: "bad header" } }), TypeError);
  assert.throws(() => withRaindrops(fetch, { busySeconds: "yes" as unknown as boolean }), TypeError);
  assert.throws(() => withRaindrops(fetch, { stats: tmp.path, requestDuration: { buckets: [2, 1] } }), RangeError);
  assert.throws(
    () => withRaindrops(fetch, { stats: tmp.path, requestDuration: { route: true } }),
    (e: unknown) =>
      e instanceof TypeError && /app\.use\(raindrops\(\{ requestDuration: \{ route: true \} \}\)\)/.test(e.message),
  );
});

test("listenDrops reads the namespace's counters; a missing file is a NativeError naming it", () => {
  const d = listenDrops();
  assert.ok(Number.isSafeInteger(d.listenOverflows) && d.listenDrops >= d.listenOverflows);
  assert.throws(() => listenDrops("/nonexistent/netstat"), (e: unknown) => {
    assert.ok(e instanceof NativeError);
    assert.equal(e.code, "ENOENT");
    assert.match(e.message, /\/nonexistent\/netstat/);
    return true;
  });
});

test("overfilling a backlog-1 listener raises ListenOverflows and ListenDrops", async () => {
  const listener = await idleListener();
  const clients: Socket[] = [];
  try {
    const before = listenDrops();
    for (let i = 0; i < 5; i++) {
      const s = connect(listener.port, "127.0.0.1");
      s.on("error", () => {});
      clients.push(s);
    }
    assert.ok(
      await waitFor(() => listenDrops().listenOverflows > before.listenOverflows, 5000),
      "ListenOverflows rose",
    );
    assert.ok(listenDrops().listenDrops > before.listenDrops, "ListenDrops counts overflows too");
  } finally {
    for (const s of clients) s.destroy();
    listener.close();
  }
});

test("half-open connections: tcpSynRecvConnections counts what ss counts, and 0 once the handshakes end", async (t) => {
  if (!hasSs) return t.skip("ss not installed (Debian package iproute2; .ci/run installs it): skipping");
  // TCP_DEFER_ACCEPT keeps connections that send nothing in SYN_RECV on the listener's side.
  const listener = await idleListener({ backlog: 16, deferAccept: true });
  const address = `127.0.0.1:${listener.port}`;
  const clients: Socket[] = [];
  try {
    assert.equal(tcpSynRecvConnections([address]).get(address), 0);
    await Promise.all(Array.from({ length: 5 }, () =>
      new Promise<void>((resolve, reject) => {
        const s = connect(listener.port, "127.0.0.1", () => resolve());
        s.once("error", reject);
        clients.push(s);
      })));
    assert.ok(await waitFor(() => ssSynRecv(listener.port) === 5, 5000), `ss counts ${ssSynRecv(listener.port)}`);
    assert.equal(tcpSynRecvConnections([address]).get(address), 5);
    assert.equal(tcpSynRecvConnections([`0.0.0.0:${listener.port}`]).get(`0.0.0.0:${listener.port}`), 5, "wildcard");
    assert.equal(tcpSynRecvConnections([`127.0.0.2:${listener.port}`]).get(`127.0.0.2:${listener.port}`), 0);
    // A client's FIN completes its handshake (it is not a bare ACK): the connection leaves SYN_RECV.
    for (const s of clients) s.end();
    assert.ok(await waitFor(() => tcpSynRecvConnections([address]).get(address) === 0, 5000), "back to 0");
    assert.equal(ssSynRecv(listener.port), 0);
  } finally {
    for (const s of clients) s.destroy();
    listener.close();
  }
});

/** A worker of this test's runtime serving the request-metrics fixture app on the shared port. */
function startWorker(stats: string, shared: number): Promise<WorkerChild> {
  const script = fixture("middleware_worker.ts");
  const args = here === "deno" ? ["run", "-A", "--unstable-net", script] : [script];
  return spawnWorker(RUNTIMES[here], [...args, stats, String(shared)], { TIMED: "1" });
}

test(
  "3 worker processes on one port: the duration histogram's count equals the requests sent",
  { timeout: 60_000 },
  async () => {
    using tmp = tempShm("rm-workers");
    const shared = await freePort();
    const workers = await Promise.all([0, 1, 2].map(() => startWorker(tmp.path, shared)));
    try {
      const sent = 300;
      const seen = new Set<string>();
      for (let i = 0; i < sent; i += 10) {
        await Promise.all(Array.from({ length: 10 }, async () => {
          // A new connection each: the kernel spreads them over the workers.
          const res = await fetch(`http://127.0.0.1:${shared}/`, { headers: { connection: "close" } });
          seen.add(res.headers.get("x-worker")!);
          await res.text();
        }));
      }
      assert.ok(seen.size >= 2, `requests reached ${seen.size} workers`);
      for (const w of workers) {
        const text = await (await fetch(`http://127.0.0.1:${w.port}/_raindrops?format=prometheus`)).text();
        assert.equal(sum(samples(text, "raindrops_request_duration_seconds_count")), sent, "every worker reports all");
        assert.equal(sum(samples(text, "raindrops_request_duration_seconds_bucket", 'le="+Inf"')), sent);
        assert.ok(samples(text, "raindrops_busy_seconds_total")[0] > 0);
      }
    } finally {
      await Promise.all(workers.map(stopWorker));
    }
  },
);

test(
  "peaks: calling's peak outlives the burst and every read sees the same; queued's is sampled and slides out of the window",
  {
    timeout: 30_000,
  },
  async () => {
    using tmp = tempShm("rm-peaks");
    await using queued = await queuedListener(3);
    // The queue alone, from a dump of listening sockets only: the kernel's own figure.
    assert.deepEqual(tcpListenQueued([queued.address]), new Map([[queued.address, 3]]));
    assert.throws(() => tcpListenQueued(["/not/tcp"]), RangeError);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const app = new Hono()
      .use(raindrops({ stats: tmp.path, listeners: [queued.address], peaks: { windowMs: 1000, intervalMs: 100 } }))
      .get("/hold", async (c) => {
        await gate;
        return c.text("held");
      });
    const scrape = async () => await (await app.request("/_raindrops?format=prometheus", {}, LOCAL)).text();
    const held = Array.from({ length: 4 }, async () => await (await app.request("/hold")).text());
    release();
    await Promise.all(held);
    const first = await scrape(), second = await scrape();
    assert.deepEqual(samples(first, "raindrops_calling_requests_max"), [4]);
    assert.deepEqual(samples(second, "raindrops_calling_requests_max"), [4], "a read resets nothing");
    const label = `listener="${queued.address}"`;
    assert.ok(
      await waitFor(
        async () => samples(await scrape(), "raindrops_listener_queued_connections_max", label)[0] === 3,
        5000,
      ),
      "the sampled peak of queued reaches the kernel's 3",
    );
    await queued[Symbol.asyncDispose]();
    assert.ok(
      await waitFor(
        async () => samples(await scrape(), "raindrops_listener_queued_connections_max", label)[0] === 0,
        10_000,
      ),
      "and leaves once the window has slid past it",
    );
    assert.deepEqual(samples(await scrape(), "raindrops_calling_requests_max"), [0]);
  },
);

test("QueueWaitAggregate: LastDataRecv's samples (ms) also land in raindrops_queue_wait_seconds; idle connections dropped", async () => {
  using tmp = tempShm("rm-ldr");
  const registry = new Registry({ path: `${tmp.path}.metrics` });
  try {
    const agg = new QueueWaitAggregate({ registry, maxSeconds: 10 });
    agg.add(250);
    agg.add(1500);
    agg.add(60_000);
    assert.equal(agg.count, 3, "the aggregate keeps every sample");
    const text = await registry.metrics();
    assert.deepEqual(samples(text, "raindrops_queue_wait_seconds_count"), [2]);
    assert.deepEqual(samples(text, "raindrops_queue_wait_seconds_sum"), [1.75]);
    assert.deepEqual(samples(text, "raindrops_queue_wait_dropped_total", 'reason="too_large"'), [1]);
    assert.throws(() => new QueueWaitAggregate({ registry, maxSeconds: -1 }), RangeError);
  } finally {
    registry.close();
  }
});
