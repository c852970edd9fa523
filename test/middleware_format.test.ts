import { test } from "node:test";
import { execFileSync } from "node:child_process";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { readFileSync, statSync } from "node:fs";
import { Raindrops } from "../mod.ts";
import { ExhaustedError, ForeignFileError } from "../src/errors.ts";
import { chooseFormat, renderJson, renderText } from "../src/middleware/format.ts";
import { isLoopback } from "../src/middleware/access.ts";
import { MAX_WORKERS, WorkerStats } from "../src/worker_stats.ts";
import { prometheusStyle } from "../src/exposition/metric_families.ts";
import { renderOpenMetrics, renderPrometheus } from "../src/exposition/_prometheus_text.ts";
import { RUNTIMES, scriptArgs, tempShm } from "./_helpers.ts";
import { TID } from "./fixtures/middleware_serve.ts";

const snapshot = {
  calling: 2,
  writing: 1,
  workers: 3,
  requests: 1234,
  listeners: new Map([
    ["0.0.0.0:8080", { active: 4, queued: 1, backlog: 511 }],
    ['/tmp/odd"\\name.sock', { active: 0, queued: 2 }],
  ]),
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

const GAUGES = [
  "calling_requests",
  "writing_requests",
  "workers",
  "listener_active_connections",
  "listener_queued_connections",
  "listener_backlog_connections",
];

test("renderPrometheus: conventional names, HELP and TYPE, a _total counter, escaped label values", () => {
  const text = renderPrometheus(snapshot);
  for (const name of GAUGES) {
    assert.match(text, new RegExp(`^# HELP raindrops_${name} .+\\n# TYPE raindrops_${name} gauge$`, "m"));
  }
  assert.match(text, /^# TYPE raindrops_requests_total counter\nraindrops_requests_total 1234$/m);
  assert.match(text, /^raindrops_listener_queued_connections\{listener="\/tmp\/odd\\"\\\\name\.sock"\} 2$/m);
  assert.match(text, /^raindrops_listener_backlog_connections\{listener="0\.0\.0\.0:8080"\} 511$/m);
  assert.doesNotMatch(text, /backlog_connections\{listener="\/tmp/, "no backlog series where none is known");
  assert.doesNotMatch(text, /# EOF/);
  assert.doesNotMatch(renderPrometheus({ ...snapshot, listeners: new Map() }), /listener/);
});

test("renderOpenMetrics names the counter family without _total and ends with # EOF", () => {
  const text = renderOpenMetrics(snapshot);
  assert.match(
    text,
    /^# HELP raindrops_requests .+\n# TYPE raindrops_requests counter\nraindrops_requests_total 1234$/m,
  );
  assert.ok(text.endsWith("\n# EOF\n"));
  assert.equal(text.match(/# EOF/g)!.length, 1);
});

test("prefix and constant labels go on every series; bad ones are refused", () => {
  const style = prometheusStyle({ prefix: "shop_", labels: { service: 'a"b\\c\nd', zone: "eu" } });
  const text = renderPrometheus(snapshot, style);
  const series = text.split("\n").filter((l) => l && !l.startsWith("#"));
  assert.equal(series.length, 9);
  for (const line of series) assert.match(line, /^shop_raindrops_\w+\{service="a\\"b\\\\c\\nd",zone="eu"[,}]/);
  assert.match(text, /^shop_raindrops_listener_active_connections\{service=.*,listener="0\.0\.0\.0:8080"\} 4$/m);
  for (const name of ["a-b", "1a", "__name__", "listener", ""]) {
    const labels = { [name]: "x" };
    assert.throws(() => prometheusStyle({ labels }), RangeError, JSON.stringify(labels));
  }
  assert.throws(() => prometheusStyle({ labels: { a: 1 as unknown as string } }), TypeError);
  assert.throws(() => prometheusStyle({ labels: [] as unknown as Record<string, string> }), TypeError);
  assert.throws(() => prometheusStyle({ prefix: "9x" }), RangeError);
  assert.throws(() => prometheusStyle({ prefix: "a b" }), RangeError);
  assert.throws(() => prometheusStyle({ prefix: 3 as unknown as string }), TypeError);
});

test("promtool check metrics accepts the Prometheus output, plain and with prefix and labels", (t) => {
  const probe = spawnSync("promtool", ["--version"]);
  if (probe.error) {
    t.skip("promtool not installed (Debian package prometheus); skipping the promtool check");
    return;
  }
  const styled = prometheusStyle({ prefix: "shop_", labels: { service: 'a"b\\c\nd' } });
  for (
    const text of [snapshot, { ...snapshot, listeners: new Map() }].flatMap((
      s,
    ) => [renderPrometheus(s), renderPrometheus(s, styled)])
  ) {
    const run = spawnSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8" });
    assert.equal(run.status, 0, `promtool: ${run.stdout}${run.stderr}`);
    assert.equal(run.stdout + run.stderr, "", "no lint warnings");
  }
});

test("chooseFormat: ?format= first, then Accept, then the fallback", () => {
  assert.equal(chooseFormat("json", "text/plain"), "json");
  assert.equal(chooseFormat(undefined, "application/json"), "json");
  assert.equal(chooseFormat(undefined, "text/plain;version=0.0.4"), "prometheus");
  assert.equal(chooseFormat(undefined, "application/openmetrics-text; version=1.0.0"), "openmetrics");
  // What Prometheus 2.42 sends, and the same preferring the text format.
  const scraper = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75," +
    "text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
  assert.equal(chooseFormat(undefined, scraper), "openmetrics");
  assert.equal(chooseFormat(undefined, "application/openmetrics-text;q=0.2,text/plain;version=0.0.4"), "prometheus");
  assert.equal(chooseFormat(undefined, "application/openmetrics-text;q=0,application/json"), "json");
  assert.equal(chooseFormat("openmetrics", undefined), "openmetrics");
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

/** Counter indices of slot group `g` in a worker stats file: owner, calling, writing, finished. */
const group = (g: number) => [4 + 4 * g, 5 + 4 * g, 6 + 4 * g, 7 + 4 * g];
/** Counters of a worker stats file with `groups` groups. */
const fileSize = (groups: number) => 4 + 4 * groups;

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
  using raw = new Raindrops(fileSize(4), { path: tmp.path });
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
  using raw = new Raindrops(fileSize(4), { path: tmp.path });
  const reused = (BigInt(TID) << 41n) | (ownStart() + 1n); // our tid, another start time
  const gone = (4194303n << 41n) | 5n; // a tid above any pid_max in use
  for (const [g, owner] of [[1, reused], [2, gone]] as const) {
    raw.set(group(g)[0], owner);
    raw.set(group(g)[1], 7);
    raw.set(group(g)[2], 9);
  }
  assert.deepEqual(stats.totals(), { calling: 0, writing: 0, workers: 1 });
  for (const g of [1, 2]) assert.deepEqual(group(g).map((i) => raw.get(i)), [0, 0, 0, 0]);
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
    (e: Error) => e instanceof ForeignFileError && e.message.includes(tmp.path),
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

test("when every group is held by a live worker, opening throws ExhaustedError", () => {
  using tmp = tempShm("slots-full");
  const stats = WorkerStats.open(tmp.path, { workers: 1 });
  using raw = new Raindrops(fileSize(1), { path: tmp.path });
  stats.release();
  // Hand the only group to pid 1 (init), which outlives the test.
  const initStart = BigInt(readFileSync("/proc/1/stat", "latin1").split(") ")[1].split(" ")[19]);
  raw.set(group(0)[0], (1n << 41n) | initStart);
  assert.throws(() => WorkerStats.open(tmp.path), ExhaustedError);
});

test("finished requests survive release and dead workers: each count stays in its group for the next owner", () => {
  using tmp = tempShm("slots-finished");
  const stats = WorkerStats.open(tmp.path, { workers: 4 });
  using raw = new Raindrops(fileSize(4), { path: tmp.path });
  stats.incr(WorkerStats.FINISHED, 5);
  assert.equal(stats.finished(), 5);
  const gone = (4194303n << 41n) | 5n;
  raw.set(group(2)[0], gone);
  raw.set(group(2)[1], 3);
  raw.set(group(2)[3], 7);
  assert.equal(stats.finished(), 12, "a dead worker's count still counts before it is cleared");
  stats.totals(); // clears group 2
  assert.deepEqual(group(2).map((i) => raw.get(i)), [0, 0, 0, 7]);
  assert.equal(stats.finished(), 12, "and after");
  stats.totals();
  assert.equal(stats.finished(), 12, "cleared once");
  stats.release();
  assert.deepEqual(group(0).map((i) => raw.get(i)), [0, 0, 0, 5], "release keeps the worker's own count");
  const again = WorkerStats.open(tmp.path);
  assert.equal(again.finished(), 12);
  again.incr(WorkerStats.FINISHED);
  assert.equal(again.finished(), 13, "the next owner of a group counts on from its count");
  again.release();
});

test("a clearer stopped in the middle of clearing a group makes finished() neither wait nor count twice", () => {
  using tmp = tempShm("slots-stopped");
  const stats = WorkerStats.open(tmp.path, { workers: 4 });
  using raw = new Raindrops(fileSize(4), { path: tmp.path });
  stats.incr(WorkerStats.FINISHED, 5);
  // The mark a clearer leaves while stopped (SIGSTOP) mid-way: its clearing
  // bit and the identity of a live thread, here pid 1 (init), which outlives the test.
  const initStart = BigInt(readFileSync("/proc/1/stat", "latin1").split(") ")[1].split(" ")[19]);
  raw.set(group(2)[0], (1n << 63n) | (1n << 41n) | initStart);
  raw.set(group(2)[3], 7);
  const started = performance.now();
  assert.equal(stats.finished(), 12);
  // One pass over four groups takes microseconds; a reader waiting for the clearer took 750 ms.
  assert.ok(performance.now() - started < 250, `finished() took ${performance.now() - started} ms`);
  assert.deepEqual(stats.totals(), { calling: 0, writing: 0, workers: 1 });
  raw.set(group(2)[0], 0); // the clearer resumes and frees the group
  assert.equal(stats.finished(), 12, "no drop once it finishes");
  stats.release();
});

test("readers in several processes clearing the same dead groups at once keep every count exactly once", async () => {
  using tmp = tempShm("slots-race");
  const groups = MAX_WORKERS; // a long clearing pass, so the readers overlap
  const stats = WorkerStats.open(tmp.path, { workers: groups });
  using raw = new Raindrops(fileSize(groups), { path: tmp.path });
  let expected = 0;
  for (let g = 1; g < groups - 8; g++) {
    raw.set(group(g)[0], (4194303n << 41n) | BigInt(g)); // dead owners
    raw.set(group(g)[3], g);
    expected += g;
  }
  const script = new URL("./fixtures/worker_stats_reader.ts", import.meta.url).pathname;
  const start = Date.now() + 2000; // all readers begin together, once started
  const readers = (["deno", "bun", "deno", "bun"] as const).map((rt) =>
    new Promise<{ code: number | null; out: string }>((resolve) => {
      const child = spawn(RUNTIMES[rt], [...scriptArgs(rt, script), tmp.path, String(start)], {
        stdio: ["ignore", "pipe", "inherit"],
      });
      let out = "";
      child.stdout.on("data", (d) => (out += d));
      child.on("close", (code) => resolve({ code, out }));
    })
  );
  // Read the sum here while the readers clear, until they are done.
  let done = false;
  const results = Promise.all(readers).finally(() => (done = true));
  const seen: number[] = [];
  while (!done) {
    seen.push(stats.finished());
    await new Promise((r) => setImmediate(r));
  }
  for (const r of await results) assert.equal(r.code, 0, r.out);
  for (let g = 1; g < groups - 8; g++) assert.equal(raw.getBigInt(group(g)[0]), 0n, `group ${g} cleared`);
  assert.equal(stats.finished(), expected);
  for (const r of await results) {
    const reads: number[] = JSON.parse(r.out);
    assert.ok(reads.every((v, i) => v === expected && (i === 0 || v >= reads[i - 1])), `a reader saw ${r.out}`);
  }
  const wrong = seen.filter((v) => v !== expected);
  assert.deepEqual(wrong, [], `of ${seen.length} reads during the clearing, these saw a lower or doubled sum`);
  stats.release();
});

test("another format's header and a header claiming too many groups are refused, naming the path, before mapping more", () => {
  using tmp = tempShm("slots-v1");
  using raw = new Raindrops(2, { path: tmp.path });
  // Headers as an opener on this machine writes them: slot-size tag in the top byte.
  const tag = (0x80n | BigInt(Math.log2(Raindrops.SIZE))) << 56n;
  raw.set(0, tag | 0x5244_4d57_0001n);
  raw.set(1, 4);
  for (const read of [() => WorkerStats.open(tmp.path), () => WorkerStats.perWorker(tmp.path)]) {
    assert.throws(read, (e: Error) => {
      assert.ok(e instanceof ForeignFileError);
      assert.match(e.message, new RegExp(`${tmp.path} is not a raindrops worker stats file`));
      return true;
    });
  }
  raw.set(0, tag | 0x5244_4d57_0002n);
  raw.set(1, 2_000_000);
  const before = statSync(tmp.path).size;
  assert.throws(() => WorkerStats.open(tmp.path), (e: Error) => {
    assert.ok(e instanceof ForeignFileError);
    assert.match(e.message, new RegExp(`${tmp.path} claims 2000000 worker slot groups, more than the ${MAX_WORKERS}`));
    return true;
  });
  assert.equal(statSync(tmp.path).size, before, "the file did not grow");
  assert.throws(() => WorkerStats.open(`${tmp.path}-x`, { workers: MAX_WORKERS + 1 }), RangeError);
});
