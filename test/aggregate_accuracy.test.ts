import { test } from "node:test";
import assert from "node:assert/strict";
import { Aggregate } from "../src/aggregate/aggregate.ts";
import { SharedAggregate } from "../src/aggregate/shared_aggregate.ts";
import { tempShm } from "./_helpers.ts";

/**
 * Figures of integer samples from exact rational arithmetic: the mean
 * rounded once from sum / n, the variance from the exact n·Σx² − (Σx)².
 */
function exactFigures(samples: number[]) {
  const n = BigInt(samples.length);
  const sum = samples.reduce((a, x) => a + BigInt(x), 0n);
  const squares = samples.reduce((a, x) => a + BigInt(x) ** 2n, 0n);
  // sum / n to 60 fractional bits, then rounded once to a double
  const mean = Number((sum << 60n) / n) / 2 ** 60;
  const variance = Number(n * squares - sum * sum) / Number(n * (n - 1n));
  return { sum: Number(sum), mean, variance, min: Math.min(...samples), max: Math.max(...samples) };
}

function lcg(seed: number): () => number {
  let x = seed;
  return () => (x = (x * 1103515245 + 12345) % 2147483648);
}

const SETS: Record<string, number[]> = {
  "4 x (1..100)": Array.from({ length: 400 }, (_, i) => (i % 100) + 1),
  "milliseconds 0..4999": Array.from({ length: 3000 }, lcg(7)).map((x) => x % 5000),
  "large and close: 10^15 + 0..9": Array.from({ length: 10 }, (_, i) => 1e15 + i),
  "sum beyond 2^53: 2000 x around 2^52": Array.from({ length: 2000 }, (_, i) => 2 ** 52 + i * 977),
  "squares beyond 2^53, up to 2^53-1": [2 ** 53 - 1, 2 ** 32, 2 ** 32 - 1, 94_906_267, 3, 0, 2 ** 40 + 7],
};
const SIGNED_SETS: Record<string, number[]> = {
  "negative and positive": [-5, -3, 0, 3, 5, 7],
  "negative, large: -(2^53-1) .. 2^53-1": [-(2 ** 53 - 1), -(2 ** 52), -1, 0, 2 ** 52, 2 ** 53 - 1, 12345],
  "all negative, close together": Array.from({ length: 50 }, (_, i) => -1e12 - (i % 7)),
};

test("4 x (1..100) gives mean 50.5 and stddev 28.90222043139007 in-process and shared, as the gem", () => {
  using tmp = tempShm("acc-gem");
  using shared = new SharedAggregate({ path: tmp.path });
  const local = new Aggregate();
  for (const x of SETS["4 x (1..100)"]) local.add(x), shared.add(x);
  for (const agg of [local, shared]) {
    assert.equal(agg.mean, 50.5);
    // n·Σx² − (Σx)² = 400·1353400 − 20200² = 133320000, over n(n−1) = 159600
    assert.equal(agg.variance, 133320000 / 159600);
    assert.equal(agg.stddev, 28.90222043139007);
  }
});

for (const [name, samples] of Object.entries(SETS)) {
  test(`in-process and shared aggregates agree exactly with exact arithmetic: ${name}`, () => {
    using tmp = tempShm("acc-set");
    using shared = new SharedAggregate({ path: tmp.path, buckets: 64 });
    const local = new Aggregate({ buckets: 64 });
    for (const x of samples) local.add(x), shared.add(x);
    const want = exactFigures(samples);
    for (const [kind, agg] of [["Aggregate", local], ["SharedAggregate", shared]] as const) {
      assert.equal(agg.count, samples.length, `${kind} count`);
      assert.equal(agg.sum, want.sum, `${kind} sum`);
      assert.equal(agg.min, want.min, `${kind} min`);
      assert.equal(agg.max, want.max, `${kind} max`);
      assert.equal(agg.mean, want.mean, `${kind} mean`);
      assert.equal(agg.variance, want.variance, `${kind} variance`);
    }
    assert.deepEqual(local.toJSON(), shared.toJSON());
  });
}

for (const [name, samples] of Object.entries(SIGNED_SETS)) {
  test(`negative integer samples keep exact figures in-process: ${name}`, () => {
    const agg = new Aggregate();
    for (const x of samples) agg.add(x);
    const want = exactFigures(samples);
    assert.equal(agg.sum, want.sum);
    assert.equal(agg.min, want.min);
    assert.equal(agg.max, want.max);
    assert.equal(agg.mean, want.mean);
    assert.equal(agg.variance, want.variance);
  });
}

test("fractional samples: the compensated mean is exact and the variance accurate for large, close samples", () => {
  // Quarters around 10^9: every sample is 4·k / 4, so exact figures come from the integers k.
  const quarters = Array.from({ length: 1000 }, lcg(3)).map((x) => 4e9 + (x % 1000));
  const agg = new Aggregate();
  for (const k of quarters) agg.add(k / 4);
  const scaled = exactFigures(quarters);
  assert.equal(agg.mean, scaled.mean / 4);
  const variance = scaled.variance / 16;
  assert.ok(Math.abs(agg.variance! - variance) <= 1e-12 * variance, `${agg.variance} vs ${variance}`);
  // the textbook Σx² − (Σx)²/n in doubles is off by far more here
  const n = quarters.length, s = quarters.reduce((a, k) => a + k / 4, 0);
  const naive = (quarters.reduce((a, k) => a + (k / 4) ** 2, 0) - (s * s) / n) / (n - 1);
  assert.ok(Math.abs(naive - variance) > 1e-6 * variance, "the case is hard for a naive sum");
});

test("a fractional sample after integer ones continues from the exact integer figures", () => {
  const agg = new Aggregate();
  const integers = Array.from({ length: 999 }, (_, i) => 1e12 + i);
  for (const x of integers) agg.add(x);
  agg.add(1e12 + 999.5);
  // Over 2·x: the integers 2e12 + 0, 2, ..., 1996 and 2e12 + 1999.
  const doubled = [...integers.map((x) => 2 * x), 2e12 + 1999];
  const want = exactFigures(doubled);
  assert.equal(agg.mean, want.mean / 2);
  assert.ok(Math.abs(agg.variance! - want.variance / 4) <= 1e-12 * (want.variance / 4));
  assert.equal(agg.sum, want.sum / 2);
  assert.equal(agg.max, 1e12 + 999.5);
});

test("a shared min and max stay exact where float32 cannot tell samples apart", () => {
  using tmp = tempShm("acc-extremes");
  using agg = new SharedAggregate({ path: tmp.path, buckets: 64 });
  const next = lcg(11);
  const samples: number[] = [];
  for (const base of [0, 2 ** 24, 2 ** 40, 2 ** 53 - 2 ** 20]) {
    for (let i = 0; i < 300; i++) samples.push(base + (next() % 1_000_000));
  }
  samples.push(2 ** 53 - 1, 2 ** 53 - 2);
  let min = Infinity, max = -Infinity;
  for (let i = samples.length - 1; i >= 0; i--) {
    const x = samples[(i * 7919) % samples.length];
    agg.add(x);
    min = Math.min(min, x), max = Math.max(max, x);
    assert.equal(agg.min, min, `min after ${x}`);
    assert.equal(agg.max, max, `max after ${x}`);
  }
  agg.reset();
  assert.equal(agg.min, undefined);
  agg.add(2 ** 24 + 1);
  agg.add(2 ** 24 + 3);
  assert.equal(agg.min, 2 ** 24 + 1, "2^24+1 and 2^24+3 round to one float32");
  assert.equal(agg.max, 2 ** 24 + 3);
});
