//! TCP listener statistics over inet_diag: per listen address, the accept
//! queue (queued), its limit (backlog), the number of LISTEN sockets and the
//! accepted ESTABLISHED connections (active). The kernel filters each dump
//! with bytecode so only sockets on the asked ports come back; counting
//! walks the fixed 72-byte records and allocates nothing.
const std = @import("std");
const sys = @import("sys.zig");
const netlink = @import("netlink.zig");
const inet = @import("inet_diag.zig");
const counts = @import("address_counts.zig");
const records = @import("records.zig");

const Addr = inet.Addr;
const ListenerFigures = records.ListenerFigures;
const TcpListener = records.TcpListener;
const rec_size = inet.addr_size;
const stateBit = netlink.stateBit;

/// Figures for each addr20 record of `query` (a whole number of them, one
/// family each, else error.INVAL), written to `out` in query order.
/// queued, backlog and listeners sum the LISTEN sockets bound exactly to
/// the address and port (several with SO_REUSEPORT add up); active counts
/// accepted (inode != 0) ESTABLISHED sockets on that local port and
/// address, or on any local address of that family for a wildcard (for ::
/// this includes IPv4-mapped connections). `scratch` holds the request and
/// the replies. Kernel errors come back as they are (PROTONOSUPPORT or
/// NOENT when inet_diag / tcp_diag are missing).
///
/// One dump answers the whole query: LISTEN and ESTABLISHED sockets of both
/// families (TCPDIAG_GETSOCK), filtered in the kernel to the queried ports
/// and addresses, so each socket table is walked once. A kernel that
/// refuses that request is asked per family and state instead.
pub fn queried(fd: i32, query: []const u8, out: []ListenerFigures, scratch: []u8) sys.Error!void {
    const n = query.len / rec_size;
    std.debug.assert(query.len % rec_size == 0 and out.len >= n);
    var families = [2]bool{ false, false };
    for (0..n) |i| {
        const a = Addr.decode(query[i * rec_size ..][0..rec_size]) orelse return error.INVAL;
        families[@intFromBool(a.family == inet.AF_INET6)] = true;
    }
    @memset(out[0..n], .{});
    var both: QueryCtx = .{ .query = query, .out = out[0..n], .family = null, .states = listen_and_established };
    netlink.run(fd, scratch, .dump, &both) catch |e| {
        if (!refusedAnyFamily(e)) return e;
        try queriedByFamily(fd, query, out[0..n], families, scratch);
    };
}

/// `queried` asked per family present and per state, for a kernel that
/// refuses TCPDIAG_GETSOCK.
fn queriedByFamily(fd: i32, query: []const u8, out: []ListenerFigures, families: [2]bool, scratch: []u8) sys.Error!void {
    for ([2]u8{ inet.AF_INET, inet.AF_INET6 }, families) |family, present| {
        if (!present) continue;
        for ([2]u8{ inet.TCP_LISTEN, inet.TCP_ESTABLISHED }) |state| {
            var ctx: QueryCtx = .{ .query = query, .out = out, .family = family, .states = stateBit(state) };
            try netlink.run(fd, scratch, .dump, &ctx);
        }
    }
}

const listen_and_established = stateBit(inet.TCP_LISTEN) | stateBit(inet.TCP_ESTABLISHED);

/// The kernel's answers to a TCPDIAG_GETSOCK dump that it does not serve
/// (the request type unknown, or its handler missing): the same question is
/// then asked per family with SOCK_DIAG_BY_FAMILY, which also names a
/// missing module properly.
fn refusedAnyFamily(e: sys.Error) bool {
    return e == error.INVAL or e == error.OPNOTSUPP or e == error.NOENT or e == error.PROTONOSUPPORT;
}

fn familyCovered(family: ?u8, of: u8) bool {
    return family == null or family.? == of;
}

