//! Shared counter memory: page-aligned MAP_SHARED mappings, anonymous or
//! backed by a file that unrelated processes open by name, holding unsigned
//! 64-bit counters one per cache line. Addresses cross the C ABI as plain
//! integers so JavaScript can wrap them without runtime-specific pointer types.
const std = @import("std");
const linux = std.os.linux;
const sys = @import("sys.zig");

const prot = linux.PROT.READ | linux.PROT.WRITE;

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

/// Maps `bytes` (a positive multiple of the page size) of shared memory and
/// stores its address in `out_addr`. With a null `path` the memory is
/// anonymous and zeroed. Otherwise the file is opened or created (mode 0600),
/// extended to `bytes` if shorter (never shortened: another process may have
/// it mapped) and, when `zero` is non-zero, cleared. Returns 0 or -errno.
export fn rd_map(path: ?[*:0]const u8, bytes: usize, zero: u32, out_addr: *usize) i32 {
    if (bytes == 0 or bytes % std.heap.pageSize() != 0) return sys.neg(.INVAL);
    const p = path orelse {
        const rc = linux.mmap(null, bytes, prot, .{ .TYPE = .SHARED, .ANONYMOUS = true }, -1, 0);
        if (sys.failure(rc)) |e| return e;
        out_addr.* = rc;
        return 0;
    };
    const open_rc = linux.open(p, .{ .ACCMODE = .RDWR, .CREAT = true, .CLOEXEC = true }, 0o600);
    if (sys.failure(open_rc)) |e| return e;
    const fd: i32 = @intCast(open_rc);
    defer _ = linux.close(fd);

    var st: linux.Stat = undefined;
    if (sys.failure(linux.fstat(fd, &st))) |e| return e;
    if ((st.mode & linux.S.IFMT) != linux.S.IFREG) return sys.neg(.INVAL);
    if (st.size < bytes) {
        if (sys.failure(linux.ftruncate(fd, @intCast(bytes)))) |e| return e;
    }
    const rc = linux.mmap(null, bytes, prot, .{ .TYPE = .SHARED }, fd, 0);
    if (sys.failure(rc)) |e| return e;
    if (zero != 0) @memset(@as([*]u8, @ptrFromInt(rc))[0..bytes], 0);
    out_addr.* = rc;
    return 0;
}

/// Unmaps memory returned by rd_map or rd_grow. Returns 0 or -errno.
export fn rd_unmap(addr: usize, bytes: usize) i32 {
    if (addr == 0) return sys.neg(.INVAL);
    if (sys.failure(linux.munmap(@ptrFromInt(addr), bytes))) |e| return e;
    return 0;
}

/// Grows a mapping to `new_bytes`, moving it if needed; existing counters
/// keep their values. A file-backed mapping (non-null `path`) first extends
/// its file. The new address goes to `out_addr`. Returns 0 or -errno.
export fn rd_grow(path: ?[*:0]const u8, addr: usize, old_bytes: usize, new_bytes: usize, out_addr: *usize) i32 {
    if (addr == 0 or new_bytes < old_bytes or new_bytes % std.heap.pageSize() != 0) return sys.neg(.INVAL);
    const p = path orelse {
        // Shared anonymous memory is a shmem object of fixed size: mremap
        // would grow the mapping but not the object (SIGBUS past its end).
        // It is private to one Raindrops, so a fresh mapping and a copy do.
        const rc = linux.mmap(null, new_bytes, prot, .{ .TYPE = .SHARED, .ANONYMOUS = true }, -1, 0);
        if (sys.failure(rc)) |e| return e;
        @memcpy(@as([*]u8, @ptrFromInt(rc))[0..old_bytes], @as([*]const u8, @ptrFromInt(addr))[0..old_bytes]);
        _ = linux.munmap(@ptrFromInt(addr), old_bytes);
        out_addr.* = rc;
        return 0;
    };
    {
        const open_rc = linux.open(p, .{ .ACCMODE = .RDWR, .CLOEXEC = true }, 0);
        if (sys.failure(open_rc)) |e| return e;
        const fd: i32 = @intCast(open_rc);
        defer _ = linux.close(fd);
        var st: linux.Stat = undefined;
        if (sys.failure(linux.fstat(fd, &st))) |e| return e;
        if (st.size < new_bytes) {
            if (sys.failure(linux.ftruncate(fd, @intCast(new_bytes)))) |e| return e;
        }
    }
    const rc = linux.mremap(@ptrFromInt(addr), old_bytes, new_bytes, .{ .MAYMOVE = true }, null);
    if (sys.failure(rc)) |e| return e;
    out_addr.* = rc;
    return 0;
}

