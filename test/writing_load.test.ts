/**
 * `writing` under real load with several workers sharing one stats file
 * (issue 23): every read of the stats, from whichever worker answers, must
 * stay within the requests that have left the app and are not finished,
 * which the kernel bounds: the open connections to the port, less the one
 * asking and those held in a route registered before the middleware.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { connect, type Socket } from "node:net";
import { fixture, RUNTIMES, tempShm } from "./_helpers.ts";
import {
  freePort,
  rawGet,
  serveParallel,
  spawnWorker,
  stopWorker,
  waitFor,
  type WorkerChild,
} from "./fixtures/middleware_serve.ts";

const HELD = 3;
const READS = 12;

/** A wrk load on `path` for at most `seconds`, ended by its PID. */
function wrk(port: number, path: string, connections: number, seconds: number): ChildProcess & { output: string } {
  const child = spawn("wrk", ["-t1", `-c${connections}`, `-d${seconds}s`, `http://127.0.0.1:${port}${path}`], {
    stdio: ["ignore", "pipe", "pipe"],
  }) as ChildProcess & { output: string };
  child.output = "";
  child.stdout!.on("data", (d) => (child.output += d));
  child.stderr!.on("data", (d) => (child.output += d));
  return child;
}

function ended(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((r) => child.on("close", () => r()));
}

/** Requests held in `/before` (a route registered before the middleware), each on its own connection. */
function holdBefore(port: number): Socket[] {
  return Array.from({ length: HELD }, () => {
    const sock = connect(port, "127.0.0.1");
    sock.on("error", () => {});
    sock.write(`GET /before HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
    return sock;
  });
}

interface Read {
  worker: string | undefined;
  calling: number;
  writing: number;
  active: number;
}

/** Requests finished by every worker, from the Prometheus output. */
async function finished(port: number): Promise<number> {
  const res = await rawGet(port, "/_raindrops?format=prometheus");
  return Number(res.body.match(/^raindrops_requests_total (\d+)$/m)?.[1]);
}

async function readStats(port: number): Promise<Read> {
  const res = await rawGet(port, "/_raindrops?format=json");
  assert.equal(res.status, 200, res.body);
  const s = JSON.parse(res.body);
  const listeners = Object.values(s.listeners) as { active: number }[];
  assert.equal(listeners.length, 1, `the answering worker's own listener: ${res.body}`);
  return { worker: res.headers.get("x-worker"), calling: s.calling, writing: s.writing, active: listeners[0].active };
}

/** Under wrk on a fixed and a streamed route, READS reads each within the kernel's bound; then all falls to 0. */
async function checkUnderLoad(port: number): Promise<void> {
  const held = holdBefore(port);
  const before = await finished(port);
  const loads = [wrk(port, "/", 8, 20), wrk(port, "/stream", 8, 20)];
  try {
    // Load is on once requests pass through the middleware.
    assert.ok(await waitFor(async () => (await readStats(port)).active >= 16 + HELD, 10_000), "wrk connected");
    const reads: Read[] = [];
    for (let i = 0; i < READS; i++) {
      reads.push(await readStats(port));
      await new Promise((r) => setTimeout(r, 200)); // spacing of the samples, not a wait for a condition
    }
    for (const r of reads) {
      // The asking connection and the held ones carry no counted request.
      assert.ok(r.writing >= 0 && r.calling >= 0, JSON.stringify(r));
      assert.ok(
        r.calling + r.writing <= r.active - 1 - HELD,
        `counted more than the open connections: ${JSON.stringify(r)}`,
      );
    }
    assert.ok(
      new Set(reads.map((r) => r.worker)).size >= 2,
      `reads answered by several workers: ${JSON.stringify(reads)}`,
    );
    for (const l of loads) assert.equal(l.exitCode, null, `wrk ran through every read:\n${l.output}`);
    const served = (await finished(port)) - before;
    assert.ok(served >= 1000, `under load: ${served} requests served through the middleware`);
  } finally {
    for (const l of loads) l.kill("SIGINT");
    await Promise.all(loads.map(ended));
    for (const s of held) s.destroy();
  }
  let last: Read | undefined;
  assert.ok(
    await waitFor(async () => {
      last = await readStats(port);
      return last.calling === 0 && last.writing === 0;
    }, 10_000),
    `all released: ${JSON.stringify(last)}`,
  );
}

test("3 Bun.serve({ reusePort }) workers under wrk: writing within the open connections at every read", {
  timeout: 120_000,
}, async () => {
  using tmp = tempShm("writing-load-bun");
  const port = await freePort();
  const workers: WorkerChild[] = [];
  try {
    for (let i = 0; i < 3; i++) {
      workers.push(
        await spawnWorker(RUNTIMES.bun, [fixture("writing_load_app.ts"), String(port)], {
          RAINDROPS_STATS: tmp.path,
        }),
      );
    }
    await checkUnderLoad(port);
  } finally {
    await Promise.all(workers.map(stopWorker));
  }
});

test("deno serve --parallel (3 threads) under wrk: writing within the open connections at every read", {
  timeout: 120_000,
}, async () => {
  using tmp = tempShm("writing-load-deno");
  const port = await freePort();
  const server = await serveParallel("writing_load_serve.ts", port, tmp.path, 3);
  try {
    await checkUnderLoad(port);
  } finally {
    await stopWorker(server);
  }
});
