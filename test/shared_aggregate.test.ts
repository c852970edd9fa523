import { test } from "node:test";
import assert from "node:assert/strict";
import { closeSync, existsSync, openSync, writeSync } from "node:fs";
import { spawn } from "node:child_process";
import { Aggregate } from "../src/aggregate/aggregate.ts";
import { AggregateMismatchError, SharedAggregate } from "../mod.ts";
import { EvaporatedError, ForeignFileError, Raindrops, RaindropsError } from "../mod.ts";
import { fixture, runFixture, type RuntimeName, RUNTIMES, scriptArgs, tempShm } from "./_helpers.ts";
import { feederSamples } from "./fixtures/aggregate_feeder.ts";
import { REGIONS } from "../src/aggregate/writer_regions.ts";

/**
 * Takes every writer region of the file (each handle adds a sample, then
 * a reset drops those), so that the next writer uses the atomic counters.
 */
function takeEveryRegion(path: string, buckets: number): SharedAggregate[] {
  const holders = Array.from({ length: REGIONS }, () => new SharedAggregate({ path, buckets }));
  for (const h of holders) h.add(1);
  holders[0].reset();
  return holders;
}

/** Exact figures of a sample list, computed independently of both aggregates. */
function expected(samples: number[]) {
  const sum = samples.reduce((a, x) => a + BigInt(x), 0n);
  const squares = samples.reduce((a, x) => a + BigInt(x) * BigInt(x), 0n);
  const mean = Number(sum) / samples.length;
  const stddev = Math.sqrt(samples.reduce((a, x) => a + (x - mean) ** 2, 0) / (samples.length - 1));
  const min = samples.reduce((a, x) => Math.min(a, x)), max = samples.reduce((a, x) => Math.max(a, x));
  return { sum, squares, stddev, min, max };
}

function closeTo(actual: number | undefined, want: number, what: string): void {
  assert.ok(actual !== undefined && Math.abs(actual - want) <= 1e-12 * Math.abs(want), `${what}: ${actual} vs ${want}`);
}

test("a shared aggregate matches hand-computed figures and the in-process Aggregate", () => {
  using tmp = tempShm("agg-math");
  using shared = new SharedAggregate({ path: tmp.path, buckets: 8 });
  const local = new Aggregate({ buckets: 8 });
  for (const x of [2, 4, 4, 4, 5, 5, 7, 9]) {
    shared.add(x);
    local.add(x);
  }
  assert.equal(shared.count, 8);
  assert.equal(shared.min, 2);
  assert.equal(shared.max, 9);
  assert.equal(shared.sum, 40);
  assert.equal(shared.mean, 5);
  assert.equal(shared.sumOfSquares, 232n);
  assert.equal(shared.variance, 32 / 7, "computed from exact integers");
  assert.deepEqual([...shared.buckets()], [...local.buckets()]);
  assert.equal(shared.chart(), local.chart());
});

test("a shared aggregate places 0, 1, 2, 3, 4, 2^k-1 and 2^k like the in-process one", () => {
  using tmp = tempShm("agg-edges");
  using shared = new SharedAggregate({ path: tmp.path, buckets: 6 });
  const local = new Aggregate({ buckets: 6 });
  const samples = [0, 1, 2, 3, 4];
  for (let k = 1; k <= 7; k++) samples.push(2 ** k - 1, 2 ** k);
  for (const x of samples) {
    shared.add(x);
    local.add(x);
  }
  assert.deepEqual([...shared.buckets()].map((b) => b.count), [2, 4, 3, 2, 2, 2]);
  assert.deepEqual([...shared.buckets()], [...local.buckets()]);
  assert.equal(shared.outliersLow, 1, "0 is below 1");
  assert.equal(shared.outliersHigh, 3, "64, 127 and 128 are at or above 2^6");
  assert.equal(shared.count, samples.length);
});

test("an empty shared aggregate has undefined min, max, mean and stddev", () => {
  using tmp = tempShm("agg-empty");
  using agg = new SharedAggregate({ path: tmp.path });
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
  agg.add(0);
  assert.equal(agg.min, 0);
  assert.equal(agg.max, 0);
  assert.equal(agg.stddev, undefined);
});

