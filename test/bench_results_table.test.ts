import { test } from "node:test";
import assert from "node:assert/strict";
import { formatTable, parseResults } from "../bench/results_table.ts";

const OUTPUT = [
  "counters: ns per operation — deno 2.9.6",
  'BENCH {"runtime":"deno 2.9.6","group":"counters","name":"Raindrops#incr","value":20.2,"unit":"ns/op","baseline":"Atomics.add","baselineValue":16.45,"ratio":1.228}',
  'BENCH {"runtime":"deno 2.9.6","group":"cut off","name":"x","val',
  'BENCH {"runtime":"bun 1.4.5","group":"mw","name":"bare","value":9.8,"unit":"CPU µs/request","spread":[9.1,11]}',
  "  app.use(raindrops())  1.200x no-op middleware (a line for people, not for the table)",
  'BENCH {"runtime":"bun 1.4.5","group":"mw","name":"raindrops","value":12,"unit":"CPU µs/request","baseline":"noop","baselineValue":10,"ratio":1.2,"ratioSpread":[1.19,1.21]}',
].join("\n");

test("bench output is gathered into rows: the BENCH lines, in order; other lines and a cut-off line are skipped", () => {
  const rows = parseResults(OUTPUT);
  assert.equal(rows.length, 3);
  assert.deepEqual(
    { name: rows[0].name, value: rows[0].value, baseline: rows[0].baseline, ratio: rows[0].ratio },
    { name: "Raindrops#incr", value: 20.2, baseline: "Atomics.add", ratio: 1.228 },
  );
  assert.equal(rows[1].baseline, undefined, "the baseline row has no baseline of its own");
  assert.deepEqual(rows[1].spread, [9.1, 11]);
  assert.equal(rows[2].baseline, "noop");
  assert.equal(rows[2].ratio, 1.2);
  assert.deepEqual(rows[2].ratioSpread, [1.19, 1.21]);
});

test("the table has one line per figure, every column aligned", () => {
  const lines = formatTable(parseResults(OUTPUT)).split("\n");
  assert.equal(lines.length, 2 + 3);
  const ratioEnd = lines[0].length;
  assert.ok(lines[2].endsWith("1.228x") && lines[2].length === ratioEnd);
  assert.ok(lines[4].endsWith("1.200x (1.190–1.210)"), "a ratio that is a median of rounds shows their spread");
  assert.equal(lines[4].length, ratioEnd, "the ratio column is right-aligned");
  const valueAt = lines[0].indexOf("value") + "value".length;
  assert.equal(lines[2].slice(valueAt - 5, valueAt), "20.20");
  assert.equal(lines[4].slice(valueAt - 5, valueAt), "12.00");
});
