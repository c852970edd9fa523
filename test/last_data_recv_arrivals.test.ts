import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import net from "node:net";
import { Hono } from "hono";
import { LastDataRecv } from "../src/last_data_recv/last_data_recv.ts";
import { ListenerArrivals } from "../src/last_data_recv/_listener_arrivals.ts";
import type { FetchHandler } from "../src/middleware/fetch.ts";
import { descriptors } from "./fixtures/descriptors.ts";
import { Client } from "./fixtures/keep_alive_client.ts";
import { serveNode } from "./fixtures/node_server.ts";
import { HeldListener, waitFor } from "./fixtures/linux_sockets.ts";
import { runtimeName, sleep } from "./fixtures/watcher_servers.ts";

// deno-lint-ignore no-explicit-any
const g = globalThis as any;
/** Longer than the least interval between two checks for waiting connections. */
const CHECK_WAIT_MS = 30;

/**
 * On Node a connection is known by its socket object and recorded at
 * accept (the server's connection event): no arrival watch, no period of
 * identified requests. Tests of that mechanism have a Node variant that
 * tests what stands in for it there.
 */
const onNode = runtimeName === "node";

/** This process's io_uring descriptors (the arrival watches hold one each). */
const ringFds = () => descriptors().rings;

/**
 * An app on a real server with LastDataRecv as middleware or around the
 * whole fetch handler: `/` answers "ok", `/busy?ms=N` holds the event loop.
 * What the server hands the app is passed on with its client-address reads
 * counted (the per-request cost the arrival watch spares): Bun's server
 * with its `requestIP` calls, Deno's per-request info with its `remoteAddr`
 * (Node's `{ incoming, outgoing }` is passed on as it is).
 */
async function serveApp(form: "middleware" | "wrap") {
  const ldr = new LastDataRecv();
  const app = new Hono();
  if (form === "middleware") app.use(ldr.middleware);
  app.get("/", (c) => c.text("ok"));
  app.get("/busy", (c) => {
    const end = Date.now() + Number(c.req.query("ms"));
    while (Date.now() < end) { /* later connections wait in the kernel */ }
    return c.text("done");
  });
  const counted = { identified: 0 };
  const server = await serveCounted(form === "wrap" ? ldr.wrap(app.fetch) : app.fetch, counted);
  return {
    ldr,
    port: server.port,
    counted,
    async [Symbol.asyncDispose]() {
      await server.stop();
      ldr.close();
    },
  };
}

/** `fetch` on a real server of this runtime, on a free port, with the client-address reads counted in `counted` (not on Node). */
async function serveCounted(
  fetch: FetchHandler,
  counted: { identified: number },
): Promise<{ port: number; stop(): Promise<void> }> {
  if (onNode) {
    const server = await serveNode(fetch, "127.0.0.1");
    return { port: server.port, stop: server.close };
  }
  if (g.Bun) {
    // deno-lint-ignore no-explicit-any
    let env: any;
    const server = g.Bun.serve({
      port: 0,
      idleTimeout: 0,
      // deno-lint-ignore no-explicit-any
      fetch: (req: Request, s: any) =>
        fetch(req, env ??= { port: s.port, requestIP: (r: Request) => (counted.identified++, s.requestIP(r)) }),
    });
    return { port: server.port, stop: async () => void (await server.stop(true)) };
  }
  const ac = new AbortController();
  // deno-lint-ignore no-explicit-any
  const counting = (req: Request, info: any) =>
    fetch(req, {
      get remoteAddr() {
        counted.identified++;
        return info.remoteAddr;
      },
    });
  const server = g.Deno.serve({ port: 0, signal: ac.signal, onListen() {} }, counting);
  return { port: server.addr.port, stop: async () => (ac.abort(), await server.finished) };
}

