/**
 * Files another local user plants where ours will be, and files changed
 * under a live mapping: each is refused with a ForeignFileError naming it,
 * and nothing is written to it. Planting as another user needs root (the
 * step runs under uid 65534 with setpriv); those cases skip otherwise.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { chmodSync, existsSync, lstatSync, mkdirSync, readFileSync, rmSync, symlinkSync, truncateSync } from "node:fs";
import process from "node:process";
import { Errno, ForeignFileError, privateDir, Raindrops, SharedAggregate } from "../mod.ts";
import { WorkerStats } from "../src/worker_stats.ts";
import { defaultStatsPath } from "../src/stats_path.ts";
import { claimHeader } from "../src/file_header.ts";
import { tempShm } from "./_helpers.ts";

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

test("our own file made writable by group or others is refused", () => {
  using loose = tempShm("loose");
  new Raindrops(1, { path: loose.path }).evaporate();
  chmodSync(loose.path, 0o620);
  refused(() => new Raindrops(1, { path: loose.path }), loose.path, Errno.EPERM);
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

test("a private directory planted by another user, or as a symlink, is refused", { skip: !root && NOT_ROOT }, () => {
  const parent = `/tmp/raindrops-test-${process.pid}-private`;
  mkdirSync(parent, { mode: 0o1777 });
  chmodSync(parent, 0o1777);
  try {
    const mine = `${parent}/raindrops-${process.geteuid!()}`;
    asNobody(`mkdir -m 0700 ${mine}`);
    refused(() => privateDir(parent), mine, Errno.EPERM);
    rmSync(mine, { recursive: true });
    asNobody(`ln -s /tmp ${mine}`);
    refused(() => privateDir(parent), mine, Errno.ENOTDIR);
    rmSync(mine);
    assert.equal(privateDir(parent), mine);
    assert.equal(lstatSync(mine).mode & 0o7777, 0o700);
  } finally {
    rmSync(parent, { recursive: true, force: true });
  }
});
