//! struct tcp_info (tcp(7)) for one TCP connection: by descriptor with
//! getsockopt(TCP_INFO), by its address pair through a single sock_diag
//! lookup with the INET_DIAG_INFO extension, or by its remote end alone
//! through a filtered dump, for runtimes that hide socket descriptors and
//! local addresses. Either way the kernel decides the length (280 bytes on 6.x,
//! fewer on old kernels) and callers expose only fields inside it.
const std = @import("std");
const linux = std.os.linux;
const sys = @import("sys.zig");
const netlink = @import("netlink.zig");
const inet = @import("inet_diag.zig");
const socket_fds = @import("socket_fds.zig");

/// getsockopt(SOL_TCP, TCP_INFO) on `sockfd` into `out`. Returns the
/// length the kernel wrote (BADF, NOTSOCK, or OPNOTSUPP for a socket that
/// is not TCP).
pub fn byFd(sockfd: i32, out: []u8) sys.Error!usize {
    var dummy: [1]u8 = undefined;
    const p: [*]u8 = if (out.len == 0) &dummy else out.ptr;
    var len: linux.socklen_t = @intCast(out.len);
    _ = try sys.check(linux.getsockopt(sockfd, linux.IPPROTO.TCP, linux.TCP.INFO, p, &len));
    return @min(len, out.len);
}

/// byFd, then a check that `sockfd` is still the socket with inode
/// `inode`: descriptors are reused, so a cached descriptor may by now be
/// another socket. error.STALE when it is not (what was read belongs to
/// another socket and is dropped). Checked after the read, a passed check is
/// conclusive: a closed socket's inode does not come back on a descriptor.
pub fn byFdChecked(sockfd: i32, inode: u32, out: []u8) sys.Error!usize {
    const n = try byFd(sockfd, out);
    if (socket_fds.socketInode(sockfd) != inode) return error.STALE;
    return n;
}

/// Finds the TCP socket whose local end is `local` and remote end `remote`
/// (of one family, else error.INVAL) with one non-dump SOCK_DIAG_BY_FAMILY
/// request and copies its struct tcp_info into `out`, truncated to fit.
/// Returns the length the kernel returned (which may exceed out.len);
/// error.NOENT when no socket has that address pair (the kernel would
/// answer with a listener on `local`: that is ignored), error.NODATA when
/// the socket has no tcp_info (a TIME_WAIT socket). An IPv4 pair not found
/// is asked again IPv4-mapped, as a dual-stack IPv6 socket may carry it.
/// `scratch` holds the request and the reply.
pub fn byAddr(fd: i32, local: inet.Addr, remote: inet.Addr, out: []u8, scratch: []u8) sys.Error!usize {
    if (local.family != remote.family) return error.INVAL;
    return byPair(fd, local, remote, out, scratch) catch |e| {
        if (e != error.NOENT or local.family != inet.AF_INET) return e;
        return byPair(fd, mapAddr(local), mapAddr(remote), out, scratch);
    };
}

fn byPair(fd: i32, local: inet.Addr, remote: inet.Addr, out: []u8, scratch: []u8) sys.Error!usize {
    var ctx: ByAddrCtx = .{ .req = request(local, remote), .out = out };
    try netlink.run(fd, scratch, .single, &ctx);
    return ctx.result;
}

/// The exact four-tuple lookup: any state, any cookie, tcp_info wanted.
pub fn request(local: inet.Addr, remote: inet.Addr) inet.ReqV2 {
    var id = std.mem.zeroes(inet.SockId);
    std.mem.writeInt(u16, &id.sport, local.port, .big);
    std.mem.writeInt(u16, &id.dport, remote.port, .big);
    id.src = local.bytes;
    id.dst = remote.bytes;
    id.cookie = inet.no_cookie;
    return .{
        .family = local.family,
        .protocol = inet.IPPROTO_TCP,
        .ext = 1 << (inet.INET_DIAG_INFO - 1),
        .states = 0xffff_ffff,
        .id = id,
    };
}

const ByAddrCtx = struct {
    req: inet.ReqV2,
    out: []u8,
    result: usize = 0,

    pub fn build(self: *ByAddrCtx, w: *netlink.Writer) netlink.Writer.Error!void {
        try w.value(self.req);
    }

    pub fn reset(self: *ByAddrCtx) void {
        self.result = 0;
    }

    pub fn accept(self: *ByAddrCtx, payload: []const u8) sys.Error!void {
        const m = inet.parseMsg(payload) orelse return error.PROTO;
        // The kernel's lookup falls back to a listener on the local address
        // when no connection matches: only the asked four-tuple counts.
        if (!samePair(&m.id, &self.req.id, m.family, self.req.family)) return error.NOENT;
        self.result = try copyInfo(payload, self.out);
    }
};

