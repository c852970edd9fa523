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

test failure {
    try std.testing.expectEqual(@as(?i32, null), failure(3));
    try std.testing.expectEqual(@as(?i32, -2), failure(@bitCast(@as(isize, -2))));
}
