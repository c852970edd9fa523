//! The local port of one of this process's TCP sockets in the role the
//! caller looks for: a listener, or a connection (connected, not
//! listening). With the descriptor list of socket_fds.zig, this finds a
//! server's own listeners and the connections accepted from them. The
//! descriptor is only looked at (getsockopt, getsockname).
const std = @import("std");
const linux = std.os.linux;
const sys = @import("sys.zig");

pub const Role = enum { connection, listener };

/// The local port of `fd` when it is an IPv4 or IPv6 TCP socket in `role`;
/// error.NOENT when it is a socket of another kind or role, the socket
/// error (BADF, NOTSOCK) when it is no socket.
pub fn of(fd: i32, role: Role) sys.Error!u16 {
    if (try intOption(fd, linux.SO.PROTOCOL) != linux.IPPROTO.TCP) return error.NOENT;
    const listening = try intOption(fd, linux.SO.ACCEPTCONN) != 0;
    if (listening != (role == .listener)) return error.NOENT;
    var addr: linux.sockaddr.storage = undefined;
    var len: linux.socklen_t = @sizeOf(linux.sockaddr.storage);
    if (role == .connection) {
        _ = sys.check(linux.getpeername(fd, @ptrCast(&addr), &len)) catch return error.NOENT;
        len = @sizeOf(linux.sockaddr.storage);
    }
    _ = try sys.check(linux.getsockname(fd, @ptrCast(&addr), &len));
    if (addr.family != linux.AF.INET and addr.family != linux.AF.INET6) return error.NOENT;
    const in: *const linux.sockaddr.in = @ptrCast(&addr); // the port sits at the same offset in in6
    return std.mem.bigToNative(u16, in.port);
}

fn intOption(fd: i32, name: u32) sys.Error!i32 {
    var v: i32 = 0;
    var len: linux.socklen_t = @sizeOf(i32);
    _ = try sys.check(linux.getsockopt(fd, linux.SOL.SOCKET, name, std.mem.asBytes(&v), &len));
    return v;
}

const testing = std.testing;
const ts = @import("test_sockets.zig");

test "a listener, its accepted connection and a client each in their role" {
    const c = try ts.connection(.v6, ts.v6_loopback, .v6, ts.v6_loopback);
    defer c.deinit();
    try testing.expectEqual(c.listener.port, try of(c.listener.fd, .listener));
    try testing.expectError(error.NOENT, of(c.listener.fd, .connection));
    try testing.expectEqual(c.listener.port, try of(c.server, .connection));
    try testing.expectError(error.NOENT, of(c.server, .listener));
    try testing.expectEqual(c.client_port, try of(c.client, .connection));
}

test "other descriptors are refused" {
    const u = try ts.unixListen("\x00raindrops-test-tcp-port", 1);
    defer ts.close(u);
    try testing.expectError(error.NOENT, of(u, .listener));
    var pipe: [2]i32 = undefined;
    _ = linux.pipe2(&pipe, .{ .CLOEXEC = true });
    defer for (pipe) |p| ts.close(p);
    try testing.expectError(error.NOTSOCK, of(pipe[0], .listener));
    try testing.expectError(error.BADF, of(-1, .connection));
}