/// One dump for a query: `states` (LISTEN, ESTABLISHED or both) of
/// `family`, or of both families when null.
const QueryCtx = struct {
    query: []const u8,
    out: []ListenerFigures,
    family: ?u8,
    states: u32,

    fn queryAddr(self: *const QueryCtx, i: usize) Addr {
        return Addr.decodeValid(self.query[i * rec_size ..][0..rec_size]);
    }

    pub fn messageType(self: *const QueryCtx) u16 {
        return inet.dumpType(self.family);
    }

    pub fn build(self: *QueryCtx, w: *netlink.Writer) netlink.Writer.Error!void {
        const terms: counts.Terms = .{ .query = self.query, .family = self.family, .exact = self.states == stateBit(inet.TCP_LISTEN) };
        try inet.writeDump(w, self.family, self.states, @as(?counts.Terms, terms));
    }

    pub fn reset(self: *QueryCtx) void {
        for (self.out, 0..) |*r, i| {
            if (!familyCovered(self.family, self.queryAddr(i).family)) continue;
            if (self.states & stateBit(inet.TCP_LISTEN) != 0) r.* = .{ .active = r.active };
            if (self.states & stateBit(inet.TCP_ESTABLISHED) != 0) r.active = 0;
        }
    }

    pub fn accept(self: *QueryCtx, payload: []const u8) sys.Error!void {
        const m = inet.parseMsg(payload) orelse return error.PROTO;
        if (!familyCovered(self.family, m.family)) return;
        const listen = m.state == inet.TCP_LISTEN and self.states & stateBit(inet.TCP_LISTEN) != 0;
        const established = m.state == inet.TCP_ESTABLISHED and self.states & stateBit(inet.TCP_ESTABLISHED) != 0;
        if (!listen and !(established and m.inode != 0)) return;
        const local = Addr.local(&m);
        for (self.out, 0..) |*r, i| {
            const a = self.queryAddr(i);
            if (a.family != m.family or a.port != local.port) continue;
            if (listen) {
                if (!std.mem.eql(u8, &a.bytes, &local.bytes)) continue;
                r.queued +%= m.rqueue;
                r.backlog +%= m.wqueue;
                r.listeners +%= 1;
            } else if (a.isWildcard() or std.mem.eql(u8, &a.bytes, &local.bytes)) {
                r.active +%= 1;
            }
        }
    }
};

/// Every listening address: `out` receives one record per address
/// (REUSEPORT listeners merged), sorted by addr20; returns how many. An
/// accepted connection counts for the listener on its exact local address,
/// else the wildcard listener of its port and family. `out` needs room for
/// one record per LISTEN socket, since they are merged after all have
/// arrived (else error.NOSPC).
///
/// Two dumps of both families at once (TCPDIAG_GETSOCK), so each socket
/// table is walked once: LISTEN sockets, which are sorted by address and
/// merged, then ESTABLISHED ones, each attributed by binary search, so the
/// cost grows as n log n in listeners and connections. A kernel that
/// refuses that request is asked per family instead.
pub fn all(fd: i32, out: []TcpListener, scratch: []u8) sys.Error!usize {
    var count: usize = 0;
    var listeners: ListenAllCtx = .{ .out = out, .count = &count, .start = 0, .family = null };
    netlink.run(fd, scratch, .dump, &listeners) catch |e| {
        if (!refusedAnyFamily(e)) return e;
        return allByFamily(fd, out, scratch);
    };
    const merged = mergeListeners(out[0..count]);
    try countActive(fd, merged, null, scratch);
    return merged.len;
}

/// `all` asked per family, for a kernel that refuses TCPDIAG_GETSOCK.
fn allByFamily(fd: i32, out: []TcpListener, scratch: []u8) sys.Error!usize {
    var count: usize = 0;
    for ([2]u8{ inet.AF_INET, inet.AF_INET6 }) |family| {
        var ctx: ListenAllCtx = .{ .out = out, .count = &count, .start = count, .family = family };
        try netlink.run(fd, scratch, .dump, &ctx);
    }
    const merged = mergeListeners(out[0..count]);
    for ([2]u8{ inet.AF_INET, inet.AF_INET6 }) |family| try countActive(fd, familyRecords(merged, family), family, scratch);
    return merged.len;
}

/// Sets `active` of sorted, merged records of `family` (both when null).
fn countActive(fd: i32, rs: []TcpListener, family: ?u8, scratch: []u8) sys.Error!void {
    if (rs.len == 0) return;
    var ctx: ActiveAllCtx = .{ .records = rs, .family = family };
    try netlink.run(fd, scratch, .dump, &ctx);
}

