/**
 * Files another local user plants where ours will be, and files changed
 * under a live mapping: each is refused with a ForeignFileError naming it,
 * and nothing is written to it. Planting as another user needs root (the
 * step runs under uid 65534 with setpriv); those cases skip otherwise.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import {
  chmodSync,
  existsSync,
  linkSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
} from "node:fs";
import process from "node:process";
import { Errno, ForeignFileError, privateDir, Raindrops, SharedAggregate } from "../mod.ts";
import { WorkerStats } from "../src/worker_stats.ts";
import { defaultStatsPath } from "../src/stats_path.ts";
import { claimHeader } from "../src/file_header.ts";
import { fixture, RUNTIMES, scriptArgs, tempShm } from "./_helpers.ts";

const root = process.getuid?.() === 0;
const NOT_ROOT = "not root: cannot plant a file as another user (run as root to test it)";

/** Runs a shell command as user and group 65534 (nobody), as an attacker would. */
function asNobody(command: string): void {
  execFileSync("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", "sh", "-c", command]);
}

/** Asserts `open` throws a ForeignFileError for `path` with `errno`. */
function refused(open: () => unknown, path: string, errno: number): void {
  assert.throws(
    open,
    (e) => e instanceof ForeignFileError && e.path === path && e.errno === errno && e.message.includes(path),
  );
}

test(
  "a symlink planted by another user to our own file: refused, the file is untouched",
  { skip: !root && NOT_ROOT },
  () => {
    using victim = tempShm("victim");
    using link = tempShm("link");
    {
      using mine = new Raindrops(2, { path: victim.path });
      mine.set(1, 42);
    }
    const before = readFileSync(victim.path);
    asNobody(`ln -s ${victim.path} ${link.path}`);
    refused(() => new Raindrops(2048, { path: link.path, zero: true }), link.path, Errno.ELOOP);
    refused(() => new SharedAggregate({ path: link.path, zero: true }), link.path, Errno.ELOOP);
    refused(() => WorkerStats.open(link.path), link.path, Errno.ELOOP);
    assert.deepEqual(readFileSync(victim.path), before, "not extended, not cleared");
  },
);

test("a dangling symlink: refused, its target is not created", () => {
  using link = tempShm("dangling");
  using target = tempShm("target");
  // Planted by ourselves when not root: a symlink is refused whoever made it.
  if (root) asNobody(`ln -s ${target.path} ${link.path}`);
  else symlinkSync(target.path, link.path);
  refused(() => new Raindrops(1, { path: link.path }), link.path, Errno.ELOOP);
  assert.equal(existsSync(target.path), false);
});

test("a 0666 file pre-created by another user: refused before it is extended", { skip: !root && NOT_ROOT }, () => {
  using planted = tempShm("planted");
  asNobody(`umask 0; : > ${planted.path}; chmod 0666 ${planted.path}`);
  refused(() => new Raindrops(4, { path: planted.path }), planted.path, Errno.EPERM);
  refused(() => WorkerStats.open(planted.path), planted.path, Errno.EPERM);
  assert.equal(lstatSync(planted.path).size, 0);
});

test("a 0600 file of another user is refused even by root, who could open it", { skip: !root && NOT_ROOT }, () => {
  using planted = tempShm("theirs");
  asNobody(`umask 077; : > ${planted.path}`);
  refused(() => new SharedAggregate({ path: planted.path }), planted.path, Errno.EPERM);
  assert.equal(lstatSync(planted.path).size, 0);
});

