//! Loopback sockets for tests: TCP and unix listeners, clients that connect
//! without being accepted, and accept. Test-only helpers over raw syscalls.
const std = @import("std");
const linux = std.os.linux;
const sys = @import("sys.zig");

pub const Error = sys.Error;
const check = sys.check;

pub const Family = enum { v4, v6 };

const SockAddr = extern union {
    in: linux.sockaddr.in,
    in6: linux.sockaddr.in6,
    un: linux.sockaddr.un,
    any: linux.sockaddr,
};

fn inetAddr(family: Family, addr: [16]u8, port: u16) struct { sa: SockAddr, len: u32 } {
    var sa: SockAddr = undefined;
    switch (family) {
        .v4 => {
            sa = .{ .in = .{ .port = std.mem.nativeToBig(u16, port), .addr = @bitCast(addr[0..4].*) } };
            return .{ .sa = sa, .len = @sizeOf(linux.sockaddr.in) };
        },
        .v6 => {
            sa = .{ .in6 = .{ .port = std.mem.nativeToBig(u16, port), .flowinfo = 0, .addr = addr, .scope_id = 0 } };
            return .{ .sa = sa, .len = @sizeOf(linux.sockaddr.in6) };
        },
    }
}

pub fn v4(a: u8, b: u8, c: u8, d: u8) [16]u8 {
    var x = [_]u8{0} ** 16;
    x[0..4].* = .{ a, b, c, d };
    return x;
}

pub const v6_loopback: [16]u8 = blk: {
    var x = [_]u8{0} ** 16;
    x[15] = 1;
    break :blk x;
};

pub const Listener = struct { fd: i32, port: u16 };

/// A non-blocking TCP listener on `addr` (port 0 picks one), with SO_REUSEPORT when
/// `reuseport` is set (needed to add listeners on the same port).
pub fn tcpListen(family: Family, addr: [16]u8, port: u16, backlog: u32, reuseport: bool) Error!Listener {
    const af: u32 = if (family == .v4) linux.AF.INET else linux.AF.INET6;
    const fd: i32 = @intCast(try check(linux.socket(af, linux.SOCK.STREAM | linux.SOCK.CLOEXEC | linux.SOCK.NONBLOCK, 0)));
    errdefer _ = linux.close(fd);
    const one: i32 = 1;
    if (reuseport) _ = try check(linux.setsockopt(fd, linux.SOL.SOCKET, linux.SO.REUSEPORT, std.mem.asBytes(&one), 4));
    const sa = inetAddr(family, addr, port);
    _ = try check(linux.bind(fd, &sa.sa.any, sa.len));
    _ = try check(linux.listen(fd, backlog));
    return .{ .fd = fd, .port = try localPort(fd) };
}

pub fn localPort(fd: i32) Error!u16 {
    var sa: SockAddr = undefined;
    var len: u32 = @sizeOf(SockAddr);
    _ = try check(linux.getsockname(fd, &sa.any, &len));
    return std.mem.bigToNative(u16, sa.in.port); // same offset in in6
}

/// A blocking TCP connection; on loopback it completes whether or not the
/// listener ever accepts it (the handshake is done by the kernel).
pub fn tcpConnect(family: Family, addr: [16]u8, port: u16) Error!i32 {
    const af: u32 = if (family == .v4) linux.AF.INET else linux.AF.INET6;
    const fd: i32 = @intCast(try check(linux.socket(af, linux.SOCK.STREAM | linux.SOCK.CLOEXEC, 0)));
    errdefer _ = linux.close(fd);
    const sa = inetAddr(family, addr, port);
    _ = try check(linux.connect(fd, &sa.sa.any, sa.len));
    return fd;
}

