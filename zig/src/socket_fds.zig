//! This process's descriptor for a socket known only by its inode (what a
//! sock_diag answer tells), found by walking /proc/self/fd: for servers
//! whose runtime hides descriptors. Only this process's own table is read,
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

/// A descriptor of this process on the socket whose inode is `inode`, or
/// -ENOENT when this process holds none (-EINVAL for inode 0, which the
/// kernel reports for a socket still in an accept queue; the errno of
/// opening or reading /proc/self/fd otherwise). Costs one fstat per open
/// descriptor: look a connection up once and keep the answer.
pub export fn rd_fd_of_socket(inode: u32) i32 {
    if (inode == 0) return sys.neg(.INVAL);
    const rc = linux.open("/proc/self/fd", .{ .ACCMODE = .RDONLY, .DIRECTORY = true, .CLOEXEC = true }, 0);
    if (sys.failure(rc)) |e| return e;
    const dir: i32 = @intCast(rc);
    defer _ = linux.close(dir);
    var buf: [8192]u8 align(8) = undefined;
    while (true) {
        const got = linux.getdents64(dir, &buf, buf.len);
        if (sys.failure(got)) |e| return e;
        if (got == 0) return sys.neg(.NOENT);
        var entries: Entries = .{ .buf = buf[0..got] };
        while (entries.next()) |name| {
            const fd = std.fmt.parseInt(i32, name, 10) catch continue; // "." and ".."
            if (fd != dir and socketInode(fd) == inode) return fd;
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

test "a socket's descriptor is found by its inode; other inodes are not" {
    const l = try ts.tcpListen(.v4, ts.v4(127, 0, 0, 1), 0, 4, false);
    defer ts.close(l.fd);
    const inode = socketInode(l.fd) orelse return error.TestUnexpectedResult;
    try testing.expectEqual(l.fd, rd_fd_of_socket(@intCast(inode)));
    try testing.expectEqual(sys.neg(.INVAL), rd_fd_of_socket(0));
    try testing.expectEqual(sys.neg(.NOENT), rd_fd_of_socket(std.math.maxInt(u32)));
    // Not a socket: a pipe has an inode too, but it is not taken.
    var pipe: [2]i32 = undefined;
    _ = linux.pipe2(&pipe, .{ .CLOEXEC = true });
    defer for (pipe) |p| ts.close(p);
    try testing.expectEqual(@as(?u64, null), socketInode(pipe[0]));
    try testing.expectEqual(@as(?u64, null), socketInode(-1));
}