/// Orders records by their addr20 key: family, then port, then address, so
/// one (family, port) forms a run that starts with its wildcard listener.
/// Byte order, compared 8, 8 and 4 bytes at a time as big-endian words.
fn keyOrder(key: *const [rec_size]u8, r: TcpListener) std.math.Order {
    inline for (.{ .{ u64, 0 }, .{ u64, 8 }, .{ u32, 16 } }) |part| {
        const T = part[0];
        const at = part[1];
        const a = std.mem.readInt(T, key[at..][0..@sizeOf(T)], .big);
        const b = std.mem.readInt(T, r.addr[at..][0..@sizeOf(T)], .big);
        if (a != b) return std.math.order(a, b);
    }
    return .eq;
}

fn keyLess(_: void, a: TcpListener, b: TcpListener) bool {
    return keyOrder(&a.addr, b) == .lt;
}

/// Sorts the records and merges those with the same address (REUSEPORT
/// listeners): their queues and backlogs add up. Returns the merged prefix.
fn mergeListeners(rs: []TcpListener) []TcpListener {
    std.sort.pdq(TcpListener, rs, {}, keyLess);
    var kept: usize = 0;
    for (rs) |r| {
        if (kept > 0 and keyOrder(&r.addr, rs[kept - 1]) == .eq) {
            const last = &rs[kept - 1];
            last.queued +%= r.queued;
            last.backlog +%= r.backlog;
            continue;
        }
        rs[kept] = r;
        kept += 1;
    }
    return rs[0..kept];
}

/// The run of sorted records of one family (the family byte leads the key).
fn familyRecords(rs: []TcpListener, family: u8) []TcpListener {
    const tag: u8 = if (family == inet.AF_INET) 4 else 6;
    const Tag = struct {
        fn before(t: u8, r: TcpListener) bool {
            return r.addr[0] < t;
        }
        fn upTo(t: u8, r: TcpListener) bool {
            return r.addr[0] <= t;
        }
    };
    const from = std.sort.partitionPoint(TcpListener, rs, tag, Tag.before);
    const to = std.sort.partitionPoint(TcpListener, rs, tag, Tag.upTo);
    return rs[from..to];
}

/// The record whose key is exactly `key`, by binary search.
fn findRecord(rs: []TcpListener, key: *const [rec_size]u8) ?*TcpListener {
    const i = std.sort.lowerBound(TcpListener, rs, key, keyOrder);
    if (i == rs.len or keyOrder(key, rs[i]) != .eq) return null;
    return &rs[i];
}

fn recordAddr(r: *const TcpListener) Addr {
    return Addr.decodeValid(&r.addr);
}

/// Collects LISTEN sockets of one family (both when null), one record per
/// socket (merged later by `mergeListeners`).
const ListenAllCtx = struct {
    out: []TcpListener,
    count: *usize,
    start: usize,
    family: ?u8,

    pub fn messageType(self: *const ListenAllCtx) u16 {
        return inet.dumpType(self.family);
    }

    pub fn build(self: *ListenAllCtx, w: *netlink.Writer) netlink.Writer.Error!void {
        try inet.writeDump(w, self.family, stateBit(inet.TCP_LISTEN), @as(?counts.Terms, null));
    }

    pub fn reset(self: *ListenAllCtx) void {
        self.count.* = self.start;
    }

    pub fn accept(self: *ListenAllCtx, payload: []const u8) sys.Error!void {
        const m = inet.parseMsg(payload) orelse return error.PROTO;
        if (!familyCovered(self.family, m.family) or m.state != inet.TCP_LISTEN) return;
        if (m.family != inet.AF_INET and m.family != inet.AF_INET6) return;
        if (self.count.* == self.out.len) return error.NOSPC;
        const r = &self.out[self.count.*];
        r.* = .{ .addr = undefined, .queued = m.rqueue, .backlog = m.wqueue };
        Addr.local(&m).encode(&r.addr);
        self.count.* += 1;
    }
};

/// Listening ports up to which the ESTABLISHED dump carries a filter of one
/// term per port. The kernel checks a filter's jumps in time quadratic in
/// its length and runs it on every socket, so beyond this the dump goes
/// unfiltered and the binary search alone picks the connections.
const max_filter_ports = 64;

