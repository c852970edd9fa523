import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, statSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { Errno, EvaporatedError, ForeignFileError, NativeError, Raindrops } from "../mod.ts";
import { tempShm } from "./_helpers.ts";

test("constants: slot size is the cache line, page size, max is 2^64-1", () => {
  const line = Number(Deno_or_sysfs_line_size());
  assert.equal(Raindrops.SIZE, line);
  assert.equal(Raindrops.PAGE_SIZE, 4096);
  assert.equal(Raindrops.MAX, 2n ** 64n - 1n);
});

function Deno_or_sysfs_line_size(): string {
  // Read the same sysfs file the Zig core reads, independently.
  // deno-lint-ignore no-explicit-any
  const fs = (globalThis as any).process.getBuiltinModule("node:fs");
  return fs.readFileSync("/sys/devices/system/cpu/cpu0/cache/index0/coherency_line_size", "utf8").trim();
}

test("a process pinned to one CPU agrees on the slot size, so shared files keep one layout", () => {
  const deno = new URL("../node_modules/.bin/deno", import.meta.url).pathname;
  const script = `import { Raindrops } from "${
    new URL("../mod.ts", import.meta.url).href
  }"; console.log(Raindrops.SIZE);`;
  const pinned = execFileSync("taskset", ["-c", "0", deno, "eval", script], { encoding: "utf8" }).trim();
  assert.equal(Number(pinned), Raindrops.SIZE);
});

test("new Raindrops(4) rounds capacity up to a whole page of slots", () => {
  using r = new Raindrops(4);
  assert.equal(r.size, 4);
  assert.equal(r.capa, Raindrops.PAGE_SIZE / Raindrops.SIZE);
  assert.deepEqual(r.toArray(), [0, 0, 0, 0]);
});

test("incr and decr return the new value, with default and explicit deltas", () => {
  using r = new Raindrops(2);
  assert.equal(r.incr(0), 1);
  assert.equal(r.incr(0, 41), 42);
  assert.equal(r.decr(0), 41);
  assert.equal(r.decr(0, 40), 1);
  assert.equal(r.incr(1, 0), 0);
  assert.deepEqual(r.toArray(), [1, 0]);
});

test("decr below 0 wraps to 2^64-1 and incr past 2^64-1 wraps to 0", () => {
  using r = new Raindrops(1);
  assert.equal(r.decr(0), 2 ** 64);
  assert.equal(r.getBigInt(0), 2n ** 64n - 1n);
  assert.equal(r.incr(0), 0);
  assert.equal(r.getBigInt(0), 0n);
});

test("values above 2^53 are exact through the bigint API", () => {
  using r = new Raindrops(1);
  const big = 2n ** 53n + 1n;
  r.set(0, big);
  assert.equal(r.getBigInt(0), big);
  r.incr(0, 2n);
  assert.equal(r.getBigInt(0), big + 2n);
  r.decr(0, 2n ** 60n);
  assert.equal(r.getBigInt(0), (big + 2n - 2n ** 60n + 2n ** 64n) % 2n ** 64n);
  assert.deepEqual(r.toBigIntArray(), [r.getBigInt(0)]);
});

test("incr carries exactly across 2^32 and decr borrows back", () => {
  using r = new Raindrops(1);
  r.set(0, 2 ** 32 - 2);
  assert.equal(r.incr(0), 2 ** 32 - 1);
  assert.equal(r.incr(0), 2 ** 32);
  assert.equal(r.incr(0, 7), 2 ** 32 + 7);
  assert.equal(r.decr(0, 8), 2 ** 32 - 1);
  assert.equal(r.getBigInt(0), 2n ** 32n - 1n);
  r.set(0, 5 * 2 ** 32 + 3);
  assert.equal(r.incr(0, 0xffffffff), 6 * 2 ** 32 + 2);
});

test("compareExchange swaps only when the expected value is there", () => {
  using r = new Raindrops(1);
  assert.equal(r.compareExchange(0, 1, 5), 0n);
  assert.equal(r.get(0), 0);
  assert.equal(r.compareExchange(0, 0, 2n ** 63n), 0n);
  assert.equal(r.compareExchange(0, 2n ** 63n, 7), 2n ** 63n);
  assert.equal(r.get(0), 7);
  assert.throws(() => r.compareExchange(0, -1, 0), RangeError);
});

test("set and get round-trip numbers and bigints", () => {
  using r = new Raindrops(3);
  r.set(2, 123456789);
  r.set(1, 2n ** 64n - 1n);
  assert.equal(r.get(2), 123456789);
  assert.equal(r.getBigInt(1), 2n ** 64n - 1n);
});

test("size shrinks and grows within capa for free, and beyond capa keeps values", () => {
  using r = new Raindrops(4);
  r.set(3, 33);
  r.size = 2;
  assert.deepEqual(r.toArray(), [0, 0]);
  assert.throws(() => r.get(3), RangeError);
  r.size = 4;
  assert.equal(r.get(3), 33);
  const capa = r.capa;
  r.size = capa * 3 + 1;
  assert.equal(r.size, capa * 3 + 1);
  assert.equal(r.capa, capa * 4);
  assert.equal(r.get(3), 33);
  r.incr(capa * 3, 9);
  assert.equal(r.get(capa * 3), 9);
});

