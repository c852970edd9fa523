//! A FAKE OF THE KERNEL, for errors a real kernel cannot be made to
//! produce on demand (malformed, truncated, stale, interrupted or
//! contradictory sock_diag replies): random reply datagrams are queued on
//! one end of a unix socketpair (SOCK_SEQPACKET or SOCK_DGRAM, chosen per
//! case) and every sock_diag export is called with the other end as its
//! netlink socket, so its whole request and receive loop runs on them. A
//! call must return a count or a negative errno (never crash, hang or read
//! out of bounds; `zig build test` builds in Debug, where bounds are
//! checked). The seed changes per run and is printed; RAINDROPS_FUZZ_SEED
//! replays one. Test-only: nothing here is exported.
const std = @import("std");
const linux = std.os.linux;
const sys = @import("sys.zig");
const netlink = @import("netlink.zig");
const inet = @import("inet_diag.zig");
const abi = @import("abi.zig");
const unix_diag = @import("unix_diag.zig");

const testing = std.testing;

/// Cases per export per run.
const cases = 400;
/// Empty datagrams queued after the random ones: each ends one request's
/// receive loop (the most requests one export call makes is five: a
/// refused TCPDIAG_GETSOCK, then four per-family dumps).
const enders = 5;
/// Random datagrams per case; with the enders within the shortest
/// SOCK_DGRAM queue (net.unix.max_dgram_qlen, 10 by default).
const max_replies = 5;
const FakeKernel = netlink.FakeKernel;

/// A random reply datagram, the `nth` queued: zero to four messages of
/// mostly plausible types, flags and sequence numbers (mostly the one the
/// nth request will take, so whole dumps often come out right), payloads
/// shaped like inet_diag or unix_diag records or not at all, mostly ending
/// in NLMSG_DONE, and now and then a length that lies.
fn randomDatagram(rand: std.Random, buf: []u8, nth: u32) []u8 {
    const seq_base = netlink.seq_counter +% 1 +% nth;
    var at: usize = 0;
    const count = rand.uintAtMost(usize, 4);
    for (0..count) |i| {
        var payload: [400]u8 = undefined;
        const p = randomPayload(rand, &payload);
        const last_done = i + 1 == count and rand.uintLessThan(u8, 10) < 6;
        const msg_type: u16 = if (last_done) netlink.NLMSG_DONE else switch (rand.uintLessThan(u8, 20)) {
            0...10 => netlink.SOCK_DIAG_BY_FAMILY,
            11...13 => netlink.NLMSG_DONE,
            14...15 => netlink.NLMSG_ERROR,
            16 => netlink.NLMSG_NOOP,
            17 => netlink.NLMSG_OVERRUN,
            else => rand.int(u16),
        };
        var flags: u16 = if (rand.boolean()) netlink.F_MULTI else 0;
        if (rand.uintLessThan(u8, 10) == 0) flags |= netlink.F_DUMP_INTR;
        const seq = switch (rand.uintLessThan(u8, 10)) {
            0 => rand.int(u32),
            1...2 => seq_base +% rand.uintAtMost(u32, 3) -% 1,
            else => seq_base,
        };
        var len: u32 = @intCast(@sizeOf(netlink.Header) + p.len);
        if (rand.uintLessThan(u8, 20) == 0) len = rand.uintAtMost(u32, len + 64);
        if (buf.len - at < @sizeOf(netlink.Header) + p.len + 4) break;
        const h: netlink.Header = .{ .len = len, .type = msg_type, .flags = flags, .seq = seq, .pid = 0 };
        @memcpy(buf[at..][0..@sizeOf(netlink.Header)], std.mem.asBytes(&h));
        @memcpy(buf[at + @sizeOf(netlink.Header) ..][0..p.len], p);
        at = netlink.alignTo4(at + @sizeOf(netlink.Header) + p.len);
    }
    // Now and then cut the datagram anywhere.
    if (at > 0 and rand.uintLessThan(u8, 10) == 0) at = rand.uintLessThan(usize, at);
    return buf[0..at];
}

