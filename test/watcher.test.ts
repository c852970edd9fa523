import { test } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { rmSync } from "node:fs";
import { Hono } from "hono";
import { Watcher } from "../src/watcher/watcher.ts";
import { closeAll, connect, HeldListener, listenedAndNot } from "./fixtures/linux_sockets.ts";
import { eventually, LineReader, rawPost, runtimeName, serve, sleep } from "./fixtures/watcher_servers.ts";

const DELAY = 0.05; // seconds between polls
const HTTP_DATE = /^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/;
const TAIL_LINE = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z) (\S+) +(\d+) +(\d+)$/;
const SUMMARY = ["X-Count", "X-Min", "X-Max", "X-Mean", "X-Std-Dev", "X-Outliers-Low", "X-Outliers-High"];
const TIMES = ["X-Last-Reset", "X-First-Peak-At", "X-Last-Peak-At"];

/** A held (non-accepting) listener, a Watcher of it and a server for the Watcher. */
async function setup(options: { delay?: number } = {}) {
  const held = await HeldListener.start(["tcp", "127.0.0.1"]);
  const addr = `127.0.0.1:${held.port}`;
  const watcher = new Watcher({ listeners: [addr], delay: options.delay ?? DELAY });
  const server = await serve(watcher.app);
  const clients: net.Socket[] = [];
  return {
    held,
    addr,
    enc: encodeURIComponent(addr),
    watcher,
    server,
    get: (path: string, init?: RequestInit) => fetch(server.origin + path, { redirect: "manual", ...init }),
    /** Opens `n` more client connections; they stay queued until `held.accept()`. */
    async connect(n: number) {
      for (let i = 0; i < n; i++) clients.push(await connect({ host: "127.0.0.1", port: held.port }));
    },
    async [Symbol.asyncDispose]() {
      watcher.close();
      await closeAll(clients);
      await server[Symbol.asyncDispose]();
      await held[Symbol.asyncDispose]();
    },
  };
}

/** Waits until the Watcher's page for `kind` reports X-Current = `value`. */
async function current(s: Awaited<ReturnType<typeof setup>>, kind: string, value: number): Promise<Response> {
  let last: Response | undefined;
  await eventually(async () => {
    last = await s.get(`/${kind}/${s.enc}.txt`);
    await last.text();
    return last.headers.get("X-Current") === String(value);
  }, () => last?.headers.get("X-Current"));
  return last!;
}

test(`GET / lists every watched listener with links, a reset button, Last-Modified and Expires (${runtimeName})`, async () => {
  await using s = await setup();
  const res = await s.get("/");
  assert.equal(res.status, 200);
  assert.match(res.headers.get("Content-Type")!, /^text\/html/);
  const lastModified = res.headers.get("Last-Modified")!, expires = res.headers.get("Expires")!;
  assert.match(lastModified, HTTP_DATE);
  assert.match(expires, HTTP_DATE);
  assert.ok(Date.parse(expires) >= Date.parse(lastModified));
  assert.ok(Math.abs(Date.parse(lastModified) - Date.now()) < 5000);
  const html = await res.text();
  assert.match(html, new RegExp(`<td class="addr">${s.addr.replaceAll(".", "\\.")}</td>`));
  for (const href of [`/active/${s.enc}.html`, `/queued/${s.enc}.html`, `/active/${s.enc}.txt`, `/tail/${s.enc}.txt`]) {
    assert.ok(html.includes(`href="${href}"`), href);
  }
  assert.ok(html.includes(`<form class="reset" method="post" action="/reset/${s.enc}">`));
  assert.ok(html.includes('<svg class="spark"'), "a chart per listener");
});

