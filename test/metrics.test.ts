// The metrics registry in one process: rendering in both formats (checked
// by promtool when installed), prom-client interop both ways, the label
// cap, gauge aggregation, and typed errors for misuse and hostile files.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, symlinkSync, writeFileSync } from "node:fs";
import { Registry as PromRegistry } from "prom-client";
import {
  Counter,
  exponentialBuckets,
  Gauge,
  Histogram,
  linearBuckets,
  OPENMETRICS_CONTENT_TYPE,
  Registry,
} from "../mod.ts";
import { ForeignFileError, MetricMismatchError } from "../src/errors.ts";
import { prometheusStyle } from "../src/exposition/metric_families.ts";
import { renderOpenMetrics, renderPrometheus } from "../src/exposition/_prometheus_text.ts";
import { registryJson } from "../src/exposition/registry_text.ts";
import { readFamilies } from "../src/metrics/registry.ts";
import { claimHeader } from "../src/file_header.ts";
import { Raindrops } from "../src/raindrops.ts";
import { WorkerStats } from "../src/worker_stats.ts";
import { tempShm } from "./_helpers.ts";

const promtool = spawnSync("promtool", ["--version"]).status === 0;

/** promtool's findings on an exposition (empty when clean). */
function promtoolCheck(text: string): string {
  const r = spawnSync("promtool", ["check", "metrics"], { input: text });
  return r.status === 0 ? "" : `${r.stdout}${r.stderr}`;
}

/** A registry on a fresh file with a counter, a gauge and a histogram written. */
function sample(path: string) {
  const registry = new Registry({ path });
  const counter = new Counter({
    name: "shop_orders_total",
    help: "Orders taken.",
    labelNames: ["kind", "region"],
    registers: [registry],
  });
  const gauge = new Gauge({ name: "shop_carts", help: "Open carts.", registers: [registry] });
  const histogram = new Histogram({
    name: "shop_checkout_seconds",
    help: "Checkout time.",
    labelNames: ["kind"],
    buckets: [0.1, 1],
    registers: [registry],
  });
  counter.labels("gift", "eu").inc();
  counter.inc({ kind: "plain", region: 'we"ird\\\n' }, 2);
  gauge.inc(3);
  gauge.dec();
  histogram.labels("gift").observe(0.05);
  histogram.observe({ kind: "gift" }, 0.5);
  histogram.observe({ kind: "gift" }, 7);
  return { registry, counter, gauge, histogram };
}

test("metrics() renders Prometheus text and OpenMetrics, each clean for promtool", async (t) => {
  using tmp = tempShm("metrics-text");
  using registry = sample(tmp.path).registry;
  const text = await registry.metrics();
  assert.equal(registry.contentType, "text/plain; version=0.0.4; charset=utf-8");
  assert.equal(
    text,
    [
      "# HELP shop_orders_total Orders taken.",
      "# TYPE shop_orders_total counter",
      'shop_orders_total{kind="gift",region="eu"} 1',
      'shop_orders_total{kind="plain",region="we\\"ird\\\\\\n"} 2',
      "# HELP shop_carts Open carts.",
      "# TYPE shop_carts gauge",
      "shop_carts 2",
      "# HELP shop_checkout_seconds Checkout time.",
      "# TYPE shop_checkout_seconds histogram",
      'shop_checkout_seconds_bucket{kind="gift",le="0.1"} 1',
      'shop_checkout_seconds_bucket{kind="gift",le="1"} 2',
      'shop_checkout_seconds_bucket{kind="gift",le="+Inf"} 3',
      'shop_checkout_seconds_sum{kind="gift"} 7.55',
      'shop_checkout_seconds_count{kind="gift"} 3',
      "",
    ].join("\n"),
  );
  registry.setContentType(OPENMETRICS_CONTENT_TYPE);
  const om = await registry.metrics();
  assert.match(
    om,
    /^# HELP shop_orders Orders taken\.\n# TYPE shop_orders counter\nshop_orders_total\{kind="gift",region="eu"\} 1\n/,
  );
  assert.ok(om.endsWith("# EOF\n"));
  if (!promtool) return t.skip("promtool is not installed (apt-get install prometheus)");
  assert.equal(promtoolCheck(text), "");
});

