//! One u32 per queried TCP listen address, filled from an inet_diag dump
//! of one socket state: the query (addr20 records) checked once, one dump
//! per address family present, each filtered by the kernel to the asked
//! ports (and addresses). What is counted per record is the caller's: a
//! `Ctx` type with `query`, `out` and `family` fields and `build`,
//! `accept` methods (see syn_recv.zig, listen_queue.zig).
const sys = @import("sys.zig");
const netlink = @import("netlink.zig");
const inet = @import("inet_diag.zig");

const Addr = inet.Addr;
const rec_size = inet.addr_size;

/// Fills `out` in query order with what `Ctx` counts, one dump per family
/// present in `query` (a whole number of addr20 records, each of a known
/// family, and `out` room for one result each, else error.INVAL). Kernel
/// errors come back as they are.
pub fn fill(comptime Ctx: type, fd: i32, query: []const u8, out: []u32, scratch: []u8) sys.Error!void {
    const families = try familiesOf(query, out.len);
    const n = query.len / rec_size;
    @memset(out[0..n], 0);
    for ([2]u8{ inet.AF_INET, inet.AF_INET6 }, families) |family, present| {
        if (!present) continue;
        var ctx: Ctx = .{ .query = query, .out = out[0..n], .family = family };
        try netlink.run(fd, scratch, .dump, &ctx);
    }
}

/// The families present in `query`, checked as `fill` says.
pub fn familiesOf(query: []const u8, out_len: usize) sys.Error![2]bool {
    const n = query.len / rec_size;
    if (query.len % rec_size != 0 or out_len < n) return error.INVAL;
    var families = [2]bool{ false, false };
    for (0..n) |i| {
        const a = Addr.decode(query[i * rec_size ..][0..rec_size]) orelse return error.INVAL;
        families[@intFromBool(a.family == inet.AF_INET6)] = true;
    }
    return families;
}

/// Zeroes the results of `family`'s records (a dump restarted by the kernel counts again).
pub fn reset(query: []const u8, out: []u32, family: u8) void {
    for (out, 0..) |*r, i| {
        if (Addr.decodeValid(query[i * rec_size ..][0..rec_size]).family == family) r.* = 0;
    }
}

/// Query records of `family` (every one when null) as filter terms: port
/// only for a wildcard unless `exact` (a LISTEN socket is bound to the
/// wildcard itself; accepted connections of a wildcard listener have
/// concrete local addresses).
pub const Terms = struct {
    query: []const u8,
    family: ?u8,
    exact: bool = false,
    i: usize = 0,

    pub fn next(self: *Terms) ?inet.Term {
        while (self.i < self.query.len / rec_size) {
            const a = Addr.decodeValid(self.query[self.i * rec_size ..][0..rec_size]);
            self.i += 1;
            if (self.family != null and self.family.? != a.family) continue;
            return .{ .addr = a, .any_addr = !self.exact and a.isWildcard() };
        }
        return null;
    }
};
