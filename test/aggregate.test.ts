import { test } from "node:test";
import assert from "node:assert/strict";
import { Aggregate } from "../src/aggregate/aggregate.ts";
import { BucketLayout } from "../src/aggregate/histogram.ts";

test("count, min, max, sum, mean and sample stddev match values computed by hand", () => {
  const agg = new Aggregate();
  for (const x of [2, 4, 4, 4, 5, 5, 7, 9]) agg.add(x);
  assert.equal(agg.count, 8);
  assert.equal(agg.min, 2);
  assert.equal(agg.max, 9);
  assert.equal(agg.sum, 40);
  assert.equal(agg.mean, 5);
  // squared deviations from 5: 9+1+1+1+0+0+4+16 = 32, over n-1 = 7
  assert.ok(Math.abs(agg.variance! - 32 / 7) < 1e-12);
  assert.ok(Math.abs(agg.stddev! - 2.138089935299395) < 1e-12);
});

test("an empty aggregate has undefined min, max, mean and stddev; one sample has no stddev", () => {
  const agg = new Aggregate();
  assert.equal(agg.count, 0);
  assert.equal(agg.sum, 0);
  assert.equal(agg.min, undefined);
  assert.equal(agg.max, undefined);
  assert.equal(agg.mean, undefined);
  assert.equal(agg.stddev, undefined);
  agg.add(-3.5);
  assert.equal(agg.min, -3.5);
  assert.equal(agg.max, -3.5);
  assert.equal(agg.mean, -3.5);
  assert.equal(agg.stddev, undefined);
  agg.add(-1.5);
  assert.equal(agg.stddev, Math.SQRT2);
});

test("the mean and stddev stay accurate for large samples close together", () => {
  const agg = new Aggregate();
  for (const x of [1e9 + 4, 1e9 + 7, 1e9 + 13, 1e9 + 16]) agg.add(x);
  assert.equal(agg.mean, 1e9 + 10);
  assert.ok(Math.abs(agg.variance! - 30) < 1e-6, String(agg.variance));
});

test("power-of-two buckets: [2^i, 2^(i+1)) at the edges 0, 1, 2, 3, 4, 2^k-1 and 2^k", () => {
  const agg = new Aggregate({ buckets: 8 });
  const at = (x: number) => agg.layout.index(x);
  assert.equal(at(0), -1);
  assert.equal(at(0.999), -1);
  assert.equal(at(-5), -1);
  assert.equal(at(1), 0);
  assert.equal(at(1.999), 0);
  assert.equal(at(2), 1);
  assert.equal(at(3), 1);
  assert.equal(at(4), 2);
  for (let k = 1; k < 8; k++) {
    assert.equal(at(2 ** k - 1), k - 1, `2^${k}-1`);
    assert.equal(at(2 ** k), k, `2^${k}`);
  }
  assert.equal(at(255), 7);
  assert.equal(at(256), 8, "2^buckets is a high outlier");
  assert.equal(at(7.999999999999999), 2);
});

test("power-of-two buckets stay exact beyond 2^32, up to the 64th bucket", () => {
  const layout = BucketLayout.from(64);
  for (const k of [32, 33, 52, 53, 62, 63]) {
    assert.equal(layout.index(2 ** k), k, `2^${k}`);
    assert.equal(layout.index(2 ** k * (1 - 2 ** -53)), k - 1, `just below 2^${k}`);
  }
  assert.equal(layout.index(2 ** 64), 64);
  assert.equal(layout.index(Number.MAX_VALUE), 64);
});

test("samples fill their bucket; below 1 and at 2^buckets or above count as outliers", () => {
  const agg = new Aggregate({ buckets: 4 });
  for (const x of [0, -2, 0.5, 1, 2, 3, 3.5, 4, 15.99, 16, 1e6]) agg.add(x);
  assert.equal(agg.outliersLow, 3);
  assert.equal(agg.outliersHigh, 2);
  assert.deepEqual([...agg.buckets()].map((b) => b.count), [1, 3, 1, 1]);
  assert.equal(agg.count, 11, "outliers are samples too");
  assert.equal(agg.min, -2);
  assert.equal(agg.max, 1e6);
});

