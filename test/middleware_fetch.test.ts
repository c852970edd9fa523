import { test } from "node:test";
import assert from "node:assert/strict";
import { connect } from "node:net";
import { Hono } from "hono";
import { withRaindrops } from "../src/middleware/fetch.ts";
import { WorkerStats } from "../src/worker_stats.ts";
import { tempShm } from "./_helpers.ts";
import { serve, waitFor } from "./fixtures/middleware_serve.ts";

/** How bodies are followed here: Bun tells JS the end of no response, so there they are re-streamed. */
const bodyTracking = typeof (globalThis as { Bun?: unknown }).Bun !== "undefined" ? "wrap" : "auto";

/** A plain Hono app (no middleware): quick, held, throwing and streamed routes. */
function plainApp(): Hono {
  const app = new Hono();
  app.onError((_e, c) => c.text("failed", 500));
  app.get("/", (c) => c.text("hello"));
  app.get("/throw", () => {
    throw new Error("boom");
  });
  app.get("/hold", async (c) => {
    await new Promise((r) => setTimeout(r, 300));
    return c.text("held");
  });
  app.get("/stream", (c) => {
    let i = 0;
    return c.body(
      new ReadableStream({
        async pull(ctl) {
          await new Promise((r) => setTimeout(r, 20));
          if (i++ < 5) ctl.enqueue(new Uint8Array(512).fill(97));
          else ctl.close();
        },
      }),
    );
  });
  return app;
}

test("withRaindrops counts calling and writing around app.fetch on a real server and serves the stats path", async () => {
  using tmp = tempShm("mw-fetch");
  const stats = WorkerStats.open(tmp.path);
  const server = await serve(withRaindrops(plainApp().fetch, { stats, bodyTracking }));
  try {
    const held = fetch(`${server.url}/hold`).then((r) => r.text());
    assert.ok(await waitFor(() => stats.totals().calling === 1), "a held request counts as calling");
    assert.equal(await held, "held");
    const streamed = await fetch(`${server.url}/stream`);
    assert.ok(await waitFor(() => stats.totals().writing === 1), "an unread streamed body counts as writing");
    assert.equal((await streamed.text()).length, 5 * 512);
    assert.ok(await waitFor(() => stats.totals().writing === 0 && stats.totals().calling === 0));
    assert.equal((await fetch(`${server.url}/throw`)).status, 500);
    assert.equal(await (await fetch(`${server.url}/`)).text(), "hello");
    const text = await (await fetch(`${server.url}/_raindrops`)).text();
    assert.match(text, /^calling: 0\nwriting: 0\n/);
    assert.match(text, new RegExp(`^127\\.0\\.0\\.1:${server.port} active: \\d+$`, "m"), "its own listener");
    const json = await (await fetch(`${server.url}/_raindrops?format=json`)).json();
    assert.equal(json.calling, 0);
    const encoded = await (await fetch(`${server.url}/%5Fraindrops`)).text();
    assert.match(encoded, /^calling: 0\n/, "a percent-encoded stats path is the stats path, as with app.use");
  } finally {
    await server.close();
    stats.release();
  }
});

test(
  "withRaindrops: 2,000 mixed requests, some aborted mid-body, leave calling and writing at 0",
  { timeout: 60_000 },
  async () => {
    using tmp = tempShm("mw-fetch-mixed");
    const stats = WorkerStats.open(tmp.path);
    const server = await serve(withRaindrops(plainApp().fetch, { stats, bodyTracking }));
    try {
      const expected: Record<string, [number, number]> = { "/": [200, 5], "/throw": [500, 6], "/stream": [200, 2560] };
      const paths = ["/", "/throw", "/stream", "/"];
      let completed = 0, aborted = 0;
      const failures: unknown[] = [];
      for (let round = 0; round < 100; round++) {
        await Promise.all(Array.from({ length: 20 }, async (_, i) => {
          const path = paths[(round + i) % 4];
          const leave = i % 7 === 0; // a client leaving mid-body
          const ac = new AbortController();
          try {
            const res = await fetch(`${server.url}${path}`, { signal: ac.signal });
            if (leave) {
              ac.abort();
              aborted++;
              return;
            }
            const body = await res.text();
            assert.deepEqual([res.status, body.length], expected[path], path);
            completed++;
          } catch (e) {
            if (leave && (e as Error).name === "AbortError") aborted++;
            else failures.push(e);
          }
        }));
      }
      assert.deepEqual(failures, []);
      assert.equal(completed + aborted, 2000);
      assert.ok(aborted >= 250 && completed >= 1700, `${completed} completed, ${aborted} aborted`);
      assert.ok(
        await waitFor(() => stats.totals().calling === 0 && stats.totals().writing === 0, 5000),
        JSON.stringify(stats.totals()),
      );
    } finally {
      await server.close();
      stats.release();
    }
  },
);

test("a handler returning something other than a Response is a TypeError and leaves no count raised", async () => {
  using tmp = tempShm("mw-fetch-bad");
  const stats = WorkerStats.open(tmp.path);
  try {
    const wrapped = withRaindrops((() => "text") as never, { stats });
    assert.throws(() => wrapped(new Request("http://x/")), TypeError);
    const thenable = { then: (ok: (v: unknown) => void) => ok(42) };
    const wrappedAsync = withRaindrops((() => thenable) as never, { stats });
    await assert.rejects(async () => await wrappedAsync(new Request("http://x/")), TypeError);
    assert.deepEqual([stats.totals().calling, stats.totals().writing], [0, 0]);
  } finally {
    stats.release();
  }
});

test("withRaindrops rejects a fetch that is not a function, and bad options", () => {
  assert.throws(() => withRaindrops("x" as never), TypeError);
  assert.throws(() => withRaindrops(() => new Response(), { path: "nope" }), RangeError);
});

test("withRaindrops: a response returned after its client has gone leaves calling and writing at 0", async () => {
  using tmp = tempShm("mw-fetch-late");
  const stats = WorkerStats.open(tmp.path);
  let returned = false, clientGone = false;
  const app = new Hono().get("/late", async (c) => {
    // Until the server tells the client is gone (bounded), then a body the server would have to send.
    const signal = c.req.raw.signal;
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, 5000);
      signal.addEventListener("abort", () => (clearTimeout(t), resolve()), { once: true });
    });
    clientGone = signal.aborted;
    returned = true;
    return c.body(new ReadableStream({ pull: (ctl) => ctl.enqueue(new Uint8Array(1024)) }));
  });
  const server = await serve(withRaindrops(app.fetch, { stats, bodyTracking }));
  try {
    const sock = connect(server.port, "127.0.0.1");
    sock.on("error", () => {});
    sock.write("GET /late HTTP/1.1\r\nHost: x\r\n\r\n");
    assert.ok(await waitFor(() => stats.totals().calling === 1), "the request is in the app");
    sock.destroy();
    assert.ok(await waitFor(() => returned, 8000), "the handler returned");
    assert.ok(clientGone, "the server told the handler its client was gone");
    assert.ok(
      await waitFor(() => stats.totals().calling === 0 && stats.totals().writing === 0),
      JSON.stringify(stats.totals()),
    );
  } finally {
    await server.close();
    stats.release();
  }
});
