import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { fixture, RUNTIMES } from "./_helpers.ts";

const SCRIPT = fixture("stats_path_print.ts");
const STATS = "/dev/shm/raindrops-test-stats-path-never-created";

/** What the fixture prints under `deno run <flags>`, with RAINDROPS_STATS set as given. */
function denoReport(flags: string[], stats: string | undefined) {
  const env = { ...process.env };
  delete env.RAINDROPS_STATS;
  if (stats !== undefined) env.RAINDROPS_STATS = stats;
  const out = execFileSync(RUNTIMES.deno, ["run", ...flags, SCRIPT], { env, encoding: "utf8", stdio: "pipe" });
  return JSON.parse(out) as { path?: string; name?: string; code?: string; message?: string };
}

test("deno: a RAINDROPS_STATS that --allow-env does not grant is an error naming the flag, not a silent default", () => {
  const report = denoReport(["--allow-ffi"], STATS);
  assert.equal(report.name, "RaindropsError", JSON.stringify(report));
  assert.equal(report.code, "NOT_CAPABLE");
  assert.match(
    report.message!,
    /^RAINDROPS_STATS is set, but Deno does not let raindrops read it: add --allow-env=RAINDROPS_STATS /,
  );
});

test("deno: with --allow-env=RAINDROPS_STATS the variable chooses the file", () => {
  assert.deepEqual(denoReport(["--allow-ffi", "--allow-env=RAINDROPS_STATS"], STATS), { path: STATS });
});

test("deno: an unset RAINDROPS_STATS needs no --allow-env: the default file in the private directory", () => {
  const report = denoReport(["--allow-ffi"], undefined);
  assert.match(
    report.path ?? JSON.stringify(report),
    /^\/(dev\/shm|tmp|run\/user\/\d+)\/raindrops-\d+[^/]*\/stats_path_print-[0-9a-f]{8}$/,
  );
});
