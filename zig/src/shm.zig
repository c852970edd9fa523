//! Shared counter memory: page-aligned MAP_SHARED mappings, anonymous or
//! backed by a file that unrelated processes open by name, holding unsigned
//! 64-bit counters one per cache line. Addresses cross the C ABI as plain
//! integers so JavaScript can wrap them without runtime-specific pointer types
//! (the exports are in abi.zig).
const std = @import("std");
const linux = std.os.linux;
const sys = @import("sys.zig");
const mappings = @import("mappings.zig");

/// The system page size in bytes.
pub fn pageSize() u32 {
    return @intCast(std.heap.pageSize());
}

/// Bytes per counter slot: the L1 data cache line so that counters updated
/// by different CPUs never share a line; 128 when the line size is unknown;
/// one word on a machine with a single CPU online, where false sharing
/// cannot happen. Machine-wide facts only (never this process's CPU
/// affinity), so every process sharing a file agrees on the layout.
pub fn slotSize() u32 {
    var buf: [64]u8 = undefined;
    if (sys.readSmallFile("/sys/devices/system/cpu/online", &buf)) |online| {
        if (singleCpu(online)) return @sizeOf(u64);
    } else |_| {}
    const line = sys.readSmallFile("/sys/devices/system/cpu/cpu0/cache/index0/coherency_line_size", &buf) catch return 128;
    return parseLineSize(line) orelse 128;
}

/// True when a sysfs CPU list (`0`, `0-3`, `0,2-5`) names exactly one CPU.
fn singleCpu(list: []const u8) bool {
    const text = std.mem.trim(u8, list, " \n");
    if (text.len == 0) return false;
    for (text) |ch| if (!std.ascii.isDigit(ch)) return false;
    return true;
}

fn parseLineSize(text: []const u8) ?u32 {
    const size = std.fmt.parseInt(u32, std.mem.trim(u8, text, " \n"), 10) catch return null;
    if (size < @sizeOf(u64) or size > 4096 or !std.math.isPowerOfTwo(size)) return null;
    return size;
}

pub const Mapping = @import("records.zig").Mapping;

/// Opening flags for a counter file: never through a symlink (another user
/// may plant one at a predictable path), never as a controlling tty, and
/// without blocking on a FIFO, which the type check then refuses.
const open_existing: linux.O = .{ .ACCMODE = .RDWR, .NOFOLLOW = true, .CLOEXEC = true, .NOCTTY = true, .NONBLOCK = true };

/// Opens the file at `path`, creating it (mode 0600) only when no file of
/// any kind is there: O_EXCL also refuses a dangling symlink. Returns the fd
/// or an error.
fn openCounterFile(path: [*:0]const u8) sys.Error!i32 {
    var create = open_existing;
    create.CREAT = true;
    create.EXCL = true;
    // Another process may create the file between our two opens: then
    // opening it as existing once more settles the race.
    for (0..2) |_| {
        if (sys.check(linux.open(path, open_existing, 0))) |fd| return @intCast(fd) else |e| {
            if (e != error.NOENT) return e;
        }
        if (sys.check(linux.open(path, create, 0o600))) |fd| return @intCast(fd) else |e| {
            if (e != error.EXIST) return e;
        }
    }
    return error.EXIST;
}

/// Refuses a file that is not safely ours: anything but a regular file
/// (ENODEV: it cannot hold counters), a file owned by another user, or one
/// that group or others may write (EPERM: its contents are not ours alone),
/// or one with another name besides this one (EMLINK: with
/// fs.protected_hardlinks=0 another user can hard-link any file of ours,
/// say a key, at the counter path, and we would write counters into it).
fn checkOwnFile(st: *const linux.Stat) sys.Error!void {
    if (linux.S.ISDIR(st.mode)) return error.ISDIR;
    if (!linux.S.ISREG(st.mode)) return error.NODEV;
    if (st.uid != linux.geteuid() or (st.mode & 0o022) != 0) return error.PERM;
    if (st.nlink != 1) return error.MLINK;
}