fn randomPayload(rand: std.Random, buf: []u8) []u8 {
    switch (rand.uintLessThan(u8, 4)) {
        // An errno or a DONE status.
        0 => {
            const e: i32 = switch (rand.uintLessThan(u8, 4)) {
                0 => 0,
                1 => -@as(i32, rand.uintAtMost(u8, 130)),
                2 => rand.int(i32),
                else => -4096,
            };
            std.mem.writeInt(i32, buf[0..4], e, .little);
            return buf[0 .. 4 * rand.uintAtMost(usize, 5)];
        },
        // An inet_diag_msg with attributes (INET_DIAG_INFO, others, bad lengths).
        1 => {
            var m = std.mem.zeroes(inet.Msg);
            m.family = ([_]u8{ inet.AF_INET, inet.AF_INET6, unix_diag.AF_UNIX, rand.int(u8) })[rand.uintLessThan(usize, 4)];
            m.state = ([_]u8{ inet.TCP_ESTABLISHED, inet.TCP_LISTEN, 6, rand.int(u8) })[rand.uintLessThan(usize, 4)];
            m.id.sport = .{ 0, rand.uintAtMost(u8, 3) };
            m.id.dport = .{ 0, rand.uintAtMost(u8, 3) };
            m.id.src[0] = rand.uintAtMost(u8, 1);
            m.id.dst[0] = rand.uintAtMost(u8, 1);
            m.rqueue = rand.int(u32);
            m.wqueue = rand.int(u32);
            m.inode = rand.uintAtMost(u32, 2);
            @memcpy(buf[0..@sizeOf(inet.Msg)], std.mem.asBytes(&m));
            return buf[0 .. @sizeOf(inet.Msg) + randomAttrs(rand, buf[@sizeOf(inet.Msg)..])];
        },
        // A unix_diag_msg-sized head with attributes (names, queue lengths).
        2 => {
            rand.bytes(buf[0..16]);
            buf[0] = unix_diag.AF_UNIX;
            buf[1] = ([_]u8{ unix_diag.SOCK_STREAM, unix_diag.SOCK_SEQPACKET, rand.int(u8) })[rand.uintLessThan(usize, 3)];
            buf[2] = ([_]u8{ unix_diag.STATE_LISTEN, unix_diag.STATE_ESTABLISHED, rand.int(u8) })[rand.uintLessThan(usize, 3)];
            return buf[0 .. 16 + randomAttrs(rand, buf[16..])];
        },
        // Noise.
        else => {
            const n = rand.uintAtMost(usize, buf.len);
            rand.bytes(buf[0..n]);
            return buf[0..n];
        },
    }
}

/// Writes up to three attributes into `buf`; returns the bytes used.
fn randomAttrs(rand: std.Random, buf: []u8) usize {
    var at: usize = 0;
    for (0..rand.uintAtMost(usize, 3)) |_| {
        const body = rand.uintAtMost(usize, 300);
        if (buf.len - at < 4 + body + 4) break;
        const attr_type: u16 = ([_]u16{ inet.INET_DIAG_INFO, unix_diag.UNIX_DIAG_NAME, unix_diag.UNIX_DIAG_RQLEN, rand.int(u16) })[rand.uintLessThan(usize, 4)];
        var len: u16 = @intCast(4 + body);
        if (rand.uintLessThan(u8, 10) == 0) len = rand.int(u16);
        std.mem.writeInt(u16, buf[at..][0..2], len, .little);
        std.mem.writeInt(u16, buf[at + 2 ..][0..2], attr_type, .little);
        rand.bytes(buf[at + 4 ..][0..body]);
        at = netlink.alignTo4(at + 4 + body);
    }
    return @min(at, buf.len);
}

