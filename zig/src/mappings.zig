//! The process's counter-file mappings, shared: one MAP_SHARED mapping per
//! (file, length), with a count of its holders. Every thread opening a file
//! (each Worker has its own JavaScript heap) holds the same mapping, so a
//! Worker terminated before its finalizers run leaks a count, not a
//! mapping. The number of distinct mappings is capped below the kernel's
//! per-process limit, which the runtime itself needs to stay alive.
//!
//! The table lives in this library's memory, so the library must stay
//! loaded while it holds mappings: Deno unloads a library when the last
//! Worker that opened it is terminated, which would forget the table (and
//! with it the sharing). The first mapping pins the library with the
//! loader's RTLD_NODELETE, through weak references to the process's own
//! dlopen (no libc dependency of ours; without a loader nothing is pinned).
const std = @import("std");
const builtin = @import("builtin");
const linux = std.os.linux;
const sys = @import("sys.zig");

const Key = struct { dev: u64, ino: u64, bytes: usize };
const Held = struct { key: Key, holders: usize };

var lock: std.Thread.Mutex = .{};
var by_key: std.AutoHashMapUnmanaged(Key, usize) = .{};
var by_addr: std.AutoHashMapUnmanaged(usize, Held) = .{};
const allocator = std.heap.page_allocator;

/// Distinct mappings held, for tests.
pub fn count() usize {
    lock.lock();
    defer lock.unlock();
    return by_addr.count();
}

/// The most mappings handed out: half of vm.max_map_count (the kernel's
/// per-process limit), leaving the other half to the runtime, whose heap
/// cannot grow once the kernel limit is reached. Read once.
fn budget() usize {
    const State = struct {
        var known: usize = 0;
    };
    if (State.known != 0) return State.known;
    var buf: [32]u8 = undefined;
    const text = switch (sys.readSmallFile("/proc/sys/vm/max_map_count", &buf)) {
        .bytes => |b| b,
        .errno => "65530",
    };
    const limit = std.fmt.parseInt(usize, std.mem.trim(u8, text, " \n"), 10) catch 65530;
    State.known = @max(limit / 2, 1);
    return State.known;
}

const DlInfo = extern struct {
    fname: ?[*:0]const u8,
    fbase: ?*anyopaque,
    sname: ?[*:0]const u8,
    saddr: ?*anyopaque,
};
const DladdrFn = *const fn (addr: *const anyopaque, info: *DlInfo) callconv(.c) c_int;
const DlopenFn = *const fn (path: ?[*:0]const u8, flags: c_int) callconv(.c) ?*anyopaque;
// The unit tests are a static executable: no loader, nothing to pin.
const dladdr: ?DladdrFn = if (builtin.is_test) null else @extern(?DladdrFn, .{ .name = "dladdr", .linkage = .weak });
const dlopen: ?DlopenFn = if (builtin.is_test) null else @extern(?DlopenFn, .{ .name = "dlopen", .linkage = .weak });
const RTLD_NOW = 0x2;
const RTLD_NOLOAD = 0x4;
const RTLD_NODELETE = 0x1000;
var pinned = false;

/// Marks this library never to be unloaded (once; called under `lock`).
fn pinLibrary() void {
    if (pinned) return;
    pinned = true;
    const addr_of = dladdr orelse return;
    const open = dlopen orelse return;
    var info: DlInfo = undefined;
    if (addr_of(@ptrCast(&pinLibrary), &info) == 0) return;
    _ = open(info.fname, RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE);
}

/// The address of the first `bytes` of the open file `fd` (inode `dev`,
/// `ino`) mapped shared, adding a holder to an existing mapping of the same
/// length or making one. -ENOMEM when the budget is used up.
pub fn acquire(fd: i32, dev: u64, ino: u64, bytes: usize) isize {
    const key: Key = .{ .dev = dev, .ino = ino, .bytes = bytes };
    lock.lock();
    defer lock.unlock();
    pinLibrary();
    if (by_key.get(key)) |addr| {
        by_addr.getPtr(addr).?.holders += 1;
        return @intCast(addr);
    }
    if (by_addr.count() >= budget()) return sys.neg(.NOMEM);
    by_key.ensureUnusedCapacity(allocator, 1) catch return sys.neg(.NOMEM);
    by_addr.ensureUnusedCapacity(allocator, 1) catch return sys.neg(.NOMEM);
    const rc = linux.mmap(null, bytes, linux.PROT.READ | linux.PROT.WRITE, .{ .TYPE = .SHARED }, fd, 0);
    if (sys.failure(rc)) |e| return e;
    by_key.putAssumeCapacity(key, rc);
    by_addr.putAssumeCapacity(rc, .{ .key = key, .holders = 1 });
    return @intCast(rc);
}

/// Drops a holder of the mapping at `addr`, unmapping it with the last.
/// -EINVAL for an address acquire did not return.
pub fn release(addr: usize) i32 {
    lock.lock();
    defer lock.unlock();
    const held = by_addr.getPtr(addr) orelse return sys.neg(.INVAL);
    held.holders -= 1;
    if (held.holders > 0) return 0;
    const key = held.key;
    if (sys.failure(linux.munmap(@ptrFromInt(addr), key.bytes))) |e| {
        held.holders = 1;
        return e;
    }
    _ = by_addr.remove(addr);
    _ = by_key.remove(key);
    return 0;
}