/// Counts accepted connections of one family (both when null) against the
/// sorted records of that family.
const ActiveAllCtx = struct {
    records: []TcpListener,
    family: ?u8,

    /// One term per distinct port: the first record of each port's run.
    const PortTerms = struct {
        records: []const TcpListener,
        i: usize = 0,

        pub fn next(self: *PortTerms) ?inet.Term {
            while (self.i < self.records.len) {
                const i = self.i;
                self.i += 1;
                const a = recordAddr(&self.records[i]);
                if (i > 0 and recordAddr(&self.records[i - 1]).port == a.port) continue;
                return .{ .addr = a, .any_addr = true };
            }
            return null;
        }
    };

    fn ports(self: *const ActiveAllCtx) usize {
        var it: PortTerms = .{ .records = self.records };
        var n: usize = 0;
        while (it.next()) |_| n += 1;
        return n;
    }

    pub fn messageType(self: *const ActiveAllCtx) u16 {
        return inet.dumpType(self.family);
    }

    pub fn build(self: *ActiveAllCtx, w: *netlink.Writer) netlink.Writer.Error!void {
        const terms: PortTerms = .{ .records = self.records };
        const filter: ?PortTerms = if (self.ports() <= max_filter_ports) terms else null;
        try inet.writeDump(w, self.family, stateBit(inet.TCP_ESTABLISHED), filter);
    }

    pub fn reset(self: *ActiveAllCtx) void {
        for (self.records) |*r| r.active = 0;
    }

    pub fn accept(self: *ActiveAllCtx, payload: []const u8) sys.Error!void {
        const m = inet.parseMsg(payload) orelse return error.PROTO;
        if (!familyCovered(self.family, m.family) or m.state != inet.TCP_ESTABLISHED or m.inode == 0) return;
        var key: [rec_size]u8 = undefined;
        var local = Addr.local(&m);
        local.encode(&key);
        const r = findRecord(self.records, &key) orelse wildcard: {
            local.bytes = [_]u8{0} ** 16;
            local.encode(&key);
            break :wildcard findRecord(self.records, &key) orelse return;
        };
        r.active +%= 1;
    }
};

const testing = std.testing;
const ts = @import("test_sockets.zig");

/// An all-listeners record's figures (it has no listener count).
fn allStats(r: *const TcpListener) ListenerFigures {
    return .{ .active = r.active, .queued = r.queued, .backlog = r.backlog };
}

fn encodeQuery(buf: []u8, addrs: []const Addr) []u8 {
    for (addrs, 0..) |a, i| a.encode(buf[i * rec_size ..][0..rec_size]);
    return buf[0 .. addrs.len * rec_size];
}

var test_scratch: [256 * 1024]u8 = undefined;

/// Unfiltered IPv4 ESTABLISHED dump counting server-side sockets on a port.
const RawCtx = struct {
    port: u16,
    established: u32 = 0,
    no_inode: u32 = 0,

    pub fn build(_: *RawCtx, w: *netlink.Writer) netlink.Writer.Error!void {
        try inet.writeDump(w, inet.AF_INET, stateBit(inet.TCP_ESTABLISHED), @as(?counts.Terms, null));
    }
    pub fn reset(self: *RawCtx) void {
        self.established = 0;
        self.no_inode = 0;
    }
    pub fn accept(self: *RawCtx, payload: []const u8) sys.Error!void {
        const m = inet.parseMsg(payload) orelse return error.PROTO;
        if (Addr.local(&m).port != self.port) return;
        self.established += 1;
        if (m.inode == 0) self.no_inode += 1;
    }
};

fn v4addr(bytes: [16]u8, port: u16) Addr {
    return .{ .family = inet.AF_INET, .port = port, .bytes = bytes };
}

fn v6addr(bytes: [16]u8, port: u16) Addr {
    return .{ .family = inet.AF_INET6, .port = port, .bytes = bytes };
}

test "a query record of no family is refused" {
    var out: [2]ListenerFigures = undefined;
    var q: [40]u8 = [_]u8{0} ** 40;
    const fd = try netlink.open();
    defer netlink.close(fd) catch {};
    try testing.expectError(error.INVAL, queried(fd, q[0..20], &out, &test_scratch)); // family 0
    q[0] = 4;
    q[20] = 6;
    try testing.expectError(error.BADF, queried(-1, &q, &out, &test_scratch));
}

