import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { fixture, RUNTIMES, scriptArgs } from "./_helpers.ts";

const SCRIPT = fixture("in_process_app.ts");
const WARNING = /raindrops: running in-process/g;

// deno-lint-ignore no-explicit-any
type Report = Record<string, any>;

/** Runs the fixture with `env` added (and RAINDROPS_NATIVE only if given); its report and stderr. */
function run(runtime: keyof typeof RUNTIMES, args: string[], env: Record<string, string>) {
  const base = { ...process.env };
  delete base.RAINDROPS_NATIVE;
  return new Promise<{ report: Report; stderr: string }>((resolve, reject) => {
    execFile(
      RUNTIMES[runtime],
      [...scriptArgs(runtime, SCRIPT), ...args],
      { env: { ...base, ...env }, encoding: "utf8", timeout: 60_000 },
      (error, stdout, stderr) => {
        if (error) return reject(new Error(`${error.message}\n${stderr}`));
        resolve({ report: JSON.parse(stdout), stderr });
      },
    );
  });
}

for (const runtime of ["deno", "bun", "node"] as const) {
  test(`${runtime}: with no build for the platform, the middleware serves and counts in-process, with one warning`, async () => {
    const { report, stderr } = await run(runtime, ["fake-no-build"], {});
    assert.equal(report.error, undefined, JSON.stringify(report.error));
    assert.deepEqual(report.hello, ["hello", "hello"]);
    assert.match(report.prometheus, /^raindrops_requests_total 2$/m, "both requests were counted");
    assert.match(report.prometheus, /^fixture_greetings_total 2$/m, "your own metrics work too");
    assert.deepEqual(report.json.listeners, {}, "no listener figures without the library");
    assert.match(report.json.stats, /^in-process\//, "the stats file is named as in-process memory");
    assert.equal(report.text, "calling: 0\nwriting: 0\n");
    assert.deepEqual(report.explicit, { status: 200, body: "calling: 0\nwriting: 0\n" }, "named listeners left out");
    assert.deepEqual(report.raindrops, { shared: 5, capa: 64, size: 64 }, "one block per path within the process");
    assert.equal(report.struct, 1);
    assert.deepEqual(report.workerStats.totals, { calling: 1, writing: 0, workers: 1 });
    assert.equal(report.workerStats.perWorker.length, 1);
    assert.equal(report.listenerError.name, "NativeUnavailableError");
    assert.match(report.listenerError.message, /no build for linux \(faked: fakeNoBuildForPlatform\)/);
    assert.equal(stderr.match(WARNING)?.length, 1, stderr);
    assert.match(stderr, /shared with no other process or thread, and listener statistics are unavailable/);
    assert.equal(existsSync("/dev/shm/raindrops-in-process-fixture"), false, "no file was created");
  });

  test(`${runtime}: on Linux a missing library stays a NativeLibraryError unless RAINDROPS_NATIVE=optional`, async () => {
    const missing = { RAINDROPS_LIB: "/nonexistent/libraindrops-test.so" };
    const strict = await run(runtime, [], missing);
    assert.equal(strict.report.error?.name, "NativeLibraryError", JSON.stringify(strict.report));
    assert.match(strict.report.error.message, /cannot load libraindrops\.so; tried:/);
    assert.equal(strict.stderr.match(WARNING), null, "no warning when it is an error");

    const optional = await run(runtime, [], { ...missing, RAINDROPS_NATIVE: "optional" });
    assert.equal(optional.report.error, undefined, JSON.stringify(optional.report.error));
    assert.match(optional.report.prometheus, /^raindrops_requests_total 2$/m);
    assert.equal(optional.stderr.match(WARNING)?.length, 1, optional.stderr);
    assert.match(optional.stderr, /Why: cannot load libraindrops\.so; tried:/);
  });

  test(`${runtime}: RAINDROPS_NATIVE=required makes no build for the platform an error; other values are refused`, async () => {
    const required = await run(runtime, ["fake-no-build"], { RAINDROPS_NATIVE: "required" });
    assert.equal(required.report.error?.name, "NativeLibraryError");
    assert.match(required.report.error.message, /no build for linux \(faked/);
    assert.equal(required.stderr.match(WARNING), null);
    const bad = await run(runtime, ["fake-no-build"], { RAINDROPS_NATIVE: "maybe" });
    assert.equal(bad.report.error?.name, "RangeError");
    assert.match(bad.report.error.message, /RAINDROPS_NATIVE must be "required" or "optional", got "maybe"/);
  });
}