/// Like `tcpConnect`, but from loopback port `from` (0: any) of the same
/// family, with SO_REUSEADDR and SO_REUSEPORT so that several clients can
/// share one local port towards different servers.
pub fn tcpConnectFrom(family: Family, addr: [16]u8, port: u16, from: u16) Error!i32 {
    const af: u32 = if (family == .v4) linux.AF.INET else linux.AF.INET6;
    const fd: i32 = @intCast(try check(linux.socket(af, linux.SOCK.STREAM | linux.SOCK.CLOEXEC, 0)));
    errdefer _ = linux.close(fd);
    const one: i32 = 1;
    _ = try check(linux.setsockopt(fd, linux.SOL.SOCKET, linux.SO.REUSEADDR, std.mem.asBytes(&one), 4));
    _ = try check(linux.setsockopt(fd, linux.SOL.SOCKET, linux.SO.REUSEPORT, std.mem.asBytes(&one), 4));
    const self = inetAddr(family, if (family == .v4) v4(127, 0, 0, 1) else v6_loopback, from);
    _ = try check(linux.bind(fd, &self.sa.any, self.len));
    const sa = inetAddr(family, addr, port);
    _ = try check(linux.connect(fd, &sa.sa.any, sa.len));
    return fd;
}

/// Accepts from a non-blocking listener, waiting up to about a second for a
/// connection; error.AGAIN when none arrives.
pub fn accept(fd: i32) Error!i32 {
    return acceptAny(&.{fd});
}

/// Accepts one connection from whichever of these non-blocking listeners
/// has one first (REUSEPORT listeners share connections by hash).
pub fn acceptAny(fds: []const i32) Error!i32 {
    for (0..100) |_| {
        for (fds) |fd| {
            const rc = check(linux.accept4(fd, null, null, linux.SOCK.CLOEXEC)) catch |e| {
                if (e != error.AGAIN) return e;
                continue;
            };
            return @intCast(rc);
        }
        std.Thread.sleep(10 * std.time.ns_per_ms);
    }
    return error.AGAIN;
}

pub fn close(fd: i32) void {
    _ = linux.close(fd);
}

/// A loopback TCP connection with both ends: the listener, the client and
/// the accepted server end.
pub const Connection = struct {
    listener: Listener,
    client: i32,
    server: i32,
    client_port: u16,

    pub fn deinit(self: Connection) void {
        close(self.server);
        close(self.client);
        close(self.listener.fd);
    }
};

/// Listens on `listen_addr` (any port), connects a `client_family` client
/// to `connect_addr` on that port and accepts it.
pub fn connection(listen_family: Family, listen_addr: [16]u8, client_family: Family, connect_addr: [16]u8) Error!Connection {
    const l = try tcpListen(listen_family, listen_addr, 0, 4, false);
    errdefer close(l.fd);
    const c = try tcpConnect(client_family, connect_addr, l.port);
    errdefer close(c);
    const server = try accept(l.fd);
    errdefer close(server);
    return .{ .listener = l, .client = c, .server = server, .client_port = try localPort(c) };
}

fn unixAddr(name: []const u8) struct { sa: SockAddr, len: u32 } {
    var sa: SockAddr = .{ .un = .{ .path = [_]u8{0} ** 108 } };
    @memcpy(sa.un.path[0..name.len], name);
    // Abstract names (leading NUL) use their exact length; paths add the NUL.
    const extra: u32 = if (name.len > 0 and name[0] == 0) 0 else 1;
    return .{ .sa = sa, .len = @intCast(2 + name.len + extra) };
}

/// A non-blocking unix stream listener on a path or, with a leading NUL, an abstract name.
pub fn unixListen(name: []const u8, backlog: u32) Error!i32 {
    const fd: i32 = @intCast(try check(linux.socket(linux.AF.UNIX, linux.SOCK.STREAM | linux.SOCK.CLOEXEC | linux.SOCK.NONBLOCK, 0)));
    errdefer _ = linux.close(fd);
    const sa = unixAddr(name);
    _ = try check(linux.bind(fd, &sa.sa.any, sa.len));
    _ = try check(linux.listen(fd, backlog));
    return fd;
}

/// A unix stream client; connect returns once queued on the listener.
pub fn unixConnect(name: []const u8) Error!i32 {
    const fd: i32 = @intCast(try check(linux.socket(linux.AF.UNIX, linux.SOCK.STREAM | linux.SOCK.CLOEXEC, 0)));
    errdefer _ = linux.close(fd);
    const sa = unixAddr(name);
    _ = try check(linux.connect(fd, &sa.sa.any, sa.len));
    return fd;
}
