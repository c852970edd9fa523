// hasPath compares a request URL's path in place; it must answer exactly
// as decoding the path with requestPath and comparing would.
import { test } from "node:test";
import assert from "node:assert/strict";
import { hasPath, requestPath } from "../src/middleware/_request_path.ts";

const PATHS = ["/_raindrops", "/", "/a", "/a%20b", "/_raindrops/x"];
const URLS = [
  "http://127.0.0.1:8080/_raindrops",
  "http://127.0.0.1:8080/_raindrops?format=json",
  "https://example.com/_raindrops",
  "http://[::1]:8080/_raindrops#frag",
  "http://x/%5Fraindrops",
  "http://x/%5fraindrops?x=%2F",
  "http://x/_raindr%6Fps",
  "http://x/_raindrops%3F",
  "http://x/_raindrops/",
  "http://x/_raindropsx",
  "http://x/_raindrop",
  "http://x/_raindrops/x",
  "http://x",
  "http://x/",
  "http://x/?q",
  "http://x/a%20b",
  "http://x/a b",
  "http://x/%E0%A4%A",
  "/_raindrops",
  "/%5Fraindrops?format=json",
  "/",
  "ws://x/_raindrops",
];

test("hasPath agrees with requestPath on crafted URLs", () => {
  for (const url of URLS) {
    for (const path of PATHS) {
      assert.equal(hasPath(url, path), requestPath(url) === path, `hasPath(${url}, ${path})`);
    }
  }
});

test("hasPath agrees with requestPath on random URLs near the stats path", () => {
  const seed = Date.now() >>> 0;
  let state = seed;
  const random = (n: number) => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state % n;
  };
  const pieces = ["/", "_", "r", "a", "%5F", "%5f", "%2F", "%", "?", "x", "%20", " ", "#"];
  for (let i = 0; i < 20_000; i++) {
    let tail = "/_raindrops".slice(0, random(12));
    for (let k = random(4); k > 0; k--) tail += pieces[random(pieces.length)];
    const url = (random(3) === 0 ? "" : random(2) ? "http://h:1" : "https://h") +
      (tail.startsWith("/") ? tail : `/${tail}`);
    for (const path of ["/_raindrops", "/_r"]) {
      assert.equal(hasPath(url, path), requestPath(url) === path, `seed ${seed}: hasPath(${url}, ${path})`);
    }
  }
});
