//! TCP listener statistics over inet_diag: per listen address, the accept
//! queue (queued), its limit (backlog), the number of LISTEN sockets and the
//! accepted ESTABLISHED connections (active). The kernel filters each dump
//! with bytecode so only sockets on the asked ports come back; counting
//! walks the fixed 72-byte records and allocates nothing.
const std = @import("std");
const sys = @import("sys.zig");
const netlink = @import("netlink.zig");
const inet = @import("inet_diag.zig");

const Addr = inet.Addr;
const native = @import("builtin").cpu.arch.endian();
const rec_size = inet.addr_size;

/// Record of a queried address: active, queued, backlog, listeners (u32 each).
const query_out_size = 16;
/// Record of the all-listeners answer: addr20, active, queued, backlog.
const all_out_size = 32;

const off_active = 0;
const off_queued = 4;
const off_backlog = 8;
const off_listeners = 12;

fn add(buf: []u8, at: usize, v: u32) void {
    const p = buf[at..][0..4];
    std.mem.writeInt(u32, p, std.mem.readInt(u32, p, native) +% v, native);
}

fn put(buf: []u8, at: usize, v: u32) void {
    std.mem.writeInt(u32, buf[at..][0..4], v, native);
}

fn stateBit(state: u8) u32 {
    return @as(u32, 1) << @intCast(state);
}

/// Listener statistics for the addr20 records in `query` (query_len a
/// multiple of 20, else -EINVAL), or for every listener when query_len is 0.
///
/// With N queried addresses, `out` receives N records of 16 bytes in query
/// order, { active, queued, backlog, listeners } as native u32, and the
/// result is N. queued, backlog and listeners sum the LISTEN sockets bound
/// exactly to the address and port (several with SO_REUSEPORT add up);
/// active counts accepted (inode != 0) ESTABLISHED sockets on that local port
/// and address, or on any local address of that family for a wildcard
/// (for :: this includes IPv4-mapped connections).
///
/// With no query, `out` receives one 32-byte record per listening address
/// (REUSEPORT listeners merged), { addr20, active, queued, backlog }, sorted
/// by addr20, and the result is the record count. An accepted connection
/// counts for the listener on its exact local address, else the wildcard
/// listener of its port and family. `out` needs room for one record per
/// LISTEN socket, since they are merged after all have arrived.
///
/// `out` too small: -ENOSPC. `scratch` (at least 32 KiB, else -EINVAL) holds
/// the request and the replies. Kernel errors come back as -errno
/// (EPROTONOSUPPORT or ENOENT when inet_diag / tcp_diag are missing).
pub export fn rd_tcp_listener_stats(fd: i32, query: ?[*]const u8, query_len: u32, out: ?[*]u8, out_cap: u32, scratch: ?[*]u8, scratch_len: u32) i32 {
    if (query_len % rec_size != 0) return sys.neg(.INVAL);
    if (query_len > 0 and query == null) return sys.neg(.INVAL);
    if (out_cap > 0 and out == null) return sys.neg(.INVAL);
    const s = (scratch orelse return sys.neg(.INVAL))[0..scratch_len];
    if (s.len < netlink.min_scratch) return sys.neg(.INVAL);
    const o: []u8 = if (out) |p| p[0..out_cap] else &.{};
    const q: []const u8 = if (query) |p| p[0..query_len] else &.{};
    if (q.len == 0) return allListeners(fd, o, s);
    return queried(fd, q, o, s);
}

fn queried(fd: i32, q: []const u8, o: []u8, s: []u8) i32 {
    const n = q.len / rec_size;
    if (n > std.math.maxInt(i32) / query_out_size) return sys.neg(.INVAL);
    if (o.len < n * query_out_size) return sys.neg(.NOSPC);
    var families = [2]bool{ false, false };
    for (0..n) |i| {
        const a = Addr.decode(q[i * rec_size ..][0..rec_size]) orelse return sys.neg(.INVAL);
        families[@intFromBool(a.family == inet.AF_INET6)] = true;
    }
    @memset(o[0 .. n * query_out_size], 0);
    for ([2]u8{ inet.AF_INET, inet.AF_INET6 }, families) |family, present| {
        if (!present) continue;
        for ([2]u8{ inet.TCP_LISTEN, inet.TCP_ESTABLISHED }) |state| {
            var ctx: QueryCtx = .{ .query = q, .out = o, .family = family, .state = state };
            const rc = netlink.run(fd, s, .dump, &ctx);
            if (rc < 0) return rc;
        }
    }
    return @intCast(n);
}

