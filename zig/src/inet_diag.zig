//! The inet_diag part of sock_diag (linux/inet_diag.h): kernel structs, the
//! 20-byte address record that crosses the C ABI, the in-kernel bytecode
//! filter and request building. Pure: no syscalls here.
const std = @import("std");
const linux = std.os.linux;
const netlink = @import("netlink.zig");

pub const AF_INET: u8 = linux.AF.INET;
pub const AF_INET6: u8 = linux.AF.INET6;
pub const IPPROTO_TCP: u8 = linux.IPPROTO.TCP;

/// TCP states (include/net/tcp_states.h); idiag_states is a bitmask of them.
pub const TCP_ESTABLISHED: u8 = 1;
pub const TCP_LISTEN: u8 = 10;

/// Request attribute carrying the filter bytecode.
pub const INET_DIAG_REQ_BYTECODE: u16 = 1;
/// Reply attribute carrying struct tcp_info; asked for with bit
/// (INET_DIAG_INFO - 1) of idiag_ext.
pub const INET_DIAG_INFO: u16 = 2;

/// struct inet_diag_sockid. Ports and addresses are in network order, kept
/// as bytes; an IPv4 address uses the first 4 bytes of `src` / `dst`.
pub const SockId = extern struct {
    sport: [2]u8,
    dport: [2]u8,
    src: [16]u8,
    dst: [16]u8,
    if_index: u32,
    cookie: [2]u32,
};

/// INET_DIAG_NOCOOKIE: match any socket cookie.
pub const no_cookie = [2]u32{ 0xffff_ffff, 0xffff_ffff };

/// struct inet_diag_req_v2.
pub const ReqV2 = extern struct {
    family: u8,
    protocol: u8,
    ext: u8,
    pad: u8 = 0,
    states: u32,
    id: SockId,
};

/// struct inet_diag_req, the request of netlink.TCPDIAG_GETSOCK: a dump of
/// it covers IPv4 and IPv6 TCP sockets at once (the kernel ignores `family`
/// and dumps AF_UNSPEC), walking each socket table once for both.
pub const ReqV1 = extern struct {
    family: u8 = 0,
    src_len: u8 = 0,
    dst_len: u8 = 0,
    ext: u8,
    id: SockId,
    states: u32,
    dbug: u32 = 0,
};

/// struct inet_diag_msg.
pub const Msg = extern struct {
    family: u8,
    state: u8,
    timer: u8,
    retrans: u8,
    id: SockId,
    expires: u32,
    rqueue: u32,
    wqueue: u32,
    uid: u32,
    inode: u32,
};

/// struct inet_diag_bc_op: one bytecode instruction. After `yes` or `no`
/// bytes the filter goes on; landing exactly on the end accepts the socket.
pub const BcOp = extern struct {
    code: u8,
    yes: u8,
    no: u16,
};

pub const BC_JMP: u8 = 1;
/// Local port >= the `no` field of the following BcOp (likewise S_LE: <=).
pub const BC_S_GE: u8 = 2;
pub const BC_S_LE: u8 = 3;
/// Local (S_COND) or remote (D_COND) address and port: a HostCond follows.
pub const BC_S_COND: u8 = 7;
pub const BC_D_COND: u8 = 8;

/// struct inet_diag_hostcond, followed by 0, 4 or 16 address bytes.
pub const HostCond = extern struct {
    family: u8,
    prefix_len: u8,
    pad: [2]u8 = .{ 0, 0 },
    /// Local port in host order, -1 for any.
    port: i32,
};

comptime {
    std.debug.assert(@sizeOf(SockId) == 48);
    std.debug.assert(@sizeOf(ReqV2) == 56);
    std.debug.assert(@sizeOf(ReqV1) == 60);
    std.debug.assert(@sizeOf(Msg) == 72);
    std.debug.assert(@sizeOf(BcOp) == 4);
    std.debug.assert(@sizeOf(HostCond) == 8);
}

/// The ABI address record ("addr20"): byte 0 family (4 or 6), byte 1 zero,
/// bytes 2..3 port (little-endian), bytes 4..19 the address in network
/// order (IPv4 in 4..7). All-zero address bytes are the wildcard.
pub const addr_size = 20;