fn counter(addr: usize, slot: u32, index: u32) *u64 {
    return @ptrFromInt(addr + @as(usize, slot) * index);
}

/// Atomically adds `delta` to counter `index` (slots of `slot` bytes at
/// `addr`), wrapping at 2^64, and returns the new value. The caller checks
/// bounds: this is the C ABI equivalent of the JavaScript fast path.
export fn rd_add(addr: usize, slot: u32, index: u32, delta: u64) u64 {
    return @atomicRmw(u64, counter(addr, slot, index), .Add, delta, .seq_cst) +% delta;
}

/// Atomically subtracts `delta` (wrapping below 0) and returns the new value.
export fn rd_sub(addr: usize, slot: u32, index: u32, delta: u64) u64 {
    return @atomicRmw(u64, counter(addr, slot, index), .Sub, delta, .seq_cst) -% delta;
}

/// Atomically reads counter `index`.
export fn rd_load(addr: usize, slot: u32, index: u32) u64 {
    return @atomicLoad(u64, counter(addr, slot, index), .seq_cst);
}

/// Atomically assigns counter `index`.
export fn rd_store(addr: usize, slot: u32, index: u32, value: u64) void {
    @atomicStore(u64, counter(addr, slot, index), value, .seq_cst);
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

test "anonymous mapping counts, wraps and grows" {
    const page = std.heap.pageSize();
    var addr: usize = 0;
    try testing.expectEqual(@as(i32, 0), rd_map(null, page, 0, &addr));
    try testing.expectEqual(@as(u64, 5), rd_add(addr, 64, 3, 5));
    try testing.expectEqual(@as(u64, 2), rd_sub(addr, 64, 3, 3));
    try testing.expectEqual(std.math.maxInt(u64), rd_sub(addr, 64, 0, 1));
    rd_store(addr, 64, 1, 42);
    var grown: usize = 0;
    try testing.expectEqual(@as(i32, 0), rd_grow(null, addr, page, 4 * page, &grown));
    try testing.expectEqual(@as(u64, 42), rd_load(grown, 64, 1));
    try testing.expectEqual(@as(u64, 2), rd_load(grown, 64, 3));
    try testing.expectEqual(@as(u64, 1), rd_add(grown, 64, 3 * @as(u32, @intCast(page)) / 64, 1));
    try testing.expectEqual(@as(i32, 0), rd_unmap(grown, 4 * page));
}

test "bad sizes and paths are errno, not crashes" {
    var addr: usize = 0;
    try testing.expectEqual(sys.neg(.INVAL), rd_map(null, 0, 0, &addr));
    try testing.expectEqual(sys.neg(.INVAL), rd_map(null, 100, 0, &addr));
    try testing.expectEqual(sys.neg(.NOENT), rd_map("/nonexistent-dir/x", std.heap.pageSize(), 0, &addr));
    try testing.expectEqual(sys.neg(.ISDIR), rd_map("/tmp", std.heap.pageSize(), 0, &addr));
    try testing.expectEqual(sys.neg(.INVAL), rd_unmap(0, 4096));
}

test "file mapping keeps values unless zeroed, and is mode 0600" {
    const page = std.heap.pageSize();
    var name_buf: [64]u8 = undefined;
    const name = try std.fmt.bufPrintZ(&name_buf, "/tmp/raindrops-zig-test-{d}", .{linux.getpid()});
    defer _ = linux.unlink(name);
    var a: usize = 0;
    try testing.expectEqual(@as(i32, 0), rd_map(name, page, 1, &a));
    _ = rd_add(a, 64, 2, 7);
    try testing.expectEqual(@as(i32, 0), rd_unmap(a, page));
    var st: linux.Stat = undefined;
    try testing.expectEqual(@as(usize, 0), linux.stat(name, &st));
    try testing.expectEqual(@as(u32, 0o600), st.mode & 0o777);
    try testing.expectEqual(@as(i32, 0), rd_map(name, page, 0, &a));
    try testing.expectEqual(@as(u64, 7), rd_load(a, 64, 2));
    try testing.expectEqual(@as(i32, 0), rd_unmap(a, page));
    try testing.expectEqual(@as(i32, 0), rd_map(name, page, 1, &a));
    try testing.expectEqual(@as(u64, 0), rd_load(a, 64, 2));
    try testing.expectEqual(@as(i32, 0), rd_unmap(a, page));
}
