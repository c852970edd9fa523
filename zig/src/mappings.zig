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
    const text = sys.readSmallFile("/proc/sys/vm/max_map_count", &buf) catch "65530";
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
const DlopenFn = *const fn (path: ?[*:0]const u8, flags: std.c.RTLD) callconv(.c) ?*anyopaque;
// The unit tests are a static executable: no loader, nothing to pin.
const dladdr: ?DladdrFn = if (builtin.is_test) null else @extern(?DladdrFn, .{ .name = "dladdr", .linkage = .weak });
const dlopen: ?DlopenFn = if (builtin.is_test) null else @extern(?DlopenFn, .{ .name = "dlopen", .linkage = .weak });
var pinned = false;

/// Marks this library never to be unloaded (once; called under `lock`).
fn pinLibrary() void {
    if (pinned) return;
    pinned = true;
    const addr_of = dladdr orelse return;
    const open = dlopen orelse return;
    var info: DlInfo = undefined;
    if (addr_of(@ptrCast(&pinLibrary), &info) == 0) return;
    _ = open(info.fname, .{ .NOW = true, .NOLOAD = true, .NODELETE = true });
}

/// Keeps this library loaded for the rest of the process (for tables of
/// other modules that must outlive the Worker that filled them).
pub fn pin() void {
    lock.lock();
    defer lock.unlock();
    pinLibrary();
}

/// The address of the first `bytes` of the open file `fd` (inode `dev`,
/// `ino`) mapped shared, adding a holder to an existing mapping of the same
/// length or making one. error.NOMEM when the budget is used up.
pub fn acquire(fd: i32, dev: u64, ino: u64, bytes: usize) sys.Error!usize {
    const key: Key = .{ .dev = dev, .ino = ino, .bytes = bytes };
    lock.lock();
    defer lock.unlock();
    pinLibrary();
    if (by_key.get(key)) |addr| {
        // by_addr holds every address by_key does: both change together.
        const held = by_addr.getPtr(addr) orelse unreachable;
        held.holders += 1;
        return addr;
    }
    if (by_addr.count() >= budget()) return error.NOMEM;
    by_key.ensureUnusedCapacity(allocator, 1) catch return error.NOMEM;
    by_addr.ensureUnusedCapacity(allocator, 1) catch return error.NOMEM;
    const addr = try sys.check(linux.mmap(null, bytes, linux.PROT.READ | linux.PROT.WRITE, .{ .TYPE = .SHARED }, fd, 0));
    by_key.putAssumeCapacity(key, addr);
    by_addr.putAssumeCapacity(addr, .{ .key = key, .holders = 1 });
    return addr;
}

/// Drops a holder of the mapping at `addr`, unmapping it with the last.
/// error.INVAL for an address acquire did not return.
pub fn release(addr: usize) sys.Error!void {
    lock.lock();
    defer lock.unlock();
    const held = by_addr.getPtr(addr) orelse return error.INVAL;
    held.holders -= 1;
    if (held.holders > 0) return;
    const key = held.key;
    _ = sys.check(linux.munmap(@ptrFromInt(addr), key.bytes)) catch |e| {
        held.holders = 1;
        return e;
    };
    _ = by_addr.remove(addr);
    _ = by_key.remove(key);
}