test("large samples keep sum and sum of squares exact, up to 2^53-1", () => {
  using tmp = tempShm("agg-big");
  using agg = new SharedAggregate({ path: tmp.path, buckets: 64 });
  const samples = [2 ** 53 - 1, 2 ** 32, 2 ** 32 - 1, 94_906_267, 3, 0, 2 ** 40 + 7];
  for (const x of samples) agg.add(x);
  const want = expected(samples);
  assert.equal(agg.sumBigInt, want.sum);
  assert.equal(agg.sum, Number(want.sum));
  assert.equal(agg.sumOfSquares, want.squares);
  assert.equal(agg.max, 2 ** 53 - 1);
  assert.equal(agg.min, 0);
  closeTo(agg.stddev, want.stddev, "stddev");
});

test("the sum of squares carries into its high word when its 64-bit parts wrap", () => {
  using tmp = tempShm("agg-carry");
  const holders = takeEveryRegion(tmp.path, 16);
  using agg = new SharedAggregate({ path: tmp.path, buckets: 16 });
  // White box: slots 7, 8 and 9 hold the sum of squares as LO + MID * 2^32 + HI * 2^64.
  using raw = new Raindrops(10, { path: tmp.path });
  raw.set(7, 2n ** 64n - 10n);
  raw.set(8, 2n ** 64n - 1n);
  const before = agg.sumOfSquares;
  agg.add(5); // 25 goes to LO, which wraps
  agg.add(2 ** 16); // 2^32 = 1 * 2^32 goes to MID, which wraps
  agg.add(3 * 2 ** 40); // a square beyond 2^53 takes the bigint path
  const want = (before + 25n + 2n ** 32n + 9n * 2n ** 80n) % 2n ** 128n;
  assert.equal(agg.sumOfSquares, want);
  holders.forEach((h) => h.evaporate());
});

test("count, sum and squares carry from a counter's low 32-bit word into its high word", () => {
  using tmp = tempShm("agg-low-carry");
  const holders = takeEveryRegion(tmp.path, 4);
  using agg = new SharedAggregate({ path: tmp.path, buckets: 4 });
  // White box: slot 6 is the sum, 7 the low part of the squares, 14 the first bucket.
  using raw = new Raindrops(18, { path: tmp.path });
  raw.set(6, 2 ** 32 - 3);
  raw.set(7, 2 ** 32 - 2);
  raw.set(14, 2 ** 32 - 1);
  agg.add(1);
  agg.add(1);
  agg.add(1);
  assert.equal(raw.get(6), 2 ** 32);
  assert.equal(raw.get(7), 2 ** 32 + 1);
  assert.equal(raw.get(14), 2 ** 32 + 2);
  assert.equal(agg.count, 2 ** 32 + 2);
  holders.forEach((h) => h.evaporate());
});

test(`writers beyond the ${REGIONS} regions add through atomic counters; a released region is taken again`, () => {
  using tmp = tempShm("agg-regions");
  const holders = takeEveryRegion(tmp.path, 8);
  using extra = new SharedAggregate({ path: tmp.path, buckets: 8 });
  using reader = new SharedAggregate({ path: tmp.path, buckets: 8 });
  const local = new Aggregate({ buckets: 8 });
  const add = (agg: SharedAggregate, x: number) => (agg.add(x), local.add(x));
  holders.forEach((h, i) => add(h, i * 3));
  for (const x of [0, 7, 300, 2 ** 40, 5]) add(extra, x);
  // White box: the sum's atomic counter (slot 6) holds the extra writer's samples only.
  using raw = new Raindrops(7, { path: tmp.path });
  assert.equal(raw.get(6), 7 + 300 + 2 ** 40 + 5);
  holders[3].evaporate(); // releases its region, whose figures still count
  using next = new SharedAggregate({ path: tmp.path, buckets: 8 });
  add(next, 11);
  assert.equal(raw.get(6), 7 + 300 + 2 ** 40 + 5, "the newcomer took the released region");
  assert.deepEqual(reader.toJSON(), local.toJSON());
  assert.equal(
    reader.sumOfSquares,
    [...holders.keys()].reduce((a, i) => a + BigInt(i * 3) ** 2n, 0n) +
      49n + 90000n + 2n ** 80n + 25n + 121n,
  );
  holders.forEach((h) => h.evaporated || h.evaporate());
});

test("a writer whose region was cleared by zero: true and taken by another keeps its samples apart", () => {
  using tmp = tempShm("agg-zeroed");
  using first = new SharedAggregate({ path: tmp.path, buckets: 8 });
  first.add(4);
  using second = new SharedAggregate({ path: tmp.path, buckets: 8, zero: true });
  second.add(6); // takes the first region, the first writer's claim being gone
  first.add(10);
  second.add(2);
  assert.equal(second.count, 3);
  assert.equal(second.sum, 18);
  assert.equal(second.min, 2);
  assert.equal(second.max, 10);
});

