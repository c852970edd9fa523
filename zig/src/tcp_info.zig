//! struct tcp_info (tcp(7)) for one TCP connection: by descriptor with
//! getsockopt(TCP_INFO), or by its address pair through a single sock_diag
//! lookup with the INET_DIAG_INFO extension, for runtimes that hide socket
//! descriptors. Either way the kernel decides the length (280 bytes on 6.x,
//! fewer on old kernels) and callers expose only fields inside it.
const std = @import("std");
const linux = std.os.linux;
const sys = @import("sys.zig");
const netlink = @import("netlink.zig");
const inet = @import("inet_diag.zig");

const TCP_INFO: u32 = 11;

/// getsockopt(SOL_TCP, TCP_INFO) on `sockfd` into `out` (out_cap bytes at
/// most). Returns the length the kernel wrote or -errno (EBADF, ENOTSOCK,
/// EOPNOTSUPP for a socket that is not TCP).
export fn rd_tcp_info_fd(sockfd: i32, out: ?[*]u8, out_cap: u32) i32 {
    var dummy: [1]u8 = undefined;
    const p: [*]u8 = if (out_cap == 0) &dummy else out orelse return sys.neg(.INVAL);
    var len: linux.socklen_t = out_cap;
    if (sys.failure(linux.getsockopt(sockfd, inet.IPPROTO_TCP, TCP_INFO, p, &len))) |e| return e;
    return @intCast(@min(len, out_cap));
}

/// Finds the TCP socket whose local end is `local` and remote end `remote`
/// (addr20 records of one family, else -EINVAL) with one non-dump
/// SOCK_DIAG_BY_FAMILY request and copies its struct tcp_info into `out`,
/// truncated to out_cap. Returns the length the kernel returned (which may
/// exceed out_cap), -ENOENT when no socket has that address pair (the
/// kernel would answer with a listener on `local`: that is ignored), -ENODATA
/// when the socket has no tcp_info (a TIME_WAIT socket). `scratch` (at least
/// 32 KiB) holds the request and the reply.
export fn rd_tcp_info_by_addr(fd: i32, local: ?[*]const u8, remote: ?[*]const u8, out: ?[*]u8, out_cap: u32, scratch: ?[*]u8, scratch_len: u32) i32 {
    const l = inet.Addr.decode((local orelse return sys.neg(.INVAL))[0..inet.addr_size]) orelse return sys.neg(.INVAL);
    const r = inet.Addr.decode((remote orelse return sys.neg(.INVAL))[0..inet.addr_size]) orelse return sys.neg(.INVAL);
    if (l.family != r.family) return sys.neg(.INVAL);
    if (out_cap > 0 and out == null) return sys.neg(.INVAL);
    const s = (scratch orelse return sys.neg(.INVAL))[0..scratch_len];
    if (s.len < netlink.min_scratch) return sys.neg(.INVAL);
    var ctx: ByAddrCtx = .{ .req = request(l, r), .out = if (out) |p| p[0..out_cap] else &.{} };
    const rc = netlink.run(fd, s, .single, &ctx);
    if (rc < 0) return rc;
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
    result: i32 = 0,

    pub fn build(self: *ByAddrCtx, w: *netlink.Writer) netlink.Writer.Error!void {
        try w.value(self.req);
    }

    pub fn reset(self: *ByAddrCtx) void {
        self.result = 0;
    }

    pub fn accept(self: *ByAddrCtx, payload: []const u8) i32 {
        const m = inet.parseMsg(payload) orelse return sys.neg(.PROTO);
        // The kernel's lookup falls back to a listener on the local address
        // when no connection matches: only the asked four-tuple counts.
        if (!samePair(&m.id, &self.req.id, m.family, self.req.family)) return sys.neg(.NOENT);
        self.result = copyInfo(payload, self.out);
        return self.result;
    }
};

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
    const prefix = [_]u8{0} ** 10 ++ [_]u8{ 0xff, 0xff };
    if (std.mem.eql(u8, a[0..12], &prefix)) return a[12..16];
    return a[0..16];
}

fn sameAddr(a: *const [16]u8, af: u8, b: *const [16]u8, bf: u8) bool {
    return std.mem.eql(u8, unmapped(a, af), unmapped(b, bf));
}

/// Copies the tcp_info of one reply record into `out`; its full length,
/// -ENODATA without one, -EPROTO for a malformed record.
pub fn copyInfo(payload: []const u8, out: []u8) i32 {
    const info = (inet.findInfo(payload) catch return sys.neg(.PROTO)) orelse return sys.neg(.NODATA);
    const n = @min(info.len, out.len);
    @memcpy(out[0..n], info[0..n]);
    return @intCast(info.len);
}

const testing = std.testing;
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
    try testing.expectEqual(@as(i32, 104), copyInfo(&rec, &out));
    try testing.expectEqual(@as(u8, 1), out[0]);
    try testing.expectEqual(@as(u8, 0xaa), out[104]);
    @memset(&out, 0xaa);
    try testing.expectEqual(@as(i32, 104), copyInfo(&rec, out[0..10]));
    try testing.expectEqual(@as(u8, 0xaa), out[10]);
    try testing.expectEqual(sys.neg(.NODATA), copyInfo(rec[0..72], &out));
    try testing.expectEqual(sys.neg(.PROTO), copyInfo(rec[0..100], &out));
    try testing.expectEqual(sys.neg(.PROTO), copyInfo(rec[0..50], &out));
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