test(
  "another user's file this user may not open is refused naming its path and owner, not as a failed mmap",
  { skip: !root && NOT_ROOT },
  () => {
    // Root opens anything, so the opener here is uid 65534 and the file root's.
    const dir = `/tmp/raindrops-test-${process.pid}-eacces`;
    mkdirSync(dir, { mode: 0o755 });
    chmodSync(dir, 0o755);
    try {
      const path = `${dir}/stats`;
      writeFileSync(path, "", { mode: 0o600 });
      const runtime = "Bun" in globalThis ? "bun" : "deno";
      const out = execFileSync("setpriv", [
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        "env",
        `HOME=${dir}`,
        `DENO_DIR=${dir}/deno`,
        RUNTIMES[runtime],
        ...scriptArgs(runtime, fixture("open_refused.ts")),
        path,
      ], { encoding: "utf8" });
      const errors = out.trim().split("\n").map((line) => JSON.parse(line));
      assert.equal(errors.length, 3, out);
      for (const e of errors) {
        assert.equal(e.name, "ForeignFileError", out);
        assert.equal(e.errno, Errno.EACCES);
        assert.equal(e.path, path);
        assert.match(
          e.message,
          new RegExp(`^${path} belongs to uid 0, and this process \\(uid 65534\\) may not open it`),
        );
        assert.match(e.message, /use a path of your own/);
        assert.doesNotMatch(e.message, /mmap/);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

test("our own file made writable by group or others is refused", () => {
  using loose = tempShm("loose");
  new Raindrops(1, { path: loose.path }).evaporate();
  chmodSync(loose.path, 0o620);
  refused(() => new Raindrops(1, { path: loose.path }), loose.path, Errno.EPERM);
});

test("a file with a second name (a hard link) is refused under either name, and left untouched", () => {
  using victim = tempShm("key");
  using link = tempShm("hardlink");
  // Made by ourselves: protected_hardlinks does not stop a user linking their own file,
  // and the refusal must not depend on who made the link.
  writeFileSync(victim.path, "an unrelated secret", { mode: 0o600 });
  linkSync(victim.path, link.path);
  const before = readFileSync(victim.path);
  for (const path of [link.path, victim.path]) {
    refused(() => new Raindrops(1, { path }), path, Errno.EMLINK);
    refused(() => new SharedAggregate({ path, zero: true }), path, Errno.EMLINK);
    refused(() => WorkerStats.open(path), path, Errno.EMLINK);
  }
  assert.throws(() => new Raindrops(1, { path: link.path }), /remove this path/);
  assert.deepEqual(readFileSync(victim.path), before, "not extended, not cleared");
});

test("a FIFO or a directory at the path: refused, and the process does not hang", () => {
  using fifo = tempShm("fifo");
  using dir = tempShm("dir");
  if (root) asNobody(`mkfifo -m 0600 ${fifo.path}; mkdir ${dir.path}`);
  else execFileSync("sh", ["-c", `mkfifo -m 0600 ${fifo.path}; mkdir ${dir.path}`]);
  refused(() => new Raindrops(1, { path: fifo.path }), fifo.path, Errno.ENODEV);
  refused(() => new Raindrops(1, { path: dir.path }), dir.path, Errno.EISDIR);
  rmSync(dir.path, { recursive: true });
});

test("growing a set whose file was deleted and re-created is refused, not a SIGBUS", () => {
  using tmp = tempShm("replaced");
  using drops = new Raindrops(4, { path: tmp.path });
  drops.incr(0);
  rmSync(tmp.path);
  new Raindrops(4, { path: tmp.path }).evaporate(); // a restarted process re-creates it
  assert.throws(() => {
    drops.size = 10_000;
  }, (e) => e instanceof ForeignFileError && e.errno === Errno.ESTALE);
  assert.equal(drops.get(0), 1, "the live mapping is intact");
  assert.equal(lstatSync(tmp.path).size, Raindrops.PAGE_SIZE, "the new file was not extended");
});

test("growing a set whose file was truncated is refused before the mapping is touched", () => {
  using tmp = tempShm("truncated");
  using drops = new Raindrops(4, { path: tmp.path });
  truncateSync(tmp.path, 0);
  assert.throws(() => {
    drops.size = 10_000;
  }, (e) => e instanceof ForeignFileError && e.errno === Errno.ESTALE);
});

test("a file header records the slot size; a file laid out with another slot size is refused", () => {
  using tmp = tempShm("slots");
  {
    using agg = new SharedAggregate({ path: tmp.path });
    agg.add(1);
  }
  using raw = new Raindrops(1, { path: tmp.path });
  const header = raw.getBigInt(0);
  assert.equal(header >> 56n, 0x80n | BigInt(Math.log2(Raindrops.SIZE)));
  // Not a real one-CPU machine (taking CPUs offline would disturb the host):
  // the header such a machine writes, with 8-byte slots, set by hand.
  raw.set(0, (0x83n << 56n) | (header & ((1n << 56n) - 1n)));
  assert.throws(
    () => new SharedAggregate({ path: tmp.path }),
    (e) => e instanceof ForeignFileError && /8-byte counter slots/.test(e.message),
  );
  assert.throws(() => claimHeader(raw, 1n, "test"), ForeignFileError);
});

test("privateDir() is ours and mode 0700; the middleware's default stats file is inside it", () => {
  const dir = privateDir();
  assert.equal(dir, `/dev/shm/raindrops-${process.geteuid?.() ?? 0}`);
  const st = lstatSync(dir);
  assert.ok(st.isDirectory());
  assert.equal(st.mode & 0o777, 0o700);
  assert.equal(st.uid, process.geteuid?.());
  assert.ok(defaultStatsPath().startsWith(`${dir}/`), defaultStatsPath());
  assert.equal(defaultStatsPath("shop"), `${dir}/shop`);
});

/** A world-writable sticky directory standing in for /dev/shm, removed with what is in it. */
function stickyParent(label: string): { path: string } & Disposable {
  const path = `/tmp/raindrops-test-${process.pid}-${label}`;
  mkdirSync(path, { mode: 0o1777 });
  chmodSync(path, 0o1777);
  return { path, [Symbol.dispose]: () => rmSync(path, { recursive: true, force: true }) };
}

/** Runs `body` with XDG_RUNTIME_DIR set to `value` (or unset), and console.warn's lines collected. */
function withEnv<T>(value: string | undefined, body: (warnings: string[]) => T): T {
  const saved = process.env.XDG_RUNTIME_DIR, warn = console.warn, warnings: string[] = [];
  if (value === undefined) delete process.env.XDG_RUNTIME_DIR;
  else process.env.XDG_RUNTIME_DIR = value;
  console.warn = (...args: unknown[]) => void warnings.push(args.join(" "));
  try {
    return body(warnings);
  } finally {
    console.warn = warn;
    if (saved === undefined) delete process.env.XDG_RUNTIME_DIR;
    else process.env.XDG_RUNTIME_DIR = saved;
  }
}

/** Asserts `dir` is a real directory of ours, mode 0700. */
function assertPrivate(dir: string): void {
  const st = lstatSync(dir);
  assert.ok(st.isDirectory(), dir);
  assert.equal(st.mode & 0o7777, 0o700, dir);
  assert.equal(st.uid, process.geteuid!());
}

/** Ways another user (or, when not root, we ourselves) can hold the default directory's name. */
const SQUATS: [string, (path: string) => void, boolean][] = [
  ["a file", (path) => writeFileSync(path, ""), false],
  ["a symlink to a directory", (path) => symlinkSync("/tmp", path), false],
  ["a directory of ours, mode 0755", (path) => mkdirSync(path, { mode: 0o755 }), false],
  ["another user's directory, mode 0700", (path) => asNobody(`mkdir -m 0700 ${path}`), true],
  ["another user's directory, mode 0777", (path) => asNobody(`mkdir -m 0777 ${path}; chmod 0777 ${path}`), true],
];

for (const [n, [what, squat, needsRoot]] of SQUATS.entries()) {
  test(`a default directory held as ${what}: privateDir() falls back to an unguessable one of ours, with one warning`, {
    skip: needsRoot && !root && NOT_ROOT,
  }, () => {
    using parent = stickyParent(`squat-${n}`);
    const held = `${parent.path}/raindrops-${process.geteuid!()}`;
    squat(held);
    withEnv(undefined, (warnings) => {
      const dir = privateDir(parent.path);
      assert.match(dir, new RegExp(`^${held}\\.[A-Za-z0-9]{12}$`));
      assertPrivate(dir);
      assert.equal(privateDir(parent.path), dir, "every later call (every worker) finds the same one");
      assert.equal(warnings.length, 1, warnings.join("\n"));
      assert.ok(warnings[0].includes(held) && warnings[0].includes(dir), warnings[0]);
    });
  });
}

test("a held default directory falls back to $XDG_RUNTIME_DIR first, when it is set", () => {
  using parent = stickyParent("squat-xdg");
  using runtimeDir = stickyParent("xdg");
  chmodSync(runtimeDir.path, 0o700);
  writeFileSync(`${parent.path}/raindrops-${process.geteuid!()}`, "");
  withEnv(runtimeDir.path, () => {
    const dir = privateDir(parent.path);
    assert.equal(dir, `${runtimeDir.path}/raindrops-${process.geteuid!()}`);
    assertPrivate(dir);
  });
});

test(
  "app.use(raindrops()) serves with the default stats file when another user holds /dev/shm/raindrops-<uid>",
  { skip: !root && "not root: needs a private /dev/shm (unshare -m) and a directory of another user" },
  () => {
    // A private /dev/shm in a mount namespace, so the real one is not touched.
    const runtime = "Bun" in globalThis ? "bun" : "deno";
    const command = [
      "mount -t tmpfs -o mode=1777 none /dev/shm",
      `mkdir -m 0700 /dev/shm/raindrops-${process.geteuid!()}`,
      `chown 65534:65534 /dev/shm/raindrops-${process.geteuid!()}`,
      `exec env -u XDG_RUNTIME_DIR "$0" "$@"`,
    ].join(" && ");
    const out = execFileSync(
      "unshare",
      ["-m", "sh", "-c", command, RUNTIMES[runtime], ...scriptArgs(runtime, fixture("squatted_default.ts"))],
      { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] },
    );
    const { page, dir, files } = JSON.parse(out);
    assert.equal(page, "hi");
    assert.match(dir, /^\/dev\/shm\/raindrops-\d+\.[A-Za-z0-9]{12}$/);
    // The stats file, and beside it the registry of the request metrics it records.
    const stats = files.filter((f: string) => !f.endsWith(".metrics"));
    assert.equal(stats.length, 1, "the stats file is in the fallback directory");
    assert.ok(files.every((f: string) => f === stats[0] || f === `${stats[0]}.metrics`), `only those two: ${files}`);
  },
);