/// Query records of one family as filter terms: exact for LISTEN, port-only
/// for a wildcard when counting ESTABLISHED.
const QueryTerms = struct {
    query: []const u8,
    family: u8,
    exact: bool,
    i: usize = 0,

    pub fn next(self: *QueryTerms) ?inet.Term {
        while (self.i < self.query.len / rec_size) {
            const a = Addr.decodeValid(self.query[self.i * rec_size ..][0..rec_size]);
            self.i += 1;
            if (a.family != self.family) continue;
            return .{ .addr = a, .any_addr = !self.exact and a.isWildcard() };
        }
        return null;
    }
};

const QueryCtx = struct {
    query: []const u8,
    out: []u8,
    family: u8,
    state: u8,

    fn count(self: *const QueryCtx) usize {
        return self.query.len / rec_size;
    }

    fn queryAddr(self: *const QueryCtx, i: usize) Addr {
        return Addr.decodeValid(self.query[i * rec_size ..][0..rec_size]);
    }

    pub fn build(self: *QueryCtx, w: *netlink.Writer) netlink.Writer.Error!void {
        const terms: QueryTerms = .{ .query = self.query, .family = self.family, .exact = self.state == inet.TCP_LISTEN };
        try inet.writeDump(w, self.family, stateBit(self.state), @as(?QueryTerms, terms));
    }

    pub fn reset(self: *QueryCtx) void {
        for (0..self.count()) |i| {
            if (self.queryAddr(i).family != self.family) continue;
            const r = self.out[i * query_out_size ..][0..query_out_size];
            if (self.state == inet.TCP_LISTEN) {
                @memset(r[off_queued..], 0);
            } else {
                put(r, off_active, 0);
            }
        }
    }

    pub fn accept(self: *QueryCtx, payload: []const u8) i32 {
        const m = inet.parseMsg(payload) orelse return sys.neg(.PROTO);
        if (m.family != self.family or m.state != self.state) return 0;
        const local = Addr.local(&m);
        if (self.state == inet.TCP_ESTABLISHED and m.inode == 0) return 0;
        for (0..self.count()) |i| {
            const a = self.queryAddr(i);
            if (a.family != self.family or a.port != local.port) continue;
            const r = self.out[i * query_out_size ..][0..query_out_size];
            if (self.state == inet.TCP_LISTEN) {
                if (!std.mem.eql(u8, &a.bytes, &local.bytes)) continue;
                add(r, off_queued, m.rqueue);
                add(r, off_backlog, m.wqueue);
                add(r, off_listeners, 1);
            } else if (a.isWildcard() or std.mem.eql(u8, &a.bytes, &local.bytes)) {
                add(r, off_active, 1);
            }
        }
        return 0;
    }
};

/// Every listener: LISTEN sockets of both families collected as records,
/// sorted by address and merged (REUSEPORT groups), then each accepted
/// connection attributed by binary search, so the cost grows as
/// n log n in listeners and connections.
fn allListeners(fd: i32, o: []u8, s: []u8) i32 {
    var count: usize = 0;
    for ([2]u8{ inet.AF_INET, inet.AF_INET6 }) |family| {
        var ctx: ListenAllCtx = .{ .out = o, .count = &count, .start = count, .family = family };
        const rc = netlink.run(fd, s, .dump, &ctx);
        if (rc < 0) return rc;
    }
    const records = mergeListeners(allRecords(o, count));
    for ([2]u8{ inet.AF_INET, inet.AF_INET6 }) |family| {
        var ctx: ActiveAllCtx = .{ .records = familyRecords(records, family), .family = family };
        if (ctx.records.len == 0) continue;
        const rc = netlink.run(fd, s, .dump, &ctx);
        if (rc < 0) return rc;
    }
    return @intCast(records.len);
}

const AllRecord = [all_out_size]u8;

fn allRecords(o: []u8, count: usize) []AllRecord {
    return std.mem.bytesAsSlice(AllRecord, o[0 .. count * all_out_size]);
}

/// Orders records by their addr20 key: family, then port, then address, so
/// one (family, port) forms a run that starts with its wildcard listener.
fn keyOrder(key: *const [rec_size]u8, r: AllRecord) std.math.Order {
    return std.mem.order(u8, key, r[0..rec_size]);
}

fn keyLess(_: void, a: AllRecord, b: AllRecord) bool {
    return keyOrder(a[0..rec_size], b) == .lt;
}