test("a prom-client Registry collects our metrics, and merges our registry", async () => {
  using tmp = tempShm("metrics-prom");
  using registry = new Registry({ path: tmp.path });
  const prom = new PromRegistry();
  const counter = new Counter({
    name: "jobs_total",
    help: "Jobs run.",
    labelNames: ["queue"],
    registers: [registry, prom],
  });
  counter.labels("mail").inc(4);
  new Histogram({ name: "job_seconds", help: "Job time.", buckets: [1], registers: [registry] }).observe(2);
  const collected = await prom.metrics();
  assert.match(collected, /^jobs_total\{queue="mail"\} 4$/m);
  const merged = PromRegistry.merge([new PromRegistry(), registry as never]);
  const text = await merged.metrics();
  assert.match(text, /^jobs_total\{queue="mail"\} 4$/m);
  assert.match(text, /^job_seconds_bucket\{le="1"\} 0$/m);
  assert.match(text, /^job_seconds_bucket\{le="\+Inf"\} 1$/m);
  assert.match(text, /^job_seconds_count 1$/m);
  // prom-client's own metric, registered in ours, is rendered through its get().
  const { Counter: PromCounter } = await import("prom-client");
  new PromCounter({ name: "theirs_total", help: "Theirs.", registers: [registry as never] }).inc(3);
  assert.match(await registry.metrics(), /^theirs_total 3$/m);
});

test("the label cap holds over every writer of the file: later label sets count in the overflow set", async () => {
  using tmp = tempShm("metrics-cap");
  using one = new Registry({ path: tmp.path });
  using two = new Registry({ path: tmp.path }); // a second writer: its own region
  const define = (registry: Registry) =>
    new Counter({ name: "hits_total", help: "Hits.", labelNames: ["user"], maxLabelSets: 10, registers: [registry] });
  const a = define(one), b = define(two);
  for (let i = 0; i < 100; i++) a.labels(`u${i}`).inc();
  for (let i = 100; i < 150; i++) b.labels(`u${i}`).inc();
  b.labels("u3").inc(); // a kept set still counts as itself
  const values = (await a.get()).values;
  assert.equal(values.length, 11);
  assert.deepEqual(values.at(-1), { value: 140, labels: { user: "__overflow__" } });
  assert.equal(values.find((v) => v.labels.user === "u3")?.value, 2);
  assert.equal(values.reduce((s, v) => s + v.value, 0), 151);
});

test("gauges combine their writers as configured; startTimer and the bucket helpers work", async () => {
  using registry = new Registry({ workerSlots: 2 }); // private to this thread, two regions
  using other = new Registry();
  const max = new Gauge({ name: "g_max", help: "Max.", aggregate: "max", registers: [registry] });
  max.set(3);
  max.set(-2);
  assert.equal((await max.get()).values[0].value, -2);
  const h = new Histogram({
    name: "t_seconds",
    help: "T.",
    buckets: linearBuckets(0.5, 0.5, 2),
    registers: [registry],
  });
  const seconds = h.startTimer()();
  assert.ok(seconds >= 0 && seconds < 0.5);
  assert.equal((await h.get()).values.find((v) => v.labels.le === 0.5)?.value, 1);
  assert.deepEqual(exponentialBuckets(1, 2, 3), [1, 2, 4]);
  assert.equal(await other.metrics(), "");
});

test("misuse gets typed errors that name the fix", () => {
  using registry = new Registry();
  const counter = new Counter({ name: "c_total", help: "C.", labelNames: ["a"], registers: [registry] });
  // deno-lint-ignore no-explicit-any
  const loose = counter as any;
  assert.throws(() => counter.inc(-1), RangeError);
  assert.throws(() => counter.inc(NaN), RangeError);
  assert.throws(() => loose.inc("1"), TypeError);
  assert.throws(() => counter.labels("x", "y"), /has 1 labels \(a\), got 2 values/);
  assert.throws(() => loose.labels({ b: "x" }), /has no label b/);
  assert.throws(() => loose.labels({ a: {} }), TypeError);
  assert.throws(() => new Counter({ name: "bad-name", help: "x", registers: [registry] }), RangeError);
  assert.throws(() => new Counter({ name: "x", help: "", registers: [registry] }), TypeError);
  assert.throws(() => new Counter({ name: "x", help: "x", labelNames: ["__x"], registers: [registry] }), RangeError);
  assert.throws(() => new Histogram({ name: "h", help: "h", buckets: [1, 1], registers: [registry] }), /ascend/);
  assert.throws(() => new Histogram({ name: "h", help: "h", labelNames: ["le"], registers: [registry] }), /le/);
  assert.throws(
    () => new Gauge({ name: "g", help: "g", aggregate: "avg" as never, registers: [registry] }),
    RangeError,
  );
  assert.throws(() => new Counter({ name: "c_total", help: "again", registers: [registry] }), /already registered/);
  assert.throws(() => new Registry({ workerSlots: 0 }), RangeError);
  assert.throws(() => new Gauge({ name: "g2", help: "g", registers: [registry] }).set(NaN), RangeError);
});

