import { test } from "node:test";
import assert from "node:assert/strict";
import { isoSeconds } from "../src/_iso_time.ts";

test("isoSeconds prints UTC to the second, dropping the milliseconds", () => {
  assert.equal(isoSeconds(Date.UTC(2026, 0, 2, 3, 4, 5, 678)), "2026-01-02T03:04:05Z");
  assert.equal(isoSeconds(0), "1970-01-01T00:00:00Z");
  assert.throws(() => isoSeconds(Number.NaN), RangeError);
});