/// The status of the open file `fd`, checked to be a counter file of ours.
fn ownFileStat(fd: i32) sys.Error!linux.Stat {
    var st: linux.Stat = undefined;
    _ = try sys.check(linux.fstat(fd, &st));
    try checkOwnFile(&st);
    return st;
}

/// Extends the file `fd` to `bytes` when it is shorter; never shortens it
/// (another process may have it mapped).
fn extend(fd: i32, st: *const linux.Stat, bytes: usize) sys.Error!void {
    if (st.size < bytes) _ = try sys.check(linux.ftruncate(fd, @intCast(bytes)));
}

/// Maps the first `bytes` (a positive multiple of the page size) of the
/// file at `path`, shared, and fills `out`. The file is created (mode 0600)
/// when missing. An existing file must be a regular file of ours that no
/// one else may write, with no other name, reached without a symlink (else
/// ELOOP, EISDIR, ENODEV, EPERM or EMLINK, see checkOwnFile); only then is it extended to `bytes`
/// if shorter (never shortened: another process may have it mapped) and,
/// when `zero` is non-zero, cleared. Threads opening the same file share one
/// mapping (see mappings.zig); ENOMEM when this process holds its budget of
/// mappings.
pub fn map(path: [*:0]const u8, bytes: usize, zero: bool, out: *Mapping) sys.Error!void {
    if (bytes == 0 or bytes % std.heap.pageSize() != 0) return error.INVAL;
    const fd = try openCounterFile(path);
    defer _ = linux.close(fd);
    const st = try ownFileStat(fd);
    try extend(fd, &st, bytes);
    const addr = try mappings.acquire(fd, st.dev, st.ino, bytes);
    if (zero) @memset(@as([*]u8, @ptrFromInt(addr))[0..bytes], 0);
    out.* = .{ .addr = addr, .dev = st.dev, .ino = st.ino };
}

/// Releases memory returned by map or grow (unmapped when no other thread
/// holds it); the mapping table knows each mapping's length.
pub fn unmap(addr: usize) sys.Error!void {
    return mappings.release(addr);
}

/// Grows the mapping `m` of the file at `path` from `old_bytes` to
/// `new_bytes` and updates `m.addr`; existing counters keep their values
/// (they live in the file). The file is extended through the path only
/// when it is still the inode mapped and at least `old_bytes` long: a file
/// deleted and re-created, or truncated, since it was mapped is refused
/// with ESTALE before the mapping is touched (growing into another inode,
/// or past the end of a shrunk one, would kill the process with SIGBUS).
/// Other threads may hold the old mapping, so the new length is a new
/// mapping and the old one is released.
pub fn grow(path: [*:0]const u8, old_bytes: usize, new_bytes: usize, m: *Mapping) sys.Error!void {
    if (m.addr == 0 or new_bytes < old_bytes or new_bytes % std.heap.pageSize() != 0) return error.INVAL;
    const opened = sys.check(linux.open(path, open_existing, 0)) catch |e|
        return if (e == error.NOENT) error.STALE else e;
    const fd: i32 = @intCast(opened);
    defer _ = linux.close(fd);
    const st = try ownFileStat(fd);
    if (st.dev != m.dev or st.ino != m.ino or st.size < old_bytes) return error.STALE;
    try extend(fd, &st, new_bytes);
    const addr = try mappings.acquire(fd, st.dev, st.ino, new_bytes);
    mappings.release(m.addr) catch {};
    m.addr = addr;
}

/// The owner of the file at `path` (not following a symlink) and this
/// process's effective uid, to explain a file the kernel would not let us
/// open.
pub fn owners(path: [*:0]const u8) sys.Error![2]u32 {
    var st: linux.Stat = undefined;
    _ = try sys.check(linux.fstatat(linux.AT.FDCWD, path, &st, linux.AT.SYMLINK_NOFOLLOW));
    return .{ st.uid, linux.geteuid() };
}

const dir_flags: linux.O = .{ .ACCMODE = .RDONLY, .DIRECTORY = true, .NOFOLLOW = true, .CLOEXEC = true };