test("a metric defined differently in another worker of the same file is a MetricMismatchError", () => {
  using tmp = tempShm("metrics-mismatch");
  using one = new Registry({ path: tmp.path });
  using two = new Registry({ path: tmp.path });
  new Counter({ name: "m_total", help: "M.", labelNames: ["a"], registers: [one] }).inc({ a: "x" });
  const other = new Counter({ name: "m_total", help: "M.", labelNames: ["b"], registers: [two] });
  assert.throws(() => other.inc({ b: "x" }), MetricMismatchError);
  using three = new Registry({ path: tmp.path });
  const histogram = new Histogram({ name: "m_total", help: "M.", registers: [three] });
  assert.throws(() => histogram.observe(1), /defined differently/);
});

test("hostile files are refused with ForeignFileError: other formats, other versions, corrupt records, symlinks", async () => {
  using foreign = tempShm("metrics-foreign");
  writeFileSync(foreign.path, "not a metrics file".repeat(100), { mode: 0o600 });
  await assert.rejects(new Registry({ path: foreign.path }).metrics(), ForeignFileError);

  using stats = tempShm("metrics-stats");
  WorkerStats.open(stats.path).release();
  await assert.rejects(new Registry({ path: stats.path }).metrics(), /is not a raindrops metrics file/);

  using future = tempShm("metrics-future");
  using rd = new Raindrops(4, { path: future.path });
  claimHeader(rd, 0x5244_4d52_0009n, "raindrops metrics");
  await assert.rejects(new Registry({ path: future.path }).metrics(), /layout version 9, but this version reads 1/);

  using corrupt = tempShm("metrics-corrupt");
  using writer = new Registry({ path: corrupt.path });
  new Counter({ name: "ok_total", help: "Fine.", registers: [writer] }).inc();
  writer.close();
  {
    // Point the first record's text past the heap.
    const { MetricsFile } = await import("../src/metrics/_file.ts");
    const file = new MetricsFile(corrupt.path, 1);
    file.u64[file.layout.records / 8 + 1] = 0xffff_ffffn | (16n << 32n);
    file.close();
  }
  await assert.rejects(new Registry({ path: corrupt.path }).metrics(), /corrupt record 0/);
  {
    using header = new Raindrops(4, { path: corrupt.path });
    header.set(2, 2 ** 40); // cells handed out: a count that would map a terabyte
  }
  await assert.rejects(new Registry({ path: corrupt.path }).metrics(), /claims 1099511627776 cells/);

  using link = tempShm("metrics-link");
  symlinkSync(corrupt.path, link.path);
  await assert.rejects(new Registry({ path: link.path }).metrics(), /symbolic link/);
});

test("the stats endpoint's Prometheus formats and JSON carry a registry's families after raindrops' own", (t) => {
  using tmp = tempShm("metrics-snapshot");
  using registry = sample(tmp.path).registry;
  const snapshot = {
    calling: 1,
    writing: 0,
    workers: 1,
    requests: 5,
    listeners: new Map(),
    metrics: readFamilies(registry),
  };
  const text = renderPrometheus(snapshot, prometheusStyle({ labels: { service: "shop" } }));
  assert.match(text, /^raindrops_requests_total\{service="shop"\} 5$/m);
  assert.match(text, /^shop_orders_total\{service="shop",kind="gift",region="eu"\} 1$/m);
  assert.match(text, /^shop_checkout_seconds_bucket\{service="shop",kind="gift",le="\+Inf"\} 3$/m);
  const om = renderOpenMetrics(snapshot);
  assert.match(om, /^shop_orders_total\{kind="gift",region="eu"\} 1\n[^]*# EOF\n$/m);
  assert.deepEqual(registryJson(snapshot.metrics).shop_checkout_seconds, {
    type: "histogram",
    help: "Checkout time.",
    series: [{ labels: { kind: "gift" }, buckets: { "0.1": 1, "1": 2, "+Inf": 3 }, sum: 7.55, count: 3 }],
  });
  // A registry with nothing defined and no file reads as empty, and creates no file.
  using idle = tempShm("metrics-idle");
  assert.deepEqual(readFamilies(new Registry({ path: idle.path })), []);
  assert.equal(existsSync(idle.path), false);
  if (!promtool) return t.skip("promtool is not installed (apt-get install prometheus)");
  assert.equal(promtoolCheck(text), "");
});
