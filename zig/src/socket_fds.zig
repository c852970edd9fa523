//! This process's socket descriptors with their inodes, listed by walking
//! /proc/self/fd, so a socket known only by its inode (what a sock_diag
//! answer tells) leads to its descriptor: for servers whose runtime hides
//! descriptors. Only this process's own table is read,
//! and a descriptor found is only looked at (fstat, getsockopt), never
//! duplicated or closed: the runtime keeps owning it.
const std = @import("std");
const linux = std.os.linux;
const sys = @import("sys.zig");

/// The inode of `fd` when it is an open socket, else null.
pub fn socketInode(fd: i32) ?u64 {
    var st: linux.Stat = undefined;
    if (sys.failure(linux.fstat(fd, &st)) != null) return null;
    if (!linux.S.ISSOCK(st.mode)) return null;
    return st.ino;
}

/// Every socket descriptor of this process with its inode: `out` receives
/// { fd, inode } pairs (native u32 each) while they fit in out_cap bytes;
/// returns how many sockets there are (more than fit: call again with room
/// for all), or the -errno of opening or reading /proc/self/fd. Costs one
/// fstat per open descriptor, so callers keep the answer and ask again
/// rarely.
pub export fn rd_socket_fds(out: ?[*]u8, out_cap: u32) i32 {
    if (out_cap > 0 and out == null) return sys.neg(.INVAL);
    const o: []u8 = if (out) |p| p[0..out_cap] else &.{};
    const rc = linux.open("/proc/self/fd", .{ .ACCMODE = .RDONLY, .DIRECTORY = true, .CLOEXEC = true }, 0);
    if (sys.failure(rc)) |e| return e;
    const dir: i32 = @intCast(rc);
    defer _ = linux.close(dir);
    var buf: [8192]u8 align(8) = undefined;
    var count: usize = 0;
    while (true) {
        const got = linux.getdents64(dir, &buf, buf.len);
        if (sys.failure(got)) |e| return e;
        if (got == 0) return @intCast(@min(count, std.math.maxInt(i32)));
        var entries: Entries = .{ .buf = buf[0..got] };
        while (entries.next()) |name| {
            const fd = std.fmt.parseInt(i32, name, 10) catch continue; // "." and ".."
            if (fd == dir) continue;
            const inode = socketInode(fd) orelse continue;
            if (o.len / pair_size > count) {
                const pair = o[count * pair_size ..][0..pair_size];
                std.mem.writeInt(u32, pair[0..4], @intCast(fd), native);
                std.mem.writeInt(u32, pair[4..8], @truncate(inode), native);
            }
            count += 1;
        }
    }
}

const pair_size = 8;
const native = @import("builtin").cpu.arch.endian();

/// The names in one getdents64 answer; stops at a record that does not fit.
const Entries = struct {
    buf: []const u8,
    at: usize = 0,

    const name_offset = @offsetOf(linux.dirent64, "name");

    fn next(self: *Entries) ?[]const u8 {
        if (self.buf.len - self.at <= name_offset) return null;
        const reclen = std.mem.readInt(u16, self.buf[self.at + @offsetOf(linux.dirent64, "reclen") ..][0..2], .little);
        if (reclen <= name_offset or reclen > self.buf.len - self.at) return null;
        const name = std.mem.sliceTo(self.buf[self.at + name_offset .. self.at + reclen], 0);
        self.at += reclen;
        return name;
    }
};

const testing = std.testing;
const ts = @import("test_sockets.zig");

test "every socket descriptor is listed with its inode; other descriptors are not" {
    const l = try ts.tcpListen(.v4, ts.v4(127, 0, 0, 1), 0, 4, false);
    defer ts.close(l.fd);
    const inode = socketInode(l.fd) orelse return error.TestUnexpectedResult;
    var pipe: [2]i32 = undefined;
    _ = linux.pipe2(&pipe, .{ .CLOEXEC = true });
    defer for (pipe) |p| ts.close(p);
    try testing.expectEqual(@as(?u64, null), socketInode(pipe[0]));
    try testing.expectEqual(@as(?u64, null), socketInode(-1));

    var out: [8 * 256]u8 = undefined;
    const n = rd_socket_fds(&out, out.len);
    try testing.expect(n >= 1 and n <= 256);
    var found = false;
    for (0..@intCast(n)) |i| {
        const fd: i32 = @intCast(std.mem.readInt(u32, out[i * 8 ..][0..4], native));
        try testing.expect(fd != pipe[0] and fd != pipe[1]);
        if (fd == l.fd) {
            found = true;
            try testing.expectEqual(@as(u32, @truncate(inode)), std.mem.readInt(u32, out[i * 8 + 4 ..][0..4], native));
        }
    }
    try testing.expect(found);
    // Too little room: the count still says how many there are.
    try testing.expectEqual(n, rd_socket_fds(&out, 4));
    try testing.expectEqual(n, rd_socket_fds(null, 0));
    try testing.expectEqual(sys.neg(.INVAL), rd_socket_fds(null, 8));
}