/// Opens the directory `parent` after checking that no other user can swap
/// entries in it: it must be ours or root's, and writable by group or
/// others only when sticky, as /dev/shm and /tmp are (else EACCES).
fn openParent(parent: [*:0]const u8) sys.Error!i32 {
    const fd: i32 = @intCast(try sys.check(linux.open(parent, .{ .ACCMODE = .RDONLY, .DIRECTORY = true, .CLOEXEC = true }, 0)));
    errdefer _ = linux.close(fd);
    var st: linux.Stat = undefined;
    _ = try sys.check(linux.fstat(fd, &st));
    if (st.uid != linux.geteuid() and st.uid != 0) return error.ACCES;
    if ((st.mode & 0o022) != 0 and (st.mode & linux.S.ISVTX) == 0) return error.ACCES;
    return fd;
}

/// Opens `name` in the directory `parent_fd` and checks it is a directory
/// itself, not a symlink to one (else ENOTDIR), owned by us and mode 0700
/// (else EPERM; a directory of another user we may not enter is EACCES).
/// `created` says we just made it: our umask may have taken bits from it.
fn openPrivate(parent_fd: i32, name: [*:0]const u8, created: bool) sys.Error!i32 {
    const fd: i32 = @intCast(try sys.check(linux.openat(parent_fd, name, dir_flags, 0)));
    errdefer _ = linux.close(fd);
    var st: linux.Stat = undefined;
    _ = try sys.check(linux.fstat(fd, &st));
    if (st.uid != linux.geteuid()) return error.PERM;
    if (created and (st.mode & 0o777) != 0o700) {
        _ = try sys.check(linux.fchmod(fd, 0o700));
        st.mode = (st.mode & ~@as(u32, 0o777)) | 0o700;
    }
    if ((st.mode & 0o777) != 0o700) return error.PERM;
    return fd;
}

/// Creates (mode 0700) or checks this user's private directory
/// `<parent>/raindrops-<euid>` for default shared files, and writes its
/// NUL-terminated path to `out` (there even when refused, to name it).
/// Another user may plant that name first, so it must be a directory
/// itself, owned by us and mode 0700 (see openPrivate), in a parent no
/// other user can swap it out of (see openParent). Returns the path's length.
pub fn privateDir(parent: [*:0]const u8, out: []u8) sys.Error!usize {
    const path = std.fmt.bufPrintZ(out, "{s}/raindrops-{d}", .{ std.mem.span(parent), linux.geteuid() }) catch
        return error.NAMETOOLONG;
    const name: [*:0]const u8 = path[std.mem.span(parent).len + 1 ..];
    const parent_fd = try openParent(parent);
    defer _ = linux.close(parent_fd);
    var created = true;
    _ = sys.check(linux.mkdirat(parent_fd, name, 0o700)) catch |e| {
        if (e != error.EXIST) return e;
        created = false;
    };
    _ = linux.close(try openPrivate(parent_fd, name, created));
    return path.len;
}

/// Letters of the random part of a private temporary directory's name.
const random_len = 12;
const LOCK_EX = 2;
const LOCK_NB = 4;

/// Finds or creates this user's private temporary directory in `parent`,
/// `<parent>/raindrops-<euid>.<12 random letters>` (mode 0700), for when
/// another user holds `<parent>/raindrops-<euid>`: a name no one can guess
/// in advance, so no one can plant it. Every process of this user finds
/// the same one: an existing directory of that form that is ours and mode
/// 0700 is used (the first by name), and a lock on `parent` (waited for at
/// most a second, since anyone may hold it) keeps two processes starting
/// together from making one each. Writes the NUL-terminated path to `out`
/// and returns its length.
pub fn privateTempDir(parent: [*:0]const u8, out: []u8) sys.Error!usize {
    const prefix = std.fmt.bufPrint(out, "{s}/raindrops-{d}.", .{ std.mem.span(parent), linux.geteuid() }) catch
        return error.NAMETOOLONG;
    if (out.len < prefix.len + random_len + 1) return error.NAMETOOLONG;
    const name_at = std.mem.span(parent).len + 1;
    const parent_fd = try openParent(parent);
    defer _ = linux.close(parent_fd); // also drops the lock
    lockBriefly(parent_fd);
    const name_prefix = out[name_at..prefix.len];
    const random = out[prefix.len..][0..random_len];
    out[prefix.len + random_len] = 0;
    if (try findPrivateTemp(parent_fd, name_prefix, random)) return prefix.len + random_len;
    const name: [*:0]const u8 = @ptrCast(out[name_at..].ptr);
    for (0..8) |_| {
        randomLetters(random);
        _ = sys.check(linux.mkdirat(parent_fd, name, 0o700)) catch |e| {
            if (e == error.EXIST) continue;
            return e;
        };
        _ = linux.close(try openPrivate(parent_fd, name, true));
        return prefix.len + random_len;
    }
    return error.EXIST;
}

