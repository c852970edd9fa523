//! The accept queue of TCP listen addresses alone, over inet_diag: one dump
//! of LISTEN sockets filtered to the asked addresses, so the kernel walks
//! only its listening hash (counting accepted connections, as a full
//! listener figure does, walks every established socket of the machine).
//! For sampling queues often.
const std = @import("std");
const sys = @import("sys.zig");
const netlink = @import("netlink.zig");
const inet = @import("inet_diag.zig");
const counts = @import("address_counts.zig");

const Addr = inet.Addr;
const rec_size = inet.addr_size;

/// For each addr20 record of `query`, the connections queued for accept on
/// the LISTEN sockets bound exactly to it (several with SO_REUSEPORT add
/// up), written to `out` in query order; error.INVAL for a bad query.
pub fn queued(fd: i32, query: []const u8, out: []u32, scratch: []u8) sys.Error!void {
    return counts.fill(Ctx, fd, query, out, scratch);
}

const Ctx = struct {
    query: []const u8,
    out: []u32,
    family: u8,

    pub fn build(self: *Ctx, w: *netlink.Writer) netlink.Writer.Error!void {
        const terms: counts.Terms = .{ .query = self.query, .family = self.family, .exact = true };
        try inet.writeDump(w, self.family, netlink.stateBit(inet.TCP_LISTEN), @as(?counts.Terms, terms));
    }

    pub fn reset(self: *Ctx) void {
        counts.reset(self.query, self.out, self.family);
    }

    pub fn accept(self: *Ctx, payload: []const u8) sys.Error!void {
        const m = inet.parseMsg(payload) orelse return error.PROTO;
        if (m.family != self.family or m.state != inet.TCP_LISTEN) return;
        const local = Addr.local(&m);
        for (self.out, 0..) |*r, i| {
            if (Addr.decodeValid(self.query[i * rec_size ..][0..rec_size]).eql(local)) r.* +%= m.rqueue;
        }
    }
};

const testing = std.testing;
const ts = @import("test_sockets.zig");

var test_scratch: [64 * 1024]u8 = undefined;

test "a real listener's queue: connections not yet accepted, exact address only" {
    const lo = ts.v4(127, 0, 0, 1);
    const l = try ts.tcpListen(.v4, lo, 0, 8, false);
    defer ts.close(l.fd);
    var clients: [3]i32 = undefined;
    for (&clients) |*c| c.* = try ts.tcpConnect(.v4, lo, l.port);
    defer for (clients) |c| ts.close(c);
    const acc = try ts.accept(l.fd);
    defer ts.close(acc);
    const fd = try netlink.open();
    defer netlink.close(fd) catch {};
    var q: [40]u8 = undefined;
    (Addr{ .family = inet.AF_INET, .port = l.port, .bytes = lo }).encode(q[0..20]);
    (Addr{ .family = inet.AF_INET, .port = l.port, .bytes = ts.v4(0, 0, 0, 0) }).encode(q[20..40]);
    var out = [_]u32{ 99, 99 };
    try queued(fd, &q, &out, &test_scratch);
    try testing.expectEqualSlices(u32, &.{ 2, 0 }, &out); // no listener on the wildcard
    try testing.expectError(error.INVAL, queued(fd, q[0..19], &out, &test_scratch));
}
