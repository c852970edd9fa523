import { test } from "node:test";
import assert from "node:assert/strict";
import { decodeAddress, encodeAddress, formatAddress, joinHostPort, parseAddress } from "../src/linux/address.ts";
import { AddressError } from "../src/errors.ts";

test("IPv4 and IPv6 addresses parse and print canonically", () => {
  const cases: [string, string][] = [
    ["127.0.0.1:8080", "127.0.0.1:8080"],
    ["0.0.0.0:0", "0.0.0.0:0"],
    ["[::1]:80", "[::1]:80"],
    ["[::]:65535", "[::]:65535"],
    ["[2001:DB8:0:0:0:0:0:1]:443", "[2001:db8::1]:443"],
    ["[2001:db8:0:0:1:0:0:1]:1", "[2001:db8::1:0:0:1]:1"],
    ["[::ffff:10.1.2.3]:80", "[::ffff:10.1.2.3]:80"],
    ["[fe80::1%eth0]:22", "[fe80::1]:22"],
    ["[1:2:3:4:5:6:7:8]:9", "[1:2:3:4:5:6:7:8]:9"],
  ];
  for (const [input, canonical] of cases) assert.equal(formatAddress(parseAddress(input)), canonical, input);
});

test("addresses round-trip through the 20-byte native record", () => {
  const buf = new Uint8Array(40);
  encodeAddress(parseAddress("10.0.0.7:513"), buf, 0);
  encodeAddress(parseAddress("[2001:db8::5]:65535"), buf, 20);
  assert.deepEqual([...buf.subarray(0, 8)], [4, 0, 513 & 0xff, 513 >> 8, 10, 0, 0, 7]);
  assert.equal(formatAddress(decodeAddress(buf, 0)), "10.0.0.7:513");
  assert.equal(formatAddress(decodeAddress(buf, 20)), "[2001:db8::5]:65535");
});

test("joinHostPort brackets IPv6 hosts once and leaves IPv4 hosts alone", () => {
  assert.equal(joinHostPort("127.0.0.1", 80), "127.0.0.1:80");
  assert.equal(joinHostPort("::1", 8080), "[::1]:8080");
  assert.equal(joinHostPort("::ffff:127.0.0.1", 1), "[::ffff:127.0.0.1]:1");
  assert.equal(joinHostPort("[::1]", 2), "[::1]:2");
});

test("malformed addresses are AddressErrors (a RangeError) that say why", () => {
  const bad: [string, RegExp][] = [
    ["127.0.0.1", /missing port/],
    ["127.0.0.1:", /missing port/],
    ["127.0.0.1:65536", /above 65535/],
    ["127.0.0.1:-1", /not a number/],
    ["127.0.0.1:8a", /not a number/],
    ["256.0.0.1:80", /bad IPv4/],
    ["1.2.3:80", /bad IPv4/],
    ["01.2.3.4:80", /bad IPv4/],
    ["localhost:80", /no DNS/],
    ["[::1:80", /unclosed \[/],
    ["[::1]", /missing port/],
    ["[::1]80", /missing port/],
    ["[1::2::3]:80", /bad IPv6/],
    ["[12345::]:80", /bad IPv6/],
    ["[1:2:3:4:5:6:7:8:9]:80", /bad IPv6/],
    ["::1:80", /brackets/],
    ["", /missing port/],
  ];
  for (const [input, why] of bad) {
    assert.throws(
      () => parseAddress(input),
      (e) => e instanceof AddressError && e instanceof RangeError && why.test(e.message),
      input,
    );
  }
  assert.throws(() => parseAddress(80 as unknown as string), TypeError);
});
