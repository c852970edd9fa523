//! Shared counter memory: page-aligned MAP_SHARED mappings, anonymous or
//! backed by a file that unrelated processes open by name, holding unsigned
//! 64-bit counters one per cache line. Addresses cross the C ABI as plain
//! integers so JavaScript can wrap them without runtime-specific pointer types.
const std = @import("std");
const linux = std.os.linux;
const sys = @import("sys.zig");
const mappings = @import("mappings.zig");

/// The system page size in bytes.
export fn rd_page_size() u32 {
    return @intCast(std.heap.pageSize());
}

/// Bytes per counter slot: the L1 data cache line so that counters updated
/// by different CPUs never share a line; 128 when the line size is unknown;
/// one word on a machine with a single CPU online, where false sharing
/// cannot happen. Machine-wide facts only (never this process's CPU
/// affinity), so every process sharing a file agrees on the layout.
export fn rd_slot_size() u32 {
    var buf: [64]u8 = undefined;
    if (readSmallFile("/sys/devices/system/cpu/online", &buf)) |online| {
        if (singleCpu(online)) return @sizeOf(u64);
    }
    const line = readSmallFile("/sys/devices/system/cpu/cpu0/cache/index0/coherency_line_size", &buf) orelse return 128;
    return parseLineSize(line) orelse 128;
}