/// Sorts the records and merges those with the same address (REUSEPORT
/// listeners): their queues and backlogs add up. Returns the merged prefix.
fn mergeListeners(records: []AllRecord) []AllRecord {
    std.mem.sort(AllRecord, records, {}, keyLess);
    var kept: usize = 0;
    for (records) |r| {
        if (kept > 0 and keyOrder(r[0..rec_size], records[kept - 1]) == .eq) {
            const last = &records[kept - 1];
            add(last, rec_size + off_queued, std.mem.readInt(u32, r[rec_size + off_queued ..][0..4], native));
            add(last, rec_size + off_backlog, std.mem.readInt(u32, r[rec_size + off_backlog ..][0..4], native));
            continue;
        }
        records[kept] = r;
        kept += 1;
    }
    return records[0..kept];
}

/// The run of sorted records of one family (the family byte leads the key).
fn familyRecords(records: []AllRecord, family: u8) []AllRecord {
    const tag: u8 = if (family == inet.AF_INET) 4 else 6;
    const Tag = struct {
        fn before(t: u8, r: AllRecord) bool {
            return r[0] < t;
        }
        fn upTo(t: u8, r: AllRecord) bool {
            return r[0] <= t;
        }
    };
    const from = std.sort.partitionPoint(AllRecord, records, tag, Tag.before);
    const to = std.sort.partitionPoint(AllRecord, records, tag, Tag.upTo);
    return records[from..to];
}

/// The record whose key is exactly `key`, by binary search.
fn findRecord(records: []AllRecord, key: *const [rec_size]u8) ?*AllRecord {
    const i = std.sort.lowerBound(AllRecord, records, key, keyOrder);
    if (i == records.len or keyOrder(key, records[i]) != .eq) return null;
    return &records[i];
}

fn recordAddr(rec: []const u8) Addr {
    return Addr.decodeValid(rec[0..rec_size]);
}

/// Collects LISTEN sockets of one family into 32-byte records, one per
/// socket (merged later by `mergeListeners`).
const ListenAllCtx = struct {
    out: []u8,
    count: *usize,
    start: usize,
    family: u8,

    pub fn build(self: *ListenAllCtx, w: *netlink.Writer) netlink.Writer.Error!void {
        try inet.writeDump(w, self.family, stateBit(inet.TCP_LISTEN), @as(?QueryTerms, null));
    }

    pub fn reset(self: *ListenAllCtx) void {
        self.count.* = self.start;
    }

    pub fn accept(self: *ListenAllCtx, payload: []const u8) i32 {
        const m = inet.parseMsg(payload) orelse return sys.neg(.PROTO);
        if (m.family != self.family or m.state != inet.TCP_LISTEN) return 0;
        const at = self.count.* * all_out_size;
        if (self.out.len - at < all_out_size) return sys.neg(.NOSPC);
        const r = self.out[at..][0..all_out_size];
        Addr.local(&m).encode(r[0..rec_size]);
        put(r, rec_size + off_active, 0);
        put(r, rec_size + off_queued, m.rqueue);
        put(r, rec_size + off_backlog, m.wqueue);
        self.count.* += 1;
        return 0;
    }
};

/// Listening ports up to which the ESTABLISHED dump carries a filter of one
/// term per port. The kernel checks a filter's jumps in time quadratic in
/// its length and runs it on every socket, so beyond this the dump goes
/// unfiltered and the binary search alone picks the connections.
const max_filter_ports = 64;

