//! The calling OS thread's id, for code that must tell threads apart
//! (the middleware's worker slots). Deno allows reading /proc/thread-self
//! only with every permission; a syscall through FFI needs none extra.
const std = @import("std");
const linux = std.os.linux;
const sys = @import("sys.zig");

/// The kernel's id of the calling thread (gettid(2)).
export fn rd_thread_id() i32 {
    return linux.gettid();
}

test "the thread id is the process id on the main thread and differs on another" {
    try std.testing.expectEqual(linux.getpid(), rd_thread_id());
    var other: i32 = 0;
    const t = try std.Thread.spawn(.{}, struct {
        fn run(out: *i32) void {
            out.* = rd_thread_id();
        }
    }.run, .{&other});
    t.join();
    try std.testing.expect(other > 0 and other != rd_thread_id());
}

/// When thread `tid` started, in clock ticks since boot (field 22 of
/// /proc/<tid>/task/<tid>/stat), as a double (exact below 2^53); -ENOENT
/// (or another -errno) when there is no such thread. With the id it names a
/// thread uniquely even after ids are reused.
export fn rd_thread_start(tid: i32) f64 {
    if (tid <= 0) return @floatFromInt(sys.neg(.INVAL));
    var path_buf: [64]u8 = undefined;
    const path = std.fmt.bufPrintZ(&path_buf, "/proc/{d}/task/{d}/stat", .{ tid, tid }) catch unreachable;
    var buf: [1024]u8 = undefined;
    const stat = switch (sys.readSmallFile(path, &buf)) {
        .bytes => |b| b,
        .errno => |e| return @floatFromInt(e),
    };
    const start = parseStartTime(stat) orelse return @floatFromInt(sys.neg(.PROTO));
    return @floatFromInt(start);
}

/// Field 22 of a /proc stat line; the command name (field 2) may hold
/// spaces and parentheses, so fields are counted from the last ')'.
fn parseStartTime(stat: []const u8) ?u64 {
    const close = std.mem.lastIndexOfScalar(u8, stat, ')') orelse return null;
    var fields = std.mem.tokenizeScalar(u8, stat[close + 1 ..], ' ');
    var i: usize = 3; // the first field after ')' is field 3 (state)
    while (fields.next()) |f| : (i += 1) {
        if (i == 22) return std.fmt.parseInt(u64, f, 10) catch null;
    }
    return null;
}

test parseStartTime {
    const line = "42 (a b) c) S 1 42 42 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 123456 0 0";
    try std.testing.expectEqual(@as(?u64, 123456), parseStartTime(line));
    try std.testing.expectEqual(@as(?u64, null), parseStartTime("42 (x) S 1"));
    try std.testing.expectEqual(@as(?u64, null), parseStartTime("no paren"));
}

test "a live thread has a start time, a missing one ENOENT" {
    try std.testing.expect(rd_thread_start(rd_thread_id()) > 0);
    try std.testing.expectEqual(@as(f64, @floatFromInt(sys.neg(.NOENT))), rd_thread_start(0x3fffffff));
    try std.testing.expectEqual(@as(f64, @floatFromInt(sys.neg(.INVAL))), rd_thread_start(-1));
}
