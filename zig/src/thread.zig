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
/// when there is no such thread and -ESRCH when it has exited but is not
/// yet reaped (state Z or X: its stat file lingers, but it runs no more),
/// or another -errno. With the id it names a thread uniquely even after ids
/// are reused.
export fn rd_thread_start(tid: i32) f64 {
    if (tid <= 0) return @floatFromInt(sys.neg(.INVAL));
    var path_buf: [64]u8 = undefined;
    const path = std.fmt.bufPrintZ(&path_buf, "/proc/{d}/task/{d}/stat", .{ tid, tid }) catch unreachable;
    var buf: [1024]u8 = undefined;
    const text = switch (sys.readSmallFile(path, &buf)) {
        .bytes => |b| b,
        .errno => |e| return @floatFromInt(e),
    };
    const stat = parseStat(text) orelse return @floatFromInt(sys.neg(.PROTO));
    if (stat.state == 'Z' or stat.state == 'X') return @floatFromInt(sys.neg(.SRCH));
    return @floatFromInt(stat.start);
}

/// The fields of a /proc stat line that tell whether a thread is the same
/// one and still running.
const Stat = struct { state: u8, start: u64 };

/// Fields 3 (state) and 22 (start time) of a /proc stat line; the command
/// name (field 2) may hold spaces and parentheses, so fields are counted
/// from the last ')'.
fn parseStat(stat: []const u8) ?Stat {
    const close = std.mem.lastIndexOfScalar(u8, stat, ')') orelse return null;
    var fields = std.mem.tokenizeScalar(u8, stat[close + 1 ..], ' ');
    const state = fields.next() orelse return null;
    var i: usize = 4;
    while (fields.next()) |f| : (i += 1) {
        if (i == 22) return .{ .state = state[0], .start = std.fmt.parseInt(u64, f, 10) catch return null };
    }
    return null;
}

test parseStat {
    const line = "42 (a b) c) S 1 42 42 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 123456 0 0";
    try std.testing.expectEqual(@as(?Stat, .{ .state = 'S', .start = 123456 }), parseStat(line));
    try std.testing.expectEqual(@as(?Stat, null), parseStat("42 (x) S 1"));
    try std.testing.expectEqual(@as(?Stat, null), parseStat("no paren"));
}

test "a live thread has a start time, a missing one ENOENT" {
    try std.testing.expect(rd_thread_start(rd_thread_id()) > 0);
    try std.testing.expectEqual(@as(f64, @floatFromInt(sys.neg(.NOENT))), rd_thread_start(0x3fffffff));
    try std.testing.expectEqual(@as(f64, @floatFromInt(sys.neg(.INVAL))), rd_thread_start(-1));
}

test "a zombie (exited, not reaped) is gone: ESRCH" {
    const rc = linux.fork();
    try std.testing.expect(sys.failure(rc) == null);
    const pid: i32 = @intCast(rc);
    if (pid == 0) linux.exit(0);
    defer {
        var status: u32 = 0;
        _ = linux.wait4(pid, &status, 0, null);
    }
    // The child exits at once; wait (bounded) until the kernel shows it as Z.
    var tries: usize = 0;
    while (rd_thread_start(pid) >= 0 and tries < 1000) : (tries += 1) {
        const pause: linux.timespec = .{ .sec = 0, .nsec = 1_000_000 };
        _ = linux.nanosleep(&pause, null);
    }
    try std.testing.expectEqual(@as(f64, @floatFromInt(sys.neg(.SRCH))), rd_thread_start(pid));
}