for (const regions of ["own regions", "every region taken: atomic counters"]) {
  test(`four processes (2 Deno, 1 Bun, 1 Node.js) adding 50,000 samples each at once give exact totals (${regions})`, async () => {
    using tmp = tempShm("agg-4proc");
    using barrier = tempShm("agg-barrier");
    const N = 50_000, BUCKETS = 32;
    const runtimes: RuntimeName[] = ["deno", "bun", "deno", "node"];
    using agg = new SharedAggregate({ path: tmp.path, buckets: BUCKETS, zero: true });
    const holders = regions === "own regions" ? [] : takeEveryRegion(tmp.path, BUCKETS);
    const results = await Promise.all(
      runtimes.map((rt, w) =>
        runFixture(rt, "aggregate_feeder.ts", [tmp.path, barrier.path, String(w), "4", String(N), String(BUCKETS)])
      ),
    );
    results.forEach((r, w) => {
      assert.equal(r.code, 0, `${runtimes[w]} feeder ${w}: ${r.stderr}`);
      assert.deepEqual(JSON.parse(r.stdout), { worker: w, added: N });
    });

    const all = runtimes.flatMap((_, w) => feederSamples(w, N));
    const local = new Aggregate({ buckets: BUCKETS });
    for (const x of all) local.add(x);
    const want = expected(all);
    assert.equal(agg.count, 4 * N);
    assert.equal(agg.sumBigInt, want.sum);
    assert.equal(agg.sumOfSquares, want.squares);
    assert.equal(agg.min, want.min);
    assert.equal(agg.max, want.max);
    assert.equal(agg.outliersLow, local.outliersLow);
    assert.equal(agg.outliersHigh, local.outliersHigh);
    assert.ok(agg.outliersLow > 0 && agg.outliersHigh > 0, "the samples include both kinds of outlier");
    assert.deepEqual([...agg.buckets()], [...local.buckets()]);
    closeTo(agg.mean, Number(want.sum) / all.length, "mean");
    closeTo(agg.stddev, want.stddev, "stddev");
    holders.forEach((h) => h.evaporate());
  });
}

test("two handles on one path share samples, and reopening keeps them", () => {
  using tmp = tempShm("agg-reopen");
  {
    using a = new SharedAggregate({ path: tmp.path, buckets: { min: 0, max: 100, width: 10 } });
    using b = new SharedAggregate({ path: tmp.path, buckets: { min: 0, max: 100, width: 10 } });
    a.add(15);
    b.add(95);
    b.add(100);
    assert.equal(a.count, 3);
    assert.equal(a.max, 100);
    assert.equal(a.outliersHigh, 1);
  }
  using again = new SharedAggregate({ path: tmp.path, buckets: { min: 0, max: 100, width: 10 } });
  assert.equal(again.count, 3);
  assert.equal(again.sum, 210);
  assert.deepEqual([...again.nonEmptyBuckets()].map((b) => b.lower), [10, 90]);
});

test("zero: true clears the samples, even of a file with another layout", () => {
  using tmp = tempShm("agg-zero");
  {
    using a = new SharedAggregate({ path: tmp.path, buckets: 8 });
    a.add(3);
  }
  using z = new SharedAggregate({ path: tmp.path, zero: true, buckets: 8 });
  assert.equal(z.count, 0);
  assert.equal(z.min, undefined);
  using other = new SharedAggregate({ path: tmp.path, zero: true, buckets: 12 });
  other.add(3000);
  assert.equal(other.count, 1);
  assert.throws(() => new SharedAggregate({ path: tmp.path, buckets: 8 }), AggregateMismatchError);
});

test("reset() clears the samples for every handle and keeps the stored layout", () => {
  using tmp = tempShm("agg-reset");
  using a = new SharedAggregate({ path: tmp.path, buckets: 8 });
  using b = new SharedAggregate({ path: tmp.path, buckets: 8 });
  for (const x of [0, 3, 300, 2 ** 40]) a.add(x);
  b.reset();
  assert.deepEqual(a.toJSON(), b.toJSON());
  assert.equal(a.count, 0);
  assert.equal(a.sumOfSquares, 0n);
  assert.equal(a.max, undefined);
  a.add(7);
  assert.equal(b.min, 7);
  assert.throws(() => new SharedAggregate({ path: tmp.path, buckets: 9 }), AggregateMismatchError);
});