test("buckets() yields every bucket with its edges, nonEmptyBuckets() only the used ones", () => {
  const agg = new Aggregate({ buckets: 3 });
  agg.add(5);
  agg.add(6);
  assert.deepEqual([...agg.buckets()], [
    { index: 0, lower: 1, upper: 2, count: 0 },
    { index: 1, lower: 2, upper: 4, count: 0 },
    { index: 2, lower: 4, upper: 8, count: 2 },
  ]);
  assert.deepEqual([...agg.nonEmptyBuckets()], [{ index: 2, lower: 4, upper: 8, count: 2 }]);
});

test("linear buckets hold [min + i*width, min + (i+1)*width), with outliers outside", () => {
  const agg = new Aggregate({ buckets: { min: -50, max: 50, width: 25 } });
  for (const x of [-51, -50, -25.5, -25, 0, 24.9, 49.999, 50, 1000]) agg.add(x);
  assert.deepEqual([...agg.buckets()].map((b) => [b.lower, b.upper, b.count]), [
    [-50, -25, 2],
    [-25, 0, 1],
    [0, 25, 2],
    [25, 50, 1],
  ]);
  assert.equal(agg.outliersLow, 1);
  assert.equal(agg.outliersHigh, 2);
});

test("linear buckets with fractional widths put every edge in the bucket it starts", () => {
  const layout = BucketLayout.from({ min: 0, max: 1, width: 0.1 });
  assert.equal(layout.size, 10);
  for (let i = 0; i <= 10; i++) assert.equal(layout.index(layout.lower(i)), i, `edge ${i}`);
  assert.equal(layout.index(0.3), 3);
  assert.equal(layout.index(0.7), 7);
  assert.equal(layout.index(0.9999), 9);
  assert.equal(layout.index(-0.001), -1);
  assert.equal(layout.label(3), "[0.3, 0.4)");
});