/// Counts accepted connections of one family against its sorted records.
const ActiveAllCtx = struct {
    records: []AllRecord,
    family: u8,

    /// One term per distinct port: the first record of each port's run.
    const PortTerms = struct {
        records: []const AllRecord,
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

    pub fn build(self: *ActiveAllCtx, w: *netlink.Writer) netlink.Writer.Error!void {
        const terms: PortTerms = .{ .records = self.records };
        const filter: ?PortTerms = if (self.ports() <= max_filter_ports) terms else null;
        try inet.writeDump(w, self.family, stateBit(inet.TCP_ESTABLISHED), filter);
    }

    pub fn reset(self: *ActiveAllCtx) void {
        for (self.records) |*r| put(r, rec_size + off_active, 0);
    }

    pub fn accept(self: *ActiveAllCtx, payload: []const u8) i32 {
        const m = inet.parseMsg(payload) orelse return sys.neg(.PROTO);
        if (m.family != self.family or m.state != inet.TCP_ESTABLISHED or m.inode == 0) return 0;
        var key: [rec_size]u8 = undefined;
        var local = Addr.local(&m);
        local.encode(&key);
        const r = findRecord(self.records, &key) orelse wildcard: {
            local.bytes = [_]u8{0} ** 16;
            local.encode(&key);
            break :wildcard findRecord(self.records, &key) orelse return 0;
        };
        add(r, rec_size + off_active, 1);
        return 0;
    }
};

const testing = std.testing;
const ts = @import("test_sockets.zig");

const Stats = struct { active: u32, queued: u32, backlog: u32, listeners: u32 };

fn readStats(out: []const u8, i: usize) Stats {
    const r = out[i * query_out_size ..];
    return .{
        .active = std.mem.readInt(u32, r[0..4], native),
        .queued = std.mem.readInt(u32, r[4..8], native),
        .backlog = std.mem.readInt(u32, r[8..12], native),
        .listeners = std.mem.readInt(u32, r[12..16], native),
    };
}

/// An all-listeners record's counters (it has no listener count).
fn allStats(r: []const u8) Stats {
    return .{
        .active = std.mem.readInt(u32, r[20..24], native),
        .queued = std.mem.readInt(u32, r[24..28], native),
        .backlog = std.mem.readInt(u32, r[28..32], native),
        .listeners = 0,
    };
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
        try inet.writeDump(w, inet.AF_INET, stateBit(inet.TCP_ESTABLISHED), @as(?QueryTerms, null));
    }
    pub fn reset(self: *RawCtx) void {
        self.established = 0;
        self.no_inode = 0;
    }
    pub fn accept(self: *RawCtx, payload: []const u8) i32 {
        const m = inet.parseMsg(payload) orelse return sys.neg(.PROTO);
        if (Addr.local(&m).port != self.port) return 0;
        self.established += 1;
        if (m.inode == 0) self.no_inode += 1;
        return 0;
    }
};

fn v4addr(bytes: [16]u8, port: u16) Addr {
    return .{ .family = inet.AF_INET, .port = port, .bytes = bytes };
}

fn v6addr(bytes: [16]u8, port: u16) Addr {
    return .{ .family = inet.AF_INET6, .port = port, .bytes = bytes };
}

