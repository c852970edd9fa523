//! This process's socket descriptors with their inodes, listed by walking
//! /proc/self/fd, so a socket known only by its inode (what a sock_diag
//! answer tells) leads to its descriptor: for servers whose runtime hides
//! descriptors. Only this process's own table is read,
//! and a descriptor found is only looked at (fstat, getsockopt), never
//! duplicated or closed: the runtime keeps owning it.
const std = @import("std");
const linux = std.os.linux;
const sys = @import("sys.zig");
const SocketFd = @import("records.zig").SocketFd;

/// The inode of `fd` when it is an open socket, else null.
pub fn socketInode(fd: i32) ?u64 {
    var st: linux.Stat = undefined;
    _ = sys.check(linux.fstat(fd, &st)) catch return null;
    if (!linux.S.ISSOCK(st.mode)) return null;
    return st.ino;
}

/// Every socket descriptor of this process with its inode, written to `out`
/// while they fit; returns how many sockets there are (more than fit: call
/// again with room for all). Costs one fstat per open descriptor, so
/// callers keep the answer and ask again rarely.
pub fn list(out: []align(1) SocketFd) sys.Error!usize {
    const dir: i32 = @intCast(try sys.check(linux.open("/proc/self/fd", .{ .ACCMODE = .RDONLY, .DIRECTORY = true, .CLOEXEC = true }, 0)));
    defer _ = linux.close(dir);
    var buf: [8192]u8 align(8) = undefined;
    var count: usize = 0;
    while (true) {
        const got = try sys.check(linux.getdents64(dir, &buf, buf.len));
        if (got == 0) return count;
        var entries: Entries = .{ .buf = buf[0..got] };
        while (entries.next()) |name| {
            const fd = std.fmt.parseInt(i32, name, 10) catch continue; // "." and ".."
            if (fd == dir) continue;
            const inode = socketInode(fd) orelse continue;
            if (count < out.len) out[count] = .{ .fd = @intCast(fd), .inode = @truncate(inode) };
            count += 1;
        }
    }
}

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

    var out: [256]SocketFd = undefined;
    const n = try list(&out);
    try testing.expect(n >= 1 and n <= 256);
    var found = false;
    for (out[0..n]) |pair| {
        const fd: i32 = @intCast(pair.fd);
        try testing.expect(fd != pipe[0] and fd != pipe[1]);
        if (fd == l.fd) {
            found = true;
            try testing.expectEqual(@as(u32, @truncate(inode)), pair.inode);
        }
    }
    try testing.expect(found);
    // Too little room: the count still says how many there are.
    try testing.expectEqual(n, try list(out[0..1]));
    try testing.expectEqual(n, try list(&.{}));
}