/// Finds the TCP connection whose remote end is `remote` and, when
/// local_port is not 0, whose local port is local_port, with a sock_diag
/// dump the kernel filters by bytecode (`connection_states`). For an IPv4
/// remote, AF_INET6 sockets are searched too with the IPv4-mapped address
/// (IPv4 clients of dual-stack listeners). When several sockets match, an
/// accepted one (non-zero inode) wins over one still in an accept queue or
/// orphaned, then ESTABLISHED over other states, then one with tcp_info.
/// Writes the socket's local end to `local` (IPv4-mapped as plain IPv4 when
/// `remote` is IPv4) and its inode to `inode` (0 for a socket still in an
/// accept queue), copies its tcp_info into `out` truncated to fit, and
/// returns the length the kernel returned. error.NOENT when no socket
/// matches (`local` left as it was), error.NODATA when the match has no
/// tcp_info (`local` and `inode` are written).
///
/// A dump walks the kernel's whole established hash, so `local` is also a
/// hint: when it holds, on entry, an addr20 of the remote's family with a
/// port (such as the local end a previous call found), that four-tuple is
/// first looked up exactly and taken when it is an accepted ESTABLISHED
/// socket with tcp_info. Zero it for no hint; a wrong hint only costs that
/// lookup.
pub fn byRemote(fd: i32, remote: inet.Addr, local_port: u16, local: *[inet.addr_size]u8, inode: *align(1) u32, out: []u8, scratch: []u8) sys.Error!usize {
    var best: Candidate = .{};
    if (inet.Addr.decode(local)) |hint| if (hint.family == remote.family and hint.port != 0) {
        var ctx: HintCtx = .{ .req = request(hint, remote), .remote = remote, .local_port = local_port };
        if (netlink.run(fd, scratch, .single, &ctx)) |_| {
            if (ctx.found.rank == Candidate.top) best = ctx.found;
        } else |_| {}
    };
    const families: []const u8 = if (remote.family == inet.AF_INET) &.{ inet.AF_INET, inet.AF_INET6 } else &.{inet.AF_INET6};
    for (families) |family| {
        if (best.rank == Candidate.top) break;
        var ctx: ByRemoteCtx = .{ .remote = if (family == remote.family) remote else mapAddr(remote), .local_port = local_port };
        try netlink.run(fd, scratch, .dump, &ctx);
        if (ctx.found.rank > best.rank) best = ctx.found;
    }
    if (best.rank == 0) return error.NOENT;
    const found = if (remote.family == inet.AF_INET) unmapAddr(best.local) else best.local;
    found.encode(local);
    inode.* = best.inode;
    if (!best.has_info) return error.NODATA;
    const n = @min(best.stored, out.len);
    @memcpy(out[0..n], best.info[0..n]);
    return best.info_len;
}

/// The best socket seen so far by `byRemote`, with a copy of
/// its tcp_info (a later, better match may replace it).
pub const Candidate = struct {
    /// 0: none yet. See `rankOf`.
    rank: u8 = 0,
    local: inet.Addr = undefined,
    inode: u32 = 0,
    has_info: bool = false,
    /// The kernel's tcp_info length, and how much of it `info` holds.
    info_len: usize = 0,
    stored: usize = 0,
    info: [max_info]u8 = undefined,

    /// Room for tcp_info: 280 bytes on 6.x kernels, so ample margin.
    pub const max_info = 1024;
    pub const top: u8 = 8;

    /// 1 for any match, +4 accepted (inode != 0), +2 ESTABLISHED, +1 with tcp_info.
    pub fn rankOf(m: *const inet.Msg, has_info: bool) u8 {
        return 1 + @as(u8, if (m.inode != 0) 4 else 0) +
            @as(u8, if (m.state == inet.TCP_ESTABLISHED) 2 else 0) + @intFromBool(has_info);
    }

    /// Takes the record in `payload` when its remote end is `remote` (of the
    /// record's family), its local port local_port (unless 0) and it ranks
    /// above the current candidate; error.PROTO for a malformed record.
    pub fn consider(self: *Candidate, payload: []const u8, remote: inet.Addr, local_port: u16) sys.Error!void {
        const m = inet.parseMsg(payload) orelse return error.PROTO;
        const info = inet.findInfo(payload) catch return error.PROTO;
        if (m.family != remote.family or m.state == inet.TCP_LISTEN) return;
        if (std.mem.readInt(u16, &m.id.dport, .big) != remote.port) return;
        if (!std.mem.eql(u8, m.id.dst[0..remote.addrLen()], remote.bytes[0..remote.addrLen()])) return;
        const local = inet.Addr.local(&m);
        if (local_port != 0 and local.port != local_port) return;
        const rank = rankOf(&m, info != null);
        if (rank <= self.rank) return;
        self.* = .{ .rank = rank, .local = local, .inode = m.inode, .has_info = info != null };
        if (info) |i| {
            self.info_len = i.len;
            self.stored = @min(i.len, max_info);
            @memcpy(self.info[0..self.stored], i[0..self.stored]);
        }
    }
};

const ByRemoteCtx = struct {
    /// In the family searched (IPv4-mapped for an AF_INET6 search).
    remote: inet.Addr,
    local_port: u16,
    found: Candidate = .{},

    pub fn build(self: *ByRemoteCtx, w: *netlink.Writer) netlink.Writer.Error!void {
        try w.value(byRemoteRequest(self.remote, self.local_port));
        const at = try w.beginAttr(inet.INET_DIAG_REQ_BYTECODE);
        try inet.writeRemoteFilter(w, self.remote, self.local_port);
        try w.endAttr(at);
    }

    pub fn reset(self: *ByRemoteCtx) void {
        self.found.rank = 0;
    }

    pub fn accept(self: *ByRemoteCtx, payload: []const u8) sys.Error!void {
        return self.found.consider(payload, self.remote, self.local_port);
    }
};

/// The exact lookup of a hinted four-tuple. A dual-stack socket answers an
/// IPv4 request with IPv4-mapped addresses.
const HintCtx = struct {
    req: inet.ReqV2,
    remote: inet.Addr,
    local_port: u16,
    found: Candidate = .{},

    pub fn build(self: *HintCtx, w: *netlink.Writer) netlink.Writer.Error!void {
        try w.value(self.req);
    }

    pub fn reset(self: *HintCtx) void {
        self.found.rank = 0;
    }

    pub fn accept(self: *HintCtx, payload: []const u8) sys.Error!void {
        const m = inet.parseMsg(payload) orelse return error.PROTO;
        const dual = m.family == inet.AF_INET6 and self.remote.family == inet.AF_INET;
        return self.found.consider(payload, if (dual) mapAddr(self.remote) else self.remote, self.local_port);
    }
};

/// The states of a connection: ESTABLISHED (1) to LAST_ACK (9) and CLOSING
/// (11). Not LISTEN (10), nor the kernel-internal NEW_SYN_RECV (12) and
/// BOUND_INACTIVE (13): asking for LISTEN or BOUND_INACTIVE would make the
/// kernel walk its listening or bind hash table as well.
pub const connection_states: u32 = 0b1011_1111_1110;