/// Takes an exclusive lock on `fd`, trying for about a second: another
/// user may hold it for ever, and then we go on without it.
fn lockBriefly(fd: i32) void {
    const pause: linux.timespec = .{ .sec = 0, .nsec = 10 * std.time.ns_per_ms };
    for (0..100) |_| {
        if (linux.E.init(linux.flock(fd, LOCK_EX | LOCK_NB)) != .AGAIN) return;
        _ = linux.nanosleep(&pause, null);
    }
}

/// Writes into `random` the random part of the first (by name) directory
/// `<name_prefix><random part>` in `parent_fd` that is ours and mode 0700;
/// false when there is none.
fn findPrivateTemp(parent_fd: i32, name_prefix: []const u8, random: []u8) sys.Error!bool {
    const dir: std.fs.Dir = .{ .fd = parent_fd };
    var entries = dir.iterate();
    var found = false;
    var name_buf: [std.fs.max_name_bytes + 1]u8 = undefined;
    while (entries.next() catch return error.IO) |entry| {
        const rest = if (std.mem.startsWith(u8, entry.name, name_prefix)) entry.name[name_prefix.len..] else continue;
        if (rest.len != random.len or (found and std.mem.order(u8, rest, random) != .lt)) continue;
        const name = std.fmt.bufPrintZ(&name_buf, "{s}", .{entry.name}) catch continue;
        const fd = openPrivate(parent_fd, name, false) catch continue;
        _ = linux.close(fd);
        @memcpy(random, rest);
        found = true;
    }
    return found;
}

/// Fills `out` with random letters and digits.
fn randomLetters(out: []u8) void {
    const letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    std.crypto.random.bytes(out);
    for (out) |*ch| ch.* = letters[ch.* % letters.len];
}

const testing = std.testing;

test "slot size is a power of two no smaller than a word" {
    const s = slotSize();
    try testing.expect(std.math.isPowerOfTwo(s) and s >= 8);
}

test singleCpu {
    try testing.expect(singleCpu("0\n"));
    try testing.expect(singleCpu("3"));
    try testing.expect(!singleCpu("0-1\n"));
    try testing.expect(!singleCpu("0,2"));
    try testing.expect(!singleCpu(""));
}

test parseLineSize {
    try testing.expectEqual(@as(?u32, 64), parseLineSize("64\n"));
    try testing.expectEqual(@as(?u32, null), parseLineSize("63\n"));
    try testing.expectEqual(@as(?u32, null), parseLineSize("abc"));
    try testing.expectEqual(@as(?u32, null), parseLineSize(""));
}

/// Counter `index` of a mapping with 64-byte slots, for the tests.
fn word(addr: u64, index: usize) *u64 {
    return @ptrFromInt(addr + 64 * index);
}

/// A fresh directory for one test's files, removed by `deinit`.
const Scratch = struct {
    buf: [96]u8 = undefined,
    dir: [:0]const u8 = "",
    name_buf: [128]u8 = undefined,

    fn init(self: *Scratch, label: []const u8) !void {
        self.dir = try std.fmt.bufPrintZ(&self.buf, "/tmp/raindrops-zig-test-{d}-{s}", .{ linux.getpid(), label });
        _ = try sys.check(linux.mkdir(self.dir, 0o755));
    }
    fn path(self: *Scratch, name: []const u8) [:0]const u8 {
        return std.fmt.bufPrintZ(&self.name_buf, "{s}/{s}", .{ self.dir, name }) catch unreachable;
    }
    fn deinit(self: *Scratch) void {
        std.fs.deleteTreeAbsolute(self.dir) catch {};
    }
};

