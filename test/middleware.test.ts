import { test } from "node:test";
import assert from "node:assert/strict";
import { connect, createServer } from "node:net";
import { Hono } from "hono";
import { Struct } from "../mod.ts";
import { raindrops } from "../src/middleware/middleware.ts";
import { WorkerStats } from "../src/worker_stats.ts";
import { tcpListenerStats } from "../src/linux/listen_stats.ts";
import { HeldListener } from "./fixtures/linux_sockets.ts";
import { tempShm } from "./_helpers.ts";
import { freePort, serve, testApp, waitFor } from "./fixtures/middleware_serve.ts";

const LOCAL = { remoteAddr: { hostname: "127.0.0.1", port: 1 } };
const onDeno = typeof (globalThis as any).Bun === "undefined";

test("the stats path answers the gem's text with Content-Length and no-store", async () => {
  using tmp = tempShm("mw-text");
  const app = testApp({ stats: tmp.path });
  const res = await app.request("/_raindrops", {}, LOCAL);
  const body = await res.text();
  assert.equal(res.status, 200);
  assert.equal(body, "calling: 0\nwriting: 0\n");
  assert.equal(res.headers.get("content-type"), "text/plain; charset=utf-8");
  assert.equal(res.headers.get("content-length"), String(body.length));
  assert.equal(res.headers.get("cache-control"), "no-store");
  WorkerStats.open(tmp.path).release();
});

test("calling counts a request inside the app and falls when it returns or throws", async () => {
  using tmp = tempShm("mw-calling");
  const stats = WorkerStats.open(tmp.path);
  const app = new Hono();
  app.use(raindrops({ stats }));
  let seen = -1;
  app.get("/in", (c) => {
    seen = stats.totals().calling;
    return c.text("x");
  });
  app.get("/throw", () => {
    throw new Error("boom");
  });
  app.onError((_e, c) => c.text("failed", 500));
  await (await app.request("/in")).text();
  assert.equal(seen, 1);
  const failed = await app.request("/throw");
  assert.equal(failed.status, 500);
  await failed.text();
  assert.deepEqual(stats.own(), { calling: 0, writing: 0 });
  stats.release();
});

test("writing stays up until a streamed body is fully read, and the stats request is not counted", async () => {
  using tmp = tempShm("mw-writing");
  const app = testApp({ stats: tmp.path, bodyTracking: "wrap" });
  const stats = WorkerStats.open(tmp.path);
  const res = await app.request("/stream?chunks=3");
  assert.deepEqual(stats.own(), { calling: 0, writing: 1 });
  const text = await (await app.request("/_raindrops", {}, LOCAL)).text();
  assert.equal(text, "calling: 0\nwriting: 1\n");
  assert.equal((await res.arrayBuffer()).byteLength, 3 * 1024);
  assert.deepEqual(stats.own(), { calling: 0, writing: 0 });
  stats.release();
});

test("writing is released once when the reader cancels, and a body error releases it too", async () => {
  using tmp = tempShm("mw-cancel");
  const stats = WorkerStats.open(tmp.path);
  const app = new Hono();
  app.use(raindrops({ stats, bodyTracking: "wrap" }));
  app.get("/fail", (c) =>
    c.body(
      new ReadableStream({
        pull(ctl) {
          ctl.error(new Error("disk gone"));
        },
      }),
    ));
  app.get("/s", (c) => c.body(new ReadableStream({ pull: (ctl) => ctl.enqueue(new Uint8Array(10)) })));
  const res = await app.request("/s");
  const reader = res.body!.getReader();
  await reader.read();
  assert.equal(stats.own().writing, 1);
  await reader.cancel();
  await reader.cancel().catch(() => {});
  assert.equal(stats.own().writing, 0);
  await assert.rejects((await app.request("/fail")).arrayBuffer());
  assert.deepEqual(stats.own(), { calling: 0, writing: 0 });
  stats.release();
});

test("responses without a body, and HEAD, leave writing at 0", async () => {
  using tmp = tempShm("mw-head");
  const stats = WorkerStats.open(tmp.path);
  const app = new Hono();
  app.use(raindrops({ stats, bodyTracking: "wrap" }));
  app.get("/none", (c) => c.body(null, 204));
  app.get("/s", (c) => c.text("abc"));
  assert.equal((await app.request("/none")).status, 204);
  assert.equal((await app.request("/s", { method: "HEAD" })).status, 200);
  assert.deepEqual(stats.own(), { calling: 0, writing: 0 });
  stats.release();
});

