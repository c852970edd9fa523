/**
 * examples/node_cluster.ts for real: a Node.js cluster primary with two
 * workers on one port, sharing one stats file, one of them SIGKILLed while
 * it writes responses; and what `queued` and `active` read under each of
 * cluster's scheduling policies (the README's claims).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import net from "node:net";
import { tcpListenerStats } from "../src/linux/listen_stats.ts";
import { RUNTIMES, scriptArgs, tempShm } from "./_helpers.ts";
import { freePort, rawGet, waitFor } from "./fixtures/middleware_serve.ts";
import { holderOfTcpSocket } from "./fixtures/linux_sockets.ts";
import { childrenOf, running } from "./fixtures/processes.ts";

const SCRIPT = new URL("../examples/node_cluster.ts", import.meta.url).pathname;
/** /slow's body: 20 ticks, one each 100 ms. */
const SLOW_TICKS = 20;

/** A GET /slow on its own connection: the worker holding it, and its whole body once it ends. */
interface Held {
  clientPort: number;
  worker: number | undefined;
  body: Promise<string>;
}

async function getSlow(port: number, workers: number[]): Promise<Held> {
  const sock = net.connect(port, "127.0.0.1");
  let data = "";
  const body = new Promise<string>((resolve) => {
    const bound = setTimeout(() => sock.destroy(), 20_000);
    sock.on("data", (d) => (data += d));
    sock.on("close", () => (clearTimeout(bound), resolve(data)));
    sock.on("error", () => {});
  });
  await new Promise<void>((resolve) => sock.once("connect", resolve));
  sock.write("GET /slow HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
  await waitFor(() => data.includes("\r\n\r\n"), 10_000); // headers sent: the response is being written
  const clientPort = sock.localPort!;
  const worker = holderOfTcpSocket({ host: "127.0.0.1", port }, { host: "127.0.0.1", port: clientPort }, workers);
  return { clientPort, worker, body };
}

test("node cluster: a worker SIGKILLed while writing responses leaves calling and writing exact, and is replaced", {
  timeout: 90_000,
}, async () => {
  using tmp = tempShm("node-cluster");
  const port = await freePort();
  const primary = spawn(RUNTIMES.node, [...scriptArgs("node", SCRIPT), "2", String(port)], {
    env: { ...process.env, RAINDROPS_STATS: tmp.path },
    stdio: ["ignore", "ignore", "inherit"],
  });
  const stats = async () => {
    try {
      return await (await fetch(`http://127.0.0.1:${port}/_raindrops?format=json`)).json();
    } catch {
      return undefined;
    }
  };
  let workers: number[] = [];
  try {
    assert.ok(await waitFor(async () => (await stats())?.workers === 2, 30_000), "both workers serve");
    workers = childrenOf(primary.pid!);
    assert.equal(workers.length, 2);

    // Responses being written by both workers (the primary hands connections round-robin).
    const held: Held[] = [];
    for (let i = 0; i < 8 && new Set(held.map((h) => h.worker)).size < 2; i++) held.push(await getSlow(port, workers));
    const victim = held[0]!.worker!;
    assert.ok(workers.includes(victim), `a worker holds the first response (${held[0]!.worker})`);
    const survivors = held.filter((h) => h.worker !== victim);
    assert.ok(survivors.length > 0, "the other worker writes a response too");

    process.kill(victim, "SIGKILL");
    assert.ok(await waitFor(() => !running(victim), 5000), "the worker is gone");
    // The survivors' responses end whole; the victim's are cut off.
    for (const h of survivors) assert.equal((await h.body).match(/tick \d+/g)?.length, SLOW_TICKS);
    let last: unknown;
    const settled = await waitFor(async () => {
      last = await stats();
      const s = last as { calling: number; writing: number; workers: number } | undefined;
      return s?.calling === 0 && s.writing === 0 && s.workers === 2;
    }, 20_000);
    assert.ok(settled, `counts exact after the kill, the worker replaced: ${JSON.stringify(last)}`);
    assert.ok(!childrenOf(primary.pid!).includes(victim));
  } finally {
    primary.kill("SIGTERM");
    await new Promise((r) => primary.exitCode === null && primary.signalCode === null ? primary.once("exit", r) : r(0));
    for (const pid of childrenOf(primary.pid!).concat(workers)) if (running(pid)) process.kill(pid, "SIGKILL");
  }
});

/** Starts the example with one worker under a scheduling policy; resolves once it serves. */
async function oneWorkerCluster(policy: "rr" | "none", port: number, stats: string) {
  const primary = spawn(RUNTIMES.node, [...scriptArgs("node", SCRIPT), "1", String(port)], {
    env: { ...process.env, RAINDROPS_STATS: stats, NODE_CLUSTER_SCHED_POLICY: policy },
    stdio: ["ignore", "ignore", "inherit"],
  });
  const up = await waitFor(async () => {
    try {
      return (await rawGet(port, "/")).status === 200;
    } catch {
      return false;
    }
  }, 30_000);
  return {
    up,
    async [Symbol.asyncDispose]() {
      const workers = childrenOf(primary.pid!);
      primary.kill("SIGTERM");
      await new Promise((r) =>
        primary.exitCode === null && primary.signalCode === null ? primary.once("exit", r) : r(0)
      );
      for (const pid of workers) if (running(pid)) process.kill(pid, "SIGKILL");
    },
  };
}

for (
  const [policy, expected] of [["rr", "the primary accepts: queued 0, active 4"], [
    "none",
    "queued 3, active 1",
  ]] as const
) {
  test(`node cluster, NODE_CLUSTER_SCHED_POLICY=${policy}, one worker busy and 3 requests waiting: ${expected}`, {
    timeout: 60_000,
  }, async () => {
    using tmp = tempShm(`node-cluster-${policy}`);
    const port = await freePort();
    await using cluster = await oneWorkerCluster(policy, port, tmp.path);
    assert.ok(cluster.up, "the worker serves");
    const listener = `127.0.0.1:${port}`;
    const figures = () => tcpListenerStats(listener).get(listener)!;
    // The one worker blocks its event loop for 2.5 s; three more clients connect and send meanwhile.
    const busy = rawGet(port, "/work?ms=2500");
    assert.ok(await waitFor(() => figures().active + figures().queued === 1, 5000));
    const waiting = [1, 2, 3].map(() => rawGet(port, "/"));
    const want = policy === "rr" ? { active: 4, queued: 0 } : { active: 1, queued: 3 };
    let seen = figures();
    assert.ok(
      await waitFor(() => (seen = figures()).active === want.active && seen.queued === want.queued, 3000),
      `${JSON.stringify(seen)} instead of ${JSON.stringify(want)}`,
    );
    for (const r of await Promise.all([busy, ...waiting])) assert.equal(r.status, 200);
  });
}