/// The dump request of a remote-end search: connection states only,
/// tcp_info wanted, and the ports in the socket id, which the kernel
/// compares before running the bytecode.
pub fn byRemoteRequest(remote: inet.Addr, local_port: u16) inet.ReqV2 {
    var id = std.mem.zeroes(inet.SockId);
    std.mem.writeInt(u16, &id.sport, local_port, .big);
    std.mem.writeInt(u16, &id.dport, remote.port, .big);
    return .{
        .family = remote.family,
        .protocol = inet.IPPROTO_TCP,
        .ext = 1 << (inet.INET_DIAG_INFO - 1),
        .states = connection_states,
        .id = id,
    };
}

const mapped_prefix = [_]u8{0} ** 10 ++ [_]u8{ 0xff, 0xff };

/// An IPv4 address as the IPv4-mapped IPv6 address a dual-stack socket carries.
pub fn mapAddr(a: inet.Addr) inet.Addr {
    var bytes: [16]u8 = undefined;
    bytes[0..12].* = mapped_prefix;
    bytes[12..16].* = a.bytes[0..4].*;
    return .{ .family = inet.AF_INET6, .port = a.port, .bytes = bytes };
}

/// An IPv4-mapped IPv6 address as plain IPv4; any other address unchanged.
pub fn unmapAddr(a: inet.Addr) inet.Addr {
    if (a.family != inet.AF_INET6 or !std.mem.eql(u8, a.bytes[0..12], &mapped_prefix)) return a;
    var bytes = [_]u8{0} ** 16;
    bytes[0..4].* = a.bytes[12..16].*;
    return .{ .family = inet.AF_INET, .port = a.port, .bytes = bytes };
}

/// True when a reply's socket id is the requested four-tuple. A dual-stack
/// IPv6 socket answers with IPv4-mapped addresses for an IPv4 request, so
/// addresses compare after unmapping.
pub fn samePair(got: *const inet.SockId, want: *const inet.SockId, got_family: u8, want_family: u8) bool {
    if (!std.mem.eql(u8, &got.sport, &want.sport) or !std.mem.eql(u8, &got.dport, &want.dport)) return false;
    return sameAddr(&got.src, got_family, &want.src, want_family) and
        sameAddr(&got.dst, got_family, &want.dst, want_family);
}

fn unmapped(a: *const [16]u8, family: u8) []const u8 {
    if (family == inet.AF_INET) return a[0..4];
    if (std.mem.eql(u8, a[0..12], &mapped_prefix)) return a[12..16];
    return a[0..16];
}

fn sameAddr(a: *const [16]u8, af: u8, b: *const [16]u8, bf: u8) bool {
    return std.mem.eql(u8, unmapped(a, af), unmapped(b, bf));
}

/// Copies the tcp_info of one reply record into `out`; its full length,
/// error.NODATA without one, error.PROTO for a malformed record.
pub fn copyInfo(payload: []const u8, out: []u8) sys.Error!usize {
    const info = (inet.findInfo(payload) catch return error.PROTO) orelse return error.NODATA;
    const n = @min(info.len, out.len);
    @memcpy(out[0..n], info[0..n]);
    return info.len;
}

const testing = std.testing;
const abi = @import("abi.zig");
const native = @import("builtin").cpu.arch.endian();
const ts = @import("test_sockets.zig");

test "request layout for the four-tuple" {
    var a = [_]u8{0} ** 16;
    a[0..4].* = .{ 127, 0, 0, 1 };
    const req = request(.{ .family = inet.AF_INET, .port = 8080, .bytes = a }, .{ .family = inet.AF_INET, .port = 40000, .bytes = a });
    const b = std.mem.asBytes(&req);
    try testing.expectEqual(@as(u8, 2), b[2]); // idiag_ext: INET_DIAG_INFO bit
    try testing.expectEqualSlices(u8, &.{ 0x1f, 0x90, 0x9c, 0x40, 127, 0, 0, 1 }, b[8..16]);
    try testing.expectEqualSlices(u8, &([_]u8{0xff} ** 8), b[48..56]);
}

test "samePair: ports, addresses, IPv4-mapped, listener fallback" {
    var a = std.mem.zeroes(inet.SockId);
    a.sport = .{ 0, 80 };
    a.dport = .{ 0x9c, 0x40 };
    a.src[0..4].* = .{ 127, 0, 0, 1 };
    a.dst[0..4].* = .{ 127, 0, 0, 2 };
    var b = a;
    try testing.expect(samePair(&a, &b, inet.AF_INET, inet.AF_INET));
    b.dport = .{ 0, 0 }; // a listener's id
    try testing.expect(!samePair(&b, &a, inet.AF_INET, inet.AF_INET));
    b = std.mem.zeroes(inet.SockId);
    b.sport = a.sport;
    b.dport = a.dport;
    b.src[10..16].* = .{ 0xff, 0xff, 127, 0, 0, 1 };
    b.dst[10..16].* = .{ 0xff, 0xff, 127, 0, 0, 2 };
    try testing.expect(samePair(&b, &a, inet.AF_INET6, inet.AF_INET));
    b.dst[15] = 3;
    try testing.expect(!samePair(&b, &a, inet.AF_INET6, inet.AF_INET));
}

test "copyInfo: short tcp_info, truncation to out, missing, malformed" {
    var rec = [_]u8{0} ** (72 + 4 + 104);
    std.mem.writeInt(u16, rec[72..74], 4 + 104, .little);
    std.mem.writeInt(u16, rec[74..76], inet.INET_DIAG_INFO, .little);
    rec[76] = 1;
    var out = [_]u8{0xaa} ** 300;
    try testing.expectEqual(@as(usize, 104), try copyInfo(&rec, &out));
    try testing.expectEqual(@as(u8, 1), out[0]);
    try testing.expectEqual(@as(u8, 0xaa), out[104]);
    @memset(&out, 0xaa);
    try testing.expectEqual(@as(usize, 104), try copyInfo(&rec, out[0..10]));
    try testing.expectEqual(@as(u8, 0xaa), out[10]);
    try testing.expectError(error.NODATA, copyInfo(rec[0..72], &out));
    try testing.expectError(error.PROTO, copyInfo(rec[0..100], &out));
    try testing.expectError(error.PROTO, copyInfo(rec[0..50], &out));
}

