// The metrics registry across real worker processes of both runtimes: exact
// totals, exact totals after SIGKILLs, a bounded file after many short-lived
// workers, scrapes that never see a counter go back, and gauges of dead
// workers dropping out.
import { test } from "node:test";
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { statSync } from "node:fs";
import { createInterface } from "node:readline";
import { Registry } from "../mod.ts";
import { MetricsFile } from "../src/metrics/_file.ts";
import { fixture, type RuntimeName, RUNTIMES, scriptArgs, tempShm } from "./_helpers.ts";
/** The fixture's histogram buckets. */
const BUCKETS = [0.25, 0.75];

const LABELS = 50;
const MIXED: RuntimeName[] = ["deno", "bun", "deno", "bun"];

/** A writer process (test/fixtures/metrics_writer.ts) whose stdout is read line by line. */
class Writer {
  readonly child: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: string | null }>;
  readonly #lines: AsyncIterator<string>;
  #stderr = "";
  readonly runtime: RuntimeName;

  constructor(runtime: RuntimeName, args: string[]) {
    this.runtime = runtime;
    this.child = spawn(RUNTIMES[runtime], [...scriptArgs(runtime, fixture("metrics_writer.ts")), ...args], {
      stdio: ["pipe", "pipe", "pipe"],
    });
    this.child.stderr!.on("data", (d) => (this.#stderr += d));
    this.#lines = createInterface({ input: this.child.stdout! })[Symbol.asyncIterator]();
    this.exited = new Promise((resolve) => this.child.on("exit", (code, signal) => resolve({ code, signal })));
  }

  /** The next line it prints (a bounded wait: the writer is killed after 60 s). */
  async line(): Promise<string> {
    const timer = setTimeout(() => this.child.kill("SIGKILL"), 60_000);
    try {
      const next = await this.#lines.next();
      if (next.done) throw new Error(`${this.runtime} writer ended early: ${this.#stderr}`);
      return next.value;
    } finally {
      clearTimeout(timer);
    }
  }

  send(line: string): void {
    this.child.stdin!.write(`${line}\n`);
  }

  /** Waits for a clean exit. */
  async finished(): Promise<void> {
    const { code } = await this.exited;
    assert.equal(code, 0, `${this.runtime} writer failed: ${this.#stderr}`);
  }

  /** SIGKILLs it (our own child, by its PID) and waits until it is gone. */
  async kill(): Promise<void> {
    this.child.kill("SIGKILL");
    await this.exited;
  }
}

/** Every value of every metric in the file, keyed `name{labels}`, read by a process that writes nothing. */
async function scrape(registry: Registry): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const m of await registry.getMetricsAsJSON()) {
    for (const v of m.values) out.set(`${v.metricName ?? m.name}${JSON.stringify(v.labels)}`, v.value);
  }
  return out;
}

/** Sum of the t_total series. */
function total(values: Map<string, number>): number {
  let sum = 0;
  for (const [key, value] of values) if (key.startsWith("t_total{")) sum += value;
  return sum;
}

/** Regions of the file ever used. */
function usedRegions(path: string): number {
  const file = new MetricsFile(path, 1);
  try {
    let used = 0;
    for (let r = 0; r < file.layout.regions; r++) if (file.owner(r) !== 0n) used++;
    return used;
  } finally {
    file.close();
  }
}

