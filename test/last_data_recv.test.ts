import { test } from "node:test";
import { spawn } from "node:child_process";
import net from "node:net";
import type { Server as HttpServer } from "node:http";
import assert from "node:assert/strict";
import { createAdaptorServer } from "@hono/node-server";
import { Hono } from "hono";
import type { Aggregate } from "../src/aggregate/aggregate.ts";
import { SharedAggregate } from "../src/aggregate/shared_aggregate.ts";
import { InetDiagSocket } from "../src/linux/diag_socket.ts";
import { LastDataRecv } from "../src/last_data_recv/last_data_recv.ts";
import { parseAddress } from "../src/linux/address.ts";
import type { Connection } from "../src/server/connection.ts";
import type { RequestView } from "../src/server/request_view.ts";
import { tempShm } from "./_helpers.ts";
import { waitFor } from "./fixtures/linux_sockets.ts";
import { rawExchange, rawGet, serveHono } from "./fixtures/hono_servers.ts";
import { rawRequest, runtimeName, serve, type ServerEnv } from "./fixtures/watcher_servers.ts";

const SUMMARY = ["X-Min", "X-Max", "X-Mean", "X-Std-Dev", "X-Outliers-Low", "X-Outliers-High"];

/** `host:port` as an address and a port, the host without brackets. */
function hostAndPort(text: string): [string, number] {
  const port = parseAddress(text).port;
  return [text.slice(0, text.lastIndexOf(":")).replace(/^\[|\]$/g, ""), port];
}

/** The connection as the test server reports it: its own address and `c.env.remote`. */
function connectionOf(local: { value: string }): (c: RequestView) => Connection {
  return (c) => {
    const [remoteAddress, remotePort] = hostAndPort((c.env as ServerEnv).remote);
    const [localAddress, localPort] = hostAndPort(local.value);
    return { remoteAddress, remotePort, localAddress, localPort };
  };
}

/** An app with the middleware on every route, `/ok`, `/busy?ms=N` and `/ldr` serving the aggregate; `get` uses a new connection each time. */
async function setup(options: { sample?: number; aggregate?: Aggregate | SharedAggregate } = {}) {
  const local = { value: "" };
  const ldr = new LastDataRecv({ connection: connectionOf(local), ...options });
  const app = new Hono();
  app.use(ldr.middleware);
  app.get("/ok", (c) => c.text("ok"));
  const hooks = { onBusy: () => {} };
  app.get("/busy", (c) => {
    hooks.onBusy();
    const end = Date.now() + Number(c.req.query("ms"));
    while (Date.now() < end) { /* hold the event loop: later requests wait in the kernel */ }
    return c.text("done");
  });
  app.get("/ldr", ldr.handler);
  const server = await serve(app);
  local.value = server.local;
  return {
    ldr,
    server,
    set onBusy(f: () => void) {
      hooks.onBusy = f;
    },
    get: (path: string) => rawGet("127.0.0.1", server.port, path),
    head: (path: string) => rawRequest(server.port, `GET ${path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n`),
    async [Symbol.asyncDispose]() {
      await server[Symbol.asyncDispose]();
      ldr.close();
    },
  };
}

test(`the endpoint sends every summary header, as the Watcher does: NaN for the deviation of one connection (${runtimeName})`, async () => {
  await using s = await setup();
  const first = await s.head("/ldr");
  assert.equal(first.status, 200);
  assert.match(first.headers.get("content-type")!, /^text\/plain/);
  assert.equal(first.headers.get("x-count"), "1", "the report's own connection is recorded before it answers");
  for (const h of SUMMARY) assert.ok(first.headers.has(h.toLowerCase()), `${h} missing`);
  assert.equal(first.headers.get("x-std-dev"), "NaN");
  assert.equal((await s.get("/ok")).body, "ok");
  const third = await s.get("/ldr");
  assert.match(third.body, /^ *Total \| +3$/m);
  const fourth = await s.head("/ldr");
  assert.equal(fourth.headers.get("x-count"), "4");
  for (const h of SUMMARY) assert.ok(fourth.headers.has(h.toLowerCase()), `${h} missing`);
  assert.ok(Number(fourth.headers.get("x-min")) >= 0);
  assert.ok(Number(fourth.headers.get("x-max")) >= Number(fourth.headers.get("x-min")));
  assert.ok(Number(fourth.headers.get("x-std-dev")) >= 0);
  assert.equal(s.ldr.missed, 0);
  assert.equal(s.ldr.lastError, undefined);
});

test(`later requests on a keep-alive connection are not recorded (${runtimeName})`, async () => {
  await using s = await setup();
  const reply = await rawExchange(
    s.server.port,
    "GET /ok HTTP/1.1\r\nHost: x\r\n\r\nGET /ok HTTP/1.1\r\nHost: x\r\n\r\nGET /ok HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
  );
  assert.equal(reply.match(/HTTP\/1.1 200/g)?.length, 3);
  assert.equal(s.ldr.aggregate.count, 1);
});