test "real IPv4 listener: queued, accepted, backlog, reuseport" {
    const lo = ts.v4(127, 0, 0, 1);
    const l1 = try ts.tcpListen(.v4, lo, 0, 16, true);
    defer ts.close(l1.fd);
    const l2 = try ts.tcpListen(.v4, lo, l1.port, 8, true);
    defer ts.close(l2.fd);
    var clients: [4]i32 = undefined;
    for (&clients) |*c| c.* = try ts.tcpConnect(.v4, lo, l1.port);
    defer for (clients) |c| ts.close(c);
    // Which REUSEPORT listener gets each connection is the kernel's choice;
    // accept whatever is pending on either until one is accepted.
    const acc = try ts.acceptAny(&.{ l1.fd, l2.fd });
    defer ts.close(acc);

    const fd = try netlink.open();
    defer netlink.close(fd) catch {};
    // What the kernel reports: all 4 server-side sockets are ESTABLISHED on
    // the port, and the 3 still in an accept queue have inode 0.
    var raw: RawCtx = .{ .port = l1.port };
    try netlink.run(fd, &test_scratch, .dump, &raw);
    try testing.expectEqual(@as(u32, 4), raw.established);
    try testing.expectEqual(@as(u32, 3), raw.no_inode);

    var qbuf: [60]u8 = undefined;
    const q = encodeQuery(&qbuf, &.{
        v4addr(lo, l1.port),
        v4addr(ts.v4(0, 0, 0, 0), l1.port), // no wildcard listener, but active counts any address
        v4addr(ts.v4(127, 0, 0, 2), l1.port),
    });
    var out: [3]ListenerFigures = undefined;
    // One dump of both families, and (as for a kernel that refuses it) one
    // per family and state: the same figures.
    for (0..2) |by_family| {
        if (by_family == 1) {
            @memset(&out, .{});
            try queriedByFamily(fd, q, &out, .{ true, false }, &test_scratch);
        } else try queried(fd, q, &out, &test_scratch);
        try testing.expectEqual(ListenerFigures{ .active = 1, .queued = 3, .backlog = 24, .listeners = 2 }, out[0]);
        try testing.expectEqual(ListenerFigures{ .active = 1, .queued = 0, .backlog = 0, .listeners = 0 }, out[1]);
        try testing.expectEqual(ListenerFigures{ .active = 0, .queued = 0, .backlog = 0, .listeners = 0 }, out[2]);
    }

    // All listeners: the two REUSEPORT listeners appear as one record,
    // asked for both families at once or per family.
    var every: [2048]TcpListener = undefined;
    for ([2]*const fn (i32, []TcpListener, []u8) sys.Error!usize{ all, allByFamily }) |listAll| {
        const n = try listAll(fd, &every, &test_scratch);
        try testing.expect(n > 0);
        var found: usize = 0;
        for (every[0..n]) |*r| {
            if (!recordAddr(r).eql(v4addr(lo, l1.port))) continue;
            found += 1;
            try testing.expectEqual(ListenerFigures{ .active = 1, .queued = 3, .backlog = 24, .listeners = 0 }, allStats(r));
        }
        try testing.expectEqual(@as(usize, 1), found);
    }
    // Too small an answer buffer.
    try testing.expectError(error.NOSPC, all(fd, every[0..0], &test_scratch));
    // The socket is still usable after the aborted dump.
    try queried(fd, q, &out, &test_scratch);
    try testing.expectEqual(@as(u32, 3), out[0].queued);
}