var test_scratch: [256 * 1024]u8 = undefined;

fn addr20(family: ts.Family, bytes: [16]u8, port: u16) [20]u8 {
    var r: [20]u8 = undefined;
    const a: inet.Addr = .{ .family = if (family == .v4) inet.AF_INET else inet.AF_INET6, .port = port, .bytes = bytes };
    a.encode(&r);
    return r;
}

fn field(info: []const u8, off: usize) u32 {
    return std.mem.readInt(u32, info[off..][0..4], .little);
}

fn expectSameInfo(a: []const u8, b: []const u8) !void {
    try testing.expectEqual(a.len, b.len);
    try testing.expectEqualSlices(u8, a[0..8], b[0..8]); // state .. wscale
    for ([_]usize{ 16, 20, 60, 80, 84 }) |off| { // snd_mss rcv_mss pmtu snd_cwnd advmss
        try testing.expectEqual(field(a, off), field(b, off));
    }
}

/// A loopback connection seen from its accepted end: its tcp_info read by
/// descriptor (what every lookup by address must equal) and a sock_diag
/// socket to do those lookups.
const Probe = struct {
    conn: ts.Connection,
    by_fd: [512]u8,
    n_fd: i32,
    fd: i32,

    fn init(listen_family: ts.Family, listen_addr: [16]u8, client_family: ts.Family, connect_addr: [16]u8) !Probe {
        const conn = try ts.connection(listen_family, listen_addr, client_family, connect_addr);
        errdefer conn.deinit();
        var p: Probe = .{ .conn = conn, .by_fd = undefined, .n_fd = 0, .fd = try netlink.open() };
        p.n_fd = abi.rd_tcp_info_fd(conn.server, &p.by_fd, p.by_fd.len);
        return p;
    }

    fn deinit(self: *const Probe) void {
        netlink.close(self.fd) catch {};
        self.conn.deinit();
    }
};

test "TCP_INFO by descriptor equals TCP_INFO by address pair" {
    const lo = ts.v4(127, 0, 0, 1);
    const probe = try Probe.init(.v4, lo, .v4, lo);
    defer probe.deinit();
    const l, const cport, const fd = .{ probe.conn.listener, probe.conn.client_port, probe.fd };
    const by_fd, const n_fd = .{ probe.by_fd, probe.n_fd };
    try testing.expect(n_fd >= 104);
    try testing.expectEqual(@as(u8, 1), by_fd[0]); // TCP_ESTABLISHED

    const local = addr20(.v4, lo, l.port);
    const remote = addr20(.v4, lo, cport);
    var by_addr: [512]u8 = undefined;
    const n_addr = abi.rd_tcp_info_by_addr(fd, &local, &remote, &by_addr, by_addr.len, &test_scratch, test_scratch.len);
    try testing.expectEqual(n_fd, n_addr);
    try expectSameInfo(by_fd[0..@intCast(n_fd)], by_addr[0..@intCast(n_addr)]);

    // Truncated to out_cap, full length returned.
    var small = [_]u8{0xaa} ** 16;
    try testing.expectEqual(n_addr, abi.rd_tcp_info_by_addr(fd, &local, &remote, &small, 8, &test_scratch, test_scratch.len));
    try testing.expectEqual(@as(u8, 0xaa), small[8]);
    // The client end is found by swapping the pair.
    try testing.expectEqual(n_addr, abi.rd_tcp_info_by_addr(fd, &remote, &local, &by_addr, by_addr.len, &test_scratch, test_scratch.len));
    // No such connection; families differ; bad record.
    const nowhere = addr20(.v4, lo, 1);
    try testing.expectEqual(abi.errno(error.NOENT), abi.rd_tcp_info_by_addr(fd, &local, &nowhere, &by_addr, by_addr.len, &test_scratch, test_scratch.len));
    const v6 = addr20(.v6, ts.v6_loopback, cport);
    try testing.expectEqual(abi.errno(error.INVAL), abi.rd_tcp_info_by_addr(fd, &local, &v6, &by_addr, by_addr.len, &test_scratch, test_scratch.len));
    const bad = [_]u8{0} ** 20;
    try testing.expectEqual(abi.errno(error.INVAL), abi.rd_tcp_info_by_addr(fd, &bad, &remote, &by_addr, by_addr.len, &test_scratch, test_scratch.len));
    try testing.expectEqual(abi.errno(error.INVAL), abi.rd_tcp_info_by_addr(fd, &local, &remote, &by_addr, by_addr.len, &test_scratch, 100));
}

test "TCP_INFO of an IPv4 client on a dual-stack IPv6 listener" {
    const any6 = [_]u8{0} ** 16;
    const lo = ts.v4(127, 0, 0, 1);
    const probe = try Probe.init(.v6, any6, .v4, lo);
    defer probe.deinit();
    const l, const cport, const fd = .{ probe.conn.listener, probe.conn.client_port, probe.fd };
    const by_fd, const n_fd = .{ probe.by_fd, probe.n_fd };
    var out: [512]u8 = undefined;
    // As IPv4-mapped IPv6 addresses (what a dual-stack server reports)...
    var mapped = [_]u8{0} ** 16;
    mapped[10] = 0xff;
    mapped[11] = 0xff;
    mapped[12..16].* = .{ 127, 0, 0, 1 };
    const l6 = addr20(.v6, mapped, l.port);
    const r6 = addr20(.v6, mapped, cport);
    try testing.expectEqual(n_fd, abi.rd_tcp_info_by_addr(fd, &l6, &r6, &out, out.len, &test_scratch, test_scratch.len));
    try expectSameInfo(by_fd[0..@intCast(n_fd)], out[0..@intCast(n_fd)]);
    // ...and as plain IPv4 addresses: the kernel's lookup finds it either way.
    const l4 = addr20(.v4, lo, l.port);
    const r4 = addr20(.v4, lo, cport);
    try testing.expectEqual(n_fd, abi.rd_tcp_info_by_addr(fd, &l4, &r4, &out, out.len, &test_scratch, test_scratch.len));
}

