import { test } from "node:test";
import assert from "node:assert/strict";
import { EvaporatedError, Struct } from "../mod.ts";
import { tempShm } from "./_helpers.ts";

const Stats = Struct(["calling", "writing"]);

test("a Struct class has one counter per member, read and written by name", () => {
  using s = new Stats();
  assert.deepEqual(Stats.members, ["calling", "writing"]);
  assert.equal(s.incr("calling"), 1);
  assert.equal(s.incr("writing", 5), 5);
  assert.equal(s.decr("writing", 2), 3);
  s.set("calling", 10);
  assert.equal(s.get("calling"), 10);
  assert.deepEqual(s.toObject(), { calling: 10, writing: 3 });
});

test("member properties read and assign the counters", () => {
  using s = new Stats();
  s.writing = 4;
  assert.equal(s.writing, 4);
  assert.equal(s.raindrops.get(1), 4);
  s.set("writing", 2n ** 60n);
  assert.equal(s.getBigInt("writing"), 2n ** 60n);
});

test("initial values fill members in order; too many is a RangeError", () => {
  using s = new Stats([7]);
  assert.deepEqual(s.toObject(), { calling: 7, writing: 0 });
  assert.throws(() => new Stats([1, 2, 3]), RangeError);
  assert.throws(() => new Stats("12" as unknown as number[]), TypeError);
  assert.throws(() => new Stats([-1]), RangeError);
});

test("a bad initial value throws and leaves no mapping of the file behind", () => {
  using tmp = tempShm("struct-bad");
  assert.throws(() => new Stats([1, -1], { path: tmp.path }), RangeError);
  // deno-lint-ignore no-explicit-any
  const fs = (globalThis as any).process.getBuiltinModule("node:fs");
  assert.equal(fs.readFileSync("/proc/self/maps", "utf8").includes(tmp.path), false);
});

test("a Struct opened by path is shared with another opener", () => {
  using tmp = tempShm("struct");
  using a = new Stats([], { path: tmp.path, zero: true });
  using b = new Stats([], { path: tmp.path });
  a.incr("writing");
  b.incr("writing");
  assert.equal(a.writing, 2);
});

test("bad member names and unknown members are rejected", () => {
  assert.throws(() => Struct([]), TypeError);
  assert.throws(() => Struct(["a", "a"]), RangeError);
  assert.throws(() => Struct([""]), TypeError);
  assert.throws(() => Struct(["incr"]), RangeError);
  using s = new Stats();
  assert.throws(() => s.incr("nope" as "calling"), RangeError);
});

test("an evaporated struct throws EvaporatedError", () => {
  const s = new Stats();
  s.evaporate();
  assert.throws(() => s.incr("calling"), EvaporatedError);
  assert.throws(() => s.toObject(), EvaporatedError);
  assert.throws(() => s.calling, EvaporatedError);
});

test("members are read and assigned by position too, in the order given", () => {
  using s = new Stats([3, 4]);
  assert.equal(s[0], 3);
  assert.equal(s[1], 4);
  s[1] = 9;
  assert.equal(s.writing, 9);
  s.incr("calling");
  assert.equal(s[0], 4);
  assert.equal(s[2], undefined, "no position beyond the members");
  const first: number = s[0]; // typed as a number
  assert.equal(first, 4);
});

test("dup() is an independent anonymous copy with the same values", () => {
  using tmp = tempShm("struct-dup");
  using s = new Stats([5, 6], { path: tmp.path });
  using copy = s.dup();
  assert.ok(copy instanceof (Stats as unknown as new () => object));
  assert.deepEqual(copy.toObject(), { calling: 5, writing: 6 });
  assert.equal(copy.raindrops.path, undefined, "the copy is not backed by the file");
  copy.incr("calling");
  s.incr("writing", 10);
  assert.deepEqual(s.toObject(), { calling: 5, writing: 16 });
  assert.deepEqual(copy.toObject(), { calling: 6, writing: 6 });
  s.evaporate();
  assert.equal(copy.calling, 6, "the copy outlives the original");
});

test("member names clashing with the instance's own properties or positions are refused", () => {
  for (const name of ["raindrops", "dup", "get", "toObject", "constructor", "toString", "__proto__", "0", "1"]) {
    assert.throws(() => Struct([name]), RangeError, name);
  }
  assert.throws(() => Struct(["a", "raindrops"]), RangeError);
});
