import { test } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { Watcher } from "../src/watcher/watcher.ts";
import { closeAll, connect, HeldListener } from "./fixtures/linux_sockets.ts";
import { eventually, runtimeName, serve } from "./fixtures/watcher_servers.ts";

const LISTENERS = 300;
const MAX = 50;

/** `n` idle loopback listeners in this process, closed on dispose. */
async function listeners(n: number) {
  const servers: net.Server[] = [];
  for (let i = 0; i < n; i++) {
    const s = net.createServer();
    await new Promise<void>((r) => s.listen(0, "127.0.0.1", () => r()));
    servers.push(s);
  }
  return {
    addrs: servers.map((s) => `127.0.0.1:${(s.address() as net.AddressInfo).port}`),
    async [Symbol.asyncDispose]() {
      await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
    },
  };
}

test(
  `with ${LISTENERS} listeners and maxListeners ${MAX}, the Watcher holds and draws ${MAX} and says how many are left out (${runtimeName})`,
  {
    timeout: 60_000,
  },
  async () => {
    await using many = await listeners(LISTENERS);
    using watcher = new Watcher({ delay: 0.05, maxListeners: MAX });
    await using server = await serve(watcher.app);
    assert.equal(watcher.listeners.length, MAX);
    assert.ok(watcher.omitted >= LISTENERS - MAX, `omitted ${watcher.omitted}`);
    const followed = many.addrs.filter((a) => watcher.listeners.includes(a)).length;
    assert.ok(followed <= MAX);

    // Later polls keep the set bounded.
    const polled = watcher.lastPoll;
    await eventually(() => watcher.lastPoll > polled + 200, () => watcher.lastPoll - polled);
    assert.equal(watcher.listeners.length, MAX);

    const res = await fetch(`${server.origin}/`);
    const html = await res.text();
    assert.equal(html.match(/<tr data-addr=/g)?.length, MAX, "one row per followed listener");
    const note = /<p id="omitted"[^>]*>(\d+) more listeners not shown \(maxListeners 50\)<\/p>/.exec(html);
    assert.ok(note, "the index says what is left out");
    assert.ok(Number(note[1]) >= LISTENERS - MAX);
    assert.ok(html.length < MAX * 2_000, `index is ${html.length} bytes`);

    const body = await (await fetch(`${server.origin}/series.json`)).text();
    const series = JSON.parse(body);
    assert.equal(series.listeners.length, MAX);
    assert.equal(series.maxListeners, MAX);
    assert.ok(series.omitted >= LISTENERS - MAX);
    // At most 120 points of [time, active, queued] per listener.
    assert.ok(body.length < MAX * 120 * 40 + 5_000, `series.json is ${body.length} bytes`);
    for (const l of series.listeners) assert.ok(l.points.length <= 120);
  },
);

test(
  `a listener with connections gets in when maxListeners is reached, in place of one that has had none (${runtimeName})`,
  {
    timeout: 60_000,
  },
  async () => {
    await using many = await listeners(2 * MAX);
    using watcher = new Watcher({ delay: 0.05, maxListeners: MAX });
    assert.equal(watcher.listeners.length, MAX);
    await using held = await HeldListener.start(["tcp", "127.0.0.1"]);
    const addr = `127.0.0.1:${held.port}`;
    const clients = [
      await connect({ host: "127.0.0.1", port: held.port }),
      await connect({ host: "127.0.0.1", port: held.port }),
    ];
    try {
      await eventually(() => watcher.listeners.includes(addr), () => watcher.omitted);
      assert.equal(watcher.listeners.length, MAX);
      void many;
    } finally {
      await closeAll(clients);
    }
  },
);

test("listeners given explicitly are all followed whatever the machine has", () => {
  const stats = (names: readonly string[] | undefined) =>
    new Map((names ?? []).map((n) => [n, { active: 0, queued: 0 }]));
  using watcher = new Watcher({
    listeners: ["127.0.0.1:1", "127.0.0.1:2"],
    maxListeners: 2,
    delay: 60,
    listenStats: stats,
  });
  assert.deepEqual(watcher.listeners, ["127.0.0.1:1", "127.0.0.1:2"]);
  assert.equal(watcher.omitted, 0);
});
