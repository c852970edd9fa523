//! The local port of one of this process's TCP sockets in the role the
//! caller looks for: a listener, or a connection (connected, not
//! listening). With the descriptor list of socket_fds.zig, this finds a
//! server's own listeners and the connections accepted from them; the
//! remote end of a connection tells which of them a request came on. The
//! descriptor is only looked at (getsockopt, getsockname, getpeername).
const std = @import("std");
const linux = std.os.linux;
const sys = @import("sys.zig");
const inet = @import("inet_diag.zig");

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

/// Both ends of a connection.
pub const Ends = struct { local: inet.Addr, remote: inet.Addr };

/// Both ends of `fd` when it is a connected IPv4 or IPv6 TCP socket (a
/// dual-stack socket's IPv4 ends read IPv4-mapped); error.NOENT for
/// another socket or a listener, the socket error (BADF, NOTSOCK) when it
/// is no socket.
pub fn ends(fd: i32) sys.Error!Ends {
    if (try intOption(fd, linux.SO.PROTOCOL) != linux.IPPROTO.TCP) return error.NOENT;
    var addr: linux.sockaddr.storage = undefined;
    var len: linux.socklen_t = @sizeOf(linux.sockaddr.storage);
    _ = sys.check(linux.getpeername(fd, @ptrCast(&addr), &len)) catch return error.NOENT;
    const remote = addrOf(&addr) orelse return error.NOENT;
    len = @sizeOf(linux.sockaddr.storage);
    _ = try sys.check(linux.getsockname(fd, @ptrCast(&addr), &len));
    return .{ .local = addrOf(&addr) orelse return error.NOENT, .remote = remote };
}

/// An IPv4 or IPv6 socket address as an address record; null for another family.
fn addrOf(addr: *const linux.sockaddr.storage) ?inet.Addr {
    var a: inet.Addr = .{ .family = inet.AF_INET, .port = 0, .bytes = @splat(0) };
    if (addr.family == linux.AF.INET) {
        const in: *const linux.sockaddr.in = @ptrCast(addr);
        a.port = std.mem.bigToNative(u16, in.port);
        a.bytes[0..4].* = std.mem.asBytes(&in.addr).*;
    } else if (addr.family == linux.AF.INET6) {
        const in6: *const linux.sockaddr.in6 = @ptrCast(@alignCast(addr));
        a.family = inet.AF_INET6;
        a.port = std.mem.bigToNative(u16, in6.port);
        a.bytes = in6.addr;
    } else return null;
    return a;
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

test "a connection's ends are its local address and the other end's; listeners have none" {
    const c = try ts.connection(.v4, ts.v4(127, 0, 0, 1), .v4, ts.v4(127, 0, 0, 1));
    defer c.deinit();
    const e = try ends(c.server);
    try testing.expectEqual(inet.AF_INET, e.remote.family);
    try testing.expectEqual(c.client_port, e.remote.port);
    try testing.expectEqual(c.listener.port, e.local.port);
    try testing.expectEqualSlices(u8, &.{ 127, 0, 0, 1 }, e.remote.bytes[0..4]);
    try testing.expectEqual(c.listener.port, (try ends(c.client)).remote.port);
    try testing.expectError(error.NOENT, ends(c.listener.fd));
    const c6 = try ts.connection(.v6, ts.v6_loopback, .v6, ts.v6_loopback);
    defer c6.deinit();
    const e6 = try ends(c6.server);
    try testing.expectEqual(inet.AF_INET6, e6.remote.family);
    try testing.expectEqualSlices(u8, &ts.v6_loopback, &e6.local.bytes);
    try testing.expectError(error.BADF, ends(-1));
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