test "TCP_INFO by descriptor: errors" {
    var out: [280]u8 = undefined;
    try testing.expectEqual(abi.errno(error.BADF), abi.rd_tcp_info_fd(-1, &out, out.len));
    const devnull: i32 = @intCast(linux.open("/dev/null", .{ .ACCMODE = .RDONLY, .CLOEXEC = true }, 0));
    defer ts.close(devnull);
    try testing.expectEqual(abi.errno(error.NOTSOCK), abi.rd_tcp_info_fd(devnull, &out, out.len));
    var pair: [2]i32 = undefined;
    try testing.expectEqual(@as(usize, 0), linux.socketpair(linux.AF.UNIX, linux.SOCK.STREAM, 0, &pair));
    defer for (pair) |p| ts.close(p);
    try testing.expectEqual(abi.errno(error.OPNOTSUPP), abi.rd_tcp_info_fd(pair[0], &out, out.len));
    try testing.expectEqual(abi.errno(error.INVAL), abi.rd_tcp_info_fd(pair[0], null, 8));
}

test "remote filter: exact remote end, optional local port, IPv6" {
    const remote: inet.Addr = .{ .family = inet.AF_INET, .port = 40000, .bytes = ts.v4(127, 0, 0, 2) };
    var buf: [128]u8 = undefined;
    var w: netlink.Writer = .{ .buf = &buf };
    try inet.writeRemoteFilter(&w, remote, 0);
    try testing.expectEqual(@as(usize, 16), w.len);
    try testing.expectEqual(inet.remoteFilterSize(remote, 0), w.len);
    // D_COND, yes 16 (the end), no 20 (4 past the end: reject).
    try testing.expectEqualSlices(u8, &.{ inet.BC_D_COND, 16, 20, 0, inet.AF_INET, 32, 0, 0 }, buf[0..8]);
    const bc = buf[0..w.len];
    const lo1 = [_]u8{ 127, 0, 0, 1 };
    const lo2 = [_]u8{ 127, 0, 0, 2 };
    try testing.expect(inet.runFilterOn(bc, .{ .family = inet.AF_INET, .sport = 80, .dport = 40000, .saddr = &lo1, .daddr = &lo2 }));
    try testing.expect(!inet.runFilterOn(bc, .{ .family = inet.AF_INET, .sport = 80, .dport = 40001, .saddr = &lo1, .daddr = &lo2 }));
    try testing.expect(!inet.runFilterOn(bc, .{ .family = inet.AF_INET, .sport = 40000, .dport = 80, .saddr = &lo2, .daddr = &lo1 }));

    w = .{ .buf = &buf };
    try inet.writeRemoteFilter(&w, remote, 8080);
    try testing.expectEqual(@as(usize, 32), w.len);
    try testing.expectEqual(inet.remoteFilterSize(remote, 8080), w.len);
    // S_GE and S_LE, each with the port in the `no` field of a second op.
    try testing.expectEqualSlices(u8, &.{ inet.BC_S_GE, 8, 20, 0, 0, 0, 0x90, 0x1f }, buf[16..24]);
    try testing.expectEqualSlices(u8, &.{ inet.BC_S_LE, 8, 12, 0, 0, 0, 0x90, 0x1f }, buf[24..32]);
    const bp = buf[0..w.len];
    try testing.expect(inet.runFilterOn(bp, .{ .family = inet.AF_INET, .sport = 8080, .dport = 40000, .saddr = &lo1, .daddr = &lo2 }));
    try testing.expect(!inet.runFilterOn(bp, .{ .family = inet.AF_INET, .sport = 8079, .dport = 40000, .saddr = &lo1, .daddr = &lo2 }));
    try testing.expect(!inet.runFilterOn(bp, .{ .family = inet.AF_INET, .sport = 8081, .dport = 40000, .saddr = &lo1, .daddr = &lo2 }));
    try testing.expect(!inet.runFilterOn(bp, .{ .family = inet.AF_INET, .sport = 8080, .dport = 40000, .saddr = &lo1, .daddr = &lo1 }));

    // The IPv4-mapped search of a dual-stack socket.
    const m = mapAddr(remote);
    w = .{ .buf = &buf };
    try inet.writeRemoteFilter(&w, m, 0);
    try testing.expectEqual(@as(usize, 28), w.len);
    const bm = buf[0..w.len];
    try testing.expect(inet.runFilterOn(bm, .{ .family = inet.AF_INET6, .sport = 80, .dport = 40000, .saddr = &m.bytes, .daddr = &m.bytes }));
    try testing.expect(!inet.runFilterOn(bm, .{ .family = inet.AF_INET, .sport = 80, .dport = 40000, .saddr = &lo1, .daddr = &lo2 }));
    var other = m.bytes;
    other[15] = 3;
    try testing.expect(!inet.runFilterOn(bm, .{ .family = inet.AF_INET6, .sport = 80, .dport = 40000, .saddr = &m.bytes, .daddr = &other }));
}

test "remote search request: connection states, tcp_info, ports in the id" {
    const remote: inet.Addr = .{ .family = inet.AF_INET6, .port = 40000, .bytes = ts.v6_loopback };
    const req = byRemoteRequest(remote, 8080);
    const b = std.mem.asBytes(&req);
    try testing.expectEqualSlices(u8, &.{ inet.AF_INET6, inet.IPPROTO_TCP, 2, 0 }, b[0..4]);
    try testing.expectEqual(@as(u32, 0xbfe), req.states);
    try testing.expectEqualSlices(u8, &.{ 0x1f, 0x90, 0x9c, 0x40 }, b[8..12]);
    try testing.expectEqualSlices(u8, &([_]u8{0} ** 32), b[12..44]); // addresses: left to the bytecode
}