pub const Addr = struct {
    /// AF_INET or AF_INET6.
    family: u8,
    port: u16,
    /// IPv4 uses the first 4 bytes; the rest stay zero.
    bytes: [16]u8,

    /// Decodes a record; null for an unknown family. Bytes beyond an IPv4
    /// address are ignored.
    pub fn decode(rec: *const [addr_size]u8) ?Addr {
        var a: Addr = .{ .family = undefined, .port = std.mem.readInt(u16, rec[2..4], .little), .bytes = rec[4..20].* };
        switch (rec[0]) {
            4 => {
                a.family = AF_INET;
                @memset(a.bytes[4..], 0);
            },
            6 => a.family = AF_INET6,
            else => return null,
        }
        return a;
    }

    /// Decodes a record already checked by `decode` or written by `encode`
    /// (family byte 4 or 6). A record that broke that invariant reads as the
    /// IPv4 wildcard with port 0: defined in every build mode, unlike `.?`.
    pub fn decodeValid(rec: *const [addr_size]u8) Addr {
        return decode(rec) orelse .{ .family = AF_INET, .port = 0, .bytes = [_]u8{0} ** 16 };
    }

    pub fn encode(self: Addr, rec: *[addr_size]u8) void {
        rec[0] = if (self.family == AF_INET) 4 else 6;
        rec[1] = 0;
        std.mem.writeInt(u16, rec[2..4], self.port, .little);
        rec[4..20].* = self.bytes;
    }

    /// The local end of a socket from a dump message.
    pub fn local(m: *const Msg) Addr {
        var a: Addr = .{ .family = m.family, .port = std.mem.readInt(u16, &m.id.sport, .big), .bytes = m.id.src };
        if (m.family == AF_INET) @memset(a.bytes[4..], 0);
        return a;
    }

    pub fn isWildcard(self: Addr) bool {
        return std.mem.allEqual(u8, &self.bytes, 0);
    }

    pub fn eql(self: Addr, other: Addr) bool {
        return self.family == other.family and self.port == other.port and std.mem.eql(u8, &self.bytes, &other.bytes);
    }

    pub fn addrLen(self: Addr) usize {
        return if (self.family == AF_INET) 4 else 16;
    }
};

/// Parses the fixed inet_diag_msg at the start of a record; null when the
/// record is too short to hold one.
pub fn parseMsg(payload: []const u8) ?Msg {
    if (payload.len < @sizeOf(Msg)) return null;
    return std.mem.bytesToValue(Msg, payload[0..@sizeOf(Msg)]);
}

/// The INET_DIAG_INFO payload (struct tcp_info, as long as the kernel made
/// it) of a record, null when absent; error.Malformed for bad attributes.
pub fn findInfo(payload: []const u8) netlink.ParseError!?[]const u8 {
    if (payload.len < @sizeOf(Msg)) return error.Malformed;
    var it = netlink.Attrs.init(payload, @sizeOf(Msg));
    while (try it.next()) |attr| {
        if (attr.type == INET_DIAG_INFO) return attr.payload;
    }
    return null;
}

/// One filter term: sockets whose local port is `port` and, unless
/// `any_addr`, whose local address is exactly `addr.bytes` of `addr.family`.
pub const Term = struct {
    addr: Addr,
    any_addr: bool,

    fn condSize(self: Term) usize {
        return @sizeOf(BcOp) + @sizeOf(HostCond) + if (self.any_addr) 0 else self.addr.addrLen();
    }
};

/// Bytes of bytecode `terms` produce (see `writeAnyOf`).
pub fn anyOfSize(terms: anytype) usize {
    var n: usize = 0;
    var it = terms;
    var count: usize = 0;
    while (it.next()) |t| {
        n += t.condSize();
        count += 1;
    }
    if (count > 1) n += (count - 1) * @sizeOf(BcOp);
    return n;
}

