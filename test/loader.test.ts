import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { fixture, RUNTIMES, scriptArgs } from "./_helpers.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const SCRIPT = fixture("load_missing_library.ts");

/** The error the fixture reports when it runs as `command args…` (or "loaded"). */
function loadReport(command: string, args: string[], env: NodeJS.ProcessEnv = process.env) {
  const out = execFileSync(command, args, { encoding: "utf8", env, stdio: ["ignore", "pipe", "pipe"] });
  return JSON.parse(out) as { name: string; code?: string; message: string };
}

/** The lines of a loader error that name a path tried. */
function triedPaths(message: string): string[] {
  return message.split("\n").filter((line) => line.startsWith("  "));
}

for (const runtime of ["deno", "bun", "node"] as const) {
  test(`${runtime}: a missing library gives NativeLibraryError naming every path tried and what to do in a clone`, () => {
    const report = loadReport(RUNTIMES[runtime], scriptArgs(runtime, SCRIPT), {
      ...process.env,
      RAINDROPS_LIB: "/nonexistent/libraindrops-test.so",
    });
    assert.equal(report.name, "NativeLibraryError");
    assert.equal(report.code, "NATIVE_LIBRARY");
    const tried = triedPaths(report.message);
    assert.equal(tried.length, 2, report.message);
    assert.match(tried[0]!, /\/native\/(x86_64|aarch64)-linux\/libraindrops\.so: /, "the packaged library first");
    assert.match(
      tried[1]!,
      /^ {2}\/nonexistent\/libraindrops-test\.so: /,
      "then RAINDROPS_LIB, instead of the local build",
    );
    assert.match(report.message, /in a clone of the repository, build it with `make build`/);
  });
}

test("node --no-experimental-ffi: NativeLibraryError names the Node.js version and the flag to drop", () => {
  const version = execFileSync(RUNTIMES.node, ["--version"], { encoding: "utf8" }).trim().slice(1);
  const report = loadReport(RUNTIMES.node, ["--no-experimental-ffi", SCRIPT]);
  assert.equal(report.name, "NativeLibraryError");
  assert.equal(
    report.message,
    `node:ffi is turned off in Node.js ${version}: raindrops loads its native library with it; ` +
      "remove --no-experimental-ffi from the command line or NODE_OPTIONS",
  );
});

test("node --permission without --allow-ffi: the summary names --allow-ffi", () => {
  const report = loadReport(RUNTIMES.node, ["--permission", `--allow-fs-read=${ROOT}`, SCRIPT]);
  assert.equal(report.name, "NativeLibraryError");
  assert.match(report.message, /\n {2}\S+libraindrops\.so: Access to this API has been restricted/);
  assert.match(
    report.message,
    /\nNode\.js refused to load a native library: grant it with --allow-ffi \(`node --permission --allow-ffi …`\)$/,
  );
});

test("node --permission --allow-ffi loads the library with no other grant than reading the modules", () => {
  const report = loadReport(RUNTIMES.node, ["--permission", "--allow-ffi", `--allow-fs-read=${ROOT}`, SCRIPT]);
  assert.deepEqual(report, { name: "loaded" });
});

test("deno without --allow-ffi: the summary names --allow-ffi instead of advising a build", () => {
  const report = loadReport(RUNTIMES.deno, ["run", "--no-prompt", "--allow-env", SCRIPT]);
  assert.equal(report.name, "NativeLibraryError");
  assert.match(report.message, /run again with the --allow-ffi flag/);
  assert.match(
    report.message,
    /\nDeno refused to load a native library: grant it with --allow-ffi \(`deno run --allow-ffi …`\)$/,
  );
  assert.doesNotMatch(report.message, /make build|RAINDROPS_LIB/);
});
