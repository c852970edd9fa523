import { test } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { Hono } from "hono";
import type { Aggregate } from "../src/aggregate/aggregate.ts";
import { SharedAggregate } from "../src/aggregate/shared_aggregate.ts";
import { InetDiagSocket } from "../src/linux/diag_socket.ts";
import { type ConnectionOf, LastDataRecv } from "../src/last_data_recv/last_data_recv.ts";
import { tempShm } from "./_helpers.ts";
import { rawGet, serveHono } from "./fixtures/hono_servers.ts";
import { runtimeName, serve, type ServerEnv } from "./fixtures/watcher_servers.ts";

const SUMMARY = ["X-Min", "X-Max", "X-Mean", "X-Std-Dev", "X-Outliers-Low", "X-Outliers-High"];

/** The connection as the test server reports it: its own address and `c.env.remote`. */
function connectionOf(local: { value: string }): ConnectionOf {
  return (c) => ({ local: local.value, remote: (c.env as ServerEnv).remote });
}

/** An app with the middleware on every route, `/ok`, `/busy?ms=N` and `/ldr` serving the aggregate. */
function setup(options: { sample?: number; aggregate?: Aggregate | SharedAggregate } = {}) {
  const local = { value: "" };
  const ldr = new LastDataRecv({ connection: connectionOf(local), ...options });
  const app = new Hono();
  app.use(ldr.middleware);
  app.get("/ok", (c) => c.text("ok"));
  app.get("/busy", (c) => {
    const end = Date.now() + Number(c.req.query("ms"));
    while (Date.now() < end) { /* hold the event loop: later requests wait in the kernel */ }
    return c.text("done");
  });
  app.get("/ldr", ldr.handler);
  const server = serve(app);
  local.value = server.local;
  return {
    ldr,
    server,
    get: (path: string) => fetch(server.origin + path),
    async [Symbol.asyncDispose]() {
      await server[Symbol.asyncDispose]();
      ldr.close();
    },
  };
}

/** Sends raw bytes on a new connection and resolves with everything received until the server closes it. */
function rawExchange(port: number, request: string, ms = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, "127.0.0.1");
    let got = "";
    const timer = setTimeout(() => (sock.destroy(), reject(new Error(`no close within ${ms} ms: ${got}`))), ms);
    sock.setEncoding("latin1");
    sock.on("data", (d: string) => (got += d));
    sock.on("error", (e) => (clearTimeout(timer), reject(e)));
    sock.on("close", () => (clearTimeout(timer), resolve(got)));
    sock.once("connect", () => sock.write(request));
  });
}

test(`the endpoint sends X-Count alone until two requests are recorded, then every summary header (${runtimeName})`, async () => {
  await using s = setup();
  const first = await s.get("/ldr");
  assert.equal(first.status, 200);
  assert.match(first.headers.get("Content-Type")!, /^text\/plain/);
  assert.equal(first.headers.get("X-Count"), "1", "the report's own request is recorded before it answers");
  for (const h of SUMMARY) assert.equal(first.headers.get(h), null, h);
  assert.match(await first.text(), /Total/);
  await (await s.get("/ok")).text();
  const third = await s.get("/ldr");
  assert.equal(third.headers.get("X-Count"), "3");
  for (const h of SUMMARY) assert.ok(third.headers.has(h), `${h} missing`);
  assert.ok(Number(third.headers.get("X-Min")) >= 0);
  assert.ok(Number(third.headers.get("X-Max")) >= Number(third.headers.get("X-Min")));
  assert.ok(Number(third.headers.get("X-Std-Dev")) >= 0);
  const body = await third.text();
  assert.match(body, /^ *Total \| +3$/m);
  assert.equal(s.ldr.missed, 0);
  assert.equal(s.ldr.lastError, undefined);
});

