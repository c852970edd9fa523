/**
 * The per-request cost of the LastDataRecv middleware (a benchmark, not a
 * test): the TCP_INFO lookup alone, with few and with 1,000 other
 * connections open, then whole requests over a real loopback server with
 * and without the middleware (keep-alive, one request at a time, raw
 * HTTP/1.1 client), so the difference is the middleware's cost.
 *
 *   node_modules/.bin/deno run -A bench/last_data_recv.bench.ts
 *   node_modules/.bin/bun bench/last_data_recv.bench.ts
 *
 * @module
 */
import net from "node:net";
import { Hono } from "hono";
import { InetDiagSocket } from "../src/linux/diag_socket.ts";
import { TcpInfo } from "../src/linux/tcp_info.ts";
import { LastDataRecv } from "../src/last_data_recv/last_data_recv.ts";
import { report } from "./_bench.ts";

// deno-lint-ignore no-explicit-any
const g = globalThis as any;
const REQUESTS = 20_000;
const LOOKUPS = 50_000;
const ROUNDS = 5;

interface Served {
  port: number;
  stop(): Promise<void>;
}

/** Serves `app` on 127.0.0.1 with the connection's remote address in `c.env.remote`. */
function serve(app: Hono): Served {
  if (g.Bun) {
    const server = g.Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch(req: Request, srv: any) {
        const ip = srv.requestIP(req);
        return app.fetch(req, { remote: `${ip.address}:${ip.port}` });
      },
    });
    return { port: server.port, stop: async () => void (await server.stop(true)) };
  }
  const server = g.Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    (req: Request, info: any) => app.fetch(req, { remote: `${info.remoteAddr.hostname}:${info.remoteAddr.port}` }),
  );
  return { port: server.addr.port, stop: () => server.shutdown() };
}

/** A keep-alive raw HTTP/1.1 client sending one request at a time. */
async function client(port: number): Promise<{ get(): Promise<void>; sock: net.Socket }> {
  const sock = net.connect(port, "127.0.0.1");
  sock.setNoDelay(true);
  await new Promise<void>((r, j) => (sock.once("connect", () => r()), sock.once("error", j)));
  let buf = "";
  let waiting: (() => void) | null = null;
  sock.setEncoding("latin1");
  sock.on("data", (d: string) => {
    buf += d;
    // Responses are "ok" with a Content-Length; one complete response ends with "\r\n\r\nok".
    const end = buf.indexOf("\r\n\r\nok");
    if (end >= 0 && waiting) {
      buf = buf.slice(end + 6);
      const w = waiting;
      waiting = null;
      w();
    }
  });
  const request = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
  return {
    sock,
    get: () =>
      new Promise<void>((r) => {
        waiting = r;
        sock.write(request);
      }),
  };
}

async function usPerRequest(port: number, n: number): Promise<number> {
  const c = await client(port);
  try {
    for (let i = 0; i < 500; i++) await c.get(); // warm up
    let best = Infinity;
    for (let r = 0; r < ROUNDS; r++) {
      const start = performance.now();
      for (let i = 0; i < n; i++) await c.get();
      best = Math.min(best, ((performance.now() - start) * 1000) / n);
    }
    return best;
  } finally {
    c.sock.destroy();
  }
}

/** Opens `n` idle loopback connections to a throwaway server; returns a closer. */
async function idleConnections(n: number): Promise<() => Promise<void>> {
  const accepted: net.Socket[] = [];
  const server = net.createServer((s) => accepted.push(s));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const port = (server.address() as net.AddressInfo).port;
  const clients: net.Socket[] = [];
  for (let i = 0; i < n; i++) {
    const s = net.connect(port, "127.0.0.1");
    await new Promise<void>((r, j) => (s.once("connect", () => r()), s.once("error", j)));
    clients.push(s);
  }
  return async () => {
    for (const s of [...clients, ...accepted]) s.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  };
}

// 1. The lookup alone, on one established loopback connection.
const target = net.createServer(() => {});
await new Promise<void>((r) => target.listen(0, "127.0.0.1", () => r()));
const tport = (target.address() as net.AddressInfo).port;
const probe = net.connect(tport, "127.0.0.1");
await new Promise<void>((r) => probe.once("connect", () => r()));
const local = `127.0.0.1:${tport}`, remote = `127.0.0.1:${probe.localPort}`;
const sock = new InetDiagSocket();
const lookup = (n: number) => {
  let sum = 0;
  for (let i = 0; i < n; i++) sum += TcpInfo.fromAddress(local, remote, sock).get("last_data_recv")!;
  return sum;
};
const timeLookups = () => {
  lookup(2000);
  let best = Infinity;
  for (let r = 0; r < ROUNDS; r++) {
    const start = performance.now();
    lookup(LOOKUPS);
    best = Math.min(best, ((performance.now() - start) * 1e6) / LOOKUPS);
  }
  return best;
};
const lookupFew = timeLookups();
const closeIdle = await idleConnections(1000);
const lookupMany = timeLookups();
await closeIdle();

// 2. Whole requests, without and with the middleware (every request, then 1 in 16).
const plain = new Hono();
plain.get("/", (c) => c.text("ok"));
const rows: { label: string; value: number; unit: string; baseline?: number }[] = [];
const s0 = serve(plain);
const base = await usPerRequest(s0.port, REQUESTS);
await s0.stop();
rows.push({ label: "request, no middleware", value: base, unit: "µs" });
for (const sample of [1, 16]) {
  const port = { value: 0 };
  const ldr = new LastDataRecv({
    sample,
    connection: (c) => ({ local: `127.0.0.1:${port.value}`, remote: (c.env as { remote: string }).remote }),
  });
  const app = new Hono();
  app.use(ldr.middleware);
  app.get("/", (c) => c.text("ok"));
  const s = serve(app);
  port.value = s.port;
  const us = await usPerRequest(s.port, REQUESTS);
  await s.stop();
  if (ldr.aggregate.count === 0 || ldr.missed > 0) {
    throw new Error(`middleware recorded ${ldr.aggregate.count}, missed ${ldr.missed}: ${ldr.lastError}`);
  }
  ldr.close();
  rows.push({ label: `request, LastDataRecv sample ${sample}`, value: us, unit: "µs", baseline: base });
}
report(`LastDataRecv cost, best of ${ROUNDS} x ${REQUESTS} keep-alive requests`, [
  { label: "TCP_INFO lookup by address, few sockets", value: lookupFew / 1000, unit: "µs" },
  { label: "TCP_INFO lookup by address, +1000 sockets", value: lookupMany / 1000, unit: "µs" },
  ...rows,
]);
const add = rows[1].value - rows[0].value;
console.log(`  middleware cost per recorded request: ${add.toFixed(2)} µs (sample 1)`);

sock.close();
probe.destroy();
target.close();
