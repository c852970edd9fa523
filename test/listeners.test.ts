import { test } from "node:test";
import assert from "node:assert/strict";
import process from "node:process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AddressError } from "../src/errors.ts";
import { checkListeners, kernelListenerStats, parseListener } from "../src/linux/listeners.ts";
import { tcpListenerOf } from "../src/linux/listen_stats.ts";
import { raindrops } from "../src/middleware/middleware.ts";
import { Watcher } from "../src/watcher/watcher.ts";
import { parseArgs, UsageError } from "../src/cli/listener_stats.ts";
import { acceptingServer, closeAll, connect, HeldListener, ipv6Loopback, waitFor } from "./fixtures/linux_sockets.ts";
import { tempShm } from "./_helpers.ts";

test("parseListener: tcp, unix path (any name with a slash) and abstract @name", () => {
  assert.equal(parseListener("0.0.0.0:8080").kind, "tcp");
  assert.equal(parseListener("[::1]:80").kind, "tcp");
  assert.equal(parseListener("/run/app.sock").kind, "unix");
  assert.equal(parseListener("./app.sock").kind, "unix");
  assert.equal(parseListener("@app").kind, "abstract");
  const tcp = parseListener("127.0.0.1:9");
  assert.ok(tcp.kind === "tcp" && tcp.address.port === 9 && tcp.address.family === 4);
  assert.throws(() => parseListener(5 as unknown as string), TypeError);
});

test("parseListener refuses bad names with a RangeError that says what to write", () => {
  const refused = (name: string, hint: RegExp) =>
    assert.throws(() => parseListener(name), (e: Error) => e instanceof RangeError && hint.test(e.message), name);
  refused("*:8080", /write \[::\]:8080 \(IPv6 and IPv4\) or 0\.0\.0\.0:8080 \(IPv4\)/);
  refused("localhost:8080", /no host names.*127\.0\.0\.1:8080 or \[::1\]:8080/);
  refused("1.2.3.4:99999", /port above 65535/);
  refused("app.sock", /unix socket path needs a "\/": \.\/app\.sock/);
  refused("@", /empty/);
  refused("/a\0b", /NUL/);
  refused("", /missing port/);
  assert.throws(() => parseListener("*:8080"), AddressError);
});

test("checkListeners: frozen, duplicates dropped, TypeError for wrong types", () => {
  const list = checkListeners(["0.0.0.0:1", "/x.sock", "0.0.0.0:1", "@a"]);
  assert.deepEqual(list, ["0.0.0.0:1", "/x.sock", "@a"]);
  assert.ok(Object.isFrozen(list));
  assert.throws(() => checkListeners("0.0.0.0:1"), TypeError);
  assert.throws(() => checkListeners([1]), TypeError);
  assert.throws(() => checkListeners(["localhost:1"]), RangeError);
});

test("the middleware, the Watcher and the CLI refuse the same bad listeners at setup and accept the same good ones", () => {
  using tmp = tempShm("listeners-setup");
  const bad = ["localhost:8080", "1.2.3.4:99999", "*:8080", "@", "8080"];
  const good = ["0.0.0.0:8080", "[::]:8080", "/run/app.sock", "./app.sock", "@app"];
  for (const name of bad) {
    assert.throws(() => raindrops({ stats: tmp.path, listeners: [name] }), RangeError, `middleware ${name}`);
    assert.throws(() => new Watcher({ listeners: [name] }), RangeError, `Watcher ${name}`);
    assert.throws(() => parseArgs([name]), UsageError, `CLI ${name}`);
  }
  for (const name of good) {
    raindrops({ stats: tmp.path, listeners: [name], listenStats: false });
    using _w = new Watcher({ listeners: [name], listenStats: () => new Map() });
    const o = parseArgs([name]);
    assert.deepEqual([...o.tcp, ...o.paths], [name]);
    assert.equal(o.tcp.length, parseListener(name).kind === "tcp" ? 1 : 0, name);
  }
});

test("kernelListenerStats reads TCP, unix and abstract listeners in one call, keyed as given", async () => {
  const dir = mkdtempSync(join(tmpdir(), "raindrops-test-listeners-"));
  try {
    await using tcp = await acceptingServer("127.0.0.1");
    const path = join(dir, "app.sock");
    await using unix = await HeldListener.start(["unix", path]);
    const abstract = `@raindrops-test-${process.pid}-${Date.now()}`;
    await using named = await HeldListener.start(["unix", abstract]);
    const clients = [await connect({ host: "127.0.0.1", port: tcp.port }), await connect({ path })];
    const names = [`127.0.0.1:${tcp.port}`, path, abstract];
    const figures = () => kernelListenerStats(names);
    await waitFor(() => figures().get(path)!.queued === 1 && figures().get(names[0])!.active === 1, figures);
    assert.deepEqual([...figures().keys()].sort(), [...names].sort());
    assert.equal(figures().get(abstract)!.listeners, 1);
    await closeAll(clients);
    const all = kernelListenerStats(undefined);
    assert.ok(
      all.has(`127.0.0.1:${tcp.port}`) && all.has(path) && all.has(abstract),
      "undefined: every TCP and unix listener",
    );
    void unix, named;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("tcpListenerOf finds the listener behind a connection's local end: exact, IPv4 wildcard, dual-stack", async () => {
  await using exact = await acceptingServer("127.0.0.1");
  assert.equal(tcpListenerOf(`127.0.0.1:${exact.port}`)?.[0], `127.0.0.1:${exact.port}`);
  await using any4 = await acceptingServer("0.0.0.0");
  const [key, figures] = tcpListenerOf(`127.0.0.1:${any4.port}`)!;
  assert.equal(key, `0.0.0.0:${any4.port}`);
  assert.equal(figures.listeners, 1);
  if (await ipv6Loopback()) {
    await using any6 = await acceptingServer("::");
    assert.equal(tcpListenerOf(`127.0.0.1:${any6.port}`)?.[0], `[::]:${any6.port}`);
    assert.equal(tcpListenerOf(`[::1]:${any6.port}`)?.[0], `[::]:${any6.port}`);
  }
  const closedPort = exact.port;
  await exact[Symbol.asyncDispose]();
  assert.equal(tcpListenerOf(`127.0.0.1:${closedPort}`), undefined, "nothing listens there any more");
});