/// Writes a filter that accepts a socket matching any of `terms` (an
/// iterator with `next() ?Term`, walked twice). Each term is one S_COND
/// instruction (port and address in one host condition): on a match it goes
/// to a JMP that lands on the end (accept); on a mismatch it skips the JMP to
/// the next term; the last term's mismatch jumps 4 bytes past the end, which
/// the kernel treats as reject. This is the shape inet_diag_bc_audit accepts
/// (every `no` target reachable through `yes` steps, JMP yes == 4).
pub fn writeAnyOf(w: *netlink.Writer, terms: anytype) netlink.Writer.Error!void {
    const total = anyOfSize(terms);
    if (total > std.math.maxInt(u16) - @sizeOf(netlink.AttrHeader)) return error.NoSpace;
    var left = total;
    var it = terms;
    while (it.next()) |t| {
        const size = t.condSize();
        const last = left == size;
        try w.value(BcOp{ .code = BC_S_COND, .yes = @intCast(size), .no = @intCast(size + @sizeOf(BcOp)) });
        try w.value(HostCond{
            .family = if (t.any_addr) 0 else t.addr.family,
            .prefix_len = if (t.any_addr) 0 else @intCast(t.addr.addrLen() * 8),
            .port = t.addr.port,
        });
        if (!t.any_addr) try w.bytes(t.addr.bytes[0..t.addr.addrLen()]);
        left -= size;
        if (!last) {
            try w.value(BcOp{ .code = BC_JMP, .yes = @sizeOf(BcOp), .no = @intCast(left) });
            left -= @sizeOf(BcOp);
        }
    }
}

/// The request type for a dump of `family`, null for both (see ReqV1).
pub fn dumpType(family: ?u8) u16 {
    return if (family == null) netlink.TCPDIAG_GETSOCK else netlink.SOCK_DIAG_BY_FAMILY;
}

/// Writes a TCP dump request for `states` of `family` (inet_diag_req_v2),
/// or of IPv4 and IPv6 together when `family` is null (inet_diag_req, sent
/// as `dumpType(null)`), with a bytecode attribute when `terms` is
/// non-null. No extensions are asked for: the fixed record carries the
/// queue lengths and the inode.
pub fn writeDump(w: *netlink.Writer, family: ?u8, states: u32, terms: anytype) netlink.Writer.Error!void {
    if (family) |f| {
        try w.value(ReqV2{ .family = f, .protocol = IPPROTO_TCP, .ext = 0, .states = states, .id = std.mem.zeroes(SockId) });
    } else {
        try w.value(ReqV1{ .ext = 0, .states = states, .id = std.mem.zeroes(SockId) });
    }
    if (terms) |t| {
        const at = try w.beginAttr(INET_DIAG_REQ_BYTECODE);
        try writeAnyOf(w, t);
        try w.endAttr(at);
    }
}

/// Bytes of the filter `writeRemoteFilter` writes.
pub fn remoteFilterSize(remote: Addr, local_port: u16) usize {
    const cond = @sizeOf(BcOp) + @sizeOf(HostCond) + remote.addrLen();
    return cond + @as(usize, if (local_port != 0) 4 * @sizeOf(BcOp) else 0);
}

/// Writes a filter that accepts only sockets whose remote end is exactly
/// `remote` (its family's full address and its port) and, when local_port
/// is not 0, whose local port is local_port (S_GE then S_LE, which every
/// kernel with bytecode knows). A chain: each condition's `yes` steps to the
/// next, the last one's lands on the end (accept); every `no` jumps 4 bytes
/// past the end (reject), the shape inet_diag_bc_audit accepts.
pub fn writeRemoteFilter(w: *netlink.Writer, remote: Addr, local_port: u16) netlink.Writer.Error!void {
    var left = remoteFilterSize(remote, local_port);
    const cond = @sizeOf(BcOp) + @sizeOf(HostCond) + remote.addrLen();
    try w.value(BcOp{ .code = BC_D_COND, .yes = @intCast(cond), .no = @intCast(left + 4) });
    try w.value(HostCond{ .family = remote.family, .prefix_len = @intCast(remote.addrLen() * 8), .port = remote.port });
    try w.bytes(remote.bytes[0..remote.addrLen()]);
    left -= cond;
    if (local_port == 0) return;
    for ([2]u8{ BC_S_GE, BC_S_LE }) |code| {
        try w.value(BcOp{ .code = code, .yes = 2 * @sizeOf(BcOp), .no = @intCast(left + 4) });
        try w.value(BcOp{ .code = 0, .yes = 0, .no = local_port });
        left -= 2 * @sizeOf(BcOp);
    }
}

