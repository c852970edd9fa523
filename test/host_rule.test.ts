import { test } from "node:test";
import assert from "node:assert/strict";
import { hostRule } from "../src/http/host_rule.ts";

test("hostRule allows IP literals, localhost and configured names, with or without a port", () => {
  const allowed = hostRule(["stats.example.com", "Box.Internal."]);
  for (
    const host of [
      "127.0.0.1",
      "127.0.0.1:9418",
      "10.1.2.3:80",
      "[::1]",
      "[::1]:9418",
      "[2001:db8::5]:443",
      "localhost",
      "LOCALHOST:3000",
      "localhost.:3000",
      "stats.example.com",
      "stats.example.com:8080",
      "box.internal",
      undefined,
      null,
    ]
  ) assert.equal(allowed(host), true, String(host));
});

test("hostRule refuses other names, malformed hosts and IPv6 without brackets", () => {
  const allowed = hostRule(["stats.example.com"]);
  for (
    const host of [
      "",
      "evil.example",
      "evil.example:9418",
      "stats.example.com.evil.example",
      "localhost.evil.example",
      "127.0.0.1.nip.io",
      "127.0.0.1:x",
      "127.0.0.1:123456",
      "::1",
      "[::1",
      "[::1]x",
      "[fe80::1%25eth0]:80",
      "256.0.0.1",
      ":80",
    ]
  ) assert.equal(allowed(host), false, host);
});

test("hostRule checks its names: TypeError for non-strings, RangeError for what is not a host name", () => {
  assert.throws(() => hostRule("a" as never), TypeError);
  assert.throws(() => hostRule([1 as never]), TypeError);
  for (const bad of ["", "http://x", "x:80", "a b", "x/y", "-", "a..b", "x".repeat(300)]) {
    assert.throws(() => hostRule([bad]), RangeError, bad);
  }
});

test("hostRule answers long crafted Host headers quickly", () => {
  const allowed = hostRule();
  for (const host of ["[".repeat(100_000), ":".repeat(100_000), "a.".repeat(50_000), "1".repeat(100_000)]) {
    const t0 = performance.now();
    assert.equal(allowed(host), false);
    assert.ok(performance.now() - t0 < 20, "bounded time");
  }
});