test("4 mixed processes × 250,000 increments over 50 label values give exact totals, and scrapes meanwhile never go back", async () => {
  using tmp = tempShm("metrics-run");
  const per = 250_000;
  const writers = MIXED.map((rt) => new Writer(rt, ["run", tmp.path, String(per)]));
  using reader = new Registry({ path: tmp.path });
  let done = false;
  const all = Promise.all(writers.map((w) => w.finished())).finally(() => (done = true));
  let last = new Map<string, number>(), scrapes = 0;
  while (!done) {
    const now = await scrape(reader);
    for (const [key, value] of last) {
      const later = now.get(key);
      assert.ok(later !== undefined && later >= value, `${key} went from ${value} to ${later} in scrape ${scrapes}`);
    }
    last = now;
    scrapes++;
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  await all;
  for (const w of writers) assert.equal(await w.line(), `done ${per}`);
  const final = await scrape(reader);
  // What the writers did, computed here: label v(i % 50) gets i's increment and observation (i % 3) * 0.5.
  const counts = new Array(LABELS).fill(0), buckets = Array.from({ length: LABELS }, () => [0, 0, 0]);
  for (let i = 0; i < per; i++) {
    counts[i % LABELS] += MIXED.length;
    buckets[i % LABELS][i % 3] += MIXED.length;
  }
  for (let v = 0; v < LABELS; v++) {
    assert.equal(final.get(`t_total{"v":"v${v}"}`), counts[v], `t_total v${v}`);
    const [b0, b1, b2] = buckets[v];
    assert.equal(final.get(`t_seconds_bucket{"v":"v${v}","le":${BUCKETS[0]}}`), b0);
    assert.equal(final.get(`t_seconds_bucket{"v":"v${v}","le":${BUCKETS[1]}}`), b0 + b1);
    assert.equal(final.get(`t_seconds_bucket{"v":"v${v}","le":"+Inf"}`), b0 + b1 + b2);
    assert.equal(final.get(`t_seconds_count{"v":"v${v}"}`), b0 + b1 + b2);
    assert.equal(final.get(`t_seconds_sum{"v":"v${v}"}`), b1 * 0.5 + b2);
  }
  assert.equal(total(final), MIXED.length * per);
  assert.ok(scrapes > 1, `only ${scrapes} scrapes while the writers ran`);
});

test("random SIGKILLs while 4 mixed processes count, restarted each time: the file holds exactly what was acknowledged", async () => {
  using tmp = tempShm("metrics-kill");
  const batch = 5_000, target = 1_000_000;
  let seed = 19;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  let acknowledged = 0, kills = 0, decisions = 0;
  const live = MIXED.map((rt) => new Writer(rt, ["acked", tmp.path, String(batch)]));
  const ackedBy = new Map<Writer, number>(live.map((w) => [w, 0]));
  // Each writer waits after every acknowledged batch: a SIGKILL then lands on an acknowledged count.
  while (acknowledged < target) {
    for (let i = 0; i < live.length && acknowledged < target; i++) {
      const w = live[i];
      const ack = Number((await w.line()).replace("ack ", ""));
      acknowledged += ack - ackedBy.get(w)!;
      ackedBy.set(w, ack);
      decisions++;
      if (random() < 0.08 || (kills < 4 && decisions % 25 === 0)) {
        await w.kill();
        kills++;
        live[i] = new Writer(w.runtime, ["acked", tmp.path, String(batch)]);
        ackedBy.set(live[i], 0);
      } else {
        w.send("go");
      }
    }
  }
  // The writers still running wait after an ack already counted: a last ack each, then stop.
  for (const w of live) {
    const ack = Number((await w.line()).replace("ack ", ""));
    acknowledged += ack - ackedBy.get(w)!;
    w.send("stop");
    await w.finished();
  }
  using reader = new Registry({ path: tmp.path });
  assert.ok(kills >= 4, `only ${kills} kills`);
  assert.equal(total(await scrape(reader)), acknowledged);
  // Restarted workers took the dead ones' regions.
  assert.ok(
    usedRegions(tmp.path) <= MIXED.length + 1,
    `${usedRegions(tmp.path)} regions used by ${MIXED.length} workers`,
  );
});

test("10,000 short-lived workers leave the file no larger than the first did, with as many regions as workers at once", async () => {
  using tmp = tempShm("metrics-churn");
  const first = new Writer("deno", ["churn", tmp.path, "9"]);
  await first.finished();
  const size = statSync(tmp.path).size;
  const per = 2_500 - 1; // each also adds 1 before exiting without close()
  const writers = MIXED.map((rt) => new Writer(rt, ["churn", tmp.path, String(per)]));
  await Promise.all(writers.map((w) => w.finished()));
  using reader = new Registry({ path: tmp.path });
  assert.equal((await scrape(reader)).get("churn_total{}"), 10 + MIXED.length * (per + 1));
  assert.equal(statSync(tmp.path).size, size);
  assert.ok(usedRegions(tmp.path) <= MIXED.length + 1, `${usedRegions(tmp.path)} regions used`);
});

test("gauges combine the live workers' values, and a dead worker's value drops out at once", async () => {
  using tmp = tempShm("metrics-gauge");
  const writers: Writer[] = [];
  for (const [rt, value] of [["deno", 1], ["bun", 5], ["deno", 10]] as const) {
    const w = new Writer(rt, ["gauge", tmp.path, String(value)]);
    assert.equal(await w.line(), "ready"); // one after another: the last set is the third's
    writers.push(w);
  }
  using reader = new Registry({ path: tmp.path });
  const read = async () => {
    const v = await scrape(reader);
    const perWorker = [...v].filter(([k]) => k.startsWith("g_perWorker")).map(([, x]) => x).sort((a, b) => a - b);
    return { sum: v.get("g_sum{}"), max: v.get("g_max{}"), min: v.get("g_min{}"), last: v.get("g_last{}"), perWorker };
  };
  assert.deepEqual(await read(), { sum: 16, max: 10, min: 1, last: 10, perWorker: [1, 5, 10] });
  await writers[2].kill();
  assert.deepEqual(await read(), { sum: 6, max: 5, min: 1, last: 5, perWorker: [1, 5] });
  for (const w of writers.slice(0, 2)) {
    w.child.stdin!.end();
    await w.finished();
  }
  assert.deepEqual(await read(), { sum: undefined, max: undefined, min: undefined, last: undefined, perWorker: [] });
});
