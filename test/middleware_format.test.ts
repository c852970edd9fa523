import { test } from "node:test";
import { execFileSync } from "node:child_process";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { ForeignFileError, Raindrops } from "../mod.ts";
import {
  chooseFormat,
  isLoopback,
  renderJson,
  renderPrometheus,
  renderText,
  WorkerStats,
} from "../src/middleware/index.ts";
import { tempShm } from "./_helpers.ts";
import { TID } from "./fixtures/middleware_serve.ts";

const snapshot = {
  calling: 2,
  writing: 1,
  workers: 3,
  listeners: [{ address: "0.0.0.0:8080", active: 4, queued: 1 }, {
    address: '/tmp/odd"\\name.sock',
    active: 0,
    queued: 2,
  }],
};

test("renderText prints the gem's lines in order", () => {
  assert.equal(
    renderText(snapshot),
    "calling: 2\nwriting: 1\n0.0.0.0:8080 active: 4\n0.0.0.0:8080 queued: 1\n" +
      '/tmp/odd"\\name.sock active: 0\n/tmp/odd"\\name.sock queued: 2\n',
  );
});

test("renderJson keys listeners by address", () => {
  assert.deepEqual(JSON.parse(renderJson(snapshot)), {
    calling: 2,
    writing: 1,
    workers: 3,
    listeners: { "0.0.0.0:8080": { active: 4, queued: 1 }, '/tmp/odd"\\name.sock': { active: 0, queued: 2 } },
  });
});