test(`pages load nothing from elsewhere: no external URL, inline script and style, a strict CSP (${runtimeName})`, async () => {
  await using s = await setup();
  for (const path of ["/", `/active/${s.enc}.html`, `/queued/${s.enc}.html`]) {
    const res = await s.get(path);
    const html = await res.text();
    const csp = res.headers.get("Content-Security-Policy")!;
    assert.match(csp, /default-src 'none'/, path);
    assert.match(csp, /connect-src 'self'/, path);
    assert.doesNotMatch(html, /(src|href|action)="(https?:)?\/\//i, path);
    assert.doesNotMatch(html, /<script[^>]+src=|<link[^>]+stylesheet|@import|url\(/i, path);
    assert.match(html, /<script>[\s\S]+<\/script>/, path);
  }
});

test(`GET /queued/ADDR.txt counts queued connections and sends every summary and time header (${runtimeName})`, async () => {
  await using s = await setup();
  await s.connect(3);
  const res = await current(s, "queued", 3);
  assert.equal(res.status, 200);
  assert.match(res.headers.get("Content-Type")!, /^text\/plain/);
  for (const h of SUMMARY) assert.ok(res.headers.has(h), `${h} missing`);
  assert.equal(res.headers.get("X-Max"), "3");
  assert.equal(res.headers.get("X-Min"), "0");
  assert.ok(Number(res.headers.get("X-Count")) >= 2);
  assert.ok(Number(res.headers.get("X-Mean")) > 0 && Number(res.headers.get("X-Mean")) <= 3);
  assert.ok(Number(res.headers.get("X-Std-Dev")) >= 0);
  for (const h of TIMES) assert.match(res.headers.get(h)!, HTTP_DATE, h);
  assert.ok(Date.parse(res.headers.get("X-First-Peak-At")!) <= Date.parse(res.headers.get("X-Last-Peak-At")!));
  assert.match(res.headers.get("Last-Modified")!, HTTP_DATE);
  assert.match(res.headers.get("Expires")!, HTTP_DATE);
  const body = await (await s.get(`/queued/${s.enc}.txt`)).text();
  assert.match(body, /^\[2, 4\) \| #+ +\d+$/m, "queued = 3 falls in [2, 4)");
  assert.match(body, /^ *Total \| +\d+$/m);
});

test(`GET /active/ADDR.html shows accepted connections, with the same headers and live chart elements (${runtimeName})`, async () => {
  await using s = await setup();
  await s.connect(2);
  await s.held.accept(2);
  const txt = await current(s, "active", 2);
  assert.equal(txt.headers.get("X-Max"), "2");
  const res = await s.get(`/active/${s.enc}.html`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get("Content-Type")!, /^text\/html/);
  for (const h of [...SUMMARY, "X-Current", ...TIMES]) assert.ok(res.headers.has(h), `${h} missing`);
  assert.equal(res.headers.get("X-Current"), "2");
  const html = await res.text();
  assert.match(html, /<svg id="timechart"/);
  assert.match(html, /<svg id="histogram"/);
  assert.match(html, new RegExp(`data-series="/series/${s.enc.replaceAll(".", "\\.")}\\.json"`));
  assert.match(html, /<pre id="chart">[\s\S]*Total/);
});

test(`GET /series/ADDR.json gives the points and histogram rows the charts are drawn from (${runtimeName})`, async () => {
  await using s = await setup();
  await s.connect(1);
  await current(s, "queued", 1);
  const res = await s.get(`/series/${s.enc}.json`);
  assert.equal(res.status, 200);
  const data = await res.json();
  assert.equal(data.addr, s.addr);
  assert.equal(data.delay, DELAY);
  assert.ok(data.points.length >= 2);
  const [t, active, queued] = data.points.at(-1);
  assert.ok(t <= Date.now() && t > Date.now() - 5000);
  assert.equal(active, 0);
  assert.equal(queued, 1);
  assert.equal(data.queued.current, 1);
  assert.ok(data.queued.rows.some((r: { label: string }) => r.label === "[1, 2)"));
  assert.ok(data.active.rows.some((r: { label: string }) => r.label === "< 1"), "0 active is a low outlier");
  assert.match(data.queued.chart, /Total/);
  const all = await (await s.get("/series.json?points=5")).json();
  assert.equal(all.listeners.length, 1);
  assert.ok(all.listeners[0].points.length <= 5);
  assert.equal((await s.get("/series.json?points=x")).status, 400);
  assert.equal((await s.get("/series.json?since=-1")).status, 400);
  const newest = all.listeners[0].points.at(-1)[0];
  assert.equal(all.listeners[0].lastReset, data.lastReset);
  const later = await (await s.get(`/series.json?since=${newest}`)).json();
  assert.ok(later.listeners[0].points.every(([t]: number[]) => t > newest), "only polls after since");
  assert.ok(later.listeners[0].points.length < data.points.length);
});

test(`an unknown address answers 404 on every endpoint and creates no state (${runtimeName})`, async () => {
  await using s = await setup();
  const other = encodeURIComponent("10.0.0.9:1");
  for (const path of [`/active/${other}.txt`, `/queued/${other}.html`, `/tail/${other}.txt`, `/series/${other}.json`]) {
    const res = await s.get(path);
    await res.body?.cancel();
    assert.equal(res.status, 404, path);
  }
  const reset = await s.get(`/reset/${other}`, { method: "POST" });
  assert.equal(reset.status, 404);
  await reset.body?.cancel();
  for (const path of [`/active/${s.enc}.json`, `/active/${s.enc}`, `/tail/${s.enc}.html`, "/nowhere"]) {
    const res = await s.get(path);
    await res.body?.cancel();
    assert.equal(res.status, 404, path);
  }
  assert.deepEqual(s.watcher.listeners, [s.addr]);
  assert.ok(!(await (await s.get("/")).text()).includes("10.0.0.9"));
});

test(`GET /tail/ADDR.txt streams one TIMESTAMP ADDR ACTIVE QUEUED line per poll (${runtimeName})`, async () => {
  await using s = await setup();
  await s.connect(2);
  await current(s, "queued", 2);
  const started = Date.now();
  const reader = new LineReader(`${s.server.origin}/tail/${s.enc}.txt`);
  const lines = await reader.lines(4, 10_000);
  const res = await reader.response;
  assert.equal(res.status, 200);
  assert.match(res.headers.get("Content-Type")!, /^text\/plain/);
  assert.equal(res.headers.get("Expires"), new Date(0).toUTCString());
  assert.equal(lines.length, 4, `got ${JSON.stringify(lines)}`);
  assert.ok(Date.now() - started >= 2 * DELAY * 1000, "lines come one poll apart");
  for (const line of lines) {
    const m = TAIL_LINE.exec(line);
    assert.ok(m, line);
    assert.ok(Math.abs(Date.parse(m[1]) - Date.now()) < 10_000);
    assert.equal(m[2], s.addr);
    assert.equal(m[3], "0");
    assert.equal(m[4], "2");
  }
  await reader.cancel();
});

test(`tail honours queued_min and active_min: lines only while both thresholds are met (${runtimeName})`, async () => {
  await using s = await setup();
  const reader = new LineReader(`${s.server.origin}/tail/${s.enc}.txt?queued_min=2&active_min=1`);
  assert.deepEqual(await reader.lines(1, 300), [], "0 active, 0 queued: nothing");
  await s.connect(1);
  await s.held.accept(1);
  await current(s, "active", 1);
  assert.deepEqual(await reader.lines(1, 300), [], "1 active, 0 queued: nothing");
  await s.connect(2);
  const lines = await reader.lines(3, 10_000);
  assert.equal(lines.length, 3, JSON.stringify(lines));
  for (const line of lines) {
    const [, , , active, queued] = TAIL_LINE.exec(line)!;
    assert.equal(active, "1");
    assert.equal(queued, "2");
  }
  await reader.cancel();
});

test(`tail ends after limit lines, and bad thresholds answer 400 (${runtimeName})`, async () => {
  await using s = await setup();
  const reader = new LineReader(`${s.server.origin}/tail/${s.enc}.txt?limit=2`);
  assert.equal((await reader.lines(5, 10_000)).length, 2);
  assert.ok(reader.done, "the body ended");
  for (const q of ["active_min=-1", "queued_min=x", "limit=1.5"]) {
    const bad = await s.get(`/tail/${s.enc}.txt?${q}`);
    await bad.body?.cancel();
    assert.equal(bad.status, 400, q);
  }
});

test(`a tail whose client leaves is cancelled on the server (${runtimeName})`, async () => {
  await using s = await setup();
  const reader = new LineReader(`${s.server.origin}/tail/${s.enc}.txt?queued_min=1000`);
  await eventually(() => s.watcher.tails === 1, () => s.watcher.tails);
  assert.deepEqual(await reader.lines(1, 200), []);
  await reader.cancel();
  await eventually(() => s.watcher.tails === 0, () => s.watcher.tails);
});

test(`close() ends every tail and stops polling; a second close() does nothing (${runtimeName})`, async () => {
  await using s = await setup();
  const reader = new LineReader(`${s.server.origin}/tail/${s.enc}.txt?queued_min=1000`);
  await eventually(() => s.watcher.tails === 1, () => s.watcher.tails);
  s.watcher.close();
  assert.deepEqual(await reader.lines(1, 5000), []);
  assert.ok(reader.done, "the tail ended");
  const polled = s.watcher.lastPoll;
  await new Promise((r) => setTimeout(r, 4 * DELAY * 1000));
  assert.equal(s.watcher.lastPoll, polled);
  assert.equal(s.watcher.poll(), false);
  s.watcher.close();
  assert.ok(s.watcher.closed);
});

test(`POST /reset/ADDR clears the statistics and redirects back to the Referer (${runtimeName})`, async () => {
  await using s = await setup();
  await s.connect(2);
  await current(s, "queued", 2);
  const before = await s.get(`/queued/${s.enc}.txt`);
  await before.text();
  const lastReset = Date.parse(before.headers.get("X-Last-Reset")!);
  await new Promise((r) => setTimeout(r, 1100)); // HTTP dates have whole seconds
  const pointsBefore = (await (await s.get(`/series/${s.enc}.json`)).json()).points.length;
  const referer = `${s.server.origin}/queued/${s.enc}.html`;
  const res = await s.get(`/reset/${s.enc}`, { method: "POST", headers: { Referer: referer } });
  assert.equal(res.status, 303);
  assert.equal(res.headers.get("Location"), `/queued/${s.enc}.html`);
  await res.text();
  const after = await s.get(`/queued/${s.enc}.txt`);
  await after.text();
  assert.ok(Number(after.headers.get("X-Count")) < Number(before.headers.get("X-Count")));
  assert.ok(Date.parse(after.headers.get("X-Last-Reset")!) > lastReset);
  const series = await (await s.get(`/series/${s.enc}.json`)).json();
  assert.ok(series.points.length < pointsBefore / 2, "the chart history starts over");
});

test(`POST /reset/ADDR without a Referer redirects to the index; a cross-origin reset is refused (${runtimeName})`, async () => {
  await using s = await setup();
  const res = await s.get(`/reset/${s.enc}`, { method: "POST" });
  assert.equal(res.status, 303);
  assert.equal(res.headers.get("Location"), "/");
  await res.text();
  const foreign = await s.get(`/reset/${s.enc}`, { method: "POST", headers: { Origin: "http://example.com" } });
  assert.equal(foreign.status, 403);
  await foreign.text();
  const elsewhere = await s.get(`/reset/${s.enc}`, { method: "POST", headers: { Referer: "http://example.com/x" } });
  assert.equal(elsewhere.headers.get("Location"), "/");
  await elsewhere.text();
});

test(`every name shown in HTML is escaped: a unix listener named with <, &, " and ' (${runtimeName})`, async () => {
  const path = `/tmp/raindrops-test-${process.pid}-<b>&"it's".sock`;
  await using held = await HeldListener.start(["unix", path]);
  using watcher = new Watcher({ listeners: [path], delay: DELAY });
  await using server = await serve(watcher.app);
  try {
    const enc = encodeURIComponent(path);
    const index = await (await fetch(`${server.origin}/`)).text();
    assert.ok(!index.includes("<b>"), "raw name in the index");
    assert.ok(index.includes("&lt;b&gt;&amp;&quot;it&#39;s&quot;.sock"));
    assert.ok(
      index.includes(`href="/active/${enc.replaceAll("'", "&#39;")}.html"`) || index.includes(`/active/${enc}.html`),
    );
    const res = await fetch(`${server.origin}/queued/${enc}.html`);
    assert.equal(res.status, 200);
    const html = await res.text();
    assert.ok(!html.includes("<b>"), "raw name in the detail page");
    assert.ok(html.includes("<title>queued on /tmp/raindrops-test-"));
    assert.ok(html.includes("&lt;b&gt;&amp;&quot;it&#39;s&quot;.sock</title>"));
    const txt = await fetch(`${server.origin}/queued/${enc}.txt`);
    assert.equal(txt.status, 200);
    await txt.text();
  } finally {
    (await import("node:fs")).rmSync(path, { force: true });
    void held;
  }
});

test(`mounted under a path, the Watcher links, reads and redirects within its mount (${runtimeName})`, async () => {
  await using held = await HeldListener.start(["tcp", "127.0.0.1"]);
  const addr = `127.0.0.1:${held.port}`, enc = encodeURIComponent(addr);
  using watcher = new Watcher({ listeners: [addr], delay: DELAY });
  const app = new Hono();
  app.route("/ops/watcher", watcher.app);
  await using server = await serve(app);
  const index = await (await fetch(`${server.origin}/ops/watcher`)).text();
  assert.ok(index.includes(`href="/ops/watcher/active/${enc}.html"`));
  assert.ok(index.includes(`data-base="/ops/watcher/"`));
  const detail = await (await fetch(`${server.origin}/ops/watcher/queued/${enc}.html`)).text();
  assert.ok(detail.includes(`data-series="/ops/watcher/series/${enc}.json"`));
  assert.ok(detail.includes(`<a href="/ops/watcher/">all listeners</a>`));
  assert.equal((await fetch(`${server.origin}/ops/watcher/series/${enc}.json`)).status, 200);
  const reset = await fetch(`${server.origin}/ops/watcher/reset/${enc}`, { method: "POST", redirect: "manual" });
  assert.equal(reset.headers.get("Location"), "/ops/watcher/");
  await reset.text();
});

test(`an idle listener's peak times stay put: two reads 2 s apart give the same X-First-Peak-At and X-Last-Peak-At (${runtimeName})`, async () => {
  await using s = await setup();
  const read = async () => {
    const res = await s.get(`/active/${s.enc}.txt`);
    await res.text();
    return [res.headers.get("X-First-Peak-At"), res.headers.get("X-Last-Peak-At"), res.headers.get("X-Last-Reset")];
  };
  const [first, last, reset] = await read();
  assert.match(first!, HTTP_DATE);
  assert.equal(first, reset, "no peak yet: the peak times name the start of the statistics");
  await sleep(2100); // HTTP dates have whole seconds
  assert.deepEqual(await read(), [first, last, reset], "zeros are not peaks");
  await s.connect(1);
  await s.held.accept(1);
  await current(s, "active", 1);
  const [first2, last2] = await read();
  assert.ok(Date.parse(first2!) > Date.parse(first!), "a value above 0 is a peak");
  assert.ok(Date.parse(last2!) >= Date.parse(first2!));
});

test(`every X-* header is sent always, on .txt and .html, with NaN where a figure is undefined (${runtimeName})`, async () => {
  await using s = await setup({ delay: 60 }); // only the constructor's poll
  for (const ext of ["txt", "html"]) {
    const res = await s.get(`/queued/${s.enc}.${ext}`);
    await res.text();
    for (const h of [...SUMMARY, "X-Current", ...TIMES]) assert.ok(res.headers.has(h), `${h} missing on .${ext}`);
    assert.equal(res.headers.get("X-Count"), "1");
    assert.equal(res.headers.get("X-Min"), "0");
    assert.equal(res.headers.get("X-Mean"), "0");
    assert.equal(res.headers.get("X-Std-Dev"), "NaN", "one sample has no standard deviation");
  }
  const reset = await s.get(`/reset/${s.enc}`, { method: "POST" });
  await reset.text();
  assert.equal(reset.status, 303);
  for (const ext of ["txt", "html"]) {
    const res = await s.get(`/active/${s.enc}.${ext}`);
    await res.text();
    assert.equal(res.headers.get("X-Count"), "0");
    for (const h of ["X-Min", "X-Max", "X-Mean", "X-Std-Dev"]) {
      assert.equal(res.headers.get(h), "NaN", `${h} on .${ext}`);
    }
    assert.equal(res.headers.get("X-Outliers-Low"), "0");
    for (const h of TIMES) assert.equal(res.headers.get(h), res.headers.get("X-Last-Reset"), h);
  }
});

test(`POST /reset refuses Origin: null and a Host that is not an IP address, localhost or a configured name (${runtimeName})`, async () => {
  await using held = await HeldListener.start(["tcp", "127.0.0.1"]);
  const addr = `127.0.0.1:${held.port}`, path = `/reset/${encodeURIComponent(addr)}`;
  using watcher = new Watcher({ listeners: [addr], delay: 60, hosts: ["watcher.example.com"] });
  await using server = await serve(watcher.app);
  const post = (headers: Record<string, string>) => rawPost(server.port, path, headers);
  const local = `127.0.0.1:${server.port}`;
  assert.equal((await post({ Host: local, Origin: "null" })).status, 403, "Origin: null");
  assert.equal(
    (await post({ Host: "rebound.example:80", Origin: "http://rebound.example:80" })).status,
    403,
    "rebinding",
  );
  assert.equal((await post({ Host: "rebound.example" })).status, 403, "rebinding without Origin");
  for (
    const host of [
      local,
      `localhost:${server.port}`,
      `[::1]:${server.port}`,
      "watcher.example.com",
      "WATCHER.example.com:8080",
    ]
  ) {
    const res = await post({ Host: host, Origin: `http://${host}` });
    assert.equal(res.status, 303, host);
  }
  assert.throws(
    () => new Watcher({ listeners: [addr], hosts: ["http://x/"], listenStats: () => new Map() }),
    RangeError,
  );
  assert.throws(() => new Watcher({ listeners: [addr], hosts: [1 as never], listenStats: () => new Map() }), TypeError);
});

test(`POST /reset sends only a single-slash path back: //host and /\\host Referers go to the index (${runtimeName})`, async () => {
  await using s = await setup({ delay: 60 });
  const path = `/reset/${s.enc}`, host = `127.0.0.1:${s.server.port}`;
  const back = async (referer: string) =>
    (await rawPost(s.server.port, path, { Host: host, Referer: referer })).headers.get("location");
  assert.equal(await back(`http://${host}//evil.example/x`), "/");
  assert.equal(await back(`http://${host}/\\evil.example/x`), "/");
  assert.equal(await back(`http://${host}/%2F%2Fevil.example`), "/%2F%2Fevil.example", "an encoded slash is a path");
  assert.equal(await back(`http://${host}/queued/${s.enc}.html?x=1`), `/queued/${s.enc}.html?x=1`);
});

test(`at most maxTails tails stream at once: one more gets 503, and a slot frees when a client leaves (${runtimeName})`, async () => {
  await using held = await HeldListener.start(["tcp", "127.0.0.1"]);
  const addr = `127.0.0.1:${held.port}`, enc = encodeURIComponent(addr);
  using watcher = new Watcher({ listeners: [addr], delay: DELAY, maxTails: 2 });
  await using server = await serve(watcher.app);
  const url = `${server.origin}/tail/${enc}.txt?queued_min=1000`;
  const readers = [new LineReader(url), new LineReader(url)];
  await eventually(() => watcher.tails === 2, () => watcher.tails);
  const refused = await fetch(url);
  assert.equal(refused.status, 503);
  assert.ok(Number(refused.headers.get("Retry-After")) >= 1);
  await refused.text();
  assert.equal(watcher.tails, 2);
  await readers[0].cancel();
  await eventually(() => watcher.tails === 1, () => watcher.tails);
  readers.push(new LineReader(url));
  await eventually(() => watcher.tails === 2, () => watcher.tails);
  assert.deepEqual(await readers[2].lines(1, 200), [], "the new tail streams (nothing due yet)");
  for (const r of readers) await r.cancel();
  await eventually(() => watcher.tails === 0, () => watcher.tails);
  assert.throws(() => new Watcher({ maxTails: 0, listenStats: () => new Map() }), RangeError);
});

test(`with no listeners given, every TCP and unix listener is watched, new ones appear and closed ones go (${runtimeName})`, async () => {
  const sockPath = `/tmp/raindrops-test-${process.pid}-default-unix.sock`;
  await using unix = await HeldListener.start(["unix", sockPath]);
  using cleanup = { [Symbol.dispose]: () => rmSync(sockPath, { force: true }) };
  void unix, cleanup;
  using watcher = new Watcher({ delay: DELAY, maxListeners: 100_000 });
  await eventually(() => watcher.listeners.includes(sockPath), () => watcher.listeners.length);
  const unixPage = await watcher.fetch(new Request(`http://127.0.0.1/queued/${encodeURIComponent(sockPath)}.txt`));
  assert.equal(unixPage.status, 200);
  await unixPage.text();
  await using server = await serve(watcher.app);
  await eventually(() => watcher.listeners.includes(server.local), () => watcher.listeners);
  const extra = net.createServer();
  await new Promise<void>((r) => extra.listen(0, "127.0.0.1", () => r()));
  const addr = `127.0.0.1:${(extra.address() as net.AddressInfo).port}`;
  await eventually(() => watcher.listeners.includes(addr), () => watcher.listeners);
  const res = await fetch(`${server.origin}/active/${encodeURIComponent(addr)}.txt`);
  assert.equal(res.status, 200);
  await res.text();
  await new Promise<void>((r) => extra.close(() => r()));
  await eventually(() => !watcher.listeners.includes(addr), () => watcher.listeners);
});

test("the constructor checks its options: TypeError for wrong types, RangeError for bad values", () => {
  const noStats = () => new Map();
  assert.throws(() => new Watcher(null as never), TypeError);
  assert.throws(() => new Watcher({ listeners: "127.0.0.1:80" as never, listenStats: noStats }), TypeError);
  assert.throws(() => new Watcher({ listeners: [80 as never], listenStats: noStats }), TypeError);
  assert.throws(() => new Watcher({ listeners: ["localhost:80"], listenStats: noStats }), RangeError);
  assert.throws(() => new Watcher({ listeners: ["127.0.0.1"], listenStats: noStats }), RangeError);
  assert.throws(() => new Watcher({ delay: "1" as never, listenStats: noStats }), TypeError);
  assert.throws(() => new Watcher({ delay: 0, listenStats: noStats }), RangeError);
  assert.throws(() => new Watcher({ delay: Infinity, listenStats: noStats }), RangeError);
  assert.throws(() => new Watcher({ delay: 1e7, listenStats: noStats }), RangeError, "beyond what a timer honours");
  assert.throws(() => new Watcher({ delay: 1e-6, listenStats: noStats }), RangeError);
  assert.throws(() => new Watcher({ tailMaxSeconds: 1e7, listenStats: noStats }), RangeError);
  assert.throws(() => new Watcher({ history: 1.5, listenStats: noStats }), RangeError);
  assert.throws(() => new Watcher({ maxListeners: 0, listenStats: noStats }), RangeError);
  assert.throws(() => new Watcher({ maxListeners: 2.5, listenStats: noStats }), RangeError);
  assert.throws(
    () => new Watcher({ listeners: ["127.0.0.1:1", "127.0.0.1:2"], maxListeners: 1, listenStats: noStats }),
    RangeError,
  );
  assert.throws(() => new Watcher({ stats: 1 as never, listenStats: noStats }), TypeError);
  assert.throws(() => new Watcher({ stats: "", listenStats: noStats }), RangeError);
  assert.throws(() => new Watcher({ buckets: 0, listenStats: noStats }), RangeError);
  assert.throws(() => new Watcher({ listenStats: "kernel" as never }), TypeError);
  assert.throws(() => new Watcher({ labels: ["x"] as never, listenStats: noStats }), TypeError);
  assert.throws(() => new Watcher({ labels: { "127.0.0.1:1": 1 as never }, listenStats: noStats }), TypeError);
  assert.throws(() => new Watcher({ labels: { "127.0.0.1:1": "x".repeat(201) }, listenStats: noStats }), RangeError);
});

test("labels say what serves each listener: on the index, the detail page and in the JSON, escaped", async () => {
  const source = () => new Map([["10.0.0.1:80", { active: 1, queued: 0 }], ["10.0.0.2:80", { active: 0, queued: 0 }]]);
  const labels = { "10.0.0.1:80": "Bun workers <reusePort>", "10.9.9.9:1": "not watched" };
  using watcher = new Watcher({ listeners: ["10.0.0.1:80", "10.0.0.2:80"], delay: 60, listenStats: source, labels });
  const get = (path: string) => watcher.fetch(new Request(`http://127.0.0.1${path}`));
  const data = await (await get("/series.json")).json();
  assert.deepEqual(data.listeners.map((l: { label: string | null }) => l.label), ["Bun workers <reusePort>", null]);
  const html = await (await get("/")).text();
  assert.ok(html.includes('<td class="addr">10.0.0.1:80<span class="label">Bun workers &lt;reusePort&gt;</span></td>'));
  assert.ok(html.includes('<td class="addr">10.0.0.2:80</td>'));
  assert.ok(!html.includes("not watched"));
  assert.match(html, /<th>connections, last 120 min<\/th>/, "the charts' unit and span");
  const detail = await (await get(`/active/${encodeURIComponent("10.0.0.1:80")}.html`)).text();
  assert.ok(detail.includes('<p class="muted">Bun workers &lt;reusePort&gt;</p>'));
  assert.ok(detail.includes('data-unit="connections"'));
});

test("a failing listenStats source is reported on the index, not thrown, and the next good poll clears it", async () => {
  let fail = true;
  using watcher = new Watcher({
    listeners: ["127.0.0.1:1"],
    delay: 60,
    listenStats: (l) => {
      if (fail) throw new Error("no <netlink>");
      return new Map(l!.map((k) => [k, { active: 1, queued: 0 }]));
    },
  });
  assert.equal(watcher.lastError?.message, "no <netlink>");
  const html = await (await watcher.fetch(new Request("http://x/"))).text();
  assert.ok(html.includes("last poll failed: no &lt;netlink&gt;"));
  fail = false;
  assert.equal(watcher.poll(), true);
  assert.equal(watcher.lastError, undefined);
});

test("a listenStats source giving non-count figures or no Map is an error of the poll, never a thrown timer", () => {
  let answer: unknown = new Map([["127.0.0.1:1", { active: NaN, queued: 0 }]]);
  using watcher = new Watcher({ listeners: ["127.0.0.1:1"], delay: 60, listenStats: () => answer as never });
  assert.equal(watcher.poll(), false);
  assert.match(watcher.lastError!.message, /non-count figures/);
  answer = [["127.0.0.1:1", { active: 1, queued: 0 }]];
  assert.equal(watcher.poll(), false);
  assert.ok(watcher.lastError instanceof TypeError);
  answer = new Map([["127.0.0.1:1", { active: 2, queued: 1 }]]);
  assert.equal(watcher.poll(), true);
});

test(`a listener nothing listens on is marked on the index and in the JSON; an idle one and one served by a wildcard are not (${runtimeName})`, async () => {
  await using addresses = await listenedAndNot();
  const { asked, gone } = addresses;
  using watcher = new Watcher({ listeners: asked, delay: DELAY });
  await using server = await serve(watcher.app);
  const series = await (await fetch(`${server.origin}/series.json`)).json();
  assert.deepEqual(series.listeners.map((l: { addr: string; listening: boolean }) => [l.addr, l.listening]), [
    [asked[0], true],
    [asked[1], true],
    [gone, false],
  ]);
  const one = await (await fetch(`${server.origin}/series/${encodeURIComponent(gone)}.json`)).json();
  assert.equal(one.listening, false);
  const html = await (await fetch(`${server.origin}/`)).text();
  const marked = [...html.matchAll(/<tr data-addr="([^"]+)" class="unlistened">/g)].map((m) => m[1]);
  assert.deepEqual(marked, [gone]);
  // A server starting there is listening at the next poll.
  await using back = await listenOn(addresses.port);
  await eventually(async () => {
    const s = await (await fetch(`${server.origin}/series/${encodeURIComponent(gone)}.json`)).json();
    return s.listening === true;
  });
  assert.ok(back.listening);
});

test("a listenStats source's listeners: 0 marks a listener; figures without listeners do not", async () => {
  const source = () =>
    new Map([
      ["10.0.0.1:80", { active: 0, queued: 0, listeners: 0 }],
      ["10.0.0.2:80", { active: 0, queued: 0 }],
    ]);
  using watcher = new Watcher({ listeners: ["10.0.0.1:80", "10.0.0.2:80"], delay: 60, listenStats: source });
  const data = await (await watcher.fetch(new Request("http://127.0.0.1/series.json"))).json();
  assert.deepEqual(data.listeners.map((l: { listening: boolean }) => l.listening), [false, true]);
});

/** A TCP server on 127.0.0.1:`port`, closed on dispose. */
async function listenOn(port: number): Promise<net.Server & AsyncDisposable> {
  const server = net.createServer((c) => c.destroy());
  await new Promise<void>((resolve, reject) => server.once("error", reject).listen(port, "127.0.0.1", resolve));
  return Object.assign(server, {
    [Symbol.asyncDispose]: () => new Promise<void>((r) => server.close(() => r())),
  });
}
