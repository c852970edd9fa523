import { test } from "node:test";
import { connect, type Socket } from "node:net";
import assert from "node:assert/strict";
import { fixture, type RuntimeName, RUNTIMES, tempShm } from "./_helpers.ts";
import {
  freePort,
  rawGet,
  serveParallel,
  spawnWorker,
  statsOf,
  stopWorker,
  waitFor,
  type WorkerChild,
} from "./fixtures/middleware_serve.ts";

const here: RuntimeName = typeof (globalThis as any).Bun !== "undefined" ? "bun" : "deno";

function startWorker(runtime: RuntimeName, stats: string, shared: number): Promise<WorkerChild> {
  const script = fixture("middleware_worker.ts");
  // Deno.serve({ reusePort }) still needs --unstable-net.
  const args = runtime === "deno" ? ["run", "-A", "--unstable-net", script] : [script];
  return spawnWorker(RUNTIMES[runtime], [...args, stats, String(shared)]);
}

/**
 * Open requests that a test releases at the end, each on its own raw
 * connection: closing the socket is seen by the server at once (an aborted
 * fetch may keep its connection open for seconds on a loaded machine).
 */
class Holds {
  #sockets: Socket[] = [];
  #open(url: string, path: string): Socket {
    const { hostname, port, host } = new URL(url);
    const sock = connect(Number(port), hostname);
    sock.on("error", () => {});
    sock.write(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
    this.#sockets.push(sock);
    return sock;
  }
  /** Holds a request inside the app (calling). */
  calling(url: string): void {
    this.#open(url, "/hold-calling");
  }
  /** Holds a response mid-body (writing); resolves with the worker that answers, once its first chunk came. */
  writing(url: string): Promise<number> {
    const sock = this.#open(url, "/hold-writing");
    return new Promise((resolve, reject) => {
      let text = "";
      sock.on("data", (d) => {
        text += d;
        const worker = text.match(/^x-worker: (\d+)\r$/im);
        if (worker && text.includes("first\n")) resolve(Number(worker[1]));
      });
      sock.on("close", () => reject(new Error(`connection closed before the first chunk: ${text}`)));
    });
  }
  release(): void {
    for (const s of this.#sockets) s.destroy();
  }
}

test(
  `two ${here} workers on one reusePort port report the sum of their open requests from either`,
  { timeout: 60_000 },
  async () => {
    using tmp = tempShm("mw-workers");
    const shared = await freePort();
    const workers = [await startWorker(here, tmp.path, shared), await startWorker(here, tmp.path, shared)];
    const holds = new Holds();
    try {
      const seen = new Set<number>();
      let writing = 0;
      for (let i = 0; i < 40 && (seen.size < 2 || writing < 6); i++, writing++) {
        seen.add(await holds.writing(`http://127.0.0.1:${shared}`));
      }
      assert.equal(seen.size, 2, "the kernel spread held responses over both workers");
      for (let i = 0; i < 3; i++) holds.calling(`http://127.0.0.1:${workers[0].port}`);
      holds.calling(`http://127.0.0.1:${workers[1].port}`);
      const expected = { calling: 4, writing, workers: 2 };
      for (const w of workers) {
        const url = `http://127.0.0.1:${w.port}`;
        assert.ok(await waitFor(async () => (await statsOf(url)).calling === 4), "calling reaches 4");
        const s = await statsOf(url);
        assert.deepEqual({ calling: s.calling, writing: s.writing, workers: s.workers }, expected);
        assert.equal(s.worker, w.tid, "answered by that worker");
      }
      holds.release();
      let last;
      assert.ok(
        await waitFor(async () => {
          last = await statsOf(`http://127.0.0.1:${shared}`);
          return last.calling === 0 && last.writing === 0;
        }),
        `all released: ${JSON.stringify(last)}`,
      );
    } finally {
      holds.release();
      await Promise.all(workers.map(stopWorker));
    }
  },
);

test("a worker killed with SIGKILL while holding requests stops counting; a survivor reports the rest", {
  timeout: 60_000,
}, async () => {
  using tmp = tempShm("mw-kill");
  const shared = await freePort();
  // One worker of each runtime, to show that Deno and Bun share one stats file.
  const victim = await startWorker(here, tmp.path, shared);
  const survivor = await startWorker(here === "deno" ? "bun" : "deno", tmp.path, shared);
  const holds = new Holds();
  try {
    const v = `http://127.0.0.1:${victim.port}`, s = `http://127.0.0.1:${survivor.port}`;
    for (let i = 0; i < 3; i++) holds.calling(v);
    for (let i = 0; i < 2; i++) await holds.writing(v);
    holds.calling(s);
    await holds.writing(s);
    assert.ok(await waitFor(async () => (await statsOf(s)).calling === 4), "calling reaches 4");
    // A Bun survivor's env names its listener, so listener lines vary by runtime: compare the counts.
    // The request metrics (JSON's `metrics`) have their own tests (test/request_metrics.test.ts).
    const counts = (
      { listeners: _, stats: __, metrics: _m, ...rest }: Awaited<ReturnType<typeof statsOf>> & {
        listeners?: unknown;
        stats?: unknown;
        metrics?: unknown;
      },
    ) => rest;
    assert.deepEqual(counts(await statsOf(s)), { calling: 4, writing: 3, workers: 2, worker: survivor.tid });
    await victim.kill("SIGKILL");
    const after = await statsOf(s);
    assert.deepEqual(counts(after), { calling: 1, writing: 1, workers: 1, worker: survivor.tid });
    const fresh = await startWorker(here, tmp.path, shared);
    try {
      const again = await statsOf(`http://127.0.0.1:${fresh.port}`);
      assert.deepEqual([again.calling, again.writing, again.workers], [1, 1, 2], "a new worker reuses the slot at 0");
    } finally {
      await stopWorker(fresh);
    }
  } finally {
    holds.release();
    await Promise.all([stopWorker(victim), stopWorker(survivor)]);
  }
});

test(
  "deno serve --parallel: each thread claims its own slot and any thread reports the sum",
  { timeout: 60_000 },
  async () => {
    using tmp = tempShm("mw-parallel");
    const port = await freePort();
    const server = await serveParallel("middleware_app.ts", port, tmp.path, 2);
    const url = `http://127.0.0.1:${port}`;
    const holds = new Holds();
    try {
      const seen = new Set<number>();
      let writing = 0;
      for (let i = 0; i < 40 && (seen.size < 2 || writing < 4); i++, writing++) seen.add(await holds.writing(url));
      assert.equal(seen.size, 2, "both threads hold responses");
      const answered = new Set<number>();
      for (let i = 0; i < 40 && answered.size < 2; i++) {
        const res = await rawGet(port, "/_raindrops?format=json");
        const s = JSON.parse(res.body);
        assert.deepEqual([s.calling, s.writing, s.workers], [0, writing, 2]);
        answered.add(Number(res.headers.get("x-worker")));
      }
      assert.equal(answered.size, 2, "both threads answered the stats");
    } finally {
      holds.release();
      await stopWorker(server);
    }
  },
);

/** raindrops_requests_total as a worker reports it. */
async function requestsTotal(url: string): Promise<number> {
  const text = await (await fetch(`${url}/_raindrops?format=prometheus`)).text();
  return Number(text.match(/^raindrops_requests_total (\d+)$/m)?.[1]);
}

test(
  `raindrops_requests_total sums every ${here} worker's finished requests and keeps a killed worker's`,
  { timeout: 60_000 },
  async () => {
    using tmp = tempShm("mw-requests");
    const shared = await freePort();
    const victim = await startWorker(here, tmp.path, shared);
    const survivor = await startWorker(here, tmp.path, shared);
    try {
      const v = `http://127.0.0.1:${victim.port}`, s = `http://127.0.0.1:${survivor.port}`;
      for (let i = 0; i < 10; i++) await (await fetch(`${v}/`)).text();
      for (let i = 0; i < 3; i++) await (await fetch(`${s}/throw`)).text(); // a handler that throws finishes too
      assert.equal(await requestsTotal(s), 13, "stats requests are not counted");
      assert.equal(await requestsTotal(v), 13, "either worker reports the sum");
      await victim.kill("SIGKILL");
      assert.equal(await requestsTotal(s), 13, "the dead worker's 10 are kept (in its slot)");
      assert.equal((await statsOf(s)).workers, 1, "its slot group was cleared");
      assert.equal(await requestsTotal(s), 13);
      for (let i = 0; i < 2; i++) await (await fetch(`${s}/`)).text();
      assert.equal(await requestsTotal(s), 15);
    } finally {
      await Promise.all([stopWorker(victim), stopWorker(survivor)]);
    }
  },
);