fn fileSize(path: [*:0]const u8) i64 {
    var st: linux.Stat = undefined;
    _ = sys.check(linux.lstat(path, &st)) catch return -1;
    return st.size;
}

fn makeFile(path: [*:0]const u8, mode: u32, size: i64) !void {
    const rc = linux.open(path, .{ .ACCMODE = .RDWR, .CREAT = true, .EXCL = true, .CLOEXEC = true }, mode);
    const fd: i32 = @intCast(try sys.check(rc));
    defer _ = linux.close(fd);
    _ = linux.fchmod(fd, mode);
    _ = linux.ftruncate(fd, size);
}

/// Hands a file or directory to user and group 65534 (nobody); root only.
fn giveAway(path: [*:0]const u8) usize {
    const rc = linux.open(path, .{ .ACCMODE = .RDONLY, .CLOEXEC = true }, 0);
    _ = sys.check(rc) catch return rc;
    defer _ = linux.close(@intCast(rc));
    return linux.fchown(@intCast(rc), 65534, 65534);
}

test owners {
    const found = try owners("/proc/self/stat");
    try testing.expectEqual(linux.geteuid(), found[1]);
    try testing.expectEqual(@as(u32, 0), (try owners("/"))[0]);
    try testing.expectError(error.NOENT, owners("/nonexistent-raindrops"));
}

test "bad sizes and paths are errno, not crashes" {
    var m: Mapping = undefined;
    const page = std.heap.pageSize();
    try testing.expectError(error.INVAL, map("/tmp/x", 0, false, &m));
    try testing.expectError(error.INVAL, map("/tmp/x", 100, false, &m));
    try testing.expectError(error.NOENT, map("/nonexistent-dir/x", page, false, &m));
    try testing.expectError(error.ISDIR, map("/tmp", page, false, &m));
    try testing.expectError(error.INVAL, unmap(0x1000));
}

test "file mapping keeps values unless zeroed, grows, and is mode 0600" {
    const page = std.heap.pageSize();
    var dir: Scratch = .{};
    try dir.init("keep");
    defer dir.deinit();
    const name = dir.path("counters");
    var m: Mapping = undefined;
    try map(name, page, true, &m);
    word(m.addr, 2).* = 7;
    try unmap(m.addr);
    var st: linux.Stat = undefined;
    try testing.expectEqual(@as(usize, 0), linux.stat(name, &st));
    try testing.expectEqual(@as(u32, 0o600), st.mode & 0o777);
    try map(name, page, false, &m);
    try testing.expectEqual(@as(u64, 7), word(m.addr, 2).*);
    try grow(name, page, 4 * page, &m);
    try testing.expectEqual(@as(u64, 7), word(m.addr, 2).*);
    word(m.addr, 4 * page / 64 - 1).* = 1; // the last counter of the grown file is backed
    try testing.expectEqual(@as(i64, @intCast(4 * page)), fileSize(name));
    try unmap(m.addr);
    try map(name, page, true, &m);
    try testing.expectEqual(@as(u64, 0), word(m.addr, 2).*);
    try unmap(m.addr);
}

test "openers of one file share one mapping until the last releases it" {
    const page = std.heap.pageSize();
    var dir: Scratch = .{};
    try dir.init("shared");
    defer dir.deinit();
    const before = mappings.count();
    var a: Mapping = undefined;
    var b: Mapping = undefined;
    try map(dir.path("counters"), page, false, &a);
    try map(dir.path("counters"), page, false, &b);
    try testing.expectEqual(a.addr, b.addr);
    try testing.expectEqual(before + 1, mappings.count());
    try grow(dir.path("counters"), page, 2 * page, &b);
    try testing.expect(a.addr != b.addr);
    word(b.addr, 1).* = 9;
    try testing.expectEqual(@as(u64, 9), word(a.addr, 1).*); // one file under both
    try unmap(a.addr);
    try testing.expectError(error.INVAL, unmap(a.addr)); // already released
    try unmap(b.addr);
    try testing.expectEqual(before, mappings.count());
}