test("opening with another layout throws AggregateMismatchError naming both layouts", () => {
  using tmp = tempShm("agg-mismatch");
  using a = new SharedAggregate({ path: tmp.path, buckets: { min: 0, max: 100, width: 10 } });
  a.add(5);
  for (
    const buckets of [32, { min: 0, max: 100, width: 20 }, { min: 0, max: 200, width: 10 }, {
      min: 10,
      max: 110,
      width: 10,
    }]
  ) {
    assert.throws(
      () => new SharedAggregate({ path: tmp.path, buckets }),
      (e) =>
        e instanceof AggregateMismatchError && e instanceof RaindropsError && e.code === "AGGREGATE_MISMATCH" &&
        e.message.includes("10 linear buckets of width 10 from 0 to 100"),
      JSON.stringify(buckets),
    );
  }
  assert.equal(a.count, 1, "a failed open changes nothing");
});

test("a file that is not an aggregate is refused", () => {
  using tmp = tempShm("agg-foreign");
  {
    using raw = new Raindrops(1, { path: tmp.path });
    raw.set(0, 12345);
  }
  assert.throws(
    () => new SharedAggregate({ path: tmp.path }),
    (e) =>
      e instanceof ForeignFileError && e.path === tmp.path &&
      /not a SharedAggregate file: no raindrops header/.test(e.message),
  );
});

test("a counter file with data but a zero first counter is refused and left intact", () => {
  using tmp = tempShm("agg-foreign-data");
  {
    using raw = new Raindrops(8, { path: tmp.path });
    raw.set(5, 777);
  }
  assert.throws(
    () => new SharedAggregate({ path: tmp.path }),
    (e) => e instanceof ForeignFileError && /holds data but no raindrops header/.test(e.message),
  );
  using raw = new Raindrops(8, { path: tmp.path });
  assert.deepEqual(raw.toArray(), [0, 0, 0, 0, 0, 777, 0, 0]);
});

test("evaporate(): every later use throws EvaporatedError, a second evaporate too; the file stays", () => {
  using tmp = tempShm("agg-evaporate");
  const agg = new SharedAggregate({ path: tmp.path });
  agg.add(4);
  agg.evaporate();
  assert.equal(agg.evaporated, true);
  for (
    const use of [
      () => agg.add(1),
      () => agg.count,
      () => agg.sum,
      () => agg.min,
      () => agg.max,
      () => agg.mean,
      () => agg.stddev,
      () => agg.sumOfSquares,
      () => agg.sumBigInt,
      () => agg.outliersLow,
      () => agg.outliersHigh,
      () => [...agg.buckets()],
      () => agg.chart(),
      () => agg.toJSON(),
      () => agg.reset(),
      () => agg.path,
      () => agg.evaporate(),
    ]
  ) assert.throws(use, (e) => e instanceof EvaporatedError && /SharedAggregate/.test(e.message));
  agg[Symbol.dispose](); // a no-op once evaporated
  using again = new SharedAggregate({ path: tmp.path });
  assert.equal(again.count, 1);
  assert.equal(again.path, tmp.path);
});

test("add() takes non-negative safe integers only: TypeError for non-numbers, RangeError otherwise", () => {
  using tmp = tempShm("agg-bad-sample");
  using agg = new SharedAggregate({ path: tmp.path });
  for (const x of [-1, 0.5, NaN, Infinity, -Infinity, 2 ** 53, -0.1]) {
    assert.throws(() => agg.add(x), RangeError, String(x));
  }
  for (const x of ["1", null, undefined, 1n, {}]) assert.throws(() => agg.add(x as unknown as number), TypeError);
  assert.equal(agg.count, 0);
  assert.equal(agg.sum, 0);
  assert.equal(agg.min, undefined);
});

test("bad options throw before any file is created", () => {
  using tmp = tempShm("agg-bad-options");
  for (
    const buckets of [0, 65, 2.5, { min: 0, max: 10, width: 0 }, { min: 1, max: 1, width: 1 }, {
      min: 0,
      max: 10,
      width: 4,
    }]
  ) {
    assert.throws(() => new SharedAggregate({ path: tmp.path, buckets }), RangeError, JSON.stringify(buckets));
  }
  assert.throws(() => new SharedAggregate({ path: tmp.path, buckets: "8" as unknown as number }), TypeError);
  assert.throws(() => new SharedAggregate({} as unknown as { path: string }), TypeError);
  assert.throws(() => new SharedAggregate(null as unknown as { path: string }), TypeError);
  assert.throws(() => new SharedAggregate({ path: 5 as unknown as string }), TypeError);
  assert.equal(existsSync(tmp.path), false);
});

