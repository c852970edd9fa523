import { test } from "node:test";
import assert from "node:assert/strict";
import { ClosedError } from "../src/errors.ts";
import { InetDiagSocket } from "../src/linux/diag_socket.ts";
import { type ListenStats, tcpListenerStats } from "../src/linux/listen_stats.ts";
import {
  acceptingServer,
  closeAll,
  connect,
  fdAndRssGrowth,
  HeldListener,
  ipv6Loopback,
  waitFor,
} from "./fixtures/linux_sockets.ts";
import type net from "node:net";

const stats = (addr: string) => tcpListenerStats(addr).get(addr)!;
const pair = (s: ListenStats) => ({ active: s.active, queued: s.queued });

/** Connects clients one at a time, so the accept queue holds them in connect order. */
async function connectInOrder(addr: string, host: string, port: number, n: number): Promise<net.Socket[]> {
  const socks: net.Socket[] = [];
  for (let i = 0; i < n; i++) {
    const before = stats(addr).queued;
    socks.push(await connect({ host, port }));
    await waitFor(() => stats(addr).queued === before + 1, () => pair(stats(addr)));
  }
  return socks;
}

/** Queued rises, moves to active on accept, falls on close; on `host` (127.0.0.1 or ::1). */
async function queueLifecycle(host: string, key: (port: number) => string): Promise<void> {
  await using held = await HeldListener.start(["tcp", host]);
  const addr = key(held.port);
  assert.deepEqual(pair(stats(addr)), { active: 0, queued: 0 });
  const clients = await connectInOrder(addr, host, held.port, 3);
  assert.deepEqual(pair(stats(addr)), { active: 0, queued: 3 });
  assert.equal(stats(addr).total, 3);
  assert.ok(stats(addr).backlog >= 3, `backlog ${stats(addr).backlog}`);
  assert.equal(stats(addr).listeners, 1);

  await held.accept(2); // FIFO: the first two clients
  await waitFor(() => stats(addr).active === 2, () => pair(stats(addr)));
  assert.deepEqual(pair(stats(addr)), { active: 2, queued: 1 });

  await closeAll([clients[0]]); // client side closes: the server's end leaves ESTABLISHED
  await waitFor(() => stats(addr).active === 1, () => pair(stats(addr)));
  assert.deepEqual(pair(stats(addr)), { active: 1, queued: 1 });

  await held.closeAccepted(); // server side closes the other accepted one
  await waitFor(() => stats(addr).active === 0, () => pair(stats(addr)));
  assert.deepEqual(pair(stats(addr)), { active: 0, queued: 1 });

  await held.accept(1);
  await waitFor(() => stats(addr).active === 1, () => pair(stats(addr)));
  assert.deepEqual(pair(stats(addr)), { active: 1, queued: 0 });

  await closeAll(clients);
  await waitFor(() => stats(addr).active === 0, () => pair(stats(addr)));
  assert.deepEqual(pair(stats(addr)), { active: 0, queued: 0 });
}

test("IPv4: queued rises as clients connect, moves to active on accept, falls on close", async () => {
  await queueLifecycle("127.0.0.1", (port) => `127.0.0.1:${port}`);
});

test("IPv6: queued rises, moves to active on accept, falls on close on [::1]", async (t) => {
  if (!(await ipv6Loopback())) {
    t.skip("::1 is unavailable on this machine (no IPv6 loopback): IPv6 listener stats not tested");
    return;
  }
  await queueLifecycle("::1", (port) => `[::1]:${port}`);
});

test("a list answers under exactly the keys given, with zeros for unknown addresses", async () => {
  await using held = await HeldListener.start(["tcp", "127.0.0.1"]);
  const clients = [await connect({ host: "127.0.0.1", port: held.port })];
  const a = `127.0.0.1:${held.port}`;
  await waitFor(() => stats(a).queued === 1, () => pair(stats(a)));
  const unused = `127.0.0.2:${held.port}`;
  const scoped = `[fe80::1%lo]:${held.port}`;
  const answer = tcpListenerStats([a, unused, scoped, "[::1]:1"]);
  assert.deepEqual([...answer.keys()], [a, unused, `[fe80::1]:${held.port}`, "[::1]:1"]);
  assert.deepEqual(pair(answer.get(a)!), { active: 0, queued: 1 });
  assert.deepEqual(answer.get(unused)!.toJSON(), { active: 0, queued: 0, total: 0, backlog: 0 });
  assert.equal(answer.get("[::1]:1")!.total, 0);
  assert.deepEqual(tcpListenerStats([]), new Map());
  await closeAll(clients);
});