test "hostile files are refused before they are extended or cleared" {
    const page = std.heap.pageSize();
    var dir: Scratch = .{};
    try dir.init("hostile");
    defer dir.deinit();
    var m: Mapping = undefined;
    var victim_buf: [128]u8 = undefined;
    const victim = try std.fmt.bufPrintZ(&victim_buf, "{s}", .{dir.path("victim")});
    try makeFile(victim, 0o600, 10);

    try testing.expectEqual(@as(usize, 0), linux.symlink(victim, dir.path("link")));
    try testing.expectError(error.LOOP, map(dir.path("link"), page, true, &m));
    try testing.expectEqual(@as(i64, 10), fileSize(victim));

    var target_buf: [128]u8 = undefined;
    const target = try std.fmt.bufPrintZ(&target_buf, "{s}", .{dir.path("target")});
    try testing.expectEqual(@as(usize, 0), linux.symlink(target, dir.path("dangling")));
    try testing.expectError(error.LOOP, map(dir.path("dangling"), page, false, &m));
    try testing.expectEqual(@as(i64, -1), fileSize(target));

    try makeFile(dir.path("open"), 0o666, 10);
    try testing.expectError(error.PERM, map(dir.path("open"), page, true, &m));
    try testing.expectEqual(@as(i64, 10), fileSize(dir.path("open")));

    try testing.expectEqual(@as(usize, 0), linux.mknod(dir.path("fifo"), linux.S.IFIFO | 0o600, 0));
    try testing.expectError(error.NODEV, map(dir.path("fifo"), page, false, &m));

    try testing.expectEqual(@as(usize, 0), linux.mkdir(dir.path("dir"), 0o700));
    try testing.expectError(error.ISDIR, map(dir.path("dir"), page, false, &m));

    try testing.expectEqual(@as(usize, 0), linux.link(victim, dir.path("hardlink")));
    try testing.expectError(error.MLINK, map(dir.path("hardlink"), page, true, &m));
    try testing.expectError(error.MLINK, map(victim, page, true, &m)); // either name
    try testing.expectEqual(@as(i64, 10), fileSize(victim));

    if (linux.geteuid() == 0) { // only root can give a file away
        try makeFile(dir.path("theirs"), 0o600, 10);
        try testing.expectEqual(@as(usize, 0), giveAway(dir.path("theirs")));
        try testing.expectError(error.PERM, map(dir.path("theirs"), page, true, &m));
        try testing.expectEqual(@as(i64, 10), fileSize(dir.path("theirs")));
    }
}

test "growing refuses a file replaced or truncated since it was mapped" {
    const page = std.heap.pageSize();
    var dir: Scratch = .{};
    try dir.init("stale");
    defer dir.deinit();
    var path_buf: [128]u8 = undefined;
    const name = try std.fmt.bufPrintZ(&path_buf, "{s}", .{dir.path("counters")});
    var m: Mapping = undefined;
    try map(name, 2 * page, false, &m);
    defer unmap(m.addr) catch {};
    try testing.expectEqual(@as(usize, 0), linux.unlink(name));
    try testing.expectError(error.STALE, grow(name, 2 * page, 4 * page, &m));
    try makeFile(name, 0o600, @intCast(2 * page)); // a restart re-created it
    try testing.expectError(error.STALE, grow(name, 2 * page, 4 * page, &m));
    try testing.expectEqual(@as(i64, @intCast(2 * page)), fileSize(name));

    var other: Mapping = undefined;
    try map(name, 2 * page, false, &other);
    defer unmap(other.addr) catch {};
    const fd: i32 = @intCast(linux.open(name, .{ .ACCMODE = .RDWR }, 0));
    _ = linux.ftruncate(fd, @intCast(page));
    _ = linux.close(fd);
    try testing.expectError(error.STALE, grow(name, 2 * page, 4 * page, &other));
}