/// A hand-built reply record: inet_diag_msg, then a tcp_info of `info_len`
/// bytes whose first byte is the state (none when info_len is 0).
fn testRecord(buf: []u8, family: u8, state: u8, inode: u32, local: inet.Addr, remote: inet.Addr, info_len: u16) []u8 {
    var m = std.mem.zeroes(inet.Msg);
    m.family = family;
    m.state = state;
    m.inode = inode;
    std.mem.writeInt(u16, &m.id.sport, local.port, .big);
    std.mem.writeInt(u16, &m.id.dport, remote.port, .big);
    m.id.src = local.bytes;
    m.id.dst = remote.bytes;
    @memcpy(buf[0..72], std.mem.asBytes(&m));
    if (info_len == 0) return buf[0..72];
    std.mem.writeInt(u16, buf[72..74], 4 + info_len, .little);
    std.mem.writeInt(u16, buf[74..76], inet.INET_DIAG_INFO, .little);
    @memset(buf[76..][0..info_len], @truncate(inode));
    buf[76] = state;
    return buf[0 .. 76 + info_len];
}

test "candidates: accepted beats queued, ESTABLISHED beats others, mismatches ignored" {
    const remote: inet.Addr = .{ .family = inet.AF_INET, .port = 40000, .bytes = ts.v4(127, 0, 0, 2) };
    const l1: inet.Addr = .{ .family = inet.AF_INET, .port = 8080, .bytes = ts.v4(127, 0, 0, 1) };
    const l2: inet.Addr = .{ .family = inet.AF_INET, .port = 9090, .bytes = ts.v4(127, 0, 0, 1) };
    var buf: [512]u8 = undefined;
    var c: Candidate = .{};

    // Still in an accept queue (no inode): taken for want of better.
    try c.consider(testRecord(&buf, inet.AF_INET, inet.TCP_ESTABLISHED, 0, l2, remote, 104), remote, 0);
    try testing.expectEqual(@as(u8, 4), c.rank);
    try testing.expectEqual(@as(u16, 9090), c.local.port);
    // Accepted (inode 7) wins, whatever the order.
    try c.consider(testRecord(&buf, inet.AF_INET, inet.TCP_ESTABLISHED, 7, l1, remote, 280), remote, 0);
    try testing.expectEqual(Candidate.top, c.rank);
    try testing.expect(c.local.eql(l1));
    try testing.expectEqual(@as(usize, 280), c.info_len);
    try testing.expectEqual(@as(u8, 7), c.info[279]);
    // Lower-ranked records afterwards change nothing.
    try c.consider(testRecord(&buf, inet.AF_INET, 6, 0, l2, remote, 0), remote, 0); // TIME_WAIT
    try c.consider(testRecord(&buf, inet.AF_INET, 8, 9, l2, remote, 104), remote, 0); // CLOSE_WAIT
    try testing.expect(c.local.eql(l1));

    // The local port, when asked, excludes the others.
    c = .{};
    try c.consider(testRecord(&buf, inet.AF_INET, inet.TCP_ESTABLISHED, 7, l1, remote, 104), remote, 9090);
    try testing.expectEqual(@as(u8, 0), c.rank);
    try c.consider(testRecord(&buf, inet.AF_INET, inet.TCP_ESTABLISHED, 0, l2, remote, 104), remote, 9090);
    try testing.expect(c.local.eql(l2));

    // Another remote port or address, another family, a listener: ignored.
    c = .{};
    var r2 = remote;
    r2.port = 40001;
    try c.consider(testRecord(&buf, inet.AF_INET, inet.TCP_ESTABLISHED, 7, l1, r2, 104), remote, 0);
    r2 = remote;
    r2.bytes[3] = 3;
    try c.consider(testRecord(&buf, inet.AF_INET, inet.TCP_ESTABLISHED, 7, l1, r2, 104), remote, 0);
    try c.consider(testRecord(&buf, inet.AF_INET6, inet.TCP_ESTABLISHED, 7, l1, remote, 104), remote, 0);
    try c.consider(testRecord(&buf, inet.AF_INET, inet.TCP_LISTEN, 7, l1, remote, 104), remote, 0);
    try testing.expectEqual(@as(u8, 0), c.rank);

    // Without tcp_info (a TIME_WAIT socket) it still counts, ranked lowest.
    try c.consider(testRecord(&buf, inet.AF_INET, 6, 0, l1, remote, 0), remote, 0);
    try testing.expectEqual(@as(u8, 1), c.rank);
    try testing.expect(!c.has_info);

    // Truncated or malformed records stop the dump with -EPROTO.
    try testing.expectError(error.PROTO, c.consider(buf[0..50], remote, 0));
    const rec = testRecord(&buf, inet.AF_INET, inet.TCP_ESTABLISHED, 7, l1, remote, 104);
    try testing.expectError(error.PROTO, c.consider(rec[0..100], remote, 0));
}

test "a tcp_info longer than a candidate holds keeps its full length" {
    const remote: inet.Addr = .{ .family = inet.AF_INET, .port = 1, .bytes = ts.v4(10, 0, 0, 2) };
    const local: inet.Addr = .{ .family = inet.AF_INET, .port = 2, .bytes = ts.v4(10, 0, 0, 1) };
    var buf: [76 + 1200]u8 = undefined;
    var c: Candidate = .{};
    try c.consider(testRecord(&buf, inet.AF_INET, inet.TCP_ESTABLISHED, 1, local, remote, 1200), remote, 0);
    try testing.expectEqual(@as(usize, 1200), c.info_len);
    try testing.expectEqual(@as(usize, Candidate.max_info), c.stored);
}

