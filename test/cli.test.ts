import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type RuntimeName, RUNTIMES, scriptArgs } from "./_helpers.ts";
import { closeAll, connect, HeldListener, listenedAndNot, waitFor } from "./fixtures/linux_sockets.ts";
import { tcpListenerStats } from "../src/linux/listen_stats.ts";

const CLI = new URL("../src/cli/listener_stats.ts", import.meta.url).pathname;
const RUNTIME_NAMES = Object.keys(RUNTIMES) as RuntimeName[];

interface Run {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI under `runtime`; `onStart` may signal it; killed after `ms`. */
function cli(
  runtime: RuntimeName,
  args: string[],
  ms = 20_000,
  onStart?: (pid: number, out: () => string) => void,
): Promise<Run> {
  const child = spawn(RUNTIMES[runtime], [...scriptArgs(runtime, CLI), ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "", stderr = "";
  child.stdout!.on("data", (d) => (stdout += d));
  child.stderr!.on("data", (d) => (stderr += d));
  const timer = setTimeout(() => child.kill("SIGKILL"), ms);
  onStart?.(child.pid!, () => stdout);
  return new Promise((resolve) => {
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** Rows of the output as whitespace-split fields, header first. */
function table(stdout: string): string[][] {
  return stdout.trimEnd().split("\n").map((line) => line.trim().split(/\s+/));
}

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/;
/** What ends the row of an address nothing listens on. */
const MARK = "  (nothing listens)";

for (const rt of RUNTIME_NAMES) {
  test(`${rt}: prints an aligned header and one row per address, in the order given`, async () => {
    await using held = await HeldListener.start(["tcp", "127.0.0.1"]);
    const a = `127.0.0.1:${held.port}`;
    const clients = [];
    for (let i = 0; i < 3; i++) clients.push(await connect({ host: "127.0.0.1", port: held.port }));
    await waitFor(() => tcpListenerStats(a).get(a)!.queued === 3, () => tcpListenerStats(a).get(a));
    await held.accept(1);
    await waitFor(() => tcpListenerStats(a).get(a)!.active === 1, () => tcpListenerStats(a).get(a));
    const r = await cli(rt, [a, "[::1]:1", "/nonexistent/raindrops.sock", "@raindrops-none"]);
    assert.equal(r.stderr, "");
    assert.equal(r.code, 0);
    const rows = table(r.stdout);
    assert.deepEqual(rows[0], ["timestamp", "address", "active", "queued"]);
    assert.deepEqual(rows.slice(1).map((row) => row.slice(1, 4)), [
      [a, "1", "2"],
      ["[::1]:1", "0", "0"],
      ["/nonexistent/raindrops.sock", "0", "0"],
      ["@raindrops-none", "0", "0"],
    ]);
    for (const row of rows.slice(1)) assert.match(row[0], ISO);
    // Nothing listens on the last three: marked after the columns, which stay aligned.
    const lines = r.stdout.trimEnd().split("\n");
    assert.deepEqual(lines.map((l) => l.endsWith(MARK)), [false, false, true, true, true]);
    const lengths = new Set(lines.map((l) => l.replace(MARK, "").length));
    assert.equal(lengths.size, 1, `columns not aligned:\n${r.stdout}`);
    await closeAll(clients);
  });

  test(`${rt}: -t skips rows with fewer queued than the threshold`, async () => {
    await using held = await HeldListener.start(["tcp", "127.0.0.1"]);
    const a = `127.0.0.1:${held.port}`;
    const clients = [];
    for (let i = 0; i < 2; i++) clients.push(await connect({ host: "127.0.0.1", port: held.port }));
    await waitFor(() => tcpListenerStats(a).get(a)!.queued === 2, () => tcpListenerStats(a).get(a));
    const two = await cli(rt, ["-t", "2", a, "127.0.0.1:1"]);
    assert.equal(two.code, 0);
    assert.deepEqual(table(two.stdout).slice(1).map((row) => row[1]), [a]);
    const three = await cli(rt, ["--threshold=3", a, "127.0.0.1:1"]);
    assert.equal(three.code, 0);
    assert.equal(table(three.stdout).length, 1, "header only");
    await closeAll(clients);
  });

  test(`${rt}: with no address, every TCP listener; -u adds unix listeners`, async () => {
    await using held = await HeldListener.start(["tcp", "127.0.0.1"]);
    const dir = mkdtempSync(join(tmpdir(), "raindrops-test-cli-"));
    try {
      const path = join(dir, "cli.sock");
      await using _unix = await HeldListener.start(["unix", path]);
      const tcpOnly = await cli(rt, []);
      assert.equal(tcpOnly.code, 0);
      const keys = table(tcpOnly.stdout).slice(1).map((row) => row[1]);
      assert.ok(keys.includes(`127.0.0.1:${held.port}`), tcpOnly.stdout);
      assert.ok(!keys.includes(path));
      const withUnix = await cli(rt, ["-u"]);
      const row = table(withUnix.stdout).find((row) => row[1] === path);
      assert.deepEqual(row?.slice(2), ["0", "0"], withUnix.stdout);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test(`${rt}: -d with --count repeats the sample, the header once`, async () => {
    const r = await cli(rt, ["-d", "0.05", "--count", "3", "127.0.0.1:1"]);
    assert.equal(r.code, 0);
    const rows = table(r.stdout);
    assert.equal(rows.length, 4);
    assert.equal(rows.filter((row) => row[0] === "timestamp").length, 1);
  });

  test(`${rt}: bad input exits 2 with a clear message and prints nothing`, async () => {
    const cases: [string[], RegExp][] = [
      [["127.0.0.1"], /invalid address "127\.0\.0\.1": missing port/],
      [["127.0.0.1:70000"], /above 65535/],
      [["[::1:80"], /unclosed \[/],
      [["localhost:80"], /no DNS/],
      [["-d", "x", "127.0.0.1:80"], /-d needs a positive number of seconds, got "x"/],
      [["-d", "0"], /-d needs a positive number/],
      [["-d", "-1"], /-d needs a positive number/],
      [["-d"], /-d needs a value/],
      [["-t", "1.5"], /-t needs an integer >= 0/],
      [["--count", "0"], /--count needs an integer >= 1/],
      [["--bogus"], /unknown option --bogus/],
    ];
    for (const [args, message] of cases) {
      const r = await cli(rt, args);
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, message);
      assert.match(r.stderr, /^raindrops-listener-stats: .*\nTry --help\.\n$/);
      assert.equal(r.stdout, "");
    }
  });

  test(`${rt}: --help prints the usage and exits 0`, async () => {
    const r = await cli(rt, ["--help"]);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^Usage: raindrops-listener-stats \[options\] \[ADDR\|PATH \.\.\.\]/);
    for (const opt of ["-d", "-t", "--count", "--unix"]) assert.ok(r.stdout.includes(opt), opt);
  });

  test(`${rt}: --json prints one object per row with every figure and no header`, async () => {
    await using held = await HeldListener.start(["tcp", "127.0.0.1"]);
    const a = `127.0.0.1:${held.port}`;
    const client = await connect({ host: "127.0.0.1", port: held.port });
    await waitFor(() => tcpListenerStats(a).get(a)!.queued === 1, () => tcpListenerStats(a).get(a));
    const r = await cli(rt, ["--json", a, "@raindrops-none"]);
    assert.equal(r.code, 0, r.stderr);
    const rows = r.stdout.trimEnd().split("\n").map((line) => JSON.parse(line));
    assert.equal(rows.length, 2);
    assert.match(rows[0].timestamp, ISO);
    assert.deepEqual({ ...rows[0], timestamp: 0, backlog: 0 }, {
      timestamp: 0,
      address: a,
      listening: true,
      active: 0,
      queued: 1,
      total: 1,
      backlog: 0,
    });
    assert.ok(rows[0].backlog > 0);
    assert.deepEqual(rows[1].address, "@raindrops-none");
    assert.equal(rows[1].listening, false);
    await closeAll([client]);
  });

  test(`${rt}: an address nothing listens on is marked; an idle listener and one served by a wildcard are not`, async () => {
    await using addresses = await listenedAndNot();
    const { asked, gone } = addresses;
    const text = await cli(rt, asked);
    assert.equal(text.code, 0, text.stderr);
    const lines = text.stdout.trimEnd().split("\n").slice(1);
    assert.deepEqual(lines.map((l) => l.endsWith(MARK)), [false, false, true], text.stdout);
    const json = await cli(rt, ["--json", ...asked]);
    assert.equal(json.code, 0, json.stderr);
    const rows = json.stdout.trimEnd().split("\n").map((line) => JSON.parse(line));
    assert.deepEqual(rows.map((row) => [row.address, row.listening]), [
      [asked[0], true],
      [asked[1], true],
      [gone, false],
    ]);
  });

  test(`${rt}: --version prints the package version`, async () => {
    const { VERSION } = await import("../src/version.ts");
    const r = await cli(rt, ["--version"]);
    assert.equal(r.code, 0);
    assert.equal(r.stdout, `raindrops-listener-stats ${VERSION}\n`);
  });

  test(`${rt}: after --, an argument that looks like an option is an address (Bun keeps the --)`, async () => {
    const r = await cli(rt, ["--", "-d"]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /invalid address "-d"/);
    const ok = await cli(rt, ["--", "127.0.0.1:1"]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.deepEqual(table(ok.stdout).slice(1).map((row) => row[1]), ["127.0.0.1:1"]);
  });

  test(`${rt}: a reader that closes early (| head -1) ends it cleanly`, async () => {
    const cmd = `"$0" "$@" | head -1; echo "exit=\${PIPESTATUS[0]}" >&2`;
    const child = spawn("bash", ["-c", cmd, RUNTIMES[rt], ...scriptArgs(rt, CLI), "-d", "0.02", "127.0.0.1:1"], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "", stderr = "";
    child.stdout!.on("data", (d) => (stdout += d));
    child.stderr!.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
    const code = await new Promise((r) => child.on("close", r));
    clearTimeout(timer);
    assert.equal(code, 0);
    assert.match(stdout, /^timestamp\s+address\s+active\s+queued\n$/);
    assert.equal(stderr, "exit=0\n");
  });

  test(`${rt}: Ctrl-C (SIGINT) stops a repeating run with exit code 130 and no noise`, async () => {
    const r = await cli(rt, ["-d", "0.02", "127.0.0.1:1"], 20_000, (pid, out) => {
      waitFor(() => out().split("\n").length > 3, () => out(), 15_000)
        .then(() => process.kill(pid, "SIGINT"), () => process.kill(pid, "SIGKILL"));
    });
    assert.equal(r.signal, null);
    assert.equal(r.code, 130);
    assert.equal(r.stderr, "");
    assert.ok(r.stdout.endsWith("\n"));
  });
}