test "the private directory is made mode 0700 and a planted one is refused" {
    var dir: Scratch = .{};
    try dir.init("private");
    defer dir.deinit();
    var out: [128]u8 = undefined;
    const n = try privateDir(dir.dir, &out);
    var made_buf: [128]u8 = undefined;
    const made = try std.fmt.bufPrintZ(&made_buf, "{s}", .{out[0..n]});
    var st: linux.Stat = undefined;
    try testing.expectEqual(@as(usize, 0), linux.lstat(made, &st));
    try testing.expectEqual(@as(u32, linux.S.IFDIR | 0o700), st.mode);
    try testing.expectEqual(n, try privateDir(dir.dir, &out)); // already there: fine
    try testing.expectError(error.NAMETOOLONG, privateDir(dir.dir, out[0..8]));

    _ = linux.chmod(made, 0o755);
    try testing.expectError(error.PERM, privateDir(dir.dir, &out));
    _ = linux.rmdir(made);
    try testing.expectEqual(@as(usize, 0), linux.symlink("/tmp", made));
    try testing.expectError(error.NOTDIR, privateDir(dir.dir, &out));
    _ = linux.unlink(made);
    try makeFile(made, 0o600, 0);
    try testing.expectError(error.NOTDIR, privateDir(dir.dir, &out));
    _ = linux.unlink(made);
    if (linux.geteuid() == 0) {
        try testing.expectEqual(@as(usize, 0), linux.mkdir(made, 0o700));
        try testing.expectEqual(@as(usize, 0), giveAway(made));
        try testing.expectError(error.PERM, privateDir(dir.dir, &out));
    }
}

test "a private directory needs a parent no other user can swap it out of" {
    var dir: Scratch = .{};
    try dir.init("parent");
    defer dir.deinit();
    var out: [128]u8 = undefined;
    _ = linux.chmod(dir.dir, 0o777);
    try testing.expectError(error.ACCES, privateDir(dir.dir, &out));
    try testing.expectError(error.ACCES, privateTempDir(dir.dir, &out));
    _ = linux.chmod(dir.dir, 0o1777); // sticky, as /dev/shm and /tmp
    _ = try privateDir(dir.dir, &out);
}

test "the private temporary directory is unguessable, made once and found again" {
    var dir: Scratch = .{};
    try dir.init("temp");
    defer dir.deinit();
    var out: [128]u8 = undefined;
    var first_buf: [128]u8 = undefined;
    const n = try privateTempDir(dir.dir, &out);
    const first = try std.fmt.bufPrintZ(&first_buf, "{s}", .{out[0..n]});
    var prefix_buf: [96]u8 = undefined;
    const prefix = try std.fmt.bufPrint(&prefix_buf, "{s}/raindrops-{d}.", .{ dir.dir, linux.geteuid() });
    try testing.expect(std.mem.startsWith(u8, first, prefix) and first.len == prefix.len + random_len);
    var st: linux.Stat = undefined;
    try testing.expectEqual(@as(usize, 0), linux.lstat(first, &st));
    try testing.expectEqual(@as(u32, linux.S.IFDIR | 0o700), st.mode);
    try testing.expectEqualStrings(first, out[0..try privateTempDir(dir.dir, &out)]);

    // Later names that are not ours and 0700 are passed over; an earlier one of ours is chosen.
    var name_buf: [128]u8 = undefined;
    const loose = try std.fmt.bufPrintZ(&name_buf, "{s}000000000000", .{prefix});
    try testing.expectEqual(@as(usize, 0), linux.mkdir(loose, 0o755));
    _ = linux.chmod(loose, 0o755);
    try testing.expectEqualStrings(first, out[0..try privateTempDir(dir.dir, &out)]);
    _ = linux.chmod(loose, 0o700);
    try testing.expectEqualStrings(loose, out[0..try privateTempDir(dir.dir, &out)]);
    if (linux.geteuid() == 0) {
        try testing.expectEqual(@as(usize, 0), giveAway(loose));
        try testing.expectEqualStrings(first, out[0..try privateTempDir(dir.dir, &out)]);
    }
}