test "IPv4-mapped addresses map and unmap; others stay" {
    const a: inet.Addr = .{ .family = inet.AF_INET, .port = 80, .bytes = ts.v4(192, 0, 2, 1) };
    const m = mapAddr(a);
    try testing.expectEqual(inet.AF_INET6, m.family);
    try testing.expectEqualSlices(u8, &.{ 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 1 }, &m.bytes);
    try testing.expect(unmapAddr(m).eql(a));
    const v6: inet.Addr = .{ .family = inet.AF_INET6, .port = 80, .bytes = ts.v6_loopback };
    try testing.expect(unmapAddr(v6).eql(v6));
    try testing.expect(unmapAddr(a).eql(a));
}

fn searchRemote(fd: i32, remote: *const [20]u8, local_port: u32, local: *[20]u8, out: []u8) i32 {
    return abi.rd_tcp_info_by_remote(fd, remote, local_port, local, null, out.ptr, @intCast(out.len), &test_scratch, test_scratch.len);
}

test "TCP_INFO by remote end equals TCP_INFO by descriptor, local end reported" {
    const lo = ts.v4(127, 0, 0, 1);
    const probe = try Probe.init(.v4, lo, .v4, lo);
    defer probe.deinit();
    const l, const cport, const fd = .{ probe.conn.listener, probe.conn.client_port, probe.fd };
    const by_fd, const n_fd = .{ probe.by_fd, probe.n_fd };
    const remote = addr20(.v4, lo, cport);
    var local = [_]u8{0} ** 20; // no hint
    var out: [512]u8 = undefined;
    try testing.expectEqual(n_fd, searchRemote(fd, &remote, 0, &local, &out));
    try expectSameInfo(by_fd[0..@intCast(n_fd)], out[0..@intCast(n_fd)]);
    try testing.expectEqualSlices(u8, &addr20(.v4, lo, l.port), &local);
    // With the right local port; with another one nothing matches.
    try testing.expectEqual(n_fd, searchRemote(fd, &remote, l.port, &local, &out));
    try testing.expectEqual(abi.errno(error.NOENT), searchRemote(fd, &remote, l.port +% 1, &local, &out));
    // The local end found is a hint for the next call: its exact lookup
    // alone finds the socket, ranked best; a wrong hint falls back to the dump.
    const la: inet.Addr = .{ .family = inet.AF_INET, .port = l.port, .bytes = lo };
    const ra: inet.Addr = .{ .family = inet.AF_INET, .port = cport, .bytes = lo };
    var hint: HintCtx = .{ .req = request(la, ra), .remote = ra, .local_port = 0 };
    try netlink.run(fd, &test_scratch, .single, &hint);
    try testing.expectEqual(Candidate.top, hint.found.rank);
    try testing.expectEqual(n_fd, searchRemote(fd, &remote, 0, &local, &out));
    try testing.expectEqualSlices(u8, &addr20(.v4, lo, l.port), &local);
    local = addr20(.v4, lo, l.port +% 1);
    try testing.expectEqual(n_fd, searchRemote(fd, &remote, 0, &local, &out));
    try testing.expectEqualSlices(u8, &addr20(.v4, lo, l.port), &local);
    local = addr20(.v6, ts.v6_loopback, l.port); // another family: ignored
    try testing.expectEqual(n_fd, searchRemote(fd, &remote, 0, &local, &out));
    try testing.expectEqualSlices(u8, &addr20(.v4, lo, l.port), &local);
    // The client's remote end is the listener: that finds the client socket.
    try testing.expectEqual(n_fd, searchRemote(fd, &addr20(.v4, lo, l.port), 0, &local, &out));
    try testing.expectEqualSlices(u8, &remote, &local);
    // Truncated to out_cap, full length returned; no socket; bad arguments.
    var small = [_]u8{0xaa} ** 16;
    try testing.expectEqual(n_fd, abi.rd_tcp_info_by_remote(fd, &remote, 0, &local, null, &small, 8, &test_scratch, test_scratch.len));
    try testing.expectEqual(@as(u8, 0xaa), small[8]);
    try testing.expectEqual(n_fd, abi.rd_tcp_info_by_remote(fd, &remote, 0, &local, null, null, 0, &test_scratch, test_scratch.len));
    try testing.expectEqual(abi.errno(error.NOENT), searchRemote(fd, &addr20(.v4, lo, 1), 0, &local, &out));
    try testing.expectEqual(abi.errno(error.NOENT), searchRemote(fd, &addr20(.v6, ts.v6_loopback, cport), 0, &local, &out));
    const bad = [_]u8{0} ** 20;
    try testing.expectEqual(abi.errno(error.INVAL), searchRemote(fd, &bad, 0, &local, &out));
    try testing.expectEqual(abi.errno(error.INVAL), searchRemote(fd, &remote, 65536, &local, &out));
    try testing.expectEqual(abi.errno(error.INVAL), abi.rd_tcp_info_by_remote(fd, &remote, 0, null, null, &out, out.len, &test_scratch, test_scratch.len));
    try testing.expectEqual(abi.errno(error.INVAL), abi.rd_tcp_info_by_remote(fd, &remote, 0, &local, null, &out, out.len, &test_scratch, 100));
}

