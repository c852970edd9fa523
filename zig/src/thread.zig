//! The calling OS thread's id, for code that must tell threads apart
//! (the middleware's worker slots). Deno allows reading /proc/thread-self
//! only with every permission; a syscall through FFI needs none extra.
const std = @import("std");
const linux = std.os.linux;
const sys = @import("sys.zig");

/// The kernel's id of the calling thread (gettid(2)).
pub fn id() i32 {
    return linux.gettid();
}

test "the thread id is the process id on the main thread and differs on another" {
    try std.testing.expectEqual(linux.getpid(), id());
    var other: i32 = 0;
    const t = try std.Thread.spawn(.{}, struct {
        fn run(out: *i32) void {
            out.* = id();
        }
    }.run, .{&other});
    t.join();
    try std.testing.expect(other > 0 and other != id());
}

/// When thread `tid` started, in clock ticks since boot (field 22 of
/// /proc/<tid>/task/<tid>/stat); error.NOENT when there is no such thread
/// and error.SRCH when it has exited but is not yet reaped (state Z or X:
/// its stat file lingers, but it runs no more). With the id it names a
/// thread uniquely even after ids are reused.
pub fn startTime(tid: i32) sys.Error!u64 {
    if (tid <= 0) return error.INVAL;
    var path_buf: [64]u8 = undefined;
    const path = std.fmt.bufPrintZ(&path_buf, "/proc/{d}/task/{d}/stat", .{ tid, tid }) catch unreachable;
    var buf: [1024]u8 = undefined;
    const stat = parseStat(try sys.readSmallFile(path, &buf)) orelse return error.PROTO;
    if (stat.state == 'Z' or stat.state == 'X') return error.SRCH;
    return stat.start;
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
    try std.testing.expect(try startTime(id()) > 0);
    try std.testing.expectError(error.NOENT, startTime(0x3fffffff));
    try std.testing.expectError(error.INVAL, startTime(-1));
}

test "a zombie (exited, not reaped) is gone: ESRCH" {
    const pid: i32 = @intCast(try sys.check(linux.fork()));
    if (pid == 0) linux.exit(0);
    defer {
        var status: u32 = 0;
        _ = linux.wait4(pid, &status, 0, null);
    }
    // The child exits at once; wait (bounded) until the kernel shows it as Z.
    var tries: usize = 0;
    while (startTime(pid)) |_| {
        if (tries == 1000) break;
        tries += 1;
        const pause: linux.timespec = .{ .sec = 0, .nsec = 1_000_000 };
        _ = linux.nanosleep(&pause, null);
    } else |_| {}
    try std.testing.expectError(error.SRCH, startTime(pid));
}
