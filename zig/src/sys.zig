//! Raw Linux syscalls as Zig errors: every errno has an error of the same
//! name (error.NOENT for ENOENT), so modules return error unions and only
//! abi.zig turns an error back into the negative errno of the C ABI.
const std = @import("std");
const linux = std.os.linux;

/// One error per errno, named as linux.E names it.
pub const Error = blk: {
    const codes = @typeInfo(linux.E).@"enum".fields;
    var names: [codes.len - 1]std.builtin.Type.Error = undefined;
    var n: usize = 0;
    for (codes) |code| {
        if (code.value == 0) continue; // SUCCESS
        names[n] = .{ .name = code.name };
        n += 1;
    }
    break :blk @Type(.{ .error_set = &names });
};

/// The error for an errno; a number Linux does not define (never seen from
/// a real kernel) becomes error.PROTO: the answer made no sense.
pub fn fromErrno(code: u32) Error {
    if (code == 0 or code > std.math.maxInt(u16)) return error.PROTO;
    return switch (@as(linux.E, @enumFromInt(code))) {
        .SUCCESS => error.PROTO,
        inline else => |e| @field(Error, @tagName(e)),
        _ => error.PROTO,
    };
}

/// The errno of an error, as a positive number.
pub fn errnoOf(err: Error) u16 {
    switch (err) {
        inline else => |e| return @intFromEnum(@field(linux.E, @errorName(e))),
    }
}

/// The value of a raw syscall result, or its errno as an error.
pub fn check(rc: usize) Error!usize {
    return switch (linux.E.init(rc)) {
        .SUCCESS => rc,
        else => |e| fromErrno(@intFromEnum(e)),
    };
}

/// The start of a small file (sysfs, procfs) read into `buf`.
pub fn readSmallFile(path: [*:0]const u8, buf: []u8) Error![]const u8 {
    const fd: i32 = @intCast(try check(linux.open(path, .{ .ACCMODE = .RDONLY, .CLOEXEC = true }, 0)));
    defer _ = linux.close(fd);
    return buf[0..try check(linux.read(fd, buf.ptr, buf.len))];
}

test check {
    try std.testing.expectEqual(@as(usize, 3), try check(3));
    try std.testing.expectError(error.NOENT, check(@bitCast(@as(isize, -2))));
}

test "errors and errno numbers map both ways" {
    try std.testing.expectEqual(error.NOSPC, fromErrno(28));
    try std.testing.expectEqual(@as(u16, 28), errnoOf(error.NOSPC));
    try std.testing.expectEqual(@as(u16, 7), errnoOf(error.@"2BIG"));
    try std.testing.expectEqual(error.PROTO, fromErrno(0));
    try std.testing.expectEqual(error.PROTO, fromErrno(4000));
    try std.testing.expectEqual(error.PROTO, fromErrno(1 << 20));
}

test readSmallFile {
    var buf: [8]u8 = undefined;
    try std.testing.expect((try readSmallFile("/proc/self/stat", &buf)).len == 8);
    try std.testing.expectError(error.NOENT, readSmallFile("/nonexistent-raindrops", &buf));
}
