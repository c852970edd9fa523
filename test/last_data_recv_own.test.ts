import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { Hono } from "hono";
import { LastDataRecv } from "../src/last_data_recv/last_data_recv.ts";
import { fixture } from "./_helpers.ts";
import { serveHono } from "./fixtures/hono_servers.ts";
import { Client } from "./fixtures/keep_alive_client.ts";
import { HeldListener } from "./fixtures/linux_sockets.ts";
import { runtimeName, sleep } from "./fixtures/watcher_servers.ts";

/** Runs the same-port client (perl) and resolves with its output lines, bounded. */
function samePortClient(args: (string | number)[], ms = 30_000): Promise<string[]> {
  const child = spawn("perl", [fixture("same_port_client.pl"), ...args.map(String)], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "", err = "";
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (err += d));
  const timer = setTimeout(() => child.kill("SIGKILL"), ms);
  return new Promise((resolve, reject) =>
    child.on("close", (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out.trim().split("\n"));
      else reject(new Error(`same_port_client.pl exited ${code}: ${err}`));
    })
  );
}

/**
 * `app` on 127.0.0.2:P and another process listening on 127.0.0.1:P. The
 * port is free on 127.0.0.2 but may be some connection's source port on
 * 127.0.0.1: then again on another port (bounded).
 */
async function appBesideOther(app: Hono) {
  for (let attempt = 1;; attempt++) {
    const server = await serveHono(app, "127.0.0.2");
    try {
      const other = await HeldListener.start(["tcp", "127.0.0.1", String(server.port)]);
      return {
        server,
        other,
        async [Symbol.asyncDispose]() {
          await other[Symbol.asyncDispose]();
          await server[Symbol.asyncDispose]();
        },
      };
    } catch (e) {
      await server[Symbol.asyncDispose]();
      if (attempt >= 5) throw e;
    }
  }
}

test(`a client's idle connection to another process, from the same port, is never taken for its request (${runtimeName})`, async () => {
  const ROUNDS = 4, IDLE_MS = 1100;
  using ldr = new LastDataRecv();
  const app = new Hono();
  app.use(ldr.middleware);
  app.get("/", (c) => c.text("ok"));
  // The app on 127.0.0.2:P; another process's service on 127.0.0.1:P, the
  // same port: neither the client's end nor the local port tells them apart.
  await using both = await appBesideOther(app);
  const { server, other } = both;
  const accepting = other.accept(ROUNDS); // accepted, so its sockets rank as the app's do
  const lines = await samePortClient(["127.0.0.1", server.port, "127.0.0.2", server.port, ROUNDS, IDLE_MS]);
  await accepting;
  assert.equal(lines.length, ROUNDS);
  for (const line of lines) assert.match(line, /^\d+ HTTP\/1.1 200/);
  assert.equal(ldr.aggregate.count, ROUNDS, `missed ${ldr.missed}: ${ldr.lastError}`);
  assert.ok(
    ldr.aggregate.max! < IDLE_MS / 2,
    `max ${ldr.aggregate.max} ms: an idle connection of the other process was sampled`,
  );
});

test(`a server started after the first request: each of its connections is recorded or counted missed, none lost silently (${runtimeName})`, async () => {
  const CONNECTIONS = 50, REQUESTS = 3, SPACING_MS = 40;
  using ldr = new LastDataRecv();
  const app = { fetch: ldr.wrap(() => new Response("ok")) } as Hono;
  await using first = await serveHono(app, "127.0.0.1");
  const early = await Client.connect(first.port);
  for (let i = 0; i < 10; i++, await sleep(20)) assert.equal(await early.get("/", i), "ok"); // the listeners are watched
  await using later = await serveHono(app, "127.0.0.1");
  const clients: Client[] = [early];
  try {
    for (let i = 0; i < CONNECTIONS; i++) { // over 2 s: past the rescan of listeners, at most a second apart
      const c = await Client.connect(later.port);
      clients.push(c);
      for (let r = 0; r < REQUESTS; r++) assert.equal(await c.get("/", r), "ok");
      await sleep(SPACING_MS);
    }
    const recorded = ldr.aggregate.count - 1;
    const shape = `${recorded} recorded, ${ldr.missed} missed (${ldr.lastError})`;
    assert.equal(recorded + ldr.missed, CONNECTIONS, shape);
    assert.ok(recorded >= CONNECTIONS / 3, shape);
  } finally {
    for (const c of clients) c.sock.destroy();
  }
});
