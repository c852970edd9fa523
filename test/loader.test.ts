import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { RUNTIMES, scriptArgs } from "./_helpers.ts";

for (const runtime of ["deno", "bun"] as const) {
  test(`${runtime}: a missing library gives NativeLibraryError naming every path tried and the build command`, () => {
    const script = new URL("./fixtures/load_missing_library.ts", import.meta.url).pathname;
    const out = execFileSync(RUNTIMES[runtime], scriptArgs(runtime, script), {
      encoding: "utf8",
      env: { ...process.env, RAINDROPS_LIB: "/nonexistent/libraindrops-test.so" },
    });
    const report = JSON.parse(out);
    assert.equal(report.name, "NativeLibraryError");
    assert.equal(report.code, "NATIVE_LIBRARY");
    assert.match(report.message, /\/nonexistent\/libraindrops-test\.so/);
    assert.match(report.message, /make build/);
  });
}