test "real IPv6 wildcard listener counts IPv4-mapped connections" {
    const any6 = [_]u8{0} ** 16;
    const l = try ts.tcpListen(.v6, any6, 0, 32, false);
    defer ts.close(l.fd);
    const c4 = try ts.tcpConnect(.v4, ts.v4(127, 0, 0, 1), l.port);
    defer ts.close(c4);
    const c6 = try ts.tcpConnect(.v6, ts.v6_loopback, l.port);
    defer ts.close(c6);
    const c6b = try ts.tcpConnect(.v6, ts.v6_loopback, l.port);
    defer ts.close(c6b);
    const a1 = try ts.accept(l.fd);
    defer ts.close(a1);
    const a2 = try ts.accept(l.fd);
    defer ts.close(a2);

    const fd = try netlink.open();
    defer netlink.close(fd) catch {};
    var qbuf: [40]u8 = undefined;
    const q = encodeQuery(&qbuf, &.{ v6addr(any6, l.port), v6addr(ts.v6_loopback, l.port) });
    var out: [2]ListenerFigures = undefined;
    try queried(fd, q, &out, &test_scratch);
    try testing.expectEqual(ListenerFigures{ .active = 2, .queued = 1, .backlog = 32, .listeners = 1 }, out[0]);
    // Of the two accepted (the accept queue is FIFO: c4, c6) one is on ::1.
    try testing.expectEqual(ListenerFigures{ .active = 1, .queued = 0, .backlog = 0, .listeners = 0 }, out[1]);

    var every: [2048]TcpListener = undefined;
    for ([2]*const fn (i32, []TcpListener, []u8) sys.Error!usize{ all, allByFamily }) |listAll| {
        const n = try listAll(fd, &every, &test_scratch);
        try testing.expect(n > 0);
        var found = false;
        for (every[0..n]) |*r| {
            if (!recordAddr(r).eql(v6addr(any6, l.port))) continue;
            found = true;
            try testing.expectEqual(ListenerFigures{ .active = 2, .queued = 1, .backlog = 32, .listeners = 0 }, allStats(r));
        }
        try testing.expect(found);
    }
}

test "all-listener records attribute to exact address before wildcard" {
    const lo = ts.v4(127, 0, 0, 1);
    const wild = try ts.tcpListen(.v4, ts.v4(0, 0, 0, 0), 0, 4, true);
    defer ts.close(wild.fd);
    // A second listener on 127.0.0.2 with the same port (REUSEPORT lets
    // both bind; the more specific one receives connections to 127.0.0.2).
    const spec = try ts.tcpListen(.v4, ts.v4(127, 0, 0, 2), wild.port, 4, true);
    defer ts.close(spec.fd);
    const c1 = try ts.tcpConnect(.v4, lo, wild.port);
    defer ts.close(c1);
    const c2 = try ts.tcpConnect(.v4, ts.v4(127, 0, 0, 2), wild.port);
    defer ts.close(c2);
    const a1 = try ts.accept(wild.fd);
    defer ts.close(a1);
    const a2 = try ts.accept(spec.fd);
    defer ts.close(a2);

    const fd = try netlink.open();
    defer netlink.close(fd) catch {};
    var every: [2048]TcpListener = undefined;
    const n = try all(fd, &every, &test_scratch);
    try testing.expect(n >= 2);
    var seen: u8 = 0;
    for (every[0..n]) |*r| {
        if (recordAddr(r).port != wild.port) continue;
        seen += 1;
        try testing.expectEqual(@as(u32, 1), r.active);
    }
    try testing.expectEqual(@as(u8, 2), seen);
}

test "all listeners beyond the filter's port limit: each connection on its own listener" {
    const lo = ts.v4(127, 0, 0, 1);
    const n = max_filter_ports * 2 + 7;
    var listeners: [n]ts.Listener = undefined;
    var opened: usize = 0;
    defer for (listeners[0..opened]) |l| ts.close(l.fd);
    for (&listeners) |*l| {
        l.* = try ts.tcpListen(.v4, lo, 0, 8, false);
        opened += 1;
    }
    // Listener i gets i % 3 accepted connections.
    var conns: [3 * n]i32 = undefined;
    var held: usize = 0;
    defer for (conns[0..held]) |c| ts.close(c);
    for (listeners, 0..) |l, i| {
        for (0..i % 3) |_| {
            conns[held] = try ts.tcpConnect(.v4, lo, l.port);
            held += 1;
            conns[held] = try ts.accept(l.fd);
            held += 1;
        }
    }
    const fd = try netlink.open();
    defer netlink.close(fd) catch {};
    const every = try testing.allocator.alloc(TcpListener, 1 << 15);
    defer testing.allocator.free(every);
    const rs = every[0..try all(fd, every, &test_scratch)];
    try testing.expect(rs.len >= n);
    for (rs[1..], 0..) |r, i| try testing.expect(keyLess({}, rs[i], r)); // sorted, no duplicates
    for (listeners, 0..) |l, i| {
        var key: [rec_size]u8 = undefined;
        v4addr(lo, l.port).encode(&key);
        const r = findRecord(rs, &key) orelse return error.TestUnexpectedResult;
        try testing.expectEqual(@as(u32, @intCast(i % 3)), allStats(r).active);
        try testing.expectEqual(@as(u32, 8), allStats(r).backlog);
    }
}

