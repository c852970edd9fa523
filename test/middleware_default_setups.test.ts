// The middleware in the server setups the runtimes' own docs show, with no
// hostname: each answers /_raindrops with its own listener (found from the
// socket, whatever host name the server reports), also to a request without
// a Host header, with both app.use(raindrops()) and withRaindrops.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import process from "node:process";
import { Hono } from "hono";
import { parseAddress } from "../src/linux/address.ts";
import { tcpListenerStats } from "../src/linux/listen_stats.ts";
import { raindrops } from "../src/middleware/middleware.ts";
import { withRaindrops } from "../src/middleware/fetch.ts";
import { fixture, RUNTIMES, tempShm } from "./_helpers.ts";
import { rawExchange, serveDefault } from "./fixtures/hono_servers.ts";
import { freePort, waitFor } from "./fixtures/middleware_serve.ts";
import { hostRuntime } from "./fixtures/host_runtime.ts";

const FORMS = ["app.use(raindrops())", "withRaindrops(app.fetch)"] as const;
type Form = typeof FORMS[number];

/** The kernel's own name for the one listener on `port`, found independently of the middleware. */
function listenerOnPort(port: number): string {
  const keys = [...tcpListenerStats().keys()].filter((k) => parseAddress(k).port === port);
  assert.equal(keys.length, 1, `listeners on port ${port}: ${keys.join(", ")}`);
  return keys[0];
}

/**
 * @hono/node-server started with no hostname refuses a request without a
 * Host header itself (400, before any app runs): the in-process server of
 * this file on Node.js is checked to refuse one, and asked with a Host.
 */
const inProcessRefusesNoHost = hostRuntime === "node";

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** Asserts that the server on `port` answers the stats path with its own listener, with and without a Host header. */
async function checkStats(port: number, noHostRefused = false): Promise<void> {
  const own = escape(listenerOnPort(port));
  const res = await fetch(`http://127.0.0.1:${port}/_raindrops`);
  const text = await res.text();
  assert.equal(res.status, 200, text);
  assert.match(text, /^calling: \d+\nwriting: \d+\n/);
  assert.match(text, new RegExp(`^${own} active: [1-9]\\d*$`, "m"), text);
  assert.match(text, new RegExp(`^${own} queued: 0$`, "m"), text);
  // As the gem's end-to-end test sends it: HTTP/1.0, no Host header.
  if (noHostRefused) {
    assert.match(await rawExchange(port, "GET /_raindrops HTTP/1.0\r\n\r\n"), /^HTTP\/1\.[01] 400 /);
  }
  const raw = await rawExchange(port, `GET /_raindrops HTTP/1.0\r\n${noHostRefused ? "Host: 127.0.0.1\r\n" : ""}\r\n`);
  assert.match(raw, /^HTTP\/1\.[01] 200 /, raw);
  const body = raw.slice(raw.indexOf("\r\n\r\n") + 4);
  assert.match(body, /^calling: \d+\nwriting: \d+\n/, raw);
  assert.match(body, new RegExp(`^${own} active: [1-9]\\d*$`, "m"), raw);
}

function appFor(form: Form, stats: string) {
  const app = new Hono();
  if (form === FORMS[0]) app.use(raindrops({ stats }));
  app.get("/", (c) => c.text("hi"));
  return form === FORMS[0] ? app.fetch : withRaindrops(app.fetch, { stats });
}

const inProcess = {
  deno: "Deno.serve({ port }, app.fetch)",
  bun: "Bun.serve({ port, fetch })",
  node: "@hono/node-server's serve({ port, fetch })",
}[hostRuntime];

for (const form of FORMS) {
  test(`${inProcess} with ${form}: /_raindrops answers with its own listener`, async () => {
    using tmp = tempShm("default-inproc");
    const port = await freePort();
    await using _server = await serveDefault(appFor(form, tmp.path), port);
    await checkStats(port, inProcessRefusesNoHost);
  });
}

for (const form of FORMS) {
  test(`${inProcess} with ${form}: a nested stats path is found in requests without a Host header`, async () => {
    using tmp = tempShm("default-nested");
    const port = await freePort();
    const app = new Hono().get("/", (c) => c.text("hi"));
    const path = "/ops/_raindrops";
    const fetch = form === FORMS[0]
      ? new Hono().use(raindrops({ stats: tmp.path, path })).route("/", app).fetch
      : withRaindrops(app.fetch, { stats: tmp.path, path });
    await using _server = await serveDefault(fetch, port);
    const answer = async (target: string) => {
      const host = inProcessRefusesNoHost ? "Host: 127.0.0.1\r\n" : "";
      const raw = await rawExchange(port, `GET ${target} HTTP/1.0\r\n${host}\r\n`);
      return { status: Number(raw.slice(9, 12)), body: raw.slice(raw.indexOf("\r\n\r\n") + 4) };
    };
    for (const target of [path, `${path}?format=json`, "/%6Fps/_raindrops", "/ops/%5Fraindrops?x=1"]) {
      const { status, body } = await answer(target);
      assert.equal(status, 200, `${target}: ${body}`);
      assert.match(body, target.includes("json") ? /"calling":\d+/ : /^calling: \d+\n/, target);
    }
    for (const target of ["/ops/_raindropsx", "/x/ops/_raindrops", "/_raindrops"]) {
      const { status, body } = await answer(target);
      assert.doesNotMatch(body, /calling/, `${target} is not the stats path (${status})`);
    }
  });
}