test("renderPrometheus writes gauges with HELP and TYPE and escapes label values", () => {
  const text = renderPrometheus(snapshot);
  for (const name of ["calling", "writing", "workers", "listener_active", "listener_queued"]) {
    assert.match(text, new RegExp(`^# HELP raindrops_${name} .+\\n# TYPE raindrops_${name} gauge$`, "m"));
  }
  assert.match(text, /^raindrops_listener_queued\{listener="\/tmp\/odd\\"\\\\name\.sock"\} 2$/m);
  assert.doesNotMatch(renderPrometheus({ ...snapshot, listeners: [] }), /listener/);
});

test("promtool check metrics accepts the Prometheus output", (t) => {
  const probe = spawnSync("promtool", ["--version"]);
  if (probe.error) {
    t.skip("promtool not installed (Debian package prometheus); skipping the promtool check");
    return;
  }
  for (const s of [snapshot, { ...snapshot, listeners: [] }]) {
    const run = spawnSync("promtool", ["check", "metrics"], { input: renderPrometheus(s), encoding: "utf8" });
    assert.equal(run.status, 0, `promtool: ${run.stdout}${run.stderr}`);
  }
});

test("chooseFormat: ?format= first, then Accept, then the fallback", () => {
  assert.equal(chooseFormat("json", "text/plain"), "json");
  assert.equal(chooseFormat(undefined, "application/json"), "json");
  assert.equal(chooseFormat(undefined, "text/plain;version=0.0.4"), "prometheus");
  assert.equal(chooseFormat(undefined, "application/openmetrics-text; version=1.0.0"), "prometheus");
  assert.equal(chooseFormat(undefined, "*/*"), "text");
  assert.equal(chooseFormat(undefined, "*/*", "json"), "json");
  assert.equal(chooseFormat("yaml", undefined), undefined);
});

test("isLoopback knows 127/8, ::1 and IPv4-mapped loopback, and nothing else", () => {
  for (const a of ["127.0.0.1", "127.255.0.9", "::1", "[::1]", "::ffff:127.0.0.1", "0:0:0:0:0:0:0:1"]) {
    assert.ok(isLoopback(a), a);
  }
  for (const a of ["10.0.0.1", "::", "::2", "128.0.0.1", "::ffff:10.0.0.1", "localhost", ""]) {
    assert.ok(!isLoopback(a), a);
  }
});

/** Counter indices of slot group `g` in a worker stats file: owner, calling, writing. */
const group = (g: number) => [2 + 3 * g, 3 + 3 * g, 4 + 3 * g];

/** This thread's start time, as the worker stats file records it. */
function ownStart(): bigint {
  const stat = readFileSync(`/proc/${TID}/task/${TID}/stat`, "latin1");
  return BigInt(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19]);
}

test("WorkerStats claims one group per thread and reopening returns the same object", () => {
  using tmp = tempShm("slots");
  const a = WorkerStats.open(tmp.path, { workers: 4 });
  assert.equal(WorkerStats.open(tmp.path), a);
  assert.equal(a.groups, 4);
  using raw = new Raindrops(2 + 3 * 4, { path: tmp.path });
  assert.equal(raw.getBigInt(group(0)[0]), (BigInt(TID) << 41n) | ownStart());
  a.incr(WorkerStats.CALLING);
  a.incr(WorkerStats.WRITING);
  assert.deepEqual(a.totals(), { calling: 1, writing: 1, workers: 1 });
  a.release();
  assert.equal(raw.getBigInt(group(0)[0]), 0n, "release frees the group");
  assert.notEqual(WorkerStats.open(tmp.path), a);
  WorkerStats.open(tmp.path).release();
});

test("a group whose owner is gone, or whose thread id was reused, is ignored and cleared", () => {
  using tmp = tempShm("slots-dead");
  const stats = WorkerStats.open(tmp.path, { workers: 4 });
  using raw = new Raindrops(2 + 3 * 4, { path: tmp.path });
  const reused = (BigInt(TID) << 41n) | (ownStart() + 1n); // our tid, another start time
  const gone = (4194303n << 41n) | 5n; // a tid above any pid_max in use
  for (const [g, owner] of [[1, reused], [2, gone]] as const) {
    raw.set(group(g)[0], owner);
    raw.set(group(g)[1], 7);
    raw.set(group(g)[2], 9);
  }
  assert.deepEqual(stats.totals(), { calling: 0, writing: 0, workers: 1 });
  for (const g of [1, 2]) assert.deepEqual(group(g).map((i) => raw.get(i)), [0, 0, 0]);
  stats.release();
});

test("a file that is not a worker stats file is refused with ForeignFileError; bad workers too", () => {
  using tmp = tempShm("slots-bad");
  using raw = new Raindrops(2, { path: tmp.path });
  raw.set(0, 12345);
  assert.throws(() => WorkerStats.open(tmp.path), ForeignFileError);
  raw.set(0, 0);
  raw.set(1, 99); // data without the mark: some other file
  assert.throws(
    () => WorkerStats.open(tmp.path),
    (e) => e instanceof ForeignFileError && /not a raindrops worker stats file/.test(e.message),
  );
  assert.deepEqual(raw.toArray(), [0, 99], "the foreign file is left intact");
  assert.throws(() => WorkerStats.open(`${tmp.path}-x`, { workers: 0 }), RangeError);
  assert.throws(() => WorkerStats.open(`${tmp.path}-x`, { workers: "2" as unknown as number }), TypeError);
});

test("worker stats work under Deno with only --allow-ffi, --allow-read and --allow-write", () => {
  using tmp = tempShm("slots-perms");
  const deno = new URL("../node_modules/.bin/deno", import.meta.url).pathname;
  const script = new URL("./fixtures/middleware_permissions.ts", import.meta.url).pathname;
  const out = execFileSync(deno, ["run", "--allow-ffi", "--allow-read", "--allow-write", script, tmp.path], {
    encoding: "utf8",
    cwd: new URL("..", import.meta.url).pathname,
  });
  assert.deepEqual(JSON.parse(out), { calling: 1, writing: 0, workers: 1 });
});

test("when every group is held by a live worker, opening throws RangeError", () => {
  using tmp = tempShm("slots-full");
  const stats = WorkerStats.open(tmp.path, { workers: 1 });
  using raw = new Raindrops(5, { path: tmp.path });
  stats.release();
  // Hand the only group to pid 1 (init), which outlives the test.
  const initStart = BigInt(readFileSync("/proc/1/stat", "latin1").split(") ")[1].split(" ")[19]);
  raw.set(2, (1n << 41n) | initStart);
  assert.throws(() => WorkerStats.open(tmp.path), RangeError);
});
