//! Whether the environment this process started with
//! (/proc/self/environ) sets a variable: lets raindrops tell a variable
//! that is set but that the runtime will not let JS read (Deno without
//! --allow-env) from one that is unset, to name the missing flag. Only
//! presence is told, never the value.
const std = @import("std");
const sys = @import("sys.zig");
const linux = std.os.linux;

/// Finds an entry starting with `prefix` (`NAME=`) in `NAME=VALUE\0`
/// entries fed in chunks of any size.
const Finder = struct {
    prefix: []const u8,
    /// Bytes of the current entry matched so far; null once it differs.
    matched: ?usize = 0,
    found: bool = false,

    fn feed(self: *Finder, chunk: []const u8) void {
        for (chunk) |c| {
            if (c == 0) {
                self.matched = 0;
                continue;
            }
            const m = self.matched orelse continue;
            if (self.prefix[m] != c) {
                self.matched = null;
            } else if (m + 1 == self.prefix.len) {
                self.found = true;
                return;
            } else {
                self.matched = m + 1;
            }
        }
    }
};

/// True when the starting environment sets `name` (even to ""); error.INVAL
/// for an empty name, one over 255 bytes, or one holding `=`.
pub fn has(name: []const u8) sys.Error!bool {
    if (name.len == 0 or name.len > 255 or std.mem.indexOfScalar(u8, name, '=') != null) return error.INVAL;
    var prefix: [256]u8 = undefined;
    @memcpy(prefix[0..name.len], name);
    prefix[name.len] = '=';
    var finder: Finder = .{ .prefix = prefix[0 .. name.len + 1] };
    const fd: i32 = @intCast(try sys.check(linux.open("/proc/self/environ", .{ .ACCMODE = .RDONLY, .CLOEXEC = true }, 0)));
    defer _ = linux.close(fd);
    var buf: [4096]u8 = undefined;
    while (!finder.found) {
        const n = try sys.check(linux.read(fd, &buf, buf.len));
        if (n == 0) break;
        finder.feed(buf[0..n]);
    }
    return finder.found;
}

test "Finder matches whole names at entry starts, across chunks" {
    const env = "AB=1\x00XA=2\x00A=\x00";
    var whole: Finder = .{ .prefix = "A=" };
    whole.feed(env);
    try std.testing.expect(whole.found);
    for (1..env.len) |cut| {
        var split: Finder = .{ .prefix = "XA=" };
        split.feed(env[0..cut]);
        split.feed(env[cut..]);
        try std.testing.expect(split.found);
    }
    var suffix: Finder = .{ .prefix = "B=" }; // only inside "AB=1"
    suffix.feed(env);
    try std.testing.expect(!suffix.found);
    var value: Finder = .{ .prefix = "1=" };
    value.feed("A=1=\x00");
    try std.testing.expect(!value.found);
}

test has {
    try std.testing.expectError(error.INVAL, has(""));
    try std.testing.expectError(error.INVAL, has("A=B"));
    try std.testing.expect(!try has("RAINDROPS_SURELY_UNSET_VARIABLE"));
}