/// The contents of a small sysfs file, or null.
fn readSmallFile(path: [*:0]const u8, buf: []u8) ?[]const u8 {
    return switch (sys.readSmallFile(path, buf)) {
        .bytes => |b| b,
        .errno => null,
    };
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

/// A file mapping as it crosses the C ABI: where it is and which inode it
/// maps, so that growing it later can refuse a file replaced in between.
pub const Mapping = extern struct {
    addr: u64,
    dev: u64,
    ino: u64,
};
comptime {
    std.debug.assert(@sizeOf(Mapping) == 24);
}

/// Opening flags for a counter file: never through a symlink (another user
/// may plant one at a predictable path), never as a controlling tty, and
/// without blocking on a FIFO, which the type check then refuses.
const open_existing: linux.O = .{ .ACCMODE = .RDWR, .NOFOLLOW = true, .CLOEXEC = true, .NOCTTY = true, .NONBLOCK = true };

/// Opens the file at `path`, creating it (mode 0600) only when no file of
/// any kind is there: O_EXCL also refuses a dangling symlink. Returns the fd
/// or -errno.
fn openCounterFile(path: [*:0]const u8) i32 {
    var create = open_existing;
    create.CREAT = true;
    create.EXCL = true;
    // Another process may create the file between our two opens: then
    // opening it as existing once more settles the race.
    for (0..2) |_| {
        const rc = linux.open(path, open_existing, 0);
        if (sys.failure(rc)) |e| {
            if (e != sys.neg(.NOENT)) return e;
        } else return @intCast(rc);
        const created = linux.open(path, create, 0o600);
        if (sys.failure(created)) |e| {
            if (e != sys.neg(.EXIST)) return e;
        } else return @intCast(created);
    }
    return sys.neg(.EXIST);
}

/// Refuses a file that is not safely ours: anything but a regular file
/// (ENODEV: it cannot hold counters), a file owned by another user, or one
/// that group or others may write (EPERM: its contents are not ours alone).
fn checkOwnFile(st: *const linux.Stat) i32 {
    if ((st.mode & linux.S.IFMT) == linux.S.IFDIR) return sys.neg(.ISDIR);
    if ((st.mode & linux.S.IFMT) != linux.S.IFREG) return sys.neg(.NODEV);
    if (st.uid != linux.geteuid() or (st.mode & 0o022) != 0) return sys.neg(.PERM);
    return 0;
}

/// Maps the first `bytes` (a positive multiple of the page size) of the
/// file at `path`, shared, and fills `out`. The file is created (mode 0600)
/// when missing. An existing file must be a regular file of ours that no
/// one else may write, reached without a symlink (else ELOOP, EISDIR,
/// ENODEV or EPERM, see checkOwnFile); only then is it extended to `bytes`
/// if shorter (never shortened: another process may have it mapped) and,
/// when `zero` is non-zero, cleared. Threads opening the same file share one
/// mapping (see mappings.zig); ENOMEM when this process holds its budget of
/// mappings. Returns 0 or -errno.
export fn rd_map(path: ?[*:0]const u8, bytes: usize, zero: u32, out: *Mapping) i32 {
    const p = path orelse return sys.neg(.INVAL);
    if (bytes == 0 or bytes % std.heap.pageSize() != 0) return sys.neg(.INVAL);
    const fd = openCounterFile(p);
    if (fd < 0) return fd;
    defer _ = linux.close(fd);

    var st: linux.Stat = undefined;
    if (sys.failure(linux.fstat(fd, &st))) |e| return e;
    const refused = checkOwnFile(&st);
    if (refused != 0) return refused;
    if (st.size < bytes) {
        if (sys.failure(linux.ftruncate(fd, @intCast(bytes)))) |e| return e;
    }
    const addr = mappings.acquire(fd, st.dev, st.ino, bytes);
    if (addr < 0) return @intCast(addr);
    if (zero != 0) @memset(@as([*]u8, @ptrFromInt(@as(usize, @intCast(addr))))[0..bytes], 0);
    out.* = .{ .addr = @intCast(addr), .dev = st.dev, .ino = st.ino };
    return 0;
}

/// Releases memory returned by rd_map or rd_grow (unmapped when no other
/// thread holds it). Returns 0 or -errno.
export fn rd_unmap(addr: usize, bytes: usize) i32 {
    _ = bytes; // the mapping table knows each mapping's length
    if (addr == 0) return sys.neg(.INVAL);
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
/// mapping and the old one is released. Returns 0 or -errno.
export fn rd_grow(path: ?[*:0]const u8, old_bytes: usize, new_bytes: usize, m: *Mapping) i32 {
    const p = path orelse return sys.neg(.INVAL);
    if (m.addr == 0 or new_bytes < old_bytes or new_bytes % std.heap.pageSize() != 0) return sys.neg(.INVAL);
    const open_rc = linux.open(p, open_existing, 0);
    if (sys.failure(open_rc)) |e| return if (e == sys.neg(.NOENT)) sys.neg(.STALE) else e;
    const fd: i32 = @intCast(open_rc);
    defer _ = linux.close(fd);
    var st: linux.Stat = undefined;
    if (sys.failure(linux.fstat(fd, &st))) |e| return e;
    const refused = checkOwnFile(&st);
    if (refused != 0) return refused;
    if (st.dev != m.dev or st.ino != m.ino or st.size < old_bytes) return sys.neg(.STALE);
    if (st.size < new_bytes) {
        if (sys.failure(linux.ftruncate(fd, @intCast(new_bytes)))) |e| return e;
    }
    const addr = mappings.acquire(fd, st.dev, st.ino, new_bytes);
    if (addr < 0) return @intCast(addr);
    _ = mappings.release(@intCast(m.addr));
    m.addr = @intCast(addr);
    return 0;
}

/// Creates (mode 0700) or checks this user's private directory
/// `<parent>/raindrops-<euid>` for default shared files, and writes its
/// NUL-terminated path to `out` (there even when refused, to name it).
/// Another user may plant that name first, so it must be a directory
/// itself, not a symlink to one (else ENOTDIR), owned by us and mode 0700
/// (else EPERM). Returns the path's length or -errno.
export fn rd_private_dir(parent: ?[*:0]const u8, out: ?[*]u8, out_len: u32) i32 {
    const base = parent orelse return sys.neg(.INVAL);
    const buf = out orelse return sys.neg(.INVAL);
    const path = std.fmt.bufPrintZ(buf[0..out_len], "{s}/raindrops-{d}", .{ std.mem.span(base), linux.geteuid() }) catch
        return sys.neg(.NAMETOOLONG);
    const made = linux.mkdir(path, 0o700);
    const created = sys.failure(made) == null;
    if (!created and sys.failure(made) != sys.neg(.EXIST)) return sys.failure(made).?;
    const rc = linux.open(path, .{ .ACCMODE = .RDONLY, .DIRECTORY = true, .NOFOLLOW = true, .CLOEXEC = true }, 0);
    if (sys.failure(rc)) |e| return e;
    const fd: i32 = @intCast(rc);
    defer _ = linux.close(fd);
    var st: linux.Stat = undefined;
    if (sys.failure(linux.fstat(fd, &st))) |e| return e;
    if (st.uid != linux.geteuid()) return sys.neg(.PERM);
    // Our umask may have taken bits from a directory we just made.
    if (created and (st.mode & 0o777) != 0o700) {
        if (sys.failure(linux.fchmod(fd, 0o700))) |e| return e;
        st.mode = (st.mode & ~@as(u32, 0o777)) | 0o700;
    }
    if ((st.mode & 0o777) != 0o700) return sys.neg(.PERM);
    return @intCast(path.len);
}

const testing = std.testing;

test "slot size is a power of two no smaller than a word" {
    const s = rd_slot_size();
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
        try testing.expect(sys.failure(linux.mkdir(self.dir, 0o755)) == null);
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
    if (sys.failure(linux.lstat(path, &st)) != null) return -1;
    return st.size;
}

fn makeFile(path: [*:0]const u8, mode: u32, size: i64) !void {
    const rc = linux.open(path, .{ .ACCMODE = .RDWR, .CREAT = true, .EXCL = true, .CLOEXEC = true }, mode);
    try testing.expect(sys.failure(rc) == null);
    const fd: i32 = @intCast(rc);
    defer _ = linux.close(fd);
    _ = linux.fchmod(fd, mode);
    _ = linux.ftruncate(fd, size);
}

/// Hands a file or directory to user and group 65534 (nobody); root only.
fn giveAway(path: [*:0]const u8) usize {
    const rc = linux.open(path, .{ .ACCMODE = .RDONLY, .CLOEXEC = true }, 0);
    if (sys.failure(rc) != null) return rc;
    defer _ = linux.close(@intCast(rc));
    return linux.fchown(@intCast(rc), 65534, 65534);
}

test "bad sizes and paths are errno, not crashes" {
    var m: Mapping = undefined;
    const page = std.heap.pageSize();
    try testing.expectEqual(sys.neg(.INVAL), rd_map(null, page, 0, &m));
    try testing.expectEqual(sys.neg(.INVAL), rd_map("/tmp/x", 0, 0, &m));
    try testing.expectEqual(sys.neg(.INVAL), rd_map("/tmp/x", 100, 0, &m));
    try testing.expectEqual(sys.neg(.NOENT), rd_map("/nonexistent-dir/x", page, 0, &m));
    try testing.expectEqual(sys.neg(.ISDIR), rd_map("/tmp", page, 0, &m));
    try testing.expectEqual(sys.neg(.INVAL), rd_unmap(0, 4096));
}

test "file mapping keeps values unless zeroed, grows, and is mode 0600" {
    const page = std.heap.pageSize();
    var dir: Scratch = .{};
    try dir.init("keep");
    defer dir.deinit();
    const name = dir.path("counters");
    var m: Mapping = undefined;
    try testing.expectEqual(@as(i32, 0), rd_map(name, page, 1, &m));
    word(m.addr, 2).* = 7;
    try testing.expectEqual(@as(i32, 0), rd_unmap(m.addr, page));
    var st: linux.Stat = undefined;
    try testing.expectEqual(@as(usize, 0), linux.stat(name, &st));
    try testing.expectEqual(@as(u32, 0o600), st.mode & 0o777);
    try testing.expectEqual(@as(i32, 0), rd_map(name, page, 0, &m));
    try testing.expectEqual(@as(u64, 7), word(m.addr, 2).*);
    try testing.expectEqual(@as(i32, 0), rd_grow(name, page, 4 * page, &m));
    try testing.expectEqual(@as(u64, 7), word(m.addr, 2).*);
    word(m.addr, 4 * page / 64 - 1).* = 1; // the last counter of the grown file is backed
    try testing.expectEqual(@as(i64, @intCast(4 * page)), fileSize(name));
    try testing.expectEqual(@as(i32, 0), rd_unmap(m.addr, 4 * page));
    try testing.expectEqual(@as(i32, 0), rd_map(name, page, 1, &m));
    try testing.expectEqual(@as(u64, 0), word(m.addr, 2).*);
    try testing.expectEqual(@as(i32, 0), rd_unmap(m.addr, page));
}

test "openers of one file share one mapping until the last releases it" {
    const page = std.heap.pageSize();
    var dir: Scratch = .{};
    try dir.init("shared");
    defer dir.deinit();
    const before = mappings.count();
    var a: Mapping = undefined;
    var b: Mapping = undefined;
    try testing.expectEqual(@as(i32, 0), rd_map(dir.path("counters"), page, 0, &a));
    try testing.expectEqual(@as(i32, 0), rd_map(dir.path("counters"), page, 0, &b));
    try testing.expectEqual(a.addr, b.addr);
    try testing.expectEqual(before + 1, mappings.count());
    try testing.expectEqual(@as(i32, 0), rd_grow(dir.path("counters"), page, 2 * page, &b));
    try testing.expect(a.addr != b.addr);
    word(b.addr, 1).* = 9;
    try testing.expectEqual(@as(u64, 9), word(a.addr, 1).*); // one file under both
    try testing.expectEqual(@as(i32, 0), rd_unmap(a.addr, page));
    try testing.expectEqual(sys.neg(.INVAL), rd_unmap(a.addr, page)); // already released
    try testing.expectEqual(@as(i32, 0), rd_unmap(b.addr, 2 * page));
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
    try testing.expectEqual(sys.neg(.LOOP), rd_map(dir.path("link"), page, 1, &m));
    try testing.expectEqual(@as(i64, 10), fileSize(victim));

    var target_buf: [128]u8 = undefined;
    const target = try std.fmt.bufPrintZ(&target_buf, "{s}", .{dir.path("target")});
    try testing.expectEqual(@as(usize, 0), linux.symlink(target, dir.path("dangling")));
    try testing.expectEqual(sys.neg(.LOOP), rd_map(dir.path("dangling"), page, 0, &m));
    try testing.expectEqual(@as(i64, -1), fileSize(target));

    try makeFile(dir.path("open"), 0o666, 10);
    try testing.expectEqual(sys.neg(.PERM), rd_map(dir.path("open"), page, 1, &m));
    try testing.expectEqual(@as(i64, 10), fileSize(dir.path("open")));

    try testing.expectEqual(@as(usize, 0), linux.mknod(dir.path("fifo"), linux.S.IFIFO | 0o600, 0));
    try testing.expectEqual(sys.neg(.NODEV), rd_map(dir.path("fifo"), page, 0, &m));

    try testing.expectEqual(@as(usize, 0), linux.mkdir(dir.path("dir"), 0o700));
    try testing.expectEqual(sys.neg(.ISDIR), rd_map(dir.path("dir"), page, 0, &m));

    if (linux.geteuid() == 0) { // only root can give a file away
        try makeFile(dir.path("theirs"), 0o600, 10);
        try testing.expectEqual(@as(usize, 0), giveAway(dir.path("theirs")));
        try testing.expectEqual(sys.neg(.PERM), rd_map(dir.path("theirs"), page, 1, &m));
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
    try testing.expectEqual(@as(i32, 0), rd_map(name, 2 * page, 0, &m));
    defer _ = rd_unmap(m.addr, 2 * page);
    try testing.expectEqual(@as(usize, 0), linux.unlink(name));
    try testing.expectEqual(sys.neg(.STALE), rd_grow(name, 2 * page, 4 * page, &m));
    try makeFile(name, 0o600, @intCast(2 * page)); // a restart re-created it
    try testing.expectEqual(sys.neg(.STALE), rd_grow(name, 2 * page, 4 * page, &m));
    try testing.expectEqual(@as(i64, @intCast(2 * page)), fileSize(name));

    var other: Mapping = undefined;
    try testing.expectEqual(@as(i32, 0), rd_map(name, 2 * page, 0, &other));
    defer _ = rd_unmap(other.addr, 2 * page);
    const fd: i32 = @intCast(linux.open(name, .{ .ACCMODE = .RDWR }, 0));
    _ = linux.ftruncate(fd, @intCast(page));
    _ = linux.close(fd);
    try testing.expectEqual(sys.neg(.STALE), rd_grow(name, 2 * page, 4 * page, &other));
}

test "the private directory is made mode 0700 and a planted one is refused" {
    var dir: Scratch = .{};
    try dir.init("private");
    defer dir.deinit();
    var out: [128]u8 = undefined;
    const n = rd_private_dir(dir.dir, &out, out.len);
    try testing.expect(n > 0);
    var made_buf: [128]u8 = undefined;
    const made = try std.fmt.bufPrintZ(&made_buf, "{s}", .{out[0..@intCast(n)]});
    var st: linux.Stat = undefined;
    try testing.expectEqual(@as(usize, 0), linux.lstat(made, &st));
    try testing.expectEqual(@as(u32, linux.S.IFDIR | 0o700), st.mode);
    try testing.expectEqual(n, rd_private_dir(dir.dir, &out, out.len)); // already there: fine
    try testing.expectEqual(sys.neg(.NAMETOOLONG), rd_private_dir(dir.dir, &out, 8));

    _ = linux.chmod(made, 0o755);
    try testing.expectEqual(sys.neg(.PERM), rd_private_dir(dir.dir, &out, out.len));
    _ = linux.rmdir(made);
    try testing.expectEqual(@as(usize, 0), linux.symlink("/tmp", made));
    try testing.expectEqual(sys.neg(.NOTDIR), rd_private_dir(dir.dir, &out, out.len));
    _ = linux.unlink(made);
    try makeFile(made, 0o600, 0);
    try testing.expectEqual(sys.neg(.NOTDIR), rd_private_dir(dir.dir, &out, out.len));
    _ = linux.unlink(made);
    if (linux.geteuid() == 0) {
        try testing.expectEqual(@as(usize, 0), linux.mkdir(made, 0o700));
        try testing.expectEqual(@as(usize, 0), giveAway(made));
        try testing.expectEqual(sys.neg(.PERM), rd_private_dir(dir.dir, &out, out.len));
    }
}