/** A server started as a user starts it, in a child process, stopped on dispose. */
async function startChild(cmd: string, args: string[], env: Record<string, string>): Promise<AsyncDisposable> {
  const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env } });
  let out = "";
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (out += d));
  const exited = new Promise<void>((r) => child.once("close", () => r()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    const t = setTimeout(() => child.kill("SIGKILL"), 5000);
    await exited;
    clearTimeout(t);
  };
  const up = await waitFor(async () => {
    if (child.exitCode !== null) return true;
    try {
      return (await fetch(`http://127.0.0.1:${env.PORT}/`)).status === 200;
    } catch {
      return false;
    }
  }, 30_000);
  if (!up || child.exitCode !== null) {
    await stop();
    throw new Error(`server did not come up:\n${out}`);
  }
  return { [Symbol.asyncDispose]: stop };
}

const CHILD_SETUPS = [
  {
    name: "bun: export default { port, fetch }",
    cmd: RUNTIMES.bun,
    args: (_port: number) => [fixture("default_server.ts")],
  },
  {
    name: "deno serve",
    cmd: RUNTIMES.deno,
    args: (port: number) => ["serve", "-A", "--port", String(port), fixture("default_server.ts")],
  },
];

for (const setup of CHILD_SETUPS) {
  for (const form of FORMS) {
    test(`${setup.name} with ${form}: /_raindrops answers with its own listener`, { timeout: 60_000 }, async () => {
      using tmp = tempShm("default-child");
      const port = await freePort();
      const env = {
        PORT: String(port),
        RAINDROPS_STATS: tmp.path,
        RAINDROPS_FORM: form === FORMS[0] ? "use" : "fetch",
      };
      await using _server = await startChild(setup.cmd, setup.args(port), env);
      await checkStats(port);
    });
  }
}

/** The status line of a stats request sent with `host` as its Host header (HTTP/1.0: the server closes after it). */
async function statusWithHost(port: number, host: string): Promise<string> {
  const raw = await rawExchange(port, `GET /_raindrops HTTP/1.0\r\nHost: ${host}\r\n\r\n`);
  return raw.slice(0, raw.indexOf("\r\n"));
}

for (const form of FORMS) {
  test(`${inProcess} with ${form}: a loopback-only endpoint refuses a rebound Host name`, async () => {
    using tmp = tempShm("default-host");
    const port = await freePort();
    await using _server = await serveDefault(appFor(form, tmp.path), port);
    assert.match(await statusWithHost(port, `127.0.0.1:${port}`), / 200 /);
    assert.match(await statusWithHost(port, `localhost:${port}`), / 200 /);
    assert.match(await statusWithHost(port, `[::1]:${port}`), / 200 /);
    assert.match(await statusWithHost(port, `rebound.example:${port}`), / 403 /);
    assert.match(await statusWithHost(port, `127.0.0.1.rebound.example`), / 403 /);
  });
}

test(`${inProcess}: hosts names extra Host names; an explicit allow answers any Host`, async () => {
  using tmp = tempShm("default-hosts");
  const named = new Hono().use(raindrops({ stats: tmp.path, hosts: ["stats.internal"] }));
  const open = new Hono().use(raindrops({ stats: tmp.path, allow: "loopback" }));
  const [p1, p2] = [await freePort(), await freePort()];
  await using _a = await serveDefault(named.fetch, p1);
  await using _b = await serveDefault(open.fetch, p2);
  assert.match(await statusWithHost(p1, `stats.internal:${p1}`), / 200 /);
  assert.match(await statusWithHost(p1, `STATS.internal`), / 200 /);
  assert.match(await statusWithHost(p1, `other.internal:${p1}`), / 403 /);
  assert.match(await statusWithHost(p2, `app.internal:${p2}`), / 200 /);
  assert.throws(() => raindrops({ stats: tmp.path, hosts: ["http://x"] }), RangeError);
  assert.throws(() => raindrops({ stats: tmp.path, hosts: [5 as unknown as string] }), TypeError);
});
