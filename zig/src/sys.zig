//! Thin helpers over raw Linux syscalls: a syscall result becomes either a
//! value or a negative errno that crosses the C ABI unchanged.
const std = @import("std");
const linux = std.os.linux;

/// Negative errno for a failed raw syscall result, or null on success.
pub fn failure(rc: usize) ?i32 {
    const signed: isize = @bitCast(rc);
    if (signed > -4096 and signed < 0) return @intCast(signed);
    return null;
}

/// Errno value as the negative number our C ABI returns.
pub fn neg(e: linux.E) i32 {
    return -@as(i32, @intCast(@intFromEnum(e)));
}

/// The start of a small file (sysfs, procfs) read into `buf`, or the
/// negative errno of the open or read that failed.
pub const FileRead = union(enum) { bytes: []const u8, errno: i32 };

pub fn readSmallFile(path: [*:0]const u8, buf: []u8) FileRead {
    const rc = linux.open(path, .{ .ACCMODE = .RDONLY, .CLOEXEC = true }, 0);
    if (failure(rc)) |e| return .{ .errno = e };
    const fd: i32 = @intCast(rc);
    defer _ = linux.close(fd);
    const n = linux.read(fd, buf.ptr, buf.len);
    if (failure(n)) |e| return .{ .errno = e };
    return .{ .bytes = buf[0..n] };
}

test failure {
    try std.testing.expectEqual(@as(?i32, null), failure(3));
    try std.testing.expectEqual(@as(?i32, -2), failure(@bitCast(@as(isize, -2))));
}

test readSmallFile {
    var buf: [8]u8 = undefined;
    try std.testing.expect(readSmallFile("/proc/self/stat", &buf).bytes.len == 8);
    try std.testing.expectEqual(neg(.NOENT), readSmallFile("/nonexistent-raindrops", &buf).errno);
}
