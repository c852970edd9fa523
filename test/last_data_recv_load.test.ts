import { test } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { Client } from "./fixtures/keep_alive_client.ts";
import { startLineChild } from "./fixtures/line_child.ts";
import { runtimeName, sleep } from "./fixtures/watcher_servers.ts";

/** How long the load runs, the keep-alive client's period and the short connections' rate. */
const LOAD_MS = 3000, KEEP_ALIVE_EVERY_MS = 10, SHORT_PER_S = 400;
/** Idle loopback connections held by another process, so a kernel dump costs what it costs on a busy host. */
const IDLE = 3000;
/** The keep-alive client's p99 must stay below this (a stalled server reads in seconds). */
const P99_MS = 150;

/** One request on a new connection that the server closes after answering; resolves with whether it was answered. */
function shortRequest(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect(port, "127.0.0.1");
    let got = "";
    const timer = setTimeout(() => sock.destroy(), 10_000);
    sock.setEncoding("latin1");
    sock.on("connect", () => sock.write("GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"));
    sock.on("data", (d: string) => (got += d));
    sock.on("error", () => {});
    sock.on("close", () => (clearTimeout(timer), resolve(/\r\n\r\nok$/.test(got))));
  });
}

test(`short connections at ${SHORT_PER_S}/s do not stall a keep-alive client of a server with LastDataRecv (${runtimeName})`, async () => {
  await using _idle = await startLineChild<{ held: number }>("deno", "idle_connections.ts", [String(IDLE)]);
  await using server = await startLineChild<{ port: number }>(runtimeName, "ldr_server.ts");
  const { port } = server.ready;
  const keepAlive = await Client.connect(port);
  assert.equal(await keepAlive.get("/", 0), "ok");
  const latencies: number[] = [];
  const shorts: Promise<boolean>[] = [];
  const end = performance.now() + LOAD_MS;
  const load = (async () => {
    for (let started = 0, t0 = performance.now(); performance.now() < end;) {
      const due = Math.floor(((performance.now() - t0) / 1000) * SHORT_PER_S);
      for (; started < due; started++) shorts.push(shortRequest(port));
      await sleep(5);
    }
  })();
  for (let next = performance.now(); performance.now() < end;) {
    const t = performance.now();
    assert.equal(await keepAlive.get("/", 0), "ok");
    latencies.push(performance.now() - t);
    next += KEEP_ALIVE_EVERY_MS;
    await sleep(Math.max(0, next - performance.now()));
  }
  await load;
  const answered = (await Promise.all(shorts)).filter(Boolean).length;
  const figures = JSON.parse(await keepAlive.get("/_ldr", 0));
  keepAlive.sock.destroy();
  latencies.sort((a, b) => a - b);
  const p99 = latencies[Math.floor(latencies.length * 0.99)];
  const expected = LOAD_MS / KEEP_ALIVE_EVERY_MS;
  const shape = `keep-alive: ${latencies.length} requests, p99 ${p99.toFixed(1)} ms, max ${
    latencies.at(-1)!.toFixed(1)
  } ms; short connections: ${answered} of ${shorts.length} answered; LastDataRecv ${JSON.stringify(figures)}`;
  assert.ok(p99 < P99_MS, shape);
  assert.ok(latencies.length >= expected / 2, shape);
  assert.ok(answered >= 0.95 * shorts.length, shape);
  assert.ok(figures.count >= 0.9 * answered, shape);
});