test(`a connection whose first request waited behind a busy handler records the wait as last_data_recv (${runtimeName})`, async () => {
  await using s = await setup();
  // While /busy holds this process's event loop, a client in another
  // process connects and sends its request, which waits in the kernel.
  let answered: Promise<string> | undefined;
  s.onBusy = () => {
    const other = spawn("bash", [
      "-c",
      `exec 3<>/dev/tcp/127.0.0.1/${s.server.port}; printf 'GET /ok HTTP/1.1\\r\\nHost: x\\r\\nConnection: close\\r\\n\\r\\n' >&3; cat <&3`,
    ], { stdio: ["ignore", "pipe", "inherit"] });
    const timer = setTimeout(() => other.kill(), 10_000);
    let out = "";
    other.stdout!.on("data", (d) => (out += d));
    answered = new Promise((r) => other.once("close", () => (clearTimeout(timer), r(out))));
  };
  assert.equal((await s.get("/busy?ms=300")).body, "done");
  assert.match(await answered!, /\r\n\r\nok$/);
  assert.equal(s.ldr.aggregate.count, 2);
  assert.ok(s.ldr.aggregate.max! >= 150, `max ${s.ldr.aggregate.max}`);
  assert.ok(s.ldr.aggregate.min! < 150, `min ${s.ldr.aggregate.min}`);
  const res = await s.head("/ldr");
  assert.ok(Number(res.headers.get("x-max")) >= 150);
});

test(`sample: N records one connection in N (${runtimeName})`, async () => {
  await using s = await setup({ sample: 4 });
  for (let i = 0; i < 12; i++) await s.get("/ok");
  assert.equal(s.ldr.aggregate.count, 3);
  const res = await s.head("/ldr"); // the 13th connection: not recorded
  assert.equal(res.headers.get("x-count"), "3");
});

test(`samples go into a SharedAggregate that another handle on the same file reads (${runtimeName})`, async () => {
  using file = tempShm("ldr");
  using shared = new SharedAggregate({ path: file.path, zero: true, buckets: 16 });
  using reader = new SharedAggregate({ path: file.path, buckets: 16 });
  await using s = await setup({ aggregate: shared });
  for (let i = 0; i < 5; i++) await s.get("/ok");
  assert.equal(reader.count, 5);
  const res = await s.head("/ldr");
  assert.equal(res.headers.get("x-count"), "6");
});

test(`a connection that cannot be found is counted as missed and the request still succeeds (${runtimeName})`, async () => {
  const ldr = new LastDataRecv({
    connection: () => ({ remoteAddress: "127.0.0.1", remotePort: 2, localAddress: "127.0.0.1", localPort: 1 }),
  });
  const none = new LastDataRecv({ connection: () => undefined });
  const app = new Hono();
  app.use(ldr.middleware, none.middleware);
  app.get("/ok", (c) => c.text("ok"));
  await using server = await serve(app);
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
  await using server = await serve(app);
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
  await using server = await serveHono(app, "127.0.0.1");
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
  assert.throws(() => new LastDataRecv().wrap("x" as never), TypeError);
  assert.equal(new LastDataRecv({ connection }).middleware.name, "lastDataRecv");
});

test(`the connection option works around a whole fetch handler too, given a request view (${runtimeName})`, async () => {
  const local = { value: "" };
  const seen: string[] = [];
  const told = connectionOf(local);
  using ldr = new LastDataRecv({ connection: (c) => (seen.push(c.req.raw.url), told(c)) });
  await using server = await serve({ fetch: ldr.wrap(() => new Response("ok")) });
  local.value = server.local;
  for (let i = 0; i < 3; i++) assert.equal((await rawGet("127.0.0.1", server.port, `/n${i}`)).body, "ok");
  assert.equal(ldr.missed, 0, String(ldr.lastError));
  assert.equal(ldr.aggregate.count, 3);
  assert.deepEqual(seen.map((u) => new URL(u).pathname), ["/n0", "/n1", "/n2"]);
});

test("attach takes a Node server only, and not once closed: TypeError for anything else", () => {
  using ldr = new LastDataRecv();
  for (const bad of [{}, { port: 8080, requestIP() {} }, null, 3]) {
    assert.throws(() => ldr.attach(bad as never), TypeError);
  }
  const server = net.createServer();
  assert.equal(ldr.attach(server).attach(server).servers, 1, "attached once");
  assert.equal(server.listenerCount("connection"), 1);
  ldr.close();
  assert.equal(ldr.servers, 0);
  assert.equal(server.listenerCount("connection"), 0, "close() detaches");
  assert.throws(() => ldr.attach(server), TypeError);
});

test(`attach(server) records each connection at accept, before its first request, once (node)`, {
  skip: runtimeName !== "node" && "Deno's and Bun's servers tell no accepts",
}, async () => {
  using ldr = new LastDataRecv();
  const server = createAdaptorServer({ fetch: ldr.wrap(() => new Response("ok")) });
  ldr.attach(server);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const { port } = server.address() as net.AddressInfo;
  try {
    const idle = net.connect(port, "127.0.0.1"); // sends nothing
    await waitFor(() => ldr.aggregate.count === 1, () => ldr.aggregate.count);
    for (let i = 0; i < 3; i++) assert.equal((await rawGet("127.0.0.1", port, "/")).body, "ok");
    assert.equal(ldr.aggregate.count, 4, "each connection once: at accept, not again at its request");
    assert.equal(ldr.missed, 0, String(ldr.lastError));
    idle.destroy();
  } finally {
    await new Promise<void>((r) => (server.close(() => r()), (server as HttpServer).closeAllConnections()));
  }
  assert.equal(ldr.servers, 0, "detached once the server closed");
});
