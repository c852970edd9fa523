import { test } from "node:test";
import assert from "node:assert/strict";
import { AddressError } from "../src/errors.ts";
import {
  ADDR_RECORD,
  decodeAddress,
  encodeAddress,
  formatAddress,
  formatRecord,
  joinHostPort,
  parseAddress,
  parseHost,
  withoutScope,
} from "../src/linux/address.ts";
import { tcpListenerStats } from "../src/linux/listen_stats.ts";

/** Each parser call on one crafted string may take at most this long. */
const BUDGET_MS = 20;
const N = 50_000;

/** Long strings shaped after each parser's branches: scope ids, brackets, colons, dots, digits. */
const CRAFTED: Record<string, string> = {
  "percent signs": "%".repeat(N),
  "[ then percent signs": "[" + "%".repeat(N),
  "[ percent signs ]": "[" + "%".repeat(N) + "]:80",
  "percent-bracket pairs": "%]".repeat(N / 2),
  "[fe80::1 then a long scope": "[fe80::1%" + "e".repeat(N) + "]:80",
  colons: ":".repeat(N),
  "[colons]:1": "[" + ":".repeat(N) + "]:1",
  "double colons": "::".repeat(N / 2),
  "hex groups": "abcd:".repeat(N / 5) + "1",
  "dotted ones": "1.".repeat(N / 2) + "1:80",
  "a long port": "1.2.3.4:" + "9".repeat(N),
  "digits": "9".repeat(N),
  "unclosed brackets": "[".repeat(N),
  "closing brackets": "]".repeat(N),
  "v4-mapped tail": "::ffff:" + "1.".repeat(N / 2),
};

/** A printable seed per run, so a failure can be replayed. */
const SEED = Number(process.env.RAINDROPS_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));

/** mulberry32: a small seeded generator. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** Runs `body` on `text`: within the budget, and either a value or a typed refusal. */
function check(name: string, what: string, body: () => unknown): void {
  const start = performance.now();
  try {
    body();
  } catch (e) {
    assert.ok(e instanceof AddressError, `${name} on ${what}: ${e}`);
  }
  const ms = performance.now() - start;
  assert.ok(ms <= BUDGET_MS, `${name} on ${what} took ${ms.toFixed(1)} ms`);
}

const PARSERS: Record<string, (s: string) => unknown> = {
  parseAddress,
  parseHost,
  withoutScope,
  "joinHostPort": (s) => joinHostPort(s, 80),
  "tcpListenerStats keys": (s) => tcpListenerStats([s]),
};

test("every address parser handles long crafted strings within 20 ms each", () => {
  for (const [what, text] of Object.entries(CRAFTED)) {
    for (const [name, parse] of Object.entries(PARSERS)) {
      check(name, `${what} (short)`, () => parse(text.slice(0, 64))); // warm up on a short piece
      check(name, what, () => parse(text));
    }
  }
});

test(`random long strings over the address alphabet: typed refusals within 20 ms (seed ${SEED})`, () => {
  console.log(`address fuzz seed ${SEED} (RAINDROPS_FUZZ_SEED=${SEED} replays it)`);
  const next = random(SEED);
  const alphabet = "[]:%.0123456789abcdefABCDEF";
  for (let round = 0; round < 40; round++) {
    const len = round % 2 ? Math.floor(next() * 80) : N;
    let text = "";
    for (let i = 0; i < len; i++) text += alphabet[Math.floor(next() * alphabet.length)];
    for (const [name, parse] of Object.entries(PARSERS)) {
      check(name, `random #${round} (${len} chars)`, () => parse(text));
    }
  }
});

test(`random native records decode, format and encode back to themselves (seed ${SEED})`, () => {
  const next = random(SEED ^ 0x5a5a);
  const rec = new Uint8Array(ADDR_RECORD);
  const again = new Uint8Array(ADDR_RECORD);
  for (let round = 0; round < 10_000; round++) {
    for (let i = 0; i < ADDR_RECORD; i++) rec[i] = Math.floor(next() * 256);
    rec[0] = next() < 0.5 ? 4 : 6;
    rec[1] = 0;
    const a = decodeAddress(rec);
    const text = formatAddress(a);
    assert.equal(formatRecord(rec), text);
    const back = parseAddress(text);
    encodeAddress(back, again);
    assert.deepEqual(again.subarray(0, 4 + a.bytes.length), rec.subarray(0, 4 + a.bytes.length), text);
  }
});

test("scope ids are dropped from keys only after the address is valid", () => {
  assert.equal(withoutScope("[fe80::1%eth0]:80"), "[fe80::1]:80");
  assert.equal(withoutScope("1.2.3.4:80"), "1.2.3.4:80");
  assert.deepEqual([...tcpListenerStats(["[fe80::1%lo]:1"]).keys()], ["[fe80::1]:1"]);
  assert.throws(() => tcpListenerStats(["[fe80::1%]:1"]), AddressError);
  assert.throws(() => tcpListenerStats(["%".repeat(N)]), AddressError);
  assert.equal(parseHost("fe80::1%eth0")?.family, 6);
  assert.equal(parseHost("fe80::1%a%b"), null);
});
