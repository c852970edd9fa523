import { test } from "node:test";
import assert from "node:assert/strict";
import { sameOrigin, sameOriginPath } from "../src/http/same_origin.ts";

test("sameOrigin passes no Origin and the Host's own origin, and refuses null, other hosts and garbage", () => {
  assert.equal(sameOrigin(undefined, "127.0.0.1:9418"), true);
  assert.equal(sameOrigin("http://127.0.0.1:9418", "127.0.0.1:9418"), true);
  assert.equal(sameOrigin("http://Box.Internal:8080", "BOX.internal:8080"), true);
  assert.equal(sameOrigin("null", "127.0.0.1:9418"), false);
  assert.equal(sameOrigin("", "127.0.0.1:9418"), false);
  assert.equal(sameOrigin("http://127.0.0.1:9419", "127.0.0.1:9418"), false);
  assert.equal(sameOrigin("https://evil.example", "127.0.0.1:9418"), false);
  assert.equal(sameOrigin("not a url", "127.0.0.1:9418"), false);
});

test("sameOriginPath gives a same-host Referer's single-slash path and query, else undefined", () => {
  const host = "127.0.0.1:9418";
  assert.equal(sameOriginPath("http://127.0.0.1:9418/w/active/x.html?a=1", host), "/w/active/x.html?a=1");
  assert.equal(sameOriginPath(undefined, host), undefined);
  assert.equal(sameOriginPath("", host), undefined);
  assert.equal(sameOriginPath("http://evil.example/", host), undefined);
  assert.equal(sameOriginPath("http://127.0.0.1:9418//evil.example/", host), undefined);
  assert.equal(sameOriginPath("http://127.0.0.1:9418/\\evil.example/", host), undefined);
  assert.equal(sameOriginPath("::", host), undefined);
});