/** Requests on `client` until LastDataRecv has seen every connection and stopped identifying requests, bounded (none on Node). */
async function settled(s: Awaited<ReturnType<typeof serveApp>>, client: Client): Promise<void> {
  if (onNode) return;
  for (let tries = 0; tries < 100; tries++) {
    await sleep(CHECK_WAIT_MS);
    const before = s.counted.identified;
    assert.equal(await client.get("/", 0), "ok");
    assert.equal(await client.get("/", 0), "ok");
    if (s.counted.identified === before) return;
  }
  throw new Error("requests are still identified");
}

for (const form of ["wrap", "middleware"] as const) {
  const skipped = onNode ? "node: known by their socket, no client address to skip" : runtimeName;
  test(`${form}: many connections arriving at once are each recorded once, and later requests skip the client address (${skipped})`, async () => {
    await using s = await serveApp(form);
    const clients = await Promise.all(Array.from({ length: 60 }, () => Client.connect(s.port)));
    await Promise.all(clients.map(async (c) => {
      for (let r = 0; r < 4; r++) assert.equal(await c.get("/", r), "ok");
    }));
    assert.equal(s.ldr.missed, 0, String(s.ldr.lastError));
    assert.equal(s.ldr.aggregate.count, 60);
    await settled(s, clients[0]);
    const before = s.counted.identified;
    await Promise.all(clients.map(async (c) => assert.equal(await c.get("/", 1), "ok")));
    if (!onNode) {
      assert.equal(s.counted.identified - before, 0, "no client address asked once every connection is known");
    }
    assert.equal(s.ldr.aggregate.count, 60);
    for (const c of clients) c.sock.destroy();
  });

  test(
    `${form}: a connection that connects, waits, then sends is recorded at its first request while another connection's requests go on (${runtimeName})`,
    {
      skip: onNode && "node records it at accept: see the next test",
    },
    async () => {
      await using s = await serveApp(form);
      const busy = await Client.connect(s.port);
      assert.equal(await busy.get("/", 0), "ok");
      await settled(s, busy);
      const waiting = await Client.connect(s.port);
      for (let i = 0; i < 8; i++) { // across several checks for waiting connections
        assert.equal(await busy.get("/", i), "ok");
        await sleep(CHECK_WAIT_MS);
      }
      assert.equal(s.ldr.aggregate.count, 1, "a connection without a request is not recorded");
      assert.equal(await waiting.get("/", 0), "ok");
      assert.equal(s.ldr.aggregate.count, 2, "recorded at its first request");
      assert.ok(s.ldr.aggregate.max! < 100, `last_data_recv ${s.ldr.aggregate.max} ms: its request had just arrived`);
      await settled(s, busy);
      assert.equal(await waiting.get("/", 3), "ok");
      assert.equal(s.ldr.aggregate.count, 2);
      assert.equal(s.ldr.missed, 0, String(s.ldr.lastError));
      busy.sock.destroy();
      waiting.sock.destroy();
    },
  );

  test(
    `${form}: a connection that connects and waits is recorded once, at accept, before its first request (node: the server's connection event)`,
    {
      skip: !onNode && "Deno and Bun tell no accepts: see the previous test",
    },
    async () => {
      await using s = await serveApp(form);
      const first = await Client.connect(s.port);
      assert.equal(await first.get("/", 0), "ok"); // recorded at its first request; its server is attached then
      assert.equal(s.ldr.aggregate.count, 1);
      assert.equal(s.ldr.servers, 1);
      const waiting = await Client.connect(s.port);
      await waitFor(() => s.ldr.aggregate.count === 2, () => s.ldr.aggregate.count);
      assert.ok(s.ldr.aggregate.max! < 100, `last_data_recv ${s.ldr.aggregate.max} ms: it had just connected`);
      for (let i = 0; i < 3; i++) assert.equal(await waiting.get("/", i), "ok");
      assert.equal(await first.get("/", 1), "ok");
      assert.equal(s.ldr.aggregate.count, 2, "recorded once");
      assert.equal(s.ldr.missed, 0, String(s.ldr.lastError));
      first.sock.destroy();
      waiting.sock.destroy();
    },
  );

  test(`${form}: a connection opened while the handler holds the event loop is recorded with its wait (${runtimeName})`, async () => {
    await using s = await serveApp(form);
    const busy = await Client.connect(s.port);
    assert.equal(await busy.get("/", 0), "ok");
    await settled(s, busy);
    // Another process connects and sends while /busy holds this process:
    // its request waits in the kernel, unaccepted or unread.
    const other = spawn("bash", [
      "-c",
      `sleep 0.1; exec 3<>/dev/tcp/127.0.0.1/${s.port}; printf 'GET / HTTP/1.1\\r\\nHost: x\\r\\nConnection: close\\r\\n\\r\\n' >&3; cat <&3`,
    ], { stdio: ["ignore", "pipe", "inherit"] });
    const timer = setTimeout(() => other.kill(), 10_000);
    let out = "";
    other.stdout!.on("data", (d) => (out += d));
    const answered = new Promise<string>((r) => other.once("close", () => (clearTimeout(timer), r(out))));
    assert.equal(await busy.get("/busy?ms=500", 0), "done");
    assert.match(await answered, /\r\n\r\nok$/);
    assert.equal(s.ldr.aggregate.count, 2);
    assert.ok(s.ldr.aggregate.max! >= 150, `max ${s.ldr.aggregate.max}`);
    busy.sock.destroy();
  });
}