/**
 * Writes `value` as a float64 into field `field` of writer region 0 of the
 * aggregate file at `path` (default buckets), as a stray write would.
 */
function writeRegionField(path: string, field: number, value: number): void {
  const areaSlot = 14 + 32 + 1; // layout slots, 32 buckets, the reset epoch
  const fd = openSync(path, "r+");
  try {
    writeSync(fd, new Float64Array([value]), 0, 8, areaSlot * Raindrops.SIZE + field * 8);
  } finally {
    closeSync(fd);
  }
}

/** The aggregate's count as its parts tell it: the outliers plus every bucket. */
function partsCount(agg: SharedAggregate): number {
  return agg.outliersLow + agg.outliersHigh + [...agg.buckets()].reduce((a, b) => a + b.count, 0);
}

test("a NaN written into a region's count neither hides the region nor loses later adds: it is repaired", () => {
  using tmp = tempShm("agg-nan");
  using agg = new SharedAggregate({ path: tmp.path });
  for (const x of [5, 6, 7]) agg.add(x);
  writeRegionField(tmp.path, 2, NaN); // region 0's count
  assert.equal(agg.count, 3);
  assert.equal(agg.mean, 6);
  agg.add(10);
  assert.equal(agg.count, 4);
  assert.equal(agg.sum, 28);
  assert.equal(partsCount(agg), 4);
  writeRegionField(tmp.path, 2, -5); // a negative one too
  agg.add(2);
  assert.deepEqual([agg.count, agg.sum, agg.min, agg.max], [5, 30, 2, 10]);
});

test("a writer stopped between counting a sample's bucket and its count leaves count and buckets agreeing", () => {
  using tmp = tempShm("agg-partial");
  using agg = new SharedAggregate({ path: tmp.path });
  for (const x of [5, 6, 7]) agg.add(x);
  // The state such a writer leaves: one more in the bucket of 4..7, the count not yet raised.
  writeRegionField(tmp.path, 9 + 2, 4);
  assert.equal(agg.count, 4);
  assert.equal(partsCount(agg), agg.count);
  agg.add(1);
  assert.equal(agg.count, 5);
  assert.equal(partsCount(agg), 5);
});

/** Starts the killed-writer fixture and resolves with it once its first sample is in. */
function startWriter(runtime: RuntimeName, path: string, sample: number) {
  const child = spawn(RUNTIMES[runtime], [
    ...scriptArgs(runtime, fixture("aggregate_killed_writer.ts")),
    path,
    `${sample}`,
  ], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const closed = new Promise<string | null>((resolve) => child.on("close", (_code, signal) => resolve(signal)));
  const ready = new Promise<void>((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (d) => {
      out += d;
      if (out.includes("ready")) resolve();
    });
    closed.then(() => reject(new Error(`the writer ended before its first sample: ${out}`)));
  });
  return { child, ready, closed };
}

test("writers SIGKILLed mid-add leave at most one sample each partly added, on regions and atomic counters", async () => {
  using tmp = tempShm("agg-killed");
  const sample = 1000;
  const KILLS = 6; // per phase, alternating Deno and Bun
  /** Kills KILLS writers, each some milliseconds into its adds, and checks the figures' bound. */
  async function killWriters(phase: string): Promise<void> {
    for (let k = 0; k < KILLS; k++) {
      const writer = startWriter(k % 2 ? "bun" : "deno", tmp.path, sample);
      await writer.ready;
      await new Promise((r) => setTimeout(r, 1 + k * 3));
      process.kill(writer.child.pid!, "SIGKILL");
      assert.equal(await writer.closed, "SIGKILL");
    }
    using agg = new SharedAggregate({ path: tmp.path });
    const n = agg.count;
    assert.ok(n >= KILLS, `${phase}: ${n} samples`);
    assert.equal(partsCount(agg), n, `${phase}: the count is the outliers plus the buckets`);
    assert.ok(Math.abs(agg.sum - n * sample) <= KILLS * sample, `${phase}: sum ${agg.sum} for ${n} samples`);
    const squares = Number(agg.sumOfSquares);
    assert.ok(Math.abs(squares - n * sample ** 2) <= KILLS * sample ** 2, `${phase}: squares ${squares} for ${n}`);
    assert.deepEqual([agg.min, agg.max], [sample, sample]);
  }
  await killWriters("regions");
  // Every region now taken (the killed writers keep theirs): the next writers add atomically.
  const holders = takeEveryRegion(tmp.path, 32);
  try {
    await killWriters("atomic counters");
  } finally {
    for (const h of holders) h.evaporate();
  }
});
