import { test } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { Hono } from "hono";
import { connectionOf } from "../src/hono/connection.ts";
import { sharedChannel } from "../src/linux/diag_socket.ts";
import { ConnectionSockets } from "../src/last_data_recv/connection_sockets.ts";
import { LastDataRecv } from "../src/last_data_recv/last_data_recv.ts";
import { serveHono } from "./fixtures/hono_servers.ts";
import { connect, HeldListener, waitFor } from "./fixtures/linux_sockets.ts";
import { runtimeName } from "./fixtures/watcher_servers.ts";

const CLIENTS = 100, REQUESTS = 6;
/** tcpi_bytes_received: offset and width in struct tcp_info. */
const BYTES_RECEIVED = 128;

/** A keep-alive raw HTTP/1.1 client that counts every byte it sends. */
class Client {
  sent = 0;
  #buf = "";
  #waiting: ((body: string) => void) | undefined;
  private constructor(readonly sock: net.Socket) {
    sock.setEncoding("latin1");
    sock.on("data", (d: string) => {
      this.#buf += d;
      const head = this.#buf.indexOf("\r\n\r\n");
      if (head < 0) return;
      const len = Number(/content-length:\s*(\d+)/i.exec(this.#buf.slice(0, head))?.[1] ?? NaN);
      if (this.#buf.length < head + 4 + len) return;
      const body = this.#buf.slice(head + 4, head + 4 + len);
      this.#buf = this.#buf.slice(head + 4 + len);
      const w = this.#waiting;
      this.#waiting = undefined;
      w?.(body);
    });
  }

  static async connect(port: number): Promise<Client> {
    const sock = net.connect(port, "127.0.0.1");
    await new Promise<void>((r, j) => (sock.once("connect", () => r()), sock.once("error", j)));
    return new Client(sock);
  }

  /** GET `path` with `pad` bytes of padding header; resolves with the body, bounded. */
  get(path: string, pad: number, close = false): Promise<string> {
    const req = `GET ${path} HTTP/1.1\r\nHost: t\r\nX-Pad: ${"p".repeat(pad)}\r\n${
      close ? "Connection: close\r\n" : ""
    }\r\n`;
    this.sent += req.length;
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no answer to ${path}`)), 10_000);
      this.#waiting = (b) => (clearTimeout(t), resolve(b));
      this.sock.write(req);
    });
  }

  closed(): Promise<void> {
    if (this.sock.closed) return Promise.resolve();
    return new Promise((r) => this.sock.once("close", () => r()));
  }
}

/**
 * An app answering each request with the bytes its connection has received
 * as the cache reads them: keyed by the client's address, or by `?slot=`
 * to stand for a key a later connection reuses.
 */
function app(sockets: ConnectionSockets): Hono {
  const view = new DataView(sockets.info.buffer);
  const a = new Hono();
  a.get("/", (c) => {
    const conn = connectionOf(c)!;
    const slot = c.req.query("slot");
    const n = sockets.read({ key: slot ?? conn.remote, remote: conn.remote, localPort: conn.localPort });
    assert.ok(n >= BYTES_RECEIVED + 8, `tcp_info of ${n} bytes`);
    return c.text(String(view.getBigUint64(BYTES_RECEIVED, true)));
  });
  return a;
}

/** Runs REQUESTS requests on each of CLIENTS concurrent connections; every answer must be that connection's own byte count. */
async function round(port: number, slots: ((i: number) => number) | undefined, closeLast: boolean): Promise<Client[]> {
  const clients = await Promise.all(Array.from({ length: CLIENTS }, () => Client.connect(port)));
  await Promise.all(clients.map(async (c, i) => {
    for (let r = 0; r < REQUESTS; r++) {
      const body = await c.get(
        slots ? `/?slot=${slots(i)}` : "/",
        (i * 7 + r * 13) % 97,
        closeLast && r === REQUESTS - 1,
      );
      assert.equal(Number(body), c.sent, `client ${i} request ${r}: the server read another connection's figures`);
    }
  }));
  return clients;
}

test(`each request reads its own connection's TCP_INFO, over many concurrent keep-alive connections (${runtimeName})`, async () => {
  const sockets = new ConnectionSockets(sharedChannel);
  await using server = serveHono(app(sockets), "127.0.0.1");
  const clients = await round(server.port, undefined, false);
  assert.ok(sockets.size >= CLIENTS && sockets.size <= 2 * CLIENTS, `${sockets.size} connections remembered`);
  for (const c of clients) c.sock.destroy();
});

test(`a key reused by a new connection (port reuse) reads the new connection, not a reused descriptor (${runtimeName})`, async () => {
  const sockets = new ConnectionSockets(sharedChannel);
  await using server = serveHono(app(sockets), "127.0.0.1");
  // Round 1 ends with Connection: close, so the server closes each socket and
  // its descriptor numbers become free for the next round's connections,
  // which then come under the keys of round 1, shifted by one: a key's old
  // descriptor most likely holds another new connection by then.
  const first = await round(server.port, (i) => i, true);
  await Promise.all(first.map((c) => c.closed()));
  const second = await round(server.port, (i) => (i + 1) % CLIENTS, false);
  for (const c of second) c.sock.destroy();
});

test(`LastDataRecv records every request of keep-alive connections with no miss, by default from c.env (${runtimeName})`, async () => {
  const ldr = new LastDataRecv();
  const a = new Hono();
  a.use(ldr.middleware);
  a.get("/", (c) => c.text(String(c.req.header("x-pad")?.length ?? 0)));
  await using server = serveHono(a, "127.0.0.1");
  const clients = await Promise.all(Array.from({ length: 8 }, () => Client.connect(server.port)));
  await Promise.all(clients.map(async (c) => {
    for (let r = 0; r < 20; r++) await c.get("/", r);
  }));
  for (const c of clients) c.sock.destroy();
  assert.equal(ldr.missed, 0, String(ldr.lastError));
  assert.equal(ldr.aggregate.count, 8 * 20);
  ldr.close();
});

test("a connection whose socket another process holds is read through sock_diag each time, and is still its own", async () => {
  await using held = await HeldListener.start(["tcp", "127.0.0.1"]);
  const client = await connect({ host: "127.0.0.1", port: held.port });
  await held.accept(1);
  const sockets = new ConnectionSockets(sharedChannel);
  const view = new DataView(sockets.info.buffer);
  const remote = `127.0.0.1:${client.localPort}`;
  const conn = { key: remote, remote, local: `127.0.0.1:${held.port}` };
  let sent = 0;
  for (let i = 1; i <= 4; i++) {
    client.write("x".repeat(i));
    sent += i;
    await waitFor(() => (sockets.read(conn), Number(view.getBigUint64(BYTES_RECEIVED, true)) === sent), () => sent);
  }
  assert.equal(sockets.size, 1);
  client.destroy();
});
