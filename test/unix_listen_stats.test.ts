import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ClosedError } from "../src/errors.ts";
import { InetDiagSocket } from "../src/linux/diag_socket.ts";
import { type ListenStats, unixListenerStats } from "../src/linux/listen_stats.ts";
import { closeAll, connect, fdAndRssGrowth, HeldListener, waitFor } from "./fixtures/linux_sockets.ts";

const stats = (path: string) => unixListenerStats(path).get(path)!;
const pair = (s: ListenStats) => ({ active: s.active, queued: s.queued });

/** A temporary directory removed on dispose. */
function tempDir(): { dir: string } & Disposable {
  const dir = mkdtempSync(join(tmpdir(), "raindrops-test-unix-"));
  return { dir, [Symbol.dispose]: () => rmSync(dir, { recursive: true, force: true }) };
}

test("unix path: queued rises, moves to active on accept, falls on close", async () => {
  using tmp = tempDir();
  const path = join(tmp.dir, "app.sock");
  await using held = await HeldListener.start(["unix", path]);
  assert.deepEqual(pair(stats(path)), { active: 0, queued: 0 });
  assert.equal(stats(path).listeners, 1);
  const clients = [];
  for (let i = 0; i < 3; i++) clients.push(await connect({ path }));
  await waitFor(() => stats(path).queued === 3, () => pair(stats(path)));
  assert.ok(stats(path).backlog >= 3);
  await held.accept(2);
  await waitFor(() => stats(path).active === 2, () => pair(stats(path)));
  assert.deepEqual(pair(stats(path)), { active: 2, queued: 1 });
  assert.equal(stats(path).total, 3);
  await held.closeAccepted();
  await waitFor(() => stats(path).active === 0, () => pair(stats(path)));
  assert.deepEqual(pair(stats(path)), { active: 0, queued: 1 });
  await held.accept(1);
  await waitFor(() => stats(path).active === 1, () => pair(stats(path)));
  await closeAll(clients);
  await held.closeAccepted();
  await waitFor(() => stats(path).active === 0, () => pair(stats(path)));
  assert.deepEqual(pair(stats(path)), { active: 0, queued: 0 });
});

test("a symlinked path gives the listener's stats, keyed by the path as given", async () => {
  using tmp = tempDir();
  const path = join(tmp.dir, "real.sock");
  const link = join(tmp.dir, "link.sock");
  await using held = await HeldListener.start(["unix", path]);
  symlinkSync(path, link);
  const clients = [await connect({ path: link }), await connect({ path })];
  await waitFor(() => stats(path).queued === 2, () => pair(stats(path)));
  await held.accept(1);
  await waitFor(() => stats(path).active === 1, () => pair(stats(path)));
  const answer = unixListenerStats([link, path]);
  assert.deepEqual([...answer.keys()], [link, path]);
  assert.deepEqual(pair(answer.get(link)!), { active: 1, queued: 1 });
  assert.deepEqual(pair(answer.get(link)!), pair(answer.get(path)!));
  await closeAll(clients);
});

test("an abstract name is queried as @name", async () => {
  const name = `@raindrops-test-${process.pid}-${Date.now()}`;
  await using held = await HeldListener.start(["unix", name]);
  const clients = [];
  for (let i = 0; i < 2; i++) clients.push(await connect({ path: `\0${name.slice(1)}` }));
  await waitFor(() => stats(name).queued === 2, () => pair(stats(name)));
  await held.accept(1);
  await waitFor(() => stats(name).active === 1, () => pair(stats(name)));
  assert.deepEqual(pair(stats(name)), { active: 1, queued: 1 });
  assert.deepEqual(pair(unixListenerStats().get(name)!), { active: 1, queued: 1 });
  await closeAll(clients);
});

test("all unix listeners include a fresh listener with zeros; unknown paths give zeros", async () => {
  using tmp = tempDir();
  const path = join(tmp.dir, "fresh.sock");
  await using _held = await HeldListener.start(["unix", path]);
  const all = unixListenerStats();
  assert.ok(all.has(path), `${path} missing`);
  assert.deepEqual(pair(all.get(path)!), { active: 0, queued: 0 });
  const missing = join(tmp.dir, "nothing-here.sock");
  assert.deepEqual(unixListenerStats(missing).get(missing)!.toJSON(), { active: 0, queued: 0, total: 0, backlog: 0 });
  assert.deepEqual(unixListenerStats([]), new Map());
});

test("unix queries reject bad paths and wrong types, and a closed socket", () => {
  assert.throws(() => unixListenerStats(""), RangeError);
  assert.throws(() => unixListenerStats(["/tmp/a", "a\0b"]), RangeError);
  // deno-lint-ignore no-explicit-any
  const any = unixListenerStats as any;
  assert.throws(() => any(5), TypeError);
  assert.throws(() => any([null]), TypeError);
  assert.throws(() => any("/tmp/x", "not a socket"), TypeError);
  const sock = new InetDiagSocket();
  sock.close();
  assert.throws(() => unixListenerStats("/tmp/x", sock), ClosedError);
  assert.throws(() => unixListenerStats(undefined, sock), ClosedError);
});

test("10,000 repeated unix queries leave the open-fd count and RSS flat", async () => {
  using tmp = tempDir();
  const path = join(tmp.dir, "loop.sock");
  await using _held = await HeldListener.start(["unix", path]);
  const sock = new InetDiagSocket();
  const round = (n: number) => {
    for (let i = 0; i < n; i++) {
      assert.equal(unixListenerStats(path, sock).get(path)!.listeners, 1);
      if (i % 100 === 0) unixListenerStats([path, "@raindrops-none"]);
      if (i % 500 === 0) unixListenerStats(undefined, sock);
    }
  };
  const growth = fdAndRssGrowth(round);
  assert.equal(growth.fds, 0, "open descriptors leaked");
  assert.ok(growth.rssMiB < 16, `RSS grew ${growth.rssMiB.toFixed(1)} MiB over 10,000 queries`);
  sock.close();
});