{
  test(`connections closed before a whole request end the period of identified requests (${runtimeName})`, {
    skip: onNode && "node identifies no requests: see the next test",
  }, async () => {
    await using s = await serveApp("wrap");
    const busy = await Client.connect(s.port);
    assert.equal(await busy.get("/", 0), "ok");
    await settled(s, busy);
    // Half a request each: accepted (Bun's listener defers a connection
    // until its first bytes; Deno's accepts at once), never served.
    const partial = await Promise.all(Array.from({ length: 10 }, () => Client.connect(s.port)));
    for (const c of partial) c.sock.write("GET / HTTP/1.1\r\nHost: t\r\n");
    await sleep(CHECK_WAIT_MS);
    for (let i = 0; i < 3; i++) {
      const before = s.counted.identified;
      assert.equal(await busy.get("/", 0), "ok");
      assert.equal(s.counted.identified - before, 1, "identified while the partial connections are open");
      await sleep(CHECK_WAIT_MS);
    }
    await Promise.all(partial.map((c) => (c.sock.destroy(), c.closed())));
    await settled(s, busy);
    assert.equal(s.ldr.aggregate.count, 1);
  });
}

test(`connections that send half a request are recorded at accept, as the gem records every accepted one (node)`, {
  skip: !onNode && "Deno and Bun tell no accepts",
}, async () => {
  await using s = await serveApp("wrap");
  const first = await Client.connect(s.port);
  assert.equal(await first.get("/", 0), "ok"); // the server is attached at its first request
  const partial = await Promise.all(Array.from({ length: 10 }, () => Client.connect(s.port)));
  for (const c of partial) c.sock.write("GET / HTTP/1.1\r\nHost: t\r\n");
  await waitFor(() => s.ldr.aggregate.count === 11, () => s.ldr.aggregate.count);
  await Promise.all(partial.map((c) => (c.sock.destroy(), c.closed())));
  assert.equal(await first.get("/", 1), "ok");
  assert.equal(s.ldr.aggregate.count, 11);
  assert.equal(s.ldr.missed, 0, String(s.ldr.lastError));
  first.sock.destroy();
});