test "argument validation" {
    var out: [64]u8 = undefined;
    var q: [40]u8 = [_]u8{0} ** 40;
    const fd = netlink.rd_diag_open();
    defer _ = netlink.rd_diag_close(fd);
    try testing.expectEqual(sys.neg(.INVAL), rd_tcp_listener_stats(fd, &q, 21, &out, 64, &test_scratch, test_scratch.len));
    try testing.expectEqual(sys.neg(.INVAL), rd_tcp_listener_stats(fd, &q, 20, &out, 64, &test_scratch, test_scratch.len)); // family 0
    try testing.expectEqual(sys.neg(.INVAL), rd_tcp_listener_stats(fd, &q, 0, &out, 64, &test_scratch, 1000));
    try testing.expectEqual(sys.neg(.INVAL), rd_tcp_listener_stats(fd, null, 20, &out, 64, &test_scratch, test_scratch.len));
    q[0] = 4;
    q[20] = 6;
    try testing.expectEqual(sys.neg(.NOSPC), rd_tcp_listener_stats(fd, &q, 40, &out, 31, &test_scratch, test_scratch.len));
    try testing.expectEqual(sys.neg(.BADF), rd_tcp_listener_stats(-1, &q, 40, &out, 64, &test_scratch, test_scratch.len));
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

    const fd = netlink.rd_diag_open();
    defer _ = netlink.rd_diag_close(fd);
    // What the kernel reports: all 4 server-side sockets are ESTABLISHED on
    // the port, and the 3 still in an accept queue have inode 0.
    var raw: RawCtx = .{ .port = l1.port };
    try testing.expectEqual(@as(i32, 0), netlink.run(fd, &test_scratch, .dump, &raw));
    try testing.expectEqual(@as(u32, 4), raw.established);
    try testing.expectEqual(@as(u32, 3), raw.no_inode);

    var qbuf: [60]u8 = undefined;
    const q = encodeQuery(&qbuf, &.{
        v4addr(lo, l1.port),
        v4addr(ts.v4(0, 0, 0, 0), l1.port), // no wildcard listener, but active counts any address
        v4addr(ts.v4(127, 0, 0, 2), l1.port),
    });
    var out: [48]u8 = undefined;
    try testing.expectEqual(@as(i32, 3), rd_tcp_listener_stats(fd, q.ptr, @intCast(q.len), &out, out.len, &test_scratch, test_scratch.len));
    try testing.expectEqual(Stats{ .active = 1, .queued = 3, .backlog = 24, .listeners = 2 }, readStats(&out, 0));
    try testing.expectEqual(Stats{ .active = 1, .queued = 0, .backlog = 0, .listeners = 0 }, readStats(&out, 1));
    try testing.expectEqual(Stats{ .active = 0, .queued = 0, .backlog = 0, .listeners = 0 }, readStats(&out, 2));

    // All listeners: the two REUSEPORT listeners appear as one record.
    var all: [64 * 1024]u8 = undefined;
    const n = rd_tcp_listener_stats(fd, null, 0, &all, all.len, &test_scratch, test_scratch.len);
    try testing.expect(n > 0);
    var found: usize = 0;
    for (0..@intCast(n)) |i| {
        const r = all[i * all_out_size ..][0..all_out_size];
        if (!recordAddr(r).eql(v4addr(lo, l1.port))) continue;
        found += 1;
        try testing.expectEqual(Stats{ .active = 1, .queued = 3, .backlog = 24, .listeners = 0 }, allStats(r));
    }
    try testing.expectEqual(@as(usize, 1), found);
    // Too small an answer buffer.
    try testing.expectEqual(sys.neg(.NOSPC), rd_tcp_listener_stats(fd, null, 0, &all, 0, &test_scratch, test_scratch.len));
    // The socket is still usable after the aborted dump.
    try testing.expectEqual(@as(i32, 3), rd_tcp_listener_stats(fd, q.ptr, @intCast(q.len), &out, out.len, &test_scratch, test_scratch.len));
    try testing.expectEqual(@as(u32, 3), readStats(&out, 0).queued);
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

    const fd = netlink.rd_diag_open();
    defer _ = netlink.rd_diag_close(fd);
    var qbuf: [40]u8 = undefined;
    const q = encodeQuery(&qbuf, &.{ v6addr(any6, l.port), v6addr(ts.v6_loopback, l.port) });
    var out: [32]u8 = undefined;
    try testing.expectEqual(@as(i32, 2), rd_tcp_listener_stats(fd, q.ptr, @intCast(q.len), &out, out.len, &test_scratch, test_scratch.len));
    try testing.expectEqual(Stats{ .active = 2, .queued = 1, .backlog = 32, .listeners = 1 }, readStats(&out, 0));
    // Of the two accepted (the accept queue is FIFO: c4, c6) one is on ::1.
    try testing.expectEqual(Stats{ .active = 1, .queued = 0, .backlog = 0, .listeners = 0 }, readStats(&out, 1));

    var all: [64 * 1024]u8 = undefined;
    const n = rd_tcp_listener_stats(fd, null, 0, &all, all.len, &test_scratch, test_scratch.len);
    try testing.expect(n > 0);
    var found = false;
    for (0..@intCast(n)) |i| {
        const r = all[i * all_out_size ..][0..all_out_size];
        if (!recordAddr(r).eql(v6addr(any6, l.port))) continue;
        found = true;
        try testing.expectEqual(Stats{ .active = 2, .queued = 1, .backlog = 32, .listeners = 0 }, allStats(r));
    }
    try testing.expect(found);
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

    const fd = netlink.rd_diag_open();
    defer _ = netlink.rd_diag_close(fd);
    var all: [64 * 1024]u8 = undefined;
    const n = rd_tcp_listener_stats(fd, null, 0, &all, all.len, &test_scratch, test_scratch.len);
    try testing.expect(n >= 2);
    var seen: u8 = 0;
    for (0..@intCast(n)) |i| {
        const r = all[i * all_out_size ..][0..all_out_size];
        const a = recordAddr(r);
        if (a.port != wild.port) continue;
        seen += 1;
        try testing.expectEqual(@as(u32, 1), std.mem.readInt(u32, r[20..24], native));
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
    const fd = netlink.rd_diag_open();
    defer _ = netlink.rd_diag_close(fd);
    const all = try testing.allocator.alloc(u8, 1 << 20);
    defer testing.allocator.free(all);
    const got = rd_tcp_listener_stats(fd, null, 0, all.ptr, @intCast(all.len), &test_scratch, test_scratch.len);
    try testing.expect(got >= n);
    const records = allRecords(all, @intCast(got));
    for (records[1..], 0..) |r, i| try testing.expect(keyLess({}, records[i], r)); // sorted, no duplicates
    for (listeners, 0..) |l, i| {
        var key: [rec_size]u8 = undefined;
        v4addr(lo, l.port).encode(&key);
        const r = findRecord(records, &key) orelse return error.TestUnexpectedResult;
        try testing.expectEqual(@as(u32, @intCast(i % 3)), allStats(r).active);
        try testing.expectEqual(@as(u32, 8), allStats(r).backlog);
    }
}