/// What a filter sees of one socket (inet_diag_bc_run's entry): ports in
/// host order, addresses of the family's length.
pub const FilterEntry = struct {
    family: u8,
    sport: u16,
    dport: u16,
    saddr: []const u8,
    daddr: []const u8 = &.{},
};

/// Runs a bytecode program the way the kernel's inet_diag_bc_run does, for
/// the instructions this file emits; used by tests to check the filters.
pub fn runFilterOn(bc: []const u8, e: FilterEntry) bool {
    var pos: usize = 0;
    var len: isize = @intCast(bc.len);
    while (len > 0) {
        const op = std.mem.bytesToValue(BcOp, bc[pos..][0..4]);
        var yes = true;
        switch (op.code) {
            BC_JMP => yes = false,
            BC_S_GE, BC_S_LE => {
                const port = std.mem.bytesToValue(BcOp, bc[pos + 4 ..][0..4]).no;
                yes = if (op.code == BC_S_GE) e.sport >= port else e.sport <= port;
            },
            BC_S_COND, BC_D_COND => {
                const c = std.mem.bytesToValue(HostCond, bc[pos + 4 ..][0..8]);
                const port = if (op.code == BC_S_COND) e.sport else e.dport;
                const addr = if (op.code == BC_S_COND) e.saddr else e.daddr;
                if (c.port != -1 and c.port != port) {
                    yes = false;
                } else if (c.family != 0 and c.family != e.family) {
                    yes = false;
                } else if (c.prefix_len != 0) {
                    const n = c.prefix_len / 8;
                    yes = std.mem.eql(u8, bc[pos + 12 ..][0..n], addr[0..n]);
                }
            },
            else => unreachable,
        }
        const step: usize = if (yes) op.yes else op.no;
        len -= @intCast(step);
        pos += step;
    }
    return len == 0;
}

fn runFilter(bc: []const u8, family: u8, port: u16, addr: []const u8) bool {
    return runFilterOn(bc, .{ .family = family, .sport = port, .dport = 0, .saddr = addr });
}

const testing = std.testing;

const SliceTerms = struct {
    items: []const Term,
    i: usize = 0,
    fn next(self: *SliceTerms) ?Term {
        if (self.i == self.items.len) return null;
        defer self.i += 1;
        return self.items[self.i];
    }
};

fn v4(a: u8, b: u8, c: u8, d: u8, port: u16) Addr {
    var bytes = [_]u8{0} ** 16;
    bytes[0..4].* = .{ a, b, c, d };
    return .{ .family = AF_INET, .port = port, .bytes = bytes };
}

test "addr20 round trip and validation" {
    var rec: [20]u8 = undefined;
    const a = v4(127, 0, 0, 1, 8080);
    a.encode(&rec);
    try testing.expectEqualSlices(u8, &.{ 4, 0, 0x90, 0x1f, 127, 0, 0, 1 }, rec[0..8]);
    try testing.expect(Addr.decode(&rec).?.eql(a));
    rec[10] = 99; // ignored for IPv4
    try testing.expect(Addr.decode(&rec).?.eql(a));
    rec[0] = 5;
    try testing.expectEqual(@as(?Addr, null), Addr.decode(&rec));
    try testing.expect(v4(0, 0, 0, 0, 1).isWildcard());
}

test "struct sizes and message parsing, IPv6" {
    var m = std.mem.zeroes(Msg);
    m.family = AF_INET6;
    m.state = TCP_LISTEN;
    m.id.sport = .{ 0x1f, 0x90 };
    m.id.src[15] = 1; // ::1
    m.rqueue = 3;
    m.wqueue = 128;
    m.inode = 77;
    var buf: [80]u8 = undefined;
    @memcpy(buf[1..73], std.mem.asBytes(&m)); // unaligned on purpose
    const p = parseMsg(buf[1..73]).?;
    const a = Addr.local(&p);
    try testing.expectEqual(@as(u16, 8080), a.port);
    try testing.expectEqual(@as(u8, 1), a.bytes[15]);
    try testing.expectEqual(@as(u32, 128), p.wqueue);
    try testing.expectEqual(@as(?Msg, null), parseMsg(buf[1..72])); // truncated
}