/// A fake sock_diag_msg record for the fake kernel: a socket of `family`
/// in `state` on local 127.0.0.1 (or ::1) and `port`.
fn fakeRecord(family: u8, state: u8, port: u16, inode: u32) inet.Msg {
    var m = std.mem.zeroes(inet.Msg);
    m.family = family;
    m.state = state;
    std.mem.writeInt(u16, &m.id.sport, port, .big);
    if (family == inet.AF_INET) m.id.src[0..4].* = ts.v4(127, 0, 0, 1)[0..4].* else m.id.src = ts.v6_loopback;
    m.rqueue = 2;
    m.wqueue = 9;
    m.inode = inode;
    return m;
}

/// The request types the fake kernel's far end received, in order.
fn requestTypes(k: netlink.FakeKernel, types: []u16) !usize {
    var buf: [4096]u8 = undefined;
    var n: usize = 0;
    while (n < types.len) : (n += 1) {
        const got = sys.check(std.os.linux.recvfrom(k.pair[1], &buf, buf.len, std.os.linux.MSG.DONTWAIT, null, null)) catch break;
        if (got < @sizeOf(netlink.Header)) return error.TestUnexpectedResult;
        types[n] = std.mem.bytesToValue(netlink.Header, buf[0..@sizeOf(netlink.Header)]).type;
    }
    return n;
}

test "record order is the byte order of addr20 keys" {
    var prng = std.Random.DefaultPrng.init(0x0dd);
    const rand = prng.random();
    var a: TcpListener = .{ .addr = undefined };
    var b: TcpListener = .{ .addr = undefined };
    for (0..20000) |_| {
        rand.bytes(&a.addr);
        b.addr = a.addr;
        // Mostly keys that share a prefix, so every word gets compared.
        for (0..rand.uintAtMost(usize, 3)) |_| b.addr[rand.uintLessThan(usize, rec_size)] = rand.int(u8);
        try testing.expectEqual(std.mem.order(u8, &a.addr, &b.addr), keyOrder(&a.addr, b));
    }
}

test "a kernel that refuses TCPDIAG_GETSOCK is asked per family (FAKE kernel)" {
    const k = try netlink.FakeKernel.init(std.os.linux.SOCK.SEQPACKET);
    defer k.deinit();
    var buf: [512]u8 = undefined;
    var refused: [20]u8 = [_]u8{0} ** 20;
    std.mem.writeInt(i32, refused[0..4], -@as(i32, sys.errnoOf(error.INVAL)), .little);
    const done = [_]u8{0} ** 4;
    const listen = fakeRecord(inet.AF_INET, inet.TCP_LISTEN, 8080, 5);
    const accepted = fakeRecord(inet.AF_INET, inet.TCP_ESTABLISHED, 8080, 6);
    const queued = fakeRecord(inet.AF_INET, inet.TCP_ESTABLISHED, 8080, 0);
    const s = netlink.seq_counter;
    // all(): the refused request, LISTEN v4, LISTEN v6, ESTABLISHED v4 (no
    // IPv6 listener, so no IPv6 ESTABLISHED dump).
    try k.reply(netlink.testFrame(&buf, &.{.{ .type = netlink.NLMSG_ERROR, .seq = s +% 1, .payload = &refused }}));
    try k.reply(netlink.testFrame(&buf, &.{
        .{ .type = netlink.SOCK_DIAG_BY_FAMILY, .seq = s +% 2, .payload = std.mem.asBytes(&listen) },
        .{ .type = netlink.NLMSG_DONE, .seq = s +% 2, .payload = &done },
    }));
    try k.reply(netlink.testFrame(&buf, &.{.{ .type = netlink.NLMSG_DONE, .seq = s +% 3, .payload = &done }}));
    try k.reply(netlink.testFrame(&buf, &.{
        .{ .type = netlink.SOCK_DIAG_BY_FAMILY, .seq = s +% 4, .payload = std.mem.asBytes(&accepted) },
        .{ .type = netlink.SOCK_DIAG_BY_FAMILY, .seq = s +% 4, .payload = std.mem.asBytes(&queued) },
        .{ .type = netlink.NLMSG_DONE, .seq = s +% 4, .payload = &done },
    }));
    var every: [4]TcpListener = undefined;
    try testing.expectEqual(@as(usize, 1), try all(k.pair[0], &every, &test_scratch));
    try testing.expectEqual(ListenerFigures{ .active = 1, .queued = 2, .backlog = 9, .listeners = 0 }, allStats(&every[0]));
    var types: [8]u16 = undefined;
    const sent = try requestTypes(k, &types);
    try testing.expectEqualSlices(u16, &.{ netlink.TCPDIAG_GETSOCK, 20, 20, 20 }, types[0..sent]);

    // queried(): the refused request, then LISTEN and ESTABLISHED of IPv4.
    const q0 = netlink.seq_counter;
    try k.reply(netlink.testFrame(&buf, &.{.{ .type = netlink.NLMSG_ERROR, .seq = q0 +% 1, .payload = &refused }}));
    try k.reply(netlink.testFrame(&buf, &.{
        .{ .type = netlink.SOCK_DIAG_BY_FAMILY, .seq = q0 +% 2, .payload = std.mem.asBytes(&listen) },
        .{ .type = netlink.NLMSG_DONE, .seq = q0 +% 2, .payload = &done },
    }));
    try k.reply(netlink.testFrame(&buf, &.{
        .{ .type = netlink.SOCK_DIAG_BY_FAMILY, .seq = q0 +% 3, .payload = std.mem.asBytes(&accepted) },
        .{ .type = netlink.NLMSG_DONE, .seq = q0 +% 3, .payload = &done },
    }));
    var qbuf: [20]u8 = undefined;
    var out: [1]ListenerFigures = undefined;
    try queried(k.pair[0], encodeQuery(&qbuf, &.{v4addr(ts.v4(127, 0, 0, 1), 8080)}), &out, &test_scratch);
    try testing.expectEqual(ListenerFigures{ .active = 1, .queued = 2, .backlog = 9, .listeners = 1 }, out[0]);
    try testing.expectEqualSlices(u16, &.{ netlink.TCPDIAG_GETSOCK, 20, 20 }, types[0..try requestTypes(k, &types)]);
}

