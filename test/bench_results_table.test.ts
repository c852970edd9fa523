import { test } from "node:test";
import assert from "node:assert/strict";
import { formatTable, parseResults } from "../bench/results_table.ts";

const OUTPUT = [
  "counters: ns per operation — deno 2.9.6",
  'BENCH {"runtime":"deno 2.9.6","group":"counters","name":"Raindrops#incr","value":20.2,"unit":"ns/op","baseline":"Atomics.add","baselineValue":16.45,"ratio":1.228}',
  'BENCH {"runtime":"deno 2.9.6","group":"cut off","name":"x","val',
  "bun   bare          9.80 us/req (min 9.10 max 11.00)  vs bare 1.000  vs bare 1.000    90000 req/s  (450000 requests/run)",
  "bun   raindrops    12.00 us/req (min 11.50 max 13.00)  vs noop 1.200  vs bare 1.224    80000 req/s  (400000 requests/run)",
].join("\n");

test("bench output is gathered into rows: BENCH lines and bench/middleware.sh result lines; a cut-off line is skipped", () => {
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
  assert.ok(Math.abs(rows[2].baselineValue! - 10) < 1e-9, "the baseline value follows from value and ratio");
});

test("the table has one line per figure, every column aligned", () => {
  const lines = formatTable(parseResults(OUTPUT)).split("\n");
  assert.equal(lines.length, 2 + 3);
  const ratioEnd = lines[0].length;
  assert.ok(lines[2].endsWith("1.228x") && lines[2].length === ratioEnd);
  assert.ok(lines[4].endsWith("1.200x") && lines[4].length === ratioEnd);
  const valueAt = lines[0].indexOf("value") + "value".length;
  assert.equal(lines[2].slice(valueAt - 5, valueAt), "20.20");
  assert.equal(lines[4].slice(valueAt - 5, valueAt), "12.00");
});
