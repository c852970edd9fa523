import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { RUNTIMES, scriptArgs } from "./_helpers.ts";

for (const runtime of ["deno", "bun"] as const) {
  test(`${runtime}: a missing library gives NativeLibraryError naming every path tried and what to do in a clone`, () => {
    const script = new URL("./fixtures/load_missing_library.ts", import.meta.url).pathname;
    const out = execFileSync(RUNTIMES[runtime], scriptArgs(runtime, script), {
      encoding: "utf8",
      env: { ...process.env, RAINDROPS_LIB: "/nonexistent/libraindrops-test.so" },
    });
    const report = JSON.parse(out);
    assert.equal(report.name, "NativeLibraryError");
    assert.equal(report.code, "NATIVE_LIBRARY");
    const tried = report.message.split("\n").filter((line: string) => line.startsWith("  "));
    assert.equal(tried.length, 2, report.message);
    assert.match(tried[0], /\/native\/(x86_64|aarch64)-linux\/libraindrops\.so: /, "the packaged library first");
    assert.match(
      tried[1],
      /^ {2}\/nonexistent\/libraindrops-test\.so: /,
      "then RAINDROPS_LIB, instead of the local build",
    );
    assert.match(report.message, /in a clone of the repository, build it with `make build`/);
  });
}