test "one TCPDIAG_GETSOCK dump answers a query of both families (FAKE kernel)" {
    const k = try netlink.FakeKernel.init(std.os.linux.SOCK.SEQPACKET);
    defer k.deinit();
    var buf: [1024]u8 = undefined;
    const done = [_]u8{0} ** 4;
    const s = netlink.seq_counter +% 1;
    const l4 = fakeRecord(inet.AF_INET, inet.TCP_LISTEN, 80, 1);
    const l6 = fakeRecord(inet.AF_INET6, inet.TCP_LISTEN, 80, 2);
    const e6 = fakeRecord(inet.AF_INET6, inet.TCP_ESTABLISHED, 80, 3);
    const other = fakeRecord(inet.AF_INET6, 7, 80, 4); // a state not asked for
    try k.reply(netlink.testFrame(&buf, &.{
        .{ .type = netlink.TCPDIAG_GETSOCK, .seq = s, .payload = std.mem.asBytes(&l4) },
        .{ .type = netlink.TCPDIAG_GETSOCK, .seq = s, .payload = std.mem.asBytes(&l6) },
        .{ .type = netlink.TCPDIAG_GETSOCK, .seq = s, .payload = std.mem.asBytes(&e6) },
        .{ .type = netlink.TCPDIAG_GETSOCK, .seq = s, .payload = std.mem.asBytes(&other) },
        .{ .type = netlink.NLMSG_DONE, .seq = s, .payload = &done },
    }));
    var qbuf: [40]u8 = undefined;
    const q = encodeQuery(&qbuf, &.{ v4addr(ts.v4(127, 0, 0, 1), 80), v6addr([_]u8{0} ** 16, 80) });
    var out: [2]ListenerFigures = undefined;
    try queried(k.pair[0], q, &out, &test_scratch);
    try testing.expectEqual(ListenerFigures{ .active = 0, .queued = 2, .backlog = 9, .listeners = 1 }, out[0]);
    // [::]:80 has no LISTEN socket here, but counts the IPv6 connection on port 80.
    try testing.expectEqual(ListenerFigures{ .active = 1, .queued = 0, .backlog = 0, .listeners = 0 }, out[1]);
    var types: [4]u16 = undefined;
    try testing.expectEqualSlices(u16, &.{netlink.TCPDIAG_GETSOCK}, types[0..try requestTypes(k, &types)]);
}