test(`a second server started later in the process is watched too; its connections are recorded once (${runtimeName})`, async () => {
  await using s = await serveApp("wrap");
  const first = await Client.connect(s.port);
  assert.equal(await first.get("/", 0), "ok");
  await settled(s, first);
  const later = await serveCounted(s.ldr.wrap(() => new Response("ok")), s.counted);
  try {
    // Deno's watch covers the listeners it found; new ones join at a rescan
    // (at most a second apart, after enough requests): keep requests going past it.
    for (let n = 0, end = Date.now() + 1500; !onNode && n < 100_000 && (n < 2048 || Date.now() < end); n++) {
      assert.equal(await first.get("/", 1), "ok");
    }
    const recorded = s.ldr.aggregate.count;
    const clients = await Promise.all(Array.from({ length: 5 }, () => Client.connect(later.port)));
    for (let r = 0; r < 3; r++) for (const c of clients) assert.equal(await c.get("/", r), "ok");
    assert.equal(s.ldr.aggregate.count - recorded, 5, "each connection to the later server recorded once");
    assert.equal(s.ldr.missed, 0, String(s.ldr.lastError));
    for (const c of clients) c.sock.destroy();
  } finally {
    first.sock.destroy();
    await later.stop();
  }
});

test(`ListenerArrivals reports an arrival although the server accepted it, until every connection is seen (${runtimeName})`, async () => {
  await using s = await serveApp("wrap");
  using arrivals = ListenerArrivals.watch(s.port)!;
  assert.ok(arrivals, "the server's own listener is found");
  assert.equal(arrivals.mayBeNew(), true, "connections accepted before the watch are not known");
  const allSeen =
    () => (arrivals.settle(new Set(ListenerArrivals.connectionsOn(new Set([s.port])))), !arrivals.mayBeNew());
  await waitFor(allSeen, () => "still identifying without any connection");
  const client = await Client.connect(s.port);
  assert.equal(await client.get("/", 0), "ok"); // accepted and served
  assert.equal(arrivals.mayBeNew(), true);
  for (const end = Date.now() + 10 * CHECK_WAIT_MS; Date.now() < end; await sleep(5)) {
    arrivals.settle(new Set()); // its socket is not one seen
    assert.equal(arrivals.mayBeNew(), true, "identifying while a connection is not seen");
  }
  await waitFor(allSeen, () => "still identifying once every connection is seen");
  assert.equal(await client.get("/", 0), "ok");
  assert.equal(arrivals.mayBeNew(), false, "a known connection's request is no arrival");
  client.sock.destroy();
  await client.closed();
  const bare = net.connect(s.port, "127.0.0.1"); // no whole request
  await new Promise((r) => bare.once("connect", r));
  bare.write("G"); // a listener that defers accepting (Bun's) waits for a first byte
  await waitFor(() => arrivals.mayBeNew(), () => "no arrival reported");
  bare.destroy();
});

test(`a watched server's port is free once it stops, and close() frees the watches (${runtimeName})`, async () => {
  const rings = ringFds();
  let port: number;
  {
    await using s = await serveApp("wrap");
    port = s.port;
    const c = await Client.connect(s.port);
    assert.equal(await c.get("/", 0), "ok");
    c.sock.destroy();
    if (runtimeName === "bun") assert.equal(ringFds(), rings + 1, "one watch for the server");
  } // the server stops, then LastDataRecv closes
  assert.equal(ringFds(), rings);
  const again = net.createServer();
  await new Promise<void>((resolve, reject) => (again.once("error", reject), again.listen(port, () => resolve())));
  await new Promise<void>((r) => again.close(() => r()));

  using arrivals = ListenerArrivals.watch((await serveAndStop()).port);
  assert.equal(arrivals, undefined, "no watch of a stopped server");
});

/** A server that was listening and has stopped. */
async function serveAndStop(): Promise<{ port: number }> {
  const s = await serveApp("wrap");
  await s[Symbol.asyncDispose]();
  return { port: s.port };
}

test("no watch of a listener another process holds; a bad port is a RangeError", async () => {
  await using held = await HeldListener.start(["tcp", "127.0.0.1"]);
  assert.equal(ListenerArrivals.watch(held.port), undefined);
  assert.throws(() => ListenerArrivals.watch(0), RangeError);
  assert.throws(() => ListenerArrivals.watch(65536), RangeError);
  assert.throws(() => ListenerArrivals.watch(1.5), RangeError);
});