test "TCP_INFO by descriptor equals TCP_INFO by address pair" {
    const lo = ts.v4(127, 0, 0, 1);
    const l = try ts.tcpListen(.v4, lo, 0, 4, false);
    defer ts.close(l.fd);
    const c = try ts.tcpConnect(.v4, lo, l.port);
    defer ts.close(c);
    const acc = try ts.accept(l.fd);
    defer ts.close(acc);
    const cport = try ts.localPort(c);

    var by_fd: [512]u8 = undefined;
    const n_fd = rd_tcp_info_fd(acc, &by_fd, by_fd.len);
    try testing.expect(n_fd >= 104);
    try testing.expectEqual(@as(u8, 1), by_fd[0]); // TCP_ESTABLISHED

    const fd = netlink.rd_diag_open();
    defer _ = netlink.rd_diag_close(fd);
    const local = addr20(.v4, lo, l.port);
    const remote = addr20(.v4, lo, cport);
    var by_addr: [512]u8 = undefined;
    const n_addr = rd_tcp_info_by_addr(fd, &local, &remote, &by_addr, by_addr.len, &test_scratch, test_scratch.len);
    try testing.expectEqual(n_fd, n_addr);
    try expectSameInfo(by_fd[0..@intCast(n_fd)], by_addr[0..@intCast(n_addr)]);

    // Truncated to out_cap, full length returned.
    var small = [_]u8{0xaa} ** 16;
    try testing.expectEqual(n_addr, rd_tcp_info_by_addr(fd, &local, &remote, &small, 8, &test_scratch, test_scratch.len));
    try testing.expectEqual(@as(u8, 0xaa), small[8]);
    // The client end is found by swapping the pair.
    try testing.expectEqual(n_addr, rd_tcp_info_by_addr(fd, &remote, &local, &by_addr, by_addr.len, &test_scratch, test_scratch.len));
    // No such connection; families differ; bad record.
    const nowhere = addr20(.v4, lo, 1);
    try testing.expectEqual(sys.neg(.NOENT), rd_tcp_info_by_addr(fd, &local, &nowhere, &by_addr, by_addr.len, &test_scratch, test_scratch.len));
    const v6 = addr20(.v6, ts.v6_loopback, cport);
    try testing.expectEqual(sys.neg(.INVAL), rd_tcp_info_by_addr(fd, &local, &v6, &by_addr, by_addr.len, &test_scratch, test_scratch.len));
    const bad = [_]u8{0} ** 20;
    try testing.expectEqual(sys.neg(.INVAL), rd_tcp_info_by_addr(fd, &bad, &remote, &by_addr, by_addr.len, &test_scratch, test_scratch.len));
    try testing.expectEqual(sys.neg(.INVAL), rd_tcp_info_by_addr(fd, &local, &remote, &by_addr, by_addr.len, &test_scratch, 100));
}

test "TCP_INFO of an IPv4 client on a dual-stack IPv6 listener" {
    const any6 = [_]u8{0} ** 16;
    const l = try ts.tcpListen(.v6, any6, 0, 4, false);
    defer ts.close(l.fd);
    const lo = ts.v4(127, 0, 0, 1);
    const c = try ts.tcpConnect(.v4, lo, l.port);
    defer ts.close(c);
    const acc = try ts.accept(l.fd);
    defer ts.close(acc);
    const cport = try ts.localPort(c);
    var by_fd: [512]u8 = undefined;
    const n_fd = rd_tcp_info_fd(acc, &by_fd, by_fd.len);

    const fd = netlink.rd_diag_open();
    defer _ = netlink.rd_diag_close(fd);
    var out: [512]u8 = undefined;
    // As IPv4-mapped IPv6 addresses (what a dual-stack server reports)...
    var mapped = [_]u8{0} ** 16;
    mapped[10] = 0xff;
    mapped[11] = 0xff;
    mapped[12..16].* = .{ 127, 0, 0, 1 };
    const l6 = addr20(.v6, mapped, l.port);
    const r6 = addr20(.v6, mapped, cport);
    try testing.expectEqual(n_fd, rd_tcp_info_by_addr(fd, &l6, &r6, &out, out.len, &test_scratch, test_scratch.len));
    try expectSameInfo(by_fd[0..@intCast(n_fd)], out[0..@intCast(n_fd)]);
    // ...and as plain IPv4 addresses: the kernel's lookup finds it either way.
    const l4 = addr20(.v4, lo, l.port);
    const r4 = addr20(.v4, lo, cport);
    try testing.expectEqual(n_fd, rd_tcp_info_by_addr(fd, &l4, &r4, &out, out.len, &test_scratch, test_scratch.len));
}

test "TCP_INFO by descriptor: errors" {
    var out: [280]u8 = undefined;
    try testing.expectEqual(sys.neg(.BADF), rd_tcp_info_fd(-1, &out, out.len));
    const devnull: i32 = @intCast(linux.open("/dev/null", .{ .ACCMODE = .RDONLY, .CLOEXEC = true }, 0));
    defer ts.close(devnull);
    try testing.expectEqual(sys.neg(.NOTSOCK), rd_tcp_info_fd(devnull, &out, out.len));
    var pair: [2]i32 = undefined;
    try testing.expectEqual(@as(usize, 0), linux.socketpair(linux.AF.UNIX, linux.SOCK.STREAM, 0, &pair));
    defer for (pair) |p| ts.close(p);
    try testing.expectEqual(sys.neg(.OPNOTSUPP), rd_tcp_info_fd(pair[0], &out, out.len));
    try testing.expectEqual(sys.neg(.INVAL), rd_tcp_info_fd(pair[0], null, 8));
}