test("dup is an independent snapshot in anonymous memory", () => {
  using tmp = tempShm("dup");
  using r = new Raindrops(3, { path: tmp.path });
  r.set(0, 5);
  r.set(2, 2n ** 60n);
  using copy = r.dup();
  assert.equal(copy.path, undefined);
  assert.deepEqual(copy.toBigIntArray(), [5n, 0n, 2n ** 60n]);
  copy.incr(0);
  r.incr(1);
  assert.deepEqual(r.toArray(), [5, 1, 2 ** 60]);
  assert.deepEqual(copy.toArray(), [6, 0, 2 ** 60]);
});

test("evaporate unmaps: every later use throws EvaporatedError, a second evaporate too", () => {
  const r = new Raindrops(2);
  r.evaporate();
  assert.equal(r.evaporated, true);
  for (
    const use of [
      () => r.incr(0),
      () => r.decr(0),
      () => r.get(0),
      () => r.getBigInt(0),
      () => r.set(0, 1),
      () => r.toArray(),
      () => r.size,
      () => {
        r.size = 3;
      },
      () => r.capa,
      () => r.dup(),
      () => r.evaporate(),
    ]
  ) assert.throws(use, EvaporatedError);
  r[Symbol.dispose](); // disposing an evaporated set is a no-op
});

test("file-backed sets keep values on reopen, zero: true clears them, mode is 0600", () => {
  using tmp = tempShm("file");
  {
    using a = new Raindrops(2, { path: tmp.path });
    a.incr(1, 7);
  }
  assert.equal(statSync(tmp.path).mode & 0o777, 0o600);
  {
    using b = new Raindrops(2, { path: tmp.path });
    assert.deepEqual(b.toArray(), [0, 7]);
    using c = new Raindrops(2, { path: tmp.path });
    c.incr(0);
    assert.equal(b.get(0), 1, "two mappings of one file share counters");
  }
  using z = new Raindrops(2, { path: tmp.path, zero: true });
  assert.deepEqual(z.toArray(), [0, 0]);
  assert.equal(z.path, tmp.path);
});

test("growing a file-backed set beyond capa extends the file for other openers", () => {
  using tmp = tempShm("grow");
  using a = new Raindrops(1, { path: tmp.path });
  const capa = a.capa;
  a.size = capa + 1;
  a.set(capa, 99);
  assert.equal(statSync(tmp.path).size, 2 * Raindrops.PAGE_SIZE);
  using b = new Raindrops(capa + 1, { path: tmp.path });
  assert.equal(b.get(capa), 99);
});

test("bad index: negative, fractional, NaN, huge, out of range or wrong type", () => {
  using r = new Raindrops(4);
  for (const i of [-1, 0.5, NaN, Infinity, 2 ** 32, 4, 1e300]) {
    assert.throws(() => r.incr(i), RangeError, `incr(${i})`);
    assert.throws(() => r.get(i), RangeError, `get(${i})`);
    assert.throws(() => r.set(i, 1), RangeError, `set(${i})`);
  }
  for (const i of ["0", null, undefined, 0n, {}]) {
    assert.throws(() => r.incr(i as unknown as number), TypeError);
    assert.throws(() => r.decr(i as unknown as number), TypeError);
  }
  assert.deepEqual(r.toArray(), [0, 0, 0, 0], "no bad call changed anything");
});

test("bad delta or value: negative, fractional, NaN, beyond 2^64-1 or wrong type", () => {
  using r = new Raindrops(1);
  for (const d of [-1, 1.5, NaN, Infinity, 2 ** 53, -1n, 2n ** 64n]) {
    assert.throws(() => r.incr(0, d), RangeError, `incr(0, ${d})`);
    assert.throws(() => r.decr(0, d), RangeError, `decr(0, ${d})`);
    assert.throws(() => r.set(0, d), RangeError, `set(0, ${d})`);
  }
  for (const d of ["1", null, {}, true]) {
    assert.throws(() => r.incr(0, d as unknown as number), TypeError);
    assert.throws(() => r.set(0, d as unknown as number), TypeError);
  }
  assert.equal(r.get(0), 0);
});

test("bad size: below 1, fractional, NaN, huge or wrong type", () => {
  for (const s of [0, -1, 1.5, NaN, 2 ** 40]) assert.throws(() => new Raindrops(s), RangeError);
  for (const s of ["4", undefined, null, 4n]) assert.throws(() => new Raindrops(s as unknown as number), TypeError);
  using r = new Raindrops(1);
  assert.throws(() => {
    r.size = 0;
  }, RangeError);
  assert.equal(r.size, 1);
});

test("bad path: unwritable, missing folder, a directory, NUL byte or wrong type", () => {
  assert.throws(
    () => new Raindrops(1, { path: "/proc/raindrops-test-nope" }),
    (e) => e instanceof NativeError && e.code === "ENOENT",
  );
  assert.throws(
    () => new Raindrops(1, { path: "/no/such/dir/raindrops-test" }),
    (e) => e instanceof NativeError && e.code === "ENOENT",
  );
  assert.throws(
    () => new Raindrops(1, { path: "/dev/shm" }),
    (e) => e instanceof ForeignFileError && e.errno === Errno.EISDIR && e.path === "/dev/shm",
  );
  assert.throws(() => new Raindrops(1, { path: "/sys/kernel/raindrops-test" }), NativeError);
  assert.throws(() => new Raindrops(1, { path: "a\0b" }), RangeError);
  assert.throws(() => new Raindrops(1, { path: "" }), RangeError);
  assert.throws(() => new Raindrops(1, { path: 5 as unknown as string }), TypeError);
  assert.throws(() => new Raindrops(1, null as unknown as object), TypeError);
  assert.equal(existsSync("/proc/raindrops-test-nope"), false);
});