test "by remote end: an accepted socket wins over one still queued" {
    const lo = ts.v4(127, 0, 0, 1);
    const a = try ts.tcpListen(.v4, lo, 0, 4, false);
    defer ts.close(a.fd);
    const b = try ts.tcpListen(.v4, lo, 0, 4, false);
    defer ts.close(b.fd);
    // Two clients on one local port: server-side, two sockets with the same remote end.
    const c1 = try ts.tcpConnectFrom(.v4, lo, a.port, 0);
    defer ts.close(c1);
    const cport = try ts.localPort(c1);
    const c2 = try ts.tcpConnectFrom(.v4, lo, b.port, cport);
    defer ts.close(c2);
    const acc = try ts.accept(a.fd); // b's connection stays in its accept queue (inode 0)
    defer ts.close(acc);

    const fd = try netlink.open();
    defer netlink.close(fd) catch {};
    const remote = addr20(.v4, lo, cport);
    var local = [_]u8{0} ** 20; // no hint
    var out: [512]u8 = undefined;
    try testing.expect(searchRemote(fd, &remote, 0, &local, &out) >= 104);
    try testing.expectEqualSlices(u8, &addr20(.v4, lo, a.port), &local);
    try testing.expect(searchRemote(fd, &remote, b.port, &local, &out) >= 104);
    try testing.expectEqualSlices(u8, &addr20(.v4, lo, b.port), &local);
    try testing.expectEqual(@as(u8, inet.TCP_ESTABLISHED), out[0]);
    // A hint at the queued socket is not taken as it is: the dump finds better.
    try testing.expect(searchRemote(fd, &remote, 0, &local, &out) >= 104);
    try testing.expectEqualSlices(u8, &addr20(.v4, lo, a.port), &local);
}

test "by remote end: IPv6, and IPv4 clients of a dual-stack listener" {
    const any6 = [_]u8{0} ** 16;
    const l = try ts.tcpListen(.v6, any6, 0, 4, false);
    defer ts.close(l.fd);
    const lo = ts.v4(127, 0, 0, 1);
    const c4 = try ts.tcpConnect(.v4, lo, l.port);
    defer ts.close(c4);
    const acc4 = try ts.accept(l.fd);
    defer ts.close(acc4);
    const c6 = try ts.tcpConnect(.v6, ts.v6_loopback, l.port);
    defer ts.close(c6);
    const acc6 = try ts.accept(l.fd);
    defer ts.close(acc6);

    const fd = try netlink.open();
    defer netlink.close(fd) catch {};
    var local = [_]u8{0} ** 20; // no hint
    var out: [512]u8 = undefined;
    var by_fd: [512]u8 = undefined;
    const n4 = abi.rd_tcp_info_fd(acc4, &by_fd, by_fd.len);
    // Asked as IPv4: found on the AF_INET6 socket, local end reported as IPv4.
    const r4 = addr20(.v4, lo, try ts.localPort(c4));
    try testing.expectEqual(n4, searchRemote(fd, &r4, l.port, &local, &out));
    try expectSameInfo(by_fd[0..@intCast(n4)], out[0..@intCast(n4)]);
    try testing.expectEqualSlices(u8, &addr20(.v4, lo, l.port), &local);
    // Again with that IPv4 local end as the hint (the kernel answers mapped).
    const la: inet.Addr = .{ .family = inet.AF_INET, .port = l.port, .bytes = lo };
    const ra: inet.Addr = .{ .family = inet.AF_INET, .port = try ts.localPort(c4), .bytes = lo };
    var hint: HintCtx = .{ .req = request(la, ra), .remote = ra, .local_port = l.port };
    try netlink.run(fd, &test_scratch, .single, &hint);
    try testing.expectEqual(Candidate.top, hint.found.rank);
    try testing.expectEqual(inet.AF_INET6, hint.found.local.family);
    try testing.expectEqual(n4, searchRemote(fd, &r4, l.port, &local, &out));
    try testing.expectEqualSlices(u8, &addr20(.v4, lo, l.port), &local);
    // Asked as IPv4-mapped IPv6: reported the same way.
    const m = mapAddr(.{ .family = inet.AF_INET, .port = 0, .bytes = lo });
    const r4m = addr20(.v6, m.bytes, try ts.localPort(c4));
    local = [_]u8{0} ** 20;
    try testing.expectEqual(n4, searchRemote(fd, &r4m, 0, &local, &out));
    try testing.expectEqualSlices(u8, &addr20(.v6, m.bytes, l.port), &local);
    // A true IPv6 client.
    const r6 = addr20(.v6, ts.v6_loopback, try ts.localPort(c6));
    local = [_]u8{0} ** 20;
    try testing.expect(searchRemote(fd, &r6, 0, &local, &out) >= 104);
    try testing.expectEqualSlices(u8, &addr20(.v6, ts.v6_loopback, l.port), &local);
}

test "by remote end: the inode leads to this process's descriptor, checked on every read" {
    const lo = ts.v4(127, 0, 0, 1);
    const conn = try ts.connection(.v4, lo, .v4, lo);
    defer conn.deinit();
    const fd = try netlink.open();
    defer netlink.close(fd) catch {};
    var local = [_]u8{0} ** 20;
    var inode_bytes: [4]u8 = undefined;
    var out: [512]u8 = undefined;
    const remote = addr20(.v4, lo, conn.client_port);
    try testing.expect(abi.rd_tcp_info_by_remote(fd, &remote, 0, &local, &inode_bytes, &out, out.len, &test_scratch, test_scratch.len) >= 104);
    const inode = std.mem.readInt(u32, &inode_bytes, native);
    try testing.expectEqual(@as(?u64, inode), socket_fds.socketInode(conn.server));
    var fds: [256]@import("records.zig").SocketFd = undefined;
    const n = try socket_fds.list(&fds);
    var listed: ?i32 = null;
    for (fds[0..@min(n, fds.len)]) |pair| {
        if (pair.inode == inode) listed = @intCast(pair.fd);
    }
    try testing.expectEqual(@as(?i32, conn.server), listed);
    try testing.expect(abi.rd_tcp_info_fd_checked(conn.server, inode, &out, out.len) >= 104);
    try testing.expectEqual(@as(u8, inet.TCP_ESTABLISHED), out[0]);
    // The client's socket is another inode: the check refuses it.
    try testing.expectEqual(abi.errno(error.STALE), abi.rd_tcp_info_fd_checked(conn.client, inode, &out, out.len));
    try testing.expectEqual(abi.errno(error.BADF), abi.rd_tcp_info_fd_checked(-1, inode, &out, out.len));
}