test("the chart is exact for a small case: outlier rows, bars scaled to the largest row, Total", () => {
  const agg = new Aggregate({ buckets: 4 });
  for (const x of [0, 1, 2, 3, 3, 5, 20]) agg.add(x);
  // labels 6 wide, counts 1 wide: 80 - 6 - 1 - 4 = 69 columns of bars; 1 of 3 is 23 bars
  const row = (label: string, bars: number, count: number) =>
    `${label.padStart(6)} | ${"#".repeat(bars).padEnd(69)} ${count}`;
  assert.equal(
    agg.chart(),
    [
      row("< 1", 23, 1),
      row("[1, 2)", 23, 1),
      row("[2, 4)", 69, 3),
      row("[4, 8)", 23, 1),
      row(">= 16", 23, 1),
      row("Total", 0, 7),
    ].join("\n") + "\n",
  );
  assert.equal(String(agg), agg.chart());
  assert.match(agg.chart(), /^ {3}< 1 \| #{23} {46} 1$/m);
});

test("the chart shows empty buckets between used ones and skips absent outliers", () => {
  const agg = new Aggregate({ buckets: { min: 0, max: 100, width: 10 } });
  agg.add(15);
  agg.add(45);
  agg.add(45);
  const lines = agg.chart().trimEnd().split("\n");
  assert.deepEqual(lines.map((l) => l.split("|")[0].trim()), ["[10, 20)", "[20, 30)", "[30, 40)", "[40, 50)", "Total"]);
  assert.match(lines[0], /\| #{34} +1$/);
  assert.match(lines[1], /\| +0$/);
  assert.match(lines[3], /\| #{67} 2$/);
});

test("chart lines are never longer than 80 characters, even with 64 buckets and huge counts", () => {
  const agg = new Aggregate({ buckets: 64 });
  agg.add(1);
  agg.add(2 ** 63);
  agg.add(2 ** 70);
  agg.add(-1);
  for (let i = 0; i < 100_000; i++) agg.add(3);
  const lines = agg.chart().trimEnd().split("\n");
  assert.equal(lines.length, 1 + 64 + 1 + 1);
  for (const line of lines) assert.ok(line.length <= 80, `${line.length}: ${line}`);
  assert.match(lines.at(-2)!, /^ +>= 18446744073709551616 \| # +1$/);
  assert.match(lines.at(-1)!, /^ +Total \| +100004$/);
});

test("an empty aggregate charts as a lone Total row", () => {
  assert.equal(new Aggregate().chart(), `Total | ${" ".repeat(70)} 0\n`);
});

test("reset() forgets every sample and keeps the layout", () => {
  const agg = new Aggregate({ buckets: { min: 0, max: 10, width: 2 } });
  for (const x of [-1, 3, 11]) agg.add(x);
  agg.reset();
  assert.deepEqual(agg.toJSON(), {
    count: 0,
    min: undefined,
    max: undefined,
    sum: 0,
    mean: undefined,
    stddev: undefined,
    outliersLow: 0,
    outliersHigh: 0,
    buckets: [],
  });
  assert.equal(agg.layout.size, 5);
  agg.add(4);
  assert.equal(agg.min, 4);
  assert.equal(agg.mean, 4);
});

test("toJSON() gives the summary and the non-empty buckets", () => {
  const agg = new Aggregate({ buckets: 4 });
  agg.add(3);
  agg.add(5);
  assert.deepEqual(agg.toJSON(), {
    count: 2,
    min: 3,
    max: 5,
    sum: 8,
    mean: 4,
    stddev: Math.SQRT2,
    outliersLow: 0,
    outliersHigh: 0,
    buckets: [{ lower: 2, upper: 4, count: 1 }, { lower: 4, upper: 8, count: 1 }],
  });
});

test("add() rejects non-numbers with TypeError and NaN or Infinity with RangeError", () => {
  const agg = new Aggregate();
  for (const x of ["1", null, undefined, 1n, {}, true]) assert.throws(() => agg.add(x as unknown as number), TypeError);
  for (const x of [NaN, Infinity, -Infinity]) assert.throws(() => agg.add(x), RangeError);
  assert.equal(agg.count, 0, "no bad sample was counted");
});

test("bad power-of-two bucket counts throw RangeError, wrong types TypeError", () => {
  for (const n of [0, -1, 1.5, 65, NaN, Infinity]) {
    assert.throws(() => new Aggregate({ buckets: n }), RangeError, String(n));
  }
  for (const b of ["8", null, 8n, true]) {
    assert.throws(() => new Aggregate({ buckets: b as unknown as number }), TypeError);
  }
  assert.throws(() => new Aggregate(null as unknown as object), TypeError);
  assert.equal(new Aggregate({ buckets: 1 }).layout.high, 2);
  assert.equal(new Aggregate({ buckets: 64 }).layout.size, 64);
});

test("bad linear buckets throw RangeError: width <= 0, max <= min, uneven or too many buckets", () => {
  for (
    const b of [
      { min: 0, max: 10, width: 0 },
      { min: 0, max: 10, width: -1 },
      { min: 5, max: 5, width: 1 },
      { min: 10, max: 0, width: 1 },
      { min: 0, max: 10, width: 3 },
      { min: 0, max: 10, width: 20 },
      { min: 0, max: 1e6, width: 1 },
      { min: NaN, max: 10, width: 1 },
      { min: 0, max: Infinity, width: 1 },
    ]
  ) assert.throws(() => new Aggregate({ buckets: b }), RangeError, JSON.stringify(b));
  assert.throws(() => new Aggregate({ buckets: { min: "0", max: 10, width: 1 } as unknown as number }), TypeError);
  assert.throws(() => new Aggregate({ buckets: { max: 10, width: 1 } as unknown as number }), TypeError);
  assert.equal(new Aggregate({ buckets: { min: 0, max: 10_000, width: 1 } }).layout.size, 10_000);
});