test "INET_DIAG_INFO lookup: short tcp_info, absent, bad attribute" {
    var buf: [256]u8 align(4) = [_]u8{0} ** 256;
    // An 8-byte attribute of another type, then a 104-byte tcp_info.
    std.mem.writeInt(u16, buf[72..74], 8, .little);
    std.mem.writeInt(u16, buf[74..76], 1, .little);
    std.mem.writeInt(u16, buf[80..82], 4 + 104, .little);
    std.mem.writeInt(u16, buf[82..84], INET_DIAG_INFO, .little);
    buf[84] = TCP_ESTABLISHED;
    const info = (try findInfo(buf[0 .. 84 + 104])).?;
    try testing.expectEqual(@as(usize, 104), info.len);
    try testing.expectEqual(TCP_ESTABLISHED, info[0]);
    try testing.expectEqual(@as(?[]const u8, null), try findInfo(buf[0..80]));
    try testing.expectError(error.Malformed, findInfo(buf[0 .. 84 + 50])); // rta_len past the end
    try testing.expectError(error.Malformed, findInfo(buf[0..40]));
}

test "bytecode: any-of filter accepts exactly its terms" {
    var v6 = [_]u8{0} ** 16;
    v6[15] = 1;
    const terms = [_]Term{
        .{ .addr = v4(127, 0, 0, 1, 80), .any_addr = false },
        .{ .addr = v4(0, 0, 0, 0, 443), .any_addr = true },
        .{ .addr = .{ .family = AF_INET6, .port = 8080, .bytes = v6 }, .any_addr = false },
    };
    var buf: [256]u8 = undefined;
    var w: netlink.Writer = .{ .buf = &buf };
    try writeAnyOf(&w, SliceTerms{ .items = &terms });
    try testing.expectEqual(anyOfSize(SliceTerms{ .items = &terms }), w.len);
    try testing.expectEqual(@as(usize, 16 + 4 + 12 + 4 + 28), w.len);
    const bc = buf[0..w.len];
    try testing.expect(runFilter(bc, AF_INET, 80, &.{ 127, 0, 0, 1 }));
    try testing.expect(!runFilter(bc, AF_INET, 80, &.{ 127, 0, 0, 2 }));
    try testing.expect(runFilter(bc, AF_INET, 443, &.{ 10, 0, 0, 2 }));
    try testing.expect(runFilter(bc, AF_INET6, 443, &v6));
    try testing.expect(runFilter(bc, AF_INET6, 8080, &v6));
    try testing.expect(!runFilter(bc, AF_INET, 8080, &.{ 0, 0, 0, 1 }));
    try testing.expect(!runFilter(bc, AF_INET, 81, &.{ 127, 0, 0, 1 }));

    const one = [_]Term{.{ .addr = v4(0, 0, 0, 0, 22), .any_addr = true }};
    w = .{ .buf = &buf };
    try writeAnyOf(&w, SliceTerms{ .items = &one });
    try testing.expectEqual(@as(usize, 12), w.len);
    try testing.expect(runFilter(buf[0..12], AF_INET, 22, &.{ 1, 2, 3, 4 }));
    try testing.expect(!runFilter(buf[0..12], AF_INET, 23, &.{ 1, 2, 3, 4 }));
}

test "bytecode larger than an attribute is refused" {
    var many: [4000]Term = undefined;
    for (&many) |*t| t.* = .{ .addr = v4(1, 2, 3, 4, 1), .any_addr = false };
    var buf: [1 << 17]u8 = undefined;
    var w: netlink.Writer = .{ .buf = &buf };
    try testing.expectError(error.NoSpace, writeAnyOf(&w, SliceTerms{ .items = &many }));
}

test "random records never read out of bounds" {
    var prng = std.Random.DefaultPrng.init(7);
    const rand = prng.random();
    var buf: [160]u8 = undefined;
    for (0..20000) |_| {
        const n = rand.uintAtMost(usize, buf.len);
        rand.bytes(buf[0..n]);
        if (n >= 76 and rand.boolean()) {
            std.mem.writeInt(u16, buf[72..74], rand.uintAtMost(u16, 100), .little);
            buf[74] = 2;
            buf[75] = 0;
        }
        if (parseMsg(buf[0..n])) |m| _ = Addr.local(&m);
        _ = findInfo(buf[0..n]) catch {};
    }
}