test(`a request that waited behind a busy handler records the wait as last_data_recv (${runtimeName})`, async () => {
  await using s = setup();
  // Two pipelined requests in one segment: the second one's bytes arrive
  // with the first and wait in the kernel while /busy holds the event loop.
  const reply = await rawExchange(
    s.server.port,
    "GET /busy?ms=250 HTTP/1.1\r\nHost: x\r\n\r\nGET /ok HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
  );
  assert.match(reply, /done[\s\S]*ok/);
  assert.equal(s.ldr.aggregate.count, 2);
  assert.ok(s.ldr.aggregate.max! >= 200, `max ${s.ldr.aggregate.max}`);
  assert.ok(s.ldr.aggregate.min! < 200, `min ${s.ldr.aggregate.min}`);
  const res = await s.get("/ldr");
  assert.ok(Number(res.headers.get("X-Max")) >= 200);
  assert.match(await res.text(), /^\[128, 256\) \| #+ +1$|^\[256, 512\) \| #+ +1$/m);
});

test(`sample: N records one request in N (${runtimeName})`, async () => {
  await using s = setup({ sample: 4 });
  for (let i = 0; i < 12; i++) await (await s.get("/ok")).text();
  assert.equal(s.ldr.aggregate.count, 3);
  const res = await s.get("/ldr"); // the 13th request: not recorded
  assert.equal(res.headers.get("X-Count"), "3");
  await res.text();
});

test(`samples go into a SharedAggregate that another handle on the same file reads (${runtimeName})`, async () => {
  using file = tempShm("ldr");
  using shared = new SharedAggregate({ path: file.path, zero: true, buckets: 16 });
  using reader = new SharedAggregate({ path: file.path, buckets: 16 });
  await using s = setup({ aggregate: shared });
  for (let i = 0; i < 5; i++) await (await s.get("/ok")).text();
  assert.equal(reader.count, 5);
  const res = await s.get("/ldr");
  assert.equal(res.headers.get("X-Count"), "6");
  await res.text();
});

test(`a connection that cannot be found is counted as missed and the request still succeeds (${runtimeName})`, async () => {
  const ldr = new LastDataRecv({ connection: () => ({ local: "127.0.0.1:1", remote: "127.0.0.1:2" }) });
  const none = new LastDataRecv({ connection: () => undefined });
  const app = new Hono();
  app.use(ldr.middleware, none.middleware);
  app.get("/ok", (c) => c.text("ok"));
  await using server = serve(app);
  const res = await fetch(`${server.origin}/ok`);
  assert.equal(await res.text(), "ok");
  assert.equal(ldr.aggregate.count, 0);
  assert.equal(ldr.missed, 1);
  assert.equal((ldr.lastError as { code?: string }).code, "ENOENT");
  assert.equal(none.missed, 1);
  ldr.close();
  none.close();
});

test(`a socket given in the options is used and left open by close() (${runtimeName})`, async () => {
  using sock = new InetDiagSocket();
  const local = { value: "" };
  const ldr = new LastDataRecv({ connection: connectionOf(local), socket: sock });
  const app = new Hono();
  app.use(ldr.middleware);
  app.get("/ok", (c) => c.text("ok"));
  await using server = serve(app);
  local.value = server.local;
  await (await fetch(`${server.origin}/ok`)).text();
  assert.equal(ldr.aggregate.count, 1);
  ldr.close();
  ldr.close();
  assert.equal(sock.closed, false);
});

test(`by default each request's own connection is found from c.env of a real server (${runtimeName})`, async () => {
  using ldr = new LastDataRecv();
  const app = new Hono();
  app.use(ldr.middleware);
  app.get("/ok", (c) => c.text("ok"));
  await using server = serveHono(app, "127.0.0.1");
  for (let i = 0; i < 3; i++) assert.equal((await rawGet("127.0.0.1", server.port, "/ok")).status, 200);
  assert.equal(ldr.missed, 0, String(ldr.lastError));
  assert.equal(ldr.aggregate.count, 3);
  assert.ok(ldr.aggregate.max! < 10_000, "last_data_recv of a fresh request is small");
});

test("the constructor checks its options: TypeError for wrong types, RangeError for a bad sample", () => {
  const connection = () => undefined;
  assert.throws(() => new LastDataRecv(null as never), TypeError);
  assert.throws(() => new LastDataRecv({ connection: "x" } as never), TypeError);
  assert.throws(() => new LastDataRecv({ connection, sample: "2" as never }), TypeError);
  assert.throws(() => new LastDataRecv({ connection, sample: 0 }), RangeError);
  assert.throws(() => new LastDataRecv({ connection, sample: 1.5 }), RangeError);
  assert.throws(() => new LastDataRecv({ connection, aggregate: {} as never }), TypeError);
  assert.throws(() => new LastDataRecv({ connection, socket: 3 as never }), TypeError);
  assert.equal(new LastDataRecv({ connection }).middleware.name, "lastDataRecv");
});