test("formats: ?format= wins, then Accept; Prometheus and JSON content types; unknown format is 400", async () => {
  using tmp = tempShm("mw-fmt");
  const app = testApp({ stats: tmp.path });
  const get = (q: string, accept?: string) =>
    app.request(`/_raindrops${q}`, { headers: accept ? { accept } : {} }, LOCAL);
  let res = await get("?format=json");
  assert.equal(res.headers.get("content-type"), "application/json; charset=utf-8");
  const { metrics, ...counts } = await res.json();
  assert.deepEqual(counts, { calling: 0, writing: 0, workers: 1, stats: tmp.path, listeners: {} });
  assert.equal(metrics.raindrops_calling_requests_max.type, "gauge"); // the request metrics on by default
  res = await get("", "application/json");
  assert.equal((await res.json()).calling, 0);
  res = await get("", "application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.3,*/*;q=0.1");
  assert.equal(res.headers.get("content-type"), "application/openmetrics-text; version=1.0.0; charset=utf-8");
  assert.match(await res.text(), /^# TYPE raindrops_calling_requests gauge\nraindrops_calling_requests 0$/m);
  res = await get("?format=text", "application/json");
  assert.equal(await res.text(), "calling: 0\nwriting: 0\n");
  res = await get("?format=xml");
  assert.equal(res.status, 400);
  assert.match(await res.text(), /text\|json\|prometheus/);
  const jsonDefault = testApp({ stats: tmp.path, format: "json" });
  assert.equal((await (await jsonDefault.request("/_raindrops", {}, LOCAL)).json()).writing, 0);
  WorkerStats.open(tmp.path).release();
});

test("access: loopback by default, 403 for others and for unknown addresses; allow lists and predicates", async () => {
  using tmp = tempShm("mw-allow");
  const at = (hostname: string) => ({ remoteAddr: { hostname, port: 1 } });
  const app = testApp({ stats: tmp.path });
  assert.equal((await app.request("/_raindrops", {}, at("::1"))).status, 200);
  assert.equal((await app.request("/_raindrops", {}, at("::ffff:127.0.0.9"))).status, 200);
  assert.equal((await app.request("/_raindrops", {}, at("10.0.0.1"))).status, 403);
  assert.equal((await app.request("/_raindrops")).status, 403, "no env: address unknown");
  const bunLike = { requestIP: () => ({ address: "127.0.0.1", port: 1, family: "IPv4" }) };
  assert.equal((await app.request("/_raindrops", {}, bunLike)).status, 200);
  const listed = testApp({ stats: tmp.path, allow: ["10.0.0.0/8", "2001:db8::/32"] });
  assert.equal((await listed.request("/_raindrops", {}, at("10.9.8.7"))).status, 200);
  assert.equal((await listed.request("/_raindrops", {}, at("2001:db8::1"))).status, 200);
  assert.equal((await listed.request("/_raindrops", {}, at("127.0.0.1"))).status, 403);
  const token = testApp({ stats: tmp.path, allow: (_a, c) => c.req.header("x-token") === "s3" });
  assert.equal((await token.request("/_raindrops", { headers: { "x-token": "s3" } })).status, 200);
  assert.equal((await token.request("/_raindrops")).status, 403);
  const proxied = testApp({
    stats: tmp.path,
    connection: (c) => ({ remoteAddress: c.req.header("x-real-ip") ?? "", remotePort: 0 }),
  });
  assert.equal((await proxied.request("/_raindrops", { headers: { "x-real-ip": "127.0.0.1" } })).status, 200);
  assert.equal((await testApp({ stats: tmp.path, allow: "any" }).request("/_raindrops")).status, 200);
  WorkerStats.open(tmp.path).release();
});

test("bad options throw TypeError for wrong types and RangeError for bad values", () => {
  using tmp = tempShm("mw-bad");
  assert.throws(() => raindrops({ stats: tmp.path, path: "stats" }), RangeError);
  assert.throws(() => raindrops({ stats: tmp.path, path: 5 as unknown as string }), TypeError);
  assert.throws(() => raindrops({ stats: tmp.path, format: "xml" as "text" }), RangeError);
  assert.throws(() => raindrops({ stats: tmp.path, allow: ["10.0.0.0/33"] }), RangeError);
  assert.throws(() => raindrops({ stats: tmp.path, allow: ["not-an-ip"] }), RangeError);
  assert.throws(() => raindrops({ stats: tmp.path, allow: 5 as unknown as "any" }), TypeError);
  assert.throws(() => raindrops({ stats: tmp.path, listeners: ["nowhere"] }), RangeError);
  // Checked at setup with the address parser, so no stats request fails later.
  for (const bad of ["localhost:8080", "1.2.3.4:99999", "*:8080", "@", "a\0/b"]) {
    assert.throws(() => raindrops({ stats: tmp.path, listeners: [bad] }), RangeError, bad);
  }
  assert.throws(() => raindrops({ stats: tmp.path, listeners: ["*:8080"] }), /write \[::\]:8080 .* or 0\.0\.0\.0:8080/);
  assert.throws(() => raindrops({ stats: tmp.path, listeners: "all" as "auto" }), TypeError);
  assert.throws(() => raindrops({ stats: 5 as unknown as string }), TypeError);
  assert.throws(() => raindrops({ stats: tmp.path, bodyTracking: "x" as "auto" }), RangeError);
  assert.throws(() => raindrops({ name: "a/b" }), RangeError);
  WorkerStats.open(tmp.path).release();
});

test("a Struct of calling and writing works as gem-style (not crash-safe) stats", async () => {
  const Stats = Struct(["calling", "writing"]);
  using stats = new Stats();
  const app = testApp({ stats, bodyTracking: "wrap" });
  const res = await app.request("/stream?chunks=2");
  assert.deepEqual(stats.toObject(), { calling: 0, writing: 1 });
  await res.arrayBuffer();
  assert.deepEqual(stats.toObject(), { calling: 0, writing: 0 });
  assert.equal(await (await app.request("/_raindrops", {}, LOCAL)).text(), "calling: 0\nwriting: 0\n");
});

test("listener lines come from listenStats for the given listeners, in the gem's order", async () => {
  using tmp = tempShm("mw-listen");
  const asked: string[][] = [];
  const listenStats = (listeners: readonly string[] | undefined) => {
    asked.push([...listeners!]);
    return new Map([["0.0.0.0:8080", { active: 3, queued: 1 }], ["/tmp/app.sock", { active: 1, queued: 0 }]]);
  };
  const app = testApp({ stats: tmp.path, listeners: ["0.0.0.0:8080", "/tmp/app.sock", "[::1]:9"], listenStats });
  assert.equal(
    await (await app.request("/_raindrops", {}, LOCAL)).text(),
    "calling: 0\nwriting: 0\n0.0.0.0:8080 active: 3\n0.0.0.0:8080 queued: 1\n" +
      "/tmp/app.sock active: 1\n/tmp/app.sock queued: 0\n[::1]:9 active: 0\n[::1]:9 queued: 0\n",
  );
  assert.deepEqual(asked, [["0.0.0.0:8080", "/tmp/app.sock", "[::1]:9"]]);
  const json = await (await app.request("/_raindrops?format=json", {}, LOCAL)).json();
  assert.deepEqual(json.listeners["0.0.0.0:8080"], { active: 3, queued: 1, listening: true });
  const prom = await (await app.request("/_raindrops?format=prometheus", {}, LOCAL)).text();
  assert.match(prom, /^raindrops_listener_active_connections\{listener="0\.0\.0\.0:8080"\} 3$/m);
  assert.match(prom, /^raindrops_listener_queued_connections\{listener="\/tmp\/app\.sock"\} 0$/m);
  const auto = testApp({ stats: tmp.path, listenStats });
  const bunLike = {
    hostname: "127.0.0.1",
    port: 8080,
    requestIP: () => ({ address: "127.0.0.1", family: "IPv4", port: 40000 }),
  };
  // The own listener comes from the request's connection, never from the name the server reports:
  // an env that names a server but has no real connection behind it gives no listener line.
  assert.equal(await (await auto.request("/_raindrops", {}, bunLike)).text(), "calling: 0\nwriting: 0\n");
  WorkerStats.open(tmp.path).release();
});

/** Raw HTTP/1.1 client that closes the socket after `bytes` bytes of the answer. */
function abortAfter(port: number, path: string, bytes: number): Promise<void> {
  return new Promise((resolve) => {
    const sock = connect(port, "127.0.0.1", () => sock.write(`GET ${path} HTTP/1.1\r\nhost: x\r\n\r\n`));
    let got = 0;
    sock.on("data", (d) => {
      got += d.length;
      if (got >= bytes) sock.destroy();
    });
    sock.on("close", () => resolve());
    sock.on("error", () => {});
    setTimeout(() => sock.destroy(), 5000);
  });
}

test("by default a real server reports its own listener, found from the connection, with kernel figures", async () => {
  using tmp = tempShm("mw-own");
  const app = new Hono();
  app.use(raindrops({ stats: tmp.path }));
  app.get("/", (c) => c.text("hi"));
  const server = await serve(app.fetch);
  try {
    const text = await (await fetch(`${server.url}/_raindrops`)).text();
    const own = `127.0.0.1:${server.port}`;
    assert.match(text, new RegExp(`^${own.replace(/\./g, "\\.")} active: [1-9]\\d*$`, "m"), text);
    assert.match(text, new RegExp(`^${own.replace(/\./g, "\\.")} queued: 0$`, "m"), text);
  } finally {
    await server.close();
  }
});

// Bun tells JS the end of no response, so there `auto` counts no body (test/writing_load.test.ts) and bodies are followed with "wrap".
for (const bodyTracking of onDeno ? ["auto", "wrap"] as const : ["wrap"] as const) {
  test(`a real server (${bodyTracking}): streamed bodies count as writing until sent, and client aborts release them`, async () => {
    using tmp = tempShm("mw-real");
    const app = testApp({ stats: tmp.path, bodyTracking });
    const server = await serve(app.fetch);
    const stats = WorkerStats.open(tmp.path);
    try {
      const res = await fetch(`${server.url}/stream?chunks=50&delay=20`);
      const reader = res.body!.getReader();
      await reader.read();
      assert.deepEqual(stats.totals(), { calling: 0, writing: 1, workers: 1 });
      const text = await (await fetch(`${server.url}/_raindrops`)).text();
      assert.match(text, /^calling: 0\nwriting: 1\n/); // then listener lines where env names the server (Bun)
      await reader.cancel();
      assert.ok(await waitFor(() => stats.own().writing === 0), `writing ${stats.own().writing} after abort`);
      await Promise.all([abortAfter(server.port, "/hold-writing", 10), abortAfter(server.port, "/big", 70_000)]);
      assert.ok(await waitFor(() => stats.own().writing === 0), `writing ${stats.own().writing} after raw aborts`);
      assert.equal((await fetch(`${server.url}/throw`)).status, 500);
      await (await fetch(`${server.url}/big`)).arrayBuffer();
      assert.ok(await waitFor(() => stats.own().writing === 0, 1000), `writing ${stats.own().writing} after /big`);
      assert.deepEqual(stats.own(), { calling: 0, writing: 0 });
    } finally {
      await server.close();
      stats.release();
    }
  });

  test(
    `a real server (${bodyTracking}): 10,000 mixed requests leave calling and writing at 0`,
    { timeout: 60_000 },
    async () => {
      using tmp = tempShm("mw-mixed");
      const app = testApp({ stats: tmp.path, bodyTracking });
      const server = await serve(app.fetch);
      const stats = WorkerStats.open(tmp.path);
      const kinds = ["/", "/stream?chunks=4", "/throw", "abort", "raw-abort"];
      let next = 0;
      const one = async (i: number) => {
        const kind = kinds[i % kinds.length];
        if (kind === "raw-abort") return abortAfter(server.port, "/stream?chunks=20&delay=1", 200);
        if (kind === "abort") {
          const ac = new AbortController();
          const res = await fetch(`${server.url}/stream?chunks=20&delay=1`, { signal: ac.signal });
          await res.body!.getReader().read();
          ac.abort();
          return;
        }
        const res = await fetch(server.url + kind);
        await res.arrayBuffer();
        assert.equal(res.status, kind === "/throw" ? 500 : 200, kind);
      };
      const done: Record<string, number> = {};
      const failures: string[] = [];
      const lane = async () => {
        while (next < 10_000) {
          const i = next++;
          const kind = kinds[i % kinds.length];
          try {
            await one(i);
            done[kind] = (done[kind] ?? 0) + 1;
          } catch (e) {
            // Only the aborting kinds may end in an abort error on the client side.
            if (kind === "abort" && (e as Error).name === "AbortError") done[kind] = (done[kind] ?? 0) + 1;
            else failures.push(`${kind}: ${(e as Error).message}`);
          }
        }
      };
      const started = Date.now();
      try {
        await Promise.all(Array.from({ length: 32 }, lane));
        assert.deepEqual(failures.slice(0, 5), [], `${failures.length} requests failed`);
        for (const kind of kinds) assert.equal(done[kind], 2000, `${kind} completed`);
        assert.ok(
          await waitFor(() => stats.own().calling === 0 && stats.own().writing === 0, 10_000),
          JSON.stringify(stats.own()),
        );
        assert.deepEqual(stats.totals(), { calling: 0, writing: 0, workers: 1 });
        assert.ok(Date.now() - started < 60_000);
      } finally {
        await server.close();
        stats.release();
      }
    },
  );
}

test("mounted under basePath, app.route or app.use(path), the stats path is answered under the mount", async () => {
  using tmp = tempShm("mw-mount");
  const based = new Hono().basePath("/api");
  based.use(raindrops({ stats: tmp.path }));
  based.get("/x", (c) => c.text("x"));
  const sub = new Hono().use(raindrops({ stats: tmp.path })).get("/x", (c) => c.text("x"));
  const routed = new Hono().route("/v1", sub);
  const scoped = new Hono().use("/admin/*", raindrops({ stats: tmp.path }));
  const tenant = new Hono().basePath("/t/:id").use(raindrops({ stats: tmp.path }));
  const cases: [Hono, string, number][] = [
    [based, "/api/_raindrops", 200],
    [based, "/api/x", 200],
    [based, "/api/x/_raindrops", 404],
    [based, "/_raindrops", 404],
    [routed, "/v1/_raindrops", 200],
    [scoped, "/admin/_raindrops", 200],
    [tenant, "/t/5/_raindrops", 200],
    [tenant, "/t/5/6/_raindrops", 404],
  ];
  for (const [app, path, status] of cases) {
    const res = await app.request(path, {}, LOCAL);
    const body = await res.text();
    assert.equal(res.status, status, `${path}: ${body}`);
    if (status === 200 && path.endsWith("_raindrops")) assert.match(body, /^calling: 0\nwriting: 0\n/, path);
  }
  // And from a real server, whose requests carry its own listener.
  const server = await serve(based.fetch);
  try {
    const body = await (await fetch(`${server.url}/api/_raindrops`)).text();
    assert.match(body, new RegExp(`^127\\.0\\.0\\.1:${server.port} active: 1$`, "m"), body);
  } finally {
    await server.close();
  }
  WorkerStats.open(tmp.path).release();
});

test("a listener nothing listens on is marked in text, JSON and Prometheus; a wildcard's address is not", async () => {
  using tmp = tempShm("mw-unlistened");
  const nobody = `127.0.0.1:${await freePort()}`;
  const wildcard = createServer();
  await new Promise<void>((r) => wildcard.listen(0, "0.0.0.0", r));
  const port = (wildcard.address() as { port: number }).port;
  const served = `127.0.0.1:${port}`; // no socket bound to it: the 0.0.0.0 listener takes it
  const app = testApp({ stats: tmp.path, listeners: [served, nobody, "/nonexistent/raindrops.sock"] });
  try {
    const text = await (await app.request("/_raindrops", {}, LOCAL)).text();
    assert.match(text, new RegExp(`^${nobody} queued: 0\\n${nobody} listening: false$`, "m"), text);
    assert.match(text, /^\/nonexistent\/raindrops\.sock listening: false$/m, text);
    assert.doesNotMatch(text, new RegExp(`^${served} listening`, "m"), text);
    const json = await (await app.request("/_raindrops?format=json", {}, LOCAL)).json();
    assert.deepEqual(json.listeners[nobody], { active: 0, queued: 0, listening: false });
    assert.equal(json.listeners[served].listening, true);
    const prom = await (await app.request("/_raindrops?format=prometheus", {}, LOCAL)).text();
    assert.match(prom, /^# TYPE raindrops_listener_up gauge$/m);
    assert.match(prom, new RegExp(`^raindrops_listener_up\\{listener="${nobody}"\\} 0$`, "m"), prom);
    assert.match(prom, new RegExp(`^raindrops_listener_up\\{listener="${served}"\\} 1$`, "m"), prom);
  } finally {
    await new Promise((r) => wildcard.close(r));
    WorkerStats.open(tmp.path).release();
  }
});

test("Prometheus reports the backlog of each SO_REUSEPORT socket, where one overflows, not their sum", async () => {
  using tmp = tempShm("mw-backlog");
  await using first = await HeldListener.start(["tcp", "127.0.0.1", "0", "--reuse-port"]);
  await using second = await HeldListener.start(["tcp", "127.0.0.1", String(first.port), "--reuse-port"]);
  const addr = `127.0.0.1:${first.port}`;
  const kernel = tcpListenerStats(addr).get(addr)!;
  assert.equal(kernel.listeners, 2);
  const app = testApp({ stats: tmp.path, listeners: [addr] });
  const prom = await (await app.request("/_raindrops?format=prometheus", {}, LOCAL)).text();
  const backlog = Number(prom.match(/^raindrops_listener_backlog_connections\{listener="[^"]+"\} (\d+)$/m)?.[1]);
  assert.equal(backlog, kernel.backlog / 2, prom);
  assert.ok(second.port === first.port && backlog > 0);
  WorkerStats.open(tmp.path).release();
});
