import { test } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { Watcher } from "../src/watcher/watcher.ts";
import { HeldListener } from "./fixtures/linux_sockets.ts";
import { eventually, LineReader, runtimeName, serve } from "./fixtures/watcher_servers.ts";

test(`HEAD /tail takes no slot: after 40 HEAD requests (maxTails 32) a GET tail still streams (${runtimeName})`, async () => {
  await using held = await HeldListener.start(["tcp", "127.0.0.1"]);
  const addr = `127.0.0.1:${held.port}`;
  using watcher = new Watcher({ listeners: [addr], delay: 0.05 });
  await using server = await serve(watcher.app);
  const url = `${server.origin}/tail/${encodeURIComponent(addr)}.txt`;
  assert.equal(watcher.maxTails, 32);
  for (let i = 0; i < 40; i++) {
    const head = await fetch(url, { method: "HEAD" });
    assert.equal(head.status, 200, `HEAD ${i}`);
    assert.match(head.headers.get("Content-Type")!, /^text\/plain/);
    assert.equal(await head.text(), "");
  }
  assert.equal(watcher.tails, 0, "no slot held by a HEAD");
  const reader = new LineReader(url);
  const lines = await reader.lines(2, 10_000);
  assert.equal((await reader.response).status, 200);
  assert.equal(lines.length, 2, JSON.stringify(lines));
  assert.match(lines[0], new RegExp(` ${addr.replaceAll(".", "\\.")} +0 +0$`));
  await reader.cancel();
  await eventually(() => watcher.tails === 0, () => watcher.tails);
});

/** Bytes of a listener name long enough that the lines fill the client's socket buffers within the deadline (URLs stay under 8 KiB). */
const LONG_NAME = 4000;

test(`a tail whose client never reads ends at its deadline and frees its slot (${runtimeName})`, async () => {
  // A fake figures source: no real socket has a 4000-byte name, and only such
  // lines (one per 1 ms poll) fill the unread connection fast enough that
  // the server stops pulling the body well before the deadline.
  const name = "/" + "x".repeat(LONG_NAME);
  const source = () => new Map([[name, { active: 1, queued: 0 }]]);
  using watcher = new Watcher({ listeners: [name], listenStats: source, delay: 0.001, tailMaxSeconds: 1 });
  await using server = await serve(watcher.app);
  const client = net.connect({ host: "127.0.0.1", port: server.port });
  try {
    await new Promise<void>((resolve, reject) => client.once("connect", resolve).once("error", reject));
    client.pause(); // never reads until the tail has ended
    const started = Date.now();
    client.write(`GET /tail/${encodeURIComponent(name)}.txt HTTP/1.1\r\nHost: ${server.local}\r\n\r\n`);
    await eventually(() => watcher.tails === 1, () => watcher.tails, 5_000);
    await eventually(() => watcher.tails === 0, () => watcher.tails, 10_000);
    const elapsed = Date.now() - started;
    assert.ok(elapsed >= 900, `the tail held its slot until its deadline (ended after ${elapsed} ms)`);
    // Read now: the response ends (the last chunk of a chunked body) instead of streaming on.
    let text = "";
    client.setEncoding("latin1");
    client.on("data", (chunk: string) => text = (text + chunk).slice(-64));
    client.resume();
    await eventually(() => text.endsWith("0\r\n\r\n"), () => text.slice(-16), 15_000);
  } finally {
    client.destroy();
  }
});