test("all listeners include a fresh listener with zeros, IPv4 and IPv6 in one answer", async () => {
  await using fresh = await acceptingServer("127.0.0.1");
  const has6 = await ipv6Loopback();
  await using fresh6 = has6 ? await acceptingServer("::1") : null;
  const all = tcpListenerStats();
  const mine = all.get(`127.0.0.1:${fresh.port}`);
  assert.ok(mine, `127.0.0.1:${fresh.port} missing from ${[...all.keys()].join(" ")}`);
  assert.deepEqual(pair(mine), { active: 0, queued: 0 });
  assert.ok(mine.backlog > 0);
  if (fresh6) assert.deepEqual(pair(all.get(`[::1]:${fresh6.port}`)!), { active: 0, queued: 0 });
  for (const key of all.keys()) assert.match(key, /^(\d+\.\d+\.\d+\.\d+|\[[0-9a-f:.]+\]):\d+$/);
});

test("all listeners: each key names its own listener as listeners come and go between calls", async () => {
  const has6 = await ipv6Loopback();
  const hosts = has6 ? ["127.0.0.1", "::1"] : ["127.0.0.1"];
  const key = (host: string, port: number) => (host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`);
  const servers: Awaited<ReturnType<typeof acceptingServer>>[] = [];
  try {
    for (let i = 0; i < 6; i++) servers.push(await acceptingServer(hosts[i % hosts.length]));
    const keys = servers.map((s, i) => key(hosts[i % hosts.length], s.port));
    let all = tcpListenerStats();
    for (const k of keys) assert.ok(all.has(k), `${k} missing`);
    // One closes and one opens: the records after it move in the sorted answer.
    const [gone] = servers.splice(2, 1);
    const goneKey = keys.splice(2, 1)[0];
    await gone[Symbol.asyncDispose]();
    servers.push(await acceptingServer("127.0.0.1"));
    keys.push(key("127.0.0.1", servers.at(-1)!.port));
    // One connection on one listener, so a record taking another's key shows.
    const counted = servers[0], countedKey = keys[0];
    const client = await connect({ host: hosts[0], port: counted.port });
    try {
      await waitFor(() => tcpListenerStats().get(countedKey)?.active === 1, () => tcpListenerStats().get(countedKey));
      all = tcpListenerStats();
      assert.ok(!all.has(goneKey), `${goneKey} still listed after it closed`);
      for (const [i, k] of keys.entries()) {
        assert.ok(all.has(k), `${k} missing`);
        assert.deepEqual(pair(all.get(k)!), { active: i === 0 ? 1 : 0, queued: 0 }, k);
      }
    } finally {
      await closeAll([client]);
    }
  } finally {
    for (const s of servers) await s[Symbol.asyncDispose]();
  }
});

test("all listeners count accepted connections and queues of each listener", async () => {
  await using held = await HeldListener.start(["tcp", "127.0.0.1"]);
  const a = `127.0.0.1:${held.port}`;
  const clients = await connectInOrder(a, "127.0.0.1", held.port, 3);
  await held.accept(1);
  await waitFor(() => tcpListenerStats().get(a)?.active === 1, () => pair(tcpListenerStats().get(a)!));
  assert.deepEqual(pair(tcpListenerStats().get(a)!), { active: 1, queued: 2 });
  await closeAll(clients);
});

test("SO_REUSEPORT listeners on one address add their queues together", async () => {
  await using first = await HeldListener.start(["tcp", "127.0.0.1", "0", "--reuse-port"]);
  await using second = await HeldListener.start(["tcp", "127.0.0.1", String(first.port), "--reuse-port"]);
  assert.equal(second.port, first.port);
  const a = `127.0.0.1:${first.port}`;
  const s = stats(a);
  assert.equal(s.listeners, 2);
  const single = await acceptingServer("127.0.0.1");
  const oneBacklog = stats(`127.0.0.1:${single.port}`).backlog;
  await single[Symbol.asyncDispose]();
  assert.ok(s.backlog >= 2 * Math.min(oneBacklog, 128), `summed backlog ${s.backlog}`);
  const clients = [];
  for (let i = 0; i < 8; i++) clients.push(await connect({ host: "127.0.0.1", port: first.port }));
  await waitFor(() => stats(a).queued === 8, () => pair(stats(a)));
  assert.equal(tcpListenerStats().get(a)!.queued, 8, "the all-listeners answer merges them too");
  await closeAll(clients);
});

test("a wildcard listener counts connections made to 127.0.0.1", async () => {
  await using held = await HeldListener.start(["tcp", "0.0.0.0"]);
  const wild = `0.0.0.0:${held.port}`;
  const clients = [];
  for (let i = 0; i < 3; i++) clients.push(await connect({ host: "127.0.0.1", port: held.port }));
  await waitFor(() => stats(wild).queued === 3, () => pair(stats(wild)));
  await held.accept(2);
  await waitFor(() => stats(wild).active === 2, () => pair(stats(wild)));
  assert.deepEqual(pair(stats(wild)), { active: 2, queued: 1 });
  assert.deepEqual(pair(tcpListenerStats().get(wild)!), { active: 2, queued: 1 });
  assert.equal(stats(`127.0.0.1:${held.port}`).queued, 0, "no listener bound to 127.0.0.1 itself");
  await closeAll(clients);
});

test("an InetDiagSocket is reusable, closes twice safely, and works with using", async () => {
  await using server = await acceptingServer("127.0.0.1");
  const a = `127.0.0.1:${server.port}`;
  const sock = new InetDiagSocket();
  assert.equal(typeof sock.fd, "number");
  for (let i = 0; i < 3; i++) assert.equal(tcpListenerStats(a, sock).get(a)!.listeners, 1);
  assert.ok(tcpListenerStats(undefined, sock).has(a));
  assert.equal(sock.closed, false);
  sock.close();
  sock.close();
  assert.equal(sock.closed, true);
  {
    using scoped = new InetDiagSocket();
    tcpListenerStats(a, scoped);
  }
});

test("queries through a closed InetDiagSocket throw ClosedError", () => {
  const sock = new InetDiagSocket();
  sock.close();
  assert.throws(() => sock.fd, ClosedError);
  assert.throws(() => tcpListenerStats("127.0.0.1:80", sock), ClosedError);
  assert.throws(() => tcpListenerStats(undefined, sock), ClosedError);
  assert.throws(
    () => tcpListenerStats(["127.0.0.1:80"], sock),
    (e: Error) => e instanceof ClosedError && /closed/.test(e.message),
  );
});

test("malformed addresses are RangeErrors (AddressError) naming the address", () => {
  const bad = [
    "127.0.0.1",
    "127.0.0.1:",
    "127.0.0.1:65536",
    "300.0.0.1:80",
    "localhost:80",
    "[::1:80",
    "[::1]",
    "[::g]:80",
    "::1:80",
    "",
  ];
  for (const addr of bad) {
    assert.throws(
      () => tcpListenerStats(addr),
      (e: Error) => e instanceof RangeError && e.name === "AddressError",
      addr,
    );
    assert.throws(() => tcpListenerStats(["127.0.0.1:80", addr]), RangeError, addr);
  }
  assert.throws(() => tcpListenerStats("[::1:80"), /unclosed \[/);
  assert.throws(() => tcpListenerStats("127.0.0.1:99999"), /above 65535/);
  assert.throws(() => tcpListenerStats("1.2.3.4"), /missing port/);
});

test("a list longer than the kernel filter allows is a RangeError; 1,000 addresses are answered", () => {
  const many = Array.from({ length: 1001 }, (_, i) => `[2001:db8::${(i + 1).toString(16)}]:${1 + (i % 60000)}`);
  assert.throws(() => tcpListenerStats(many), (e: Error) => e instanceof RangeError && /at most 1000/.test(e.message));
  const answer = tcpListenerStats(many.slice(0, 1000));
  assert.equal(answer.size, 1000);
  assert.ok([...answer.values()].every((s) => s.active === 0 && s.queued === 0));
});

test("wrong argument types are TypeErrors", () => {
  // deno-lint-ignore no-explicit-any
  const any = tcpListenerStats as any;
  assert.throws(() => any(80), TypeError);
  assert.throws(() => any(["127.0.0.1:80", 80]), TypeError);
  assert.throws(() => any({ addr: "127.0.0.1:80" }), TypeError);
  assert.throws(() => any("127.0.0.1:80", {}), TypeError);
  assert.throws(() => any(undefined, 3), TypeError);
});

test("10,000 repeated queries leave the open-fd count and RSS flat", async () => {
  await using held = await HeldListener.start(["tcp", "127.0.0.1"]);
  const a = `127.0.0.1:${held.port}`;
  const clients = [await connect({ host: "127.0.0.1", port: held.port })];
  await waitFor(() => stats(a).queued === 1, () => pair(stats(a)));
  const sock = new InetDiagSocket();
  const round = (n: number) => {
    for (let i = 0; i < n; i++) {
      assert.equal(tcpListenerStats(a, sock).get(a)!.queued, 1);
      if (i % 100 === 0) tcpListenerStats([a, "[::1]:1"]); // a temporary socket per call
      if (i % 250 === 0) tcpListenerStats(undefined, sock);
    }
  };
  const growth = fdAndRssGrowth(round);
  assert.equal(growth.fds, 0, "open descriptors leaked");
  assert.ok(growth.rssMiB < 16, `RSS grew ${growth.rssMiB.toFixed(1)} MiB over 10,000 queries`);
  sock.close();
  await closeAll(clients);
});