/// The export calls under test, each on the fake's socket.
const Export = enum { tcp_query, tcp_all, unix_query, unix_all, info_by_addr, info_by_remote };

var scratch: [netlink.min_scratch]u8 = undefined;
var out: [64 * 1024]u8 align(8) = undefined;

/// Calls one export on `fd` and checks its result is a count in range or a
/// -errno; returns whether it was a count.
fn call(which: Export, fd: i32, rand: std.Random) !bool {
    var q: [40]u8 = undefined;
    (inet.Addr{ .family = inet.AF_INET, .port = 1, .bytes = [_]u8{0} ** 16 }).encode(q[0..20]);
    (inet.Addr{ .family = inet.AF_INET6, .port = 2, .bytes = [_]u8{0} ** 16 }).encode(q[20..40]);
    const cap: u32 = if (rand.boolean()) out.len else rand.uintAtMost(u32, 64);
    const rc: i32 = switch (which) {
        .tcp_query => abi.rd_tcp_listener_stats(fd, &q, q.len, &out, cap, &scratch, scratch.len),
        .tcp_all => abi.rd_tcp_listener_stats(fd, null, 0, &out, cap, &scratch, scratch.len),
        .unix_query => abi.rd_unix_listener_stats(fd, "/a\x00@b", 5, &out, cap, &scratch, scratch.len),
        .unix_all => abi.rd_unix_listener_stats(fd, null, 0, &out, cap, &scratch, scratch.len),
        .info_by_addr => abi.rd_tcp_info_by_addr(fd, q[0..20], q[0..20], &out, cap, &scratch, scratch.len),
        .info_by_remote => blk: {
            var local: [20]u8 = if (rand.boolean()) q[0..20].* else [_]u8{0} ** 20;
            var inode: [4]u8 = undefined;
            break :blk abi.rd_tcp_info_by_remote(fd, q[0..20], rand.uintAtMost(u32, 3), &local, &inode, &out, cap, &scratch, scratch.len);
        },
    };
    if (rc < 0) {
        try testing.expect(rc > -4096);
        return false;
    }
    const n: usize = @intCast(rc);
    switch (which) {
        .tcp_query, .unix_query => try testing.expectEqual(@as(usize, 2), n),
        .tcp_all => try testing.expect(n * 32 <= cap),
        .unix_all => try testing.expect(n * 16 <= cap),
        // The kernel's tcp_info length, which an attribute bounds.
        .info_by_addr, .info_by_remote => try testing.expect(n <= std.math.maxInt(u16)),
    }
    return true;
}

fn seed() u64 {
    if (std.posix.getenv("RAINDROPS_FUZZ_SEED")) |s| return std.fmt.parseInt(u64, s, 10) catch 0;
    var s: u64 = undefined;
    std.crypto.random.bytes(std.mem.asBytes(&s));
    return s;
}

test "fake kernel: random replies to every sock_diag export end in a count or an errno" {
    const s = seed();
    std.debug.print("\nfake-kernel fuzz seed {d} (RAINDROPS_FUZZ_SEED={d} replays it)\n", .{ s, s });
    var prng = std.Random.DefaultPrng.init(s);
    const rand = prng.random();
    var buf: [2048]u8 align(4) = undefined;
    for (std.enums.values(Export)) |which| {
        var counts: usize = 0;
        for (0..cases) |_| {
            const k = try FakeKernel.init(if (rand.boolean()) linux.SOCK.SEQPACKET else linux.SOCK.DGRAM);
            defer k.deinit();
            for (0..rand.uintAtMost(u32, max_replies)) |nth| try k.reply(randomDatagram(rand, &buf, @intCast(nth)));
            for (0..enders) |_| try k.reply(buf[0..0]); // a real address: `&.{}` may hold none
            if (try call(which, k.pair[0], rand)) counts += 1;
        }
        std.debug.print("  {s}: {d} of {d} cases answered a count\n", .{ @tagName(which), counts, cases });
    }
}
