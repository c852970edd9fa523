//! Half-open connections per TCP listen address over inet_diag: the
//! SYN_RECV request sockets whose SYN a listener answered and whose
//! handshake has not completed (the kernel dumps them when SYN_RECV is
//! asked for). The kernel filters the dump with bytecode so only sockets
//! on the asked ports come back; counting walks the fixed 72-byte records
//! and allocates nothing.
const std = @import("std");
const sys = @import("sys.zig");
const netlink = @import("netlink.zig");
const inet = @import("inet_diag.zig");
const counts = @import("address_counts.zig");

const Addr = inet.Addr;
const rec_size = inet.addr_size;

/// TCP_SYN_RECV (include/net/tcp_states.h); request sockets report it.
pub const TCP_SYN_RECV: u8 = 3;

/// For each addr20 record of `query` (a whole number of them, each of a
/// known family, else error.INVAL), the SYN_RECV sockets on that local port
/// and address, or on any local address of its family for a wildcard,
/// written to `out` in query order. Kernel errors come back as they are.
pub fn count(fd: i32, query: []const u8, out: []u32, scratch: []u8) sys.Error!void {
    return counts.fill(Ctx, fd, query, out, scratch);
}

const Ctx = struct {
    query: []const u8,
    out: []u32,
    family: u8,

    pub fn build(self: *Ctx, w: *netlink.Writer) netlink.Writer.Error!void {
        const terms: counts.Terms = .{ .query = self.query, .family = self.family };
        try inet.writeDump(w, self.family, netlink.stateBit(TCP_SYN_RECV), @as(?counts.Terms, terms));
    }

    pub fn reset(self: *Ctx) void {
        counts.reset(self.query, self.out, self.family);
    }

    pub fn accept(self: *Ctx, payload: []const u8) sys.Error!void {
        const m = inet.parseMsg(payload) orelse return error.PROTO;
        if (m.family != self.family or m.state != TCP_SYN_RECV) return;
        const local = Addr.local(&m);
        for (self.out, 0..) |*r, i| {
            const a = Addr.decodeValid(self.query[i * rec_size ..][0..rec_size]);
            if (a.family != self.family or a.port != local.port) continue;
            if (a.isWildcard() or std.mem.eql(u8, &a.bytes, &local.bytes)) r.* +%= 1;
        }
    }
};

const testing = std.testing;
const ts = @import("test_sockets.zig");

fn record(buf: *[rec_size]u8, family: u8, bytes: [16]u8, port: u16) []const u8 {
    (Addr{ .family = family, .port = port, .bytes = bytes }).encode(buf);
    return buf;
}

/// A dump record of a socket in `state` whose local end is `bytes`:`port`.
fn msgOf(family: u8, state: u8, bytes: [16]u8, port: u16) [@sizeOf(inet.Msg)]u8 {
    var m = std.mem.zeroes(inet.Msg);
    m.family = family;
    m.state = state;
    std.mem.writeInt(u16, &m.id.sport, port, .big);
    m.id.src = bytes;
    return std.mem.toBytes(m);
}

test "SYN_RECV records count for their exact address and for the wildcard of their port" {
    var q: [60]u8 = undefined;
    const lo = ts.v4(127, 0, 0, 1);
    _ = record(q[0..20], inet.AF_INET, lo, 8080);
    _ = record(q[20..40], inet.AF_INET, ts.v4(0, 0, 0, 0), 8080);
    _ = record(q[40..60], inet.AF_INET, lo, 9090);
    var out = [_]u32{ 7, 7, 7 };
    var ctx: Ctx = .{ .query = &q, .out = &out, .family = inet.AF_INET };
    ctx.reset();
    try testing.expectEqualSlices(u32, &.{ 0, 0, 0 }, &out);
    try ctx.accept(&msgOf(inet.AF_INET, TCP_SYN_RECV, lo, 8080));
    try ctx.accept(&msgOf(inet.AF_INET, TCP_SYN_RECV, ts.v4(127, 0, 0, 2), 8080));
    try ctx.accept(&msgOf(inet.AF_INET, inet.TCP_ESTABLISHED, lo, 9090)); // another state: not counted
    try ctx.accept(&msgOf(inet.AF_INET6, TCP_SYN_RECV, lo, 9090)); // another family: not counted
    try testing.expectEqualSlices(u32, &.{ 1, 2, 0 }, &out);
    try testing.expectError(error.PROTO, ctx.accept(&[_]u8{0} ** 10)); // truncated record
}

test "the filter keeps only the asked ports (and addresses, unless wildcard)" {
    var q: [40]u8 = undefined;
    _ = record(q[0..20], inet.AF_INET, ts.v4(127, 0, 0, 1), 8080);
    _ = record(q[20..40], inet.AF_INET, ts.v4(0, 0, 0, 0), 9090);
    var buf: [512]u8 = undefined;
    var w: netlink.Writer = .{ .buf = &buf };
    var out: [2]u32 = undefined;
    var ctx: Ctx = .{ .query = &q, .out = &out, .family = inet.AF_INET };
    try ctx.build(&w);
    const bc = buf[@sizeOf(inet.ReqV2) + @sizeOf(netlink.AttrHeader) .. w.len];
    const entry = struct {
        fn of(addr: [4]u8, port: u16) inet.FilterEntry {
            return .{ .family = inet.AF_INET, .sport = port, .dport = 40000, .saddr = &addr };
        }
    };
    try testing.expect(inet.runFilterOn(bc, entry.of(.{ 127, 0, 0, 1 }, 8080)));
    try testing.expect(!inet.runFilterOn(bc, entry.of(.{ 127, 0, 0, 2 }, 8080)));
    try testing.expect(inet.runFilterOn(bc, entry.of(.{ 10, 0, 0, 1 }, 9090)));
    try testing.expect(!inet.runFilterOn(bc, entry.of(.{ 127, 0, 0, 1 }, 7070)));
}

var test_scratch: [64 * 1024]u8 = undefined;

test "a real listener with completed handshakes only has no SYN_RECV; bad queries are refused" {
    const lo = ts.v4(127, 0, 0, 1);
    const l = try ts.tcpListen(.v4, lo, 0, 4, false);
    defer ts.close(l.fd);
    const c = try ts.tcpConnect(.v4, lo, l.port);
    defer ts.close(c);
    const fd = try netlink.open();
    defer netlink.close(fd) catch {};
    var q: [20]u8 = undefined;
    _ = record(&q, inet.AF_INET, lo, l.port);
    var out = [_]u32{99};
    try count(fd, &q, &out, &test_scratch);
    try testing.expectEqual(@as(u32, 0), out[0]);
    try testing.expectError(error.INVAL, count(fd, q[0..19], &out, &test_scratch));
    var zero = [_]u8{0} ** 20;
    try testing.expectError(error.INVAL, count(fd, &zero, &out, &test_scratch));
    try testing.expectError(error.INVAL, count(fd, &q, out[0..0], &test_scratch));
}
