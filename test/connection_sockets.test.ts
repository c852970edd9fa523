import { test } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { Hono } from "hono";
import { connectionOf } from "../src/server/connection.ts";
import { sharedChannel } from "../src/linux/diag_socket.ts";
import { ConnectionSockets } from "../src/last_data_recv/_connection_sockets.ts";
import { NativeError } from "../src/errors.ts";
import { tcpInfoField } from "../src/linux/tcp_info_fields.ts";
import { LastDataRecv } from "../src/last_data_recv/last_data_recv.ts";
import { rawGet, serveHono } from "./fixtures/hono_servers.ts";
import { connect, HeldListener } from "./fixtures/linux_sockets.ts";
import { runtimeName, sleep } from "./fixtures/watcher_servers.ts";
import { Client } from "./fixtures/keep_alive_client.ts";

const CLIENTS = 100, REQUESTS = 6;
/** tcpi_bytes_received: offset in struct tcp_info. */
const BYTES_RECEIVED = 128;
/** Longer than the least interval between two sweeps of ConnectionSockets. */
const SWEEP_WAIT_MS = 150;

/** A loopback port no socket holds just now. */
async function freePort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((r) => probe.listen(0, "127.0.0.1", () => r()));
  const { port } = probe.address() as net.AddressInfo;
  await new Promise<void>((r) => probe.close(() => r()));
  return port;
}

/** A client on `localPort`, retried while the port is briefly still taken (bounded). */
async function boundClient(port: number, localPort: number): Promise<Client> {
  for (let tries = 0;; tries++) {
    try {
      return await Client.connect(port, localPort);
    } catch (e) {
      if (tries >= 50 || (e as { code?: string }).code !== "EADDRINUSE") throw e;
      await sleep(20);
    }
  }
}

/**
 * An app answering a connection's first request with the bytes the
 * connection has received as its first lookup read them, and "known" to
 * every later one.
 */
function app(connections: ConnectionSockets): Hono {
  return new Hono().get("/", (c) => {
    const conn = connectionOf(c)!;
    if (connections.known(conn)) return c.text("known");
    const { info } = connections.first(conn);
    assert.ok(info.length >= BYTES_RECEIVED + 8, `tcp_info of ${info.length} bytes`);
    return c.text(String(tcpInfoField(info, "bytes_received")));
  });
}

/** REQUESTS requests on each of CLIENTS concurrent connections: the first answer must be that connection's own byte count, the others "known". */
async function round(port: number): Promise<Client[]> {
  const clients = await Promise.all(Array.from({ length: CLIENTS }, () => Client.connect(port)));
  await Promise.all(clients.map(async (c, i) => {
    for (let r = 0; r < REQUESTS; r++) {
      const body = await c.get("/", (i * 7 + r * 13) % 97);
      assert.equal(body, r === 0 ? String(c.sent) : "known", `client ${i} request ${r}`);
    }
  }));
  return clients;
}

test(`a connection's first request reads its own TCP_INFO and later ones are known, over many concurrent connections (${runtimeName})`, async () => {
  const connections = new ConnectionSockets(sharedChannel);
  await using server = await serveHono(app(connections), "127.0.0.1");
  const clients = await round(server.port);
  assert.ok(connections.size >= CLIENTS, `${connections.size} connections remembered`);
  for (const c of clients) c.sock.destroy();
});

test(`closed connections are forgotten, so memory stays bounded over rounds of connections (${runtimeName})`, async () => {
  const connections = new ConnectionSockets(sharedChannel);
  await using server = await serveHono(app(connections), "127.0.0.1");
  for (let r = 0; r < 3; r++) {
    const clients = await round(server.port);
    await Promise.all(clients.map((c) => (c.sock.destroy(), c.closed())));
    // A request on a new connection runs the sweep due by then, and is remembered itself.
    for (let tries = 0; connections.size > 2 && tries < 20; tries++) {
      await sleep(SWEEP_WAIT_MS);
      await rawGet("127.0.0.1", server.port, "/");
    }
    assert.ok(connections.size <= 2, `round ${r}: ${connections.size} connections remembered`);
  }
});

test(`LastDataRecv records each connection once, at its first request, over many concurrent keep-alive connections (${runtimeName})`, async () => {
  for (const form of ["middleware", "wrap"] as const) {
    using ldr = new LastDataRecv();
    const a = new Hono();
    if (form === "middleware") a.use(ldr.middleware);
    a.get("/", (c) => c.text("ok"));
    await using server = await serveHono(form === "wrap" ? { fetch: ldr.wrap(a.fetch) } as Hono : a, "127.0.0.1");
    const clients = await Promise.all(Array.from({ length: 40 }, () => Client.connect(server.port)));
    await Promise.all(clients.map(async (c) => {
      for (let r = 0; r < 10; r++) assert.equal(await c.get("/", r), "ok");
    }));
    assert.equal(ldr.missed, 0, String(ldr.lastError));
    assert.equal(ldr.aggregate.count, 40, `${form}: one sample per connection`);
    if (runtimeName === "node") {
      assert.equal(ldr.connections, 0, "Node's are known by their socket object, none remembered");
    } else assert.ok(ldr.connections >= 40, `${form}: ${ldr.connections} remembered`);
    for (const c of clients) c.sock.destroy();
  }
});

test(`a new connection from a closed connection's client port is recorded as a new connection, with its own figures (${runtimeName})`, async () => {
  const connections = new ConnectionSockets(sharedChannel);
  await using server = await serveHono(app(connections), "127.0.0.1");
  const port = await freePort();
  const a = await boundClient(server.port, port);
  assert.equal(await a.get("/", 3), String(a.sent));
  assert.equal(await a.get("/", 5), "known");
  a.sock.resetAndDestroy(); // a reset leaves no TIME_WAIT at either end: the client's port is free at once
  await a.closed();
  await sleep(SWEEP_WAIT_MS);
  const b = await boundClient(server.port, port);
  assert.equal(b.sock.localPort, port);
  assert.equal(await b.get("/", 40), String(b.sent), "the reused key reads the new connection");
  assert.equal(await b.get("/", 2), "known");
  b.sock.destroy();
});

test("a connection whose socket another process holds is not taken, even with its exact address pair", async () => {
  await using held = await HeldListener.start(["tcp", "127.0.0.1"]);
  const client = await connect({ host: "127.0.0.1", port: held.port });
  await held.accept(1);
  const connections = new ConnectionSockets(sharedChannel);
  const conn = {
    remoteAddress: "127.0.0.1",
    remotePort: client.localPort!,
    localAddress: "127.0.0.1",
    localPort: held.port,
  };
  client.write("xyz");
  assert.throws(() => connections.first(conn), (e: NativeError) => e instanceof NativeError && e.code === "ENOENT");
  assert.equal(connections.size, 0);
  assert.equal(connections.known(conn), false);
  client.destroy();
});
