//! Netlink framing for sock_diag (netlink(7), sock_diag(7)): pure parsing of
//! reply datagrams into messages and attributes, and one request/reply loop
//! over raw syscalls. The parser never trusts nlmsg_len or rta_len: every
//! length is checked against the bytes actually received, so any input is
//! either parsed or rejected as malformed, never read out of bounds.
const std = @import("std");
const linux = std.os.linux;
const sys = @import("sys.zig");

/// struct nlmsghdr (16 bytes). Read from replies with `std.mem.bytesToValue`
/// because the receive buffer belongs to the caller and may be unaligned.
pub const Header = extern struct {
    len: u32,
    type: u16,
    flags: u16,
    seq: u32,
    pid: u32,
};

comptime {
    std.debug.assert(@sizeOf(Header) == 16);
}

pub const NLMSG_NOOP: u16 = @intFromEnum(linux.NetlinkMessageType.NOOP);
pub const NLMSG_ERROR: u16 = @intFromEnum(linux.NetlinkMessageType.ERROR);
pub const NLMSG_DONE: u16 = @intFromEnum(linux.NetlinkMessageType.DONE);
pub const NLMSG_OVERRUN: u16 = @intFromEnum(linux.NetlinkMessageType.OVERRUN);
/// Types below this value are netlink control messages.
pub const NLMSG_MIN_TYPE: u16 = linux.NetlinkMessageType.MIN_TYPE;

pub const F_REQUEST: u16 = linux.NLM_F_REQUEST;
pub const F_MULTI: u16 = linux.NLM_F_MULTI;
pub const F_DUMP_INTR: u16 = linux.NLM_F_DUMP_INTR;
pub const F_DUMP: u16 = linux.NLM_F_DUMP;

/// NETLINK_SOCK_DIAG protocol number and its request types (which
/// std.os.linux does not name): SOCK_DIAG_BY_FAMILY asks one address family;
/// TCPDIAG_GETSOCK, the older inet_diag request the kernel still serves,
/// asks IPv4 and IPv6 TCP sockets at once (AF_UNSPEC), so each table is
/// walked once for both.
pub const NETLINK_SOCK_DIAG: u32 = linux.NETLINK.SOCK_DIAG;
pub const SOCK_DIAG_BY_FAMILY: u16 = 20;
pub const TCPDIAG_GETSOCK: u16 = 18;

/// Smallest scratch buffer the exports accept. The kernel sizes each dump
/// datagram at no more than 32 KiB, so a buffer this large never truncates.
pub const min_scratch: usize = 32 * 1024;

/// Dump attempts before giving up with error.INTR when the kernel keeps flagging
/// NLM_F_DUMP_INTR (the dumped table changed while it was being walked).
pub const max_attempts = 4;

pub const ParseError = error{Malformed};

/// The bit of a socket state (TCP_LISTEN, ...) in a dump request's states.
pub fn stateBit(state: u8) u32 {
    return @as(u32, 1) << @intCast(state);
}

pub fn alignTo4(n: usize) usize {
    return (n + 3) & ~@as(usize, 3);
}

/// One netlink message: its header and the payload that follows it.
pub const Message = struct {
    header: Header,
    payload: []const u8,
};

/// Iterates the messages of one received datagram.
pub const Messages = struct {
    rest: []const u8,

    pub fn init(datagram: []const u8) Messages {
        return .{ .rest = datagram };
    }

    /// The next message, null at the end of the datagram, or error.Malformed
    /// when a header is cut short or nlmsg_len is smaller than the header or
    /// larger than the bytes left.
    pub fn next(self: *Messages) ParseError!?Message {
        if (self.rest.len == 0) return null;
        if (self.rest.len < @sizeOf(Header)) return error.Malformed;
        const h = std.mem.bytesToValue(Header, self.rest[0..@sizeOf(Header)]);
        if (h.len < @sizeOf(Header) or h.len > self.rest.len) return error.Malformed;
        const msg: Message = .{ .header = h, .payload = self.rest[@sizeOf(Header)..h.len] };
        self.rest = self.rest[@min(alignTo4(h.len), self.rest.len)..];
        return msg;
    }
};

/// What a reply message means for the request with sequence number `seq`.
pub const Step = union(enum) {
    /// A message for an earlier request (left over after an aborted dump) or
    /// a NOOP: skip it.
    stale,
    /// A sock_diag record.
    data: []const u8,
    /// End of the reply (NLMSG_DONE, or an NLMSG_ERROR acknowledgement).
    done,
    /// The request failed with this error (NLMSG_ERROR, or an NLMSG_DONE
    /// carrying an error).
    failed: sys.Error,
};

/// Classifies one message. Pure: the caller handles NLM_F_DUMP_INTR, which
/// may be set on any message of a dump, through `interrupted`.
pub fn classify(msg: Message, seq: u32) ParseError!Step {
    if (msg.header.seq != seq) return .stale;
    switch (msg.header.type) {
        NLMSG_ERROR => {
            const e = try leadingInt(msg.payload);
            if (e == 0) return .done;
            if (e < 0 and e > -4096) return .{ .failed = sys.fromErrno(@intCast(-e)) };
            return error.Malformed;
        },
        NLMSG_DONE => {
            // The dump's status; older kernels may send an empty payload.
            if (msg.payload.len < 4) return .done;
            const e = try leadingInt(msg.payload);
            if (e < 0 and e > -4096) return .{ .failed = sys.fromErrno(@intCast(-e)) };
            return .done;
        },
        NLMSG_OVERRUN => return .{ .failed = error.NOBUFS },
        else => |t| {
            if (t < NLMSG_MIN_TYPE) return .stale;
            return .{ .data = msg.payload };
        },
    }
}

/// True when the kernel flagged this message as part of an inconsistent dump.
pub fn interrupted(msg: Message) bool {
    return msg.header.flags & F_DUMP_INTR != 0;
}

fn leadingInt(payload: []const u8) ParseError!i32 {
    if (payload.len < 4) return error.Malformed;
    return std.mem.readInt(i32, payload[0..4], .little);
}

/// struct nlattr / rtattr header.
pub const AttrHeader = extern struct {
    len: u16,
    type: u16,
};

comptime {
    std.debug.assert(@sizeOf(AttrHeader) == 4);
}

pub const Attr = struct {
    /// Attribute type without the NLA_F_NESTED and NLA_F_NET_BYTEORDER bits.
    type: u16,
    payload: []const u8,
};

/// Iterates the attributes that follow a fixed-size record in a payload.
pub const Attrs = struct {
    rest: []const u8,

    /// Attributes start at the 4-byte aligned offset after `fixed` bytes.
    pub fn init(payload: []const u8, fixed: usize) Attrs {
        const start = @min(alignTo4(fixed), payload.len);
        return .{ .rest = payload[start..] };
    }

    /// The next attribute, null at the end, or error.Malformed when rta_len
    /// is smaller than its header or larger than the bytes left.
    pub fn next(self: *Attrs) ParseError!?Attr {
        if (self.rest.len == 0) return null;
        if (self.rest.len < @sizeOf(AttrHeader)) return error.Malformed;
        const h = std.mem.bytesToValue(AttrHeader, self.rest[0..@sizeOf(AttrHeader)]);
        if (h.len < @sizeOf(AttrHeader) or h.len > self.rest.len) return error.Malformed;
        const attr: Attr = .{ .type = h.type & 0x3fff, .payload = self.rest[@sizeOf(AttrHeader)..h.len] };
        self.rest = self.rest[@min(alignTo4(h.len), self.rest.len)..];
        return attr;
    }
};

/// Appends bytes to a fixed buffer, failing with error.NoSpace instead of
/// writing past its end. Requests are built in the caller's scratch buffer.
pub const Writer = struct {
    buf: []u8,
    len: usize = 0,

    pub const Error = error{NoSpace};

    pub fn bytes(self: *Writer, data: []const u8) Error!void {
        if (data.len > self.buf.len - self.len) return error.NoSpace;
        @memcpy(self.buf[self.len..][0..data.len], data);
        self.len += data.len;
    }

    pub fn value(self: *Writer, v: anytype) Error!void {
        try self.bytes(std.mem.asBytes(&v));
    }

    /// Starts an attribute; finish it with `endAttr` on the returned offset.
    pub fn beginAttr(self: *Writer, attr_type: u16) Error!usize {
        const at = self.len;
        try self.value(AttrHeader{ .len = 0, .type = attr_type });
        return at;
    }

    /// Sets the attribute's length; error.NoSpace beyond what u16 can hold.
    pub fn endAttr(self: *Writer, at: usize) Error!void {
        const n = self.len - at;
        if (n > std.math.maxInt(u16)) return error.NoSpace;
        std.mem.writeInt(u16, self.buf[at..][0..2], @intCast(n), .little);
        while (self.len % 4 != 0) try self.bytes(&.{0});
    }
};

/// Writes the nlmsghdr in front of a request of type `msg_type` whose
/// payload is already in `buf[16..len]`.
pub fn frame(buf: []u8, len: usize, msg_type: u16, flags: u16, seq: u32) void {
    const h: Header = .{
        .len = @intCast(len),
        .type = msg_type,
        .flags = F_REQUEST | flags,
        .seq = seq,
        .pid = 0,
    };
    @memcpy(buf[0..@sizeOf(Header)], std.mem.asBytes(&h));
}

pub var seq_counter: u32 = 0;

fn nextSeq() u32 {
    return @atomicRmw(u32, &seq_counter, .Add, 1, .monotonic) +% 1;
}

/// Opens a NETLINK_SOCK_DIAG socket with a 1 MiB receive buffer (a smaller
/// buffer is not an error). Returns the descriptor.
pub fn open() sys.Error!i32 {
    const fd: i32 = @intCast(try sys.check(linux.socket(linux.AF.NETLINK, linux.SOCK.RAW | linux.SOCK.CLOEXEC, NETLINK_SOCK_DIAG)));
    const size: u32 = 1 << 20;
    _ = linux.setsockopt(fd, linux.SOL.SOCKET, linux.SO.RCVBUF, std.mem.asBytes(&size), @sizeOf(u32));
    return fd;
}

const shared_receive_timeout_s = 5;

/// The process's shared sock_diag socket, -1 until first asked for.
var shared_fd = std.atomic.Value(i32).init(-1);
var shared_open_lock: std.Thread.Mutex = .{};
/// Held for each request and reply on the shared socket: the threads of a
/// process (Workers) take turns, so no reply reaches the wrong thread.
var shared_use_lock: std.Thread.Mutex = .{};

/// One sock_diag socket for the whole process, opened on first call and
/// kept open for the process's life: queries that bring no socket of their
/// own use it, so threads that end (Workers) leave nothing open behind.
/// Requests on it are serialised by `run`. `close` refuses it
/// (error.BUSY).
pub fn shared() sys.Error!i32 {
    const fd = shared_fd.load(.acquire);
    if (fd >= 0) return fd;
    shared_open_lock.lock();
    defer shared_open_lock.unlock();
    if (shared_fd.load(.acquire) >= 0) return shared_fd.load(.acquire);
    const opened = try open();
    // Threads wait their turn for this socket: a reply that never came
    // must not stall them all for good, so a receive gives up (-EAGAIN)
    // after this long; a late reply is then skipped as stale.
    const tv: linux.timeval = .{ .sec = shared_receive_timeout_s, .usec = 0 };
    _ = linux.setsockopt(opened, linux.SOL.SOCKET, linux.SO.RCVTIMEO, std.mem.asBytes(&tv), @sizeOf(linux.timeval));
    shared_fd.store(opened, .release);
    return opened;
}

/// Closes a descriptor from `open` (error.BUSY for the shared socket).
pub fn close(fd: i32) sys.Error!void {
    if (fd < 0) return error.BADF;
    if (fd == shared_fd.load(.acquire)) return error.BUSY;
    _ = try sys.check(linux.close(fd));
}

pub const Mode = enum { dump, single };

/// Sends one sock_diag request and feeds each reply record to `ctx`, using
/// `scratch` first to build the request and then to receive. `ctx` provides
///   build(*Ctx, *Writer) Writer.Error!void  - the request after the header,
///   reset(*Ctx) void                        - forget a partial answer,
///   accept(*Ctx, []const u8) sys.Error!void - one record; an error stops,
/// and may provide
///   messageType(*const Ctx) u16             - the request type (else
///                                             SOCK_DIAG_BY_FAMILY).
/// A dump the kernel flags with NLM_F_DUMP_INTR is read to its end and then
/// asked again, at most `max_attempts` times, then error.INTR. After an
/// early stop the rest of the dump is drained so the socket stays reusable
/// (the kernel refuses a new dump with EBUSY while one is unread). Errors:
/// the kernel's, E2BIG when the request does not fit, PROTO for a malformed
/// reply, MSGSIZE for a truncated datagram.
pub fn run(fd: i32, scratch: []u8, mode: Mode, ctx: anytype) sys.Error!void {
    const is_shared = fd >= 0 and fd == shared_fd.load(.acquire);
    if (is_shared) shared_use_lock.lock();
    defer if (is_shared) shared_use_lock.unlock();
    var attempt: usize = 0;
    while (attempt < max_attempts) : (attempt += 1) {
        ctx.reset();
        const seq = nextSeq();
        var w: Writer = .{ .buf = scratch };
        w.bytes(&[_]u8{0} ** @sizeOf(Header)) catch return error.@"2BIG";
        ctx.build(&w) catch return error.@"2BIG";
        frame(scratch, w.len, messageType(ctx), if (mode == .dump) F_DUMP else 0, seq);
        try send(fd, scratch[0..w.len]);

        switch (receive(fd, scratch, mode, seq, ctx)) {
            .ok => return,
            .failed => |e| return e,
            .interrupted => continue,
        }
    }
    return error.INTR;
}

fn messageType(ctx: anytype) u16 {
    const Ctx = @typeInfo(@TypeOf(ctx)).pointer.child;
    return if (@hasDecl(Ctx, "messageType")) ctx.messageType() else SOCK_DIAG_BY_FAMILY;
}

const Outcome = union(enum) { ok, failed: sys.Error, interrupted };

fn receive(fd: i32, scratch: []u8, mode: Mode, seq: u32, ctx: anytype) Outcome {
    var intr = false;
    // The first error met; the rest of the reply is then drained.
    var stop: ?sys.Error = null;
    while (true) {
        const n = recv(fd, scratch, stop != null) catch |e| {
            // Draining ends when nothing more is queued.
            return .{ .failed = stop orelse e };
        };
        // The kernel never sends an empty datagram; zero bytes is the end of
        // a stream (a socketpair standing in for the kernel), never a reply.
        if (n == 0) return .{ .failed = stop orelse error.PROTO };
        if (n > scratch.len) {
            if (stop == null) stop = error.MSGSIZE;
            continue;
        }
        var it = Messages.init(scratch[0..n]);
        while (true) {
            const msg = (it.next() catch {
                if (stop == null) stop = error.PROTO;
                break;
            }) orelse break;
            const step = classify(msg, seq) catch {
                if (stop == null) stop = error.PROTO;
                continue;
            };
            switch (step) {
                .stale => continue,
                .failed => |e| return .{ .failed = stop orelse e },
                .done => {
                    if (stop) |e| return .{ .failed = e };
                    if (intr or interrupted(msg)) return .interrupted;
                    return .ok;
                },
                .data => |payload| {
                    if (interrupted(msg)) intr = true;
                    if (stop != null or intr) continue;
                    ctx.accept(payload) catch |e| {
                        if (mode == .single) return .{ .failed = e };
                        stop = e;
                        continue;
                    };
                    if (mode == .single) return .ok;
                },
            }
        }
    }
}

/// Sends without an address: an unconnected netlink socket sends to port 0,
/// the kernel (and tests can stand in for the kernel with a socketpair).
fn send(fd: i32, req: []const u8) sys.Error!void {
    while (true) {
        _ = sys.check(linux.sendto(fd, req.ptr, req.len, 0, null, 0)) catch |e| {
            if (e == error.INTR) continue;
            return e;
        };
        return;
    }
}

/// One datagram into `buf`: its full length (larger than buf.len when the
/// kernel truncated it).
fn recv(fd: i32, buf: []u8, nonblock: bool) sys.Error!usize {
    const flags: u32 = linux.MSG.TRUNC | @as(u32, if (nonblock) linux.MSG.DONTWAIT else 0);
    while (true) {
        return sys.check(linux.recvfrom(fd, buf.ptr, buf.len, flags, null, null)) catch |e| {
            if (e == error.INTR) continue;
            return e;
        };
    }
}

const testing = std.testing;

/// Builds a datagram of messages for tests: each message is type, flags,
/// seq and payload; lengths are filled in and aligned like the kernel does.
pub fn testFrame(buf: []u8, msgs: []const struct { type: u16, flags: u16 = 0, seq: u32, payload: []const u8 }) []u8 {
    var at: usize = 0;
    for (msgs) |m| {
        const h: Header = .{ .len = @intCast(@sizeOf(Header) + m.payload.len), .type = m.type, .flags = m.flags, .seq = m.seq, .pid = 0 };
        @memcpy(buf[at..][0..16], std.mem.asBytes(&h));
        @memcpy(buf[at + 16 ..][0..m.payload.len], m.payload);
        at = alignTo4(at + 16 + m.payload.len);
    }
    return buf[0..at];
}

test "messages split on aligned lengths" {
    var buf: [256]u8 = undefined;
    const d = testFrame(&buf, &.{
        .{ .type = 20, .seq = 7, .payload = "abcde" },
        .{ .type = NLMSG_DONE, .flags = F_MULTI, .seq = 7, .payload = &.{ 0, 0, 0, 0 } },
    });
    var it = Messages.init(d);
    const a = (try it.next()).?;
    try testing.expectEqualStrings("abcde", a.payload);
    try testing.expectEqual(Step{ .data = a.payload }, try classify(a, 7));
    const b = (try it.next()).?;
    try testing.expectEqual(Step.done, try classify(b, 7));
    try testing.expectEqual(@as(?Message, null), try it.next());
}

test "nlmsg_len larger than the buffer or smaller than the header" {
    var buf: [64]u8 = undefined;
    const d = testFrame(&buf, &.{.{ .type = 20, .seq = 1, .payload = "0123456789" }});
    // Claims 200 bytes in a 28-byte datagram.
    std.mem.writeInt(u32, d[0..4], 200, .little);
    var it = Messages.init(d);
    try testing.expectError(error.Malformed, it.next());
    // Claims less than its own header.
    std.mem.writeInt(u32, d[0..4], 8, .little);
    it = Messages.init(d);
    try testing.expectError(error.Malformed, it.next());
    // A header cut short.
    it = Messages.init(d[0..10]);
    try testing.expectError(error.Malformed, it.next());
    // The last message may omit its alignment padding.
    std.mem.writeInt(u32, d[0..4], 26, .little);
    it = Messages.init(d[0..26]);
    try testing.expectEqual(@as(usize, 10), (try it.next()).?.payload.len);
    try testing.expectEqual(@as(?Message, null), try it.next());
}

test "NLMSG_ERROR gives its errno, zero is an acknowledgement" {
    var buf: [64]u8 = undefined;
    var payload: [20]u8 = [_]u8{0} ** 20;
    std.mem.writeInt(i32, payload[0..4], -2, .little);
    const d = testFrame(&buf, &.{.{ .type = NLMSG_ERROR, .seq = 3, .payload = &payload }});
    var it = Messages.init(d);
    const m = (try it.next()).?;
    try testing.expectEqual(Step{ .failed = error.NOENT }, try classify(m, 3));
    std.mem.writeInt(i32, payload[0..4], 0, .little);
    it = Messages.init(testFrame(&buf, &.{.{ .type = NLMSG_ERROR, .seq = 3, .payload = &payload }}));
    try testing.expectEqual(Step.done, try classify((try it.next()).?, 3));
    // An error message without room for its errno.
    it = Messages.init(testFrame(&buf, &.{.{ .type = NLMSG_ERROR, .seq = 3, .payload = "ab" }}));
    try testing.expectError(error.Malformed, classify((try it.next()).?, 3));
    // A positive errno is not something the kernel sends.
    std.mem.writeInt(i32, payload[0..4], 5, .little);
    it = Messages.init(testFrame(&buf, &.{.{ .type = NLMSG_ERROR, .seq = 3, .payload = &payload }}));
    try testing.expectError(error.Malformed, classify((try it.next()).?, 3));
}

test "NLMSG_DONE with an error, DUMP_INTR flag, wrong sequence" {
    var buf: [128]u8 = undefined;
    var status: [4]u8 = undefined;
    std.mem.writeInt(i32, &status, -105, .little);
    var it = Messages.init(testFrame(&buf, &.{
        .{ .type = NLMSG_DONE, .seq = 9, .payload = &status },
        .{ .type = 20, .flags = F_MULTI | F_DUMP_INTR, .seq = 9, .payload = "x" },
        .{ .type = 20, .seq = 8, .payload = "old" },
        .{ .type = NLMSG_NOOP, .seq = 9, .payload = "" },
    }));
    try testing.expectEqual(Step{ .failed = error.NOBUFS }, try classify((try it.next()).?, 9));
    const intr = (try it.next()).?;
    try testing.expect(interrupted(intr));
    try testing.expectEqual(Step{ .data = intr.payload }, try classify(intr, 9));
    try testing.expectEqual(Step.stale, try classify((try it.next()).?, 9));
    try testing.expectEqual(Step.stale, try classify((try it.next()).?, 9));
}

test "attributes with bad lengths are malformed" {
    // fixed part of 3 bytes, attributes start at offset 4.
    var p = [_]u8{ 1, 2, 3, 0, 6, 0, 2, 0, 'a', 'b', 0, 0, 4, 0, 0x05, 0x80 };
    var it = Attrs.init(&p, 3);
    const a = (try it.next()).?;
    try testing.expectEqual(@as(u16, 2), a.type);
    try testing.expectEqualStrings("ab", a.payload);
    const b = (try it.next()).?;
    try testing.expectEqual(@as(u16, 5), b.type); // nested flag masked
    try testing.expectEqual(@as(usize, 0), b.payload.len);
    try testing.expectEqual(@as(?Attr, null), try it.next());

    p[4] = 40; // longer than the payload
    it = Attrs.init(&p, 3);
    try testing.expectError(error.Malformed, it.next());
    p[4] = 2; // shorter than its header
    it = Attrs.init(&p, 3);
    try testing.expectError(error.Malformed, it.next());
    it = Attrs.init(p[0..6], 3); // header cut short
    try testing.expectError(error.Malformed, it.next());
    it = Attrs.init(p[0..2], 16); // fixed part longer than the payload
    try testing.expectEqual(@as(?Attr, null), try it.next());
}

test "writer never overflows and bounds attribute length" {
    var buf: [10]u8 = undefined;
    var w: Writer = .{ .buf = &buf };
    const at = try w.beginAttr(1);
    try w.bytes("abc");
    try w.endAttr(at);
    try testing.expectEqual(@as(usize, 8), w.len);
    try testing.expectEqual(@as(u16, 7), std.mem.readInt(u16, buf[0..2], .little));
    try testing.expectError(error.NoSpace, w.bytes("abc"));
}

test "every truncation of a valid datagram parses or fails cleanly" {
    var buf: [128]u8 = undefined;
    const d = testFrame(&buf, &.{
        .{ .type = 20, .seq = 1, .payload = "abcdefg" },
        .{ .type = NLMSG_DONE, .seq = 1, .payload = &.{ 0, 0, 0, 0 } },
    });
    for (0..d.len + 1) |cut| {
        var it = Messages.init(d[0..cut]);
        while (it.next() catch null) |m| _ = classify(m, 1) catch {};
    }
}

test "random bytes never read out of bounds" {
    var prng = std.Random.DefaultPrng.init(0x5eed);
    const rand = prng.random();
    var buf: [96]u8 = undefined;
    for (0..20000) |_| {
        const n = rand.uintAtMost(usize, buf.len);
        rand.bytes(buf[0..n]);
        // Small lengths are likelier to be plausible.
        if (n >= 4 and rand.boolean()) std.mem.writeInt(u32, buf[0..4], rand.uintAtMost(u32, 100), .little);
        var it = Messages.init(buf[0..n]);
        while (it.next() catch null) |m| {
            _ = classify(m, 1) catch {};
            var attrs = Attrs.init(m.payload, rand.uintAtMost(usize, 80));
            while (attrs.next() catch null) |_| {}
        }
    }
}

/// Counts records; fails with `fail_with` on record number `fail_at`.
const CountCtx = struct {
    records: u32 = 0,
    resets: u32 = 0,
    fail_at: u32 = std.math.maxInt(u32),
    fail_with: sys.Error = error.NOSPC,

    pub fn build(_: *CountCtx, w: *Writer) Writer.Error!void {
        try w.bytes("req!");
    }
    pub fn reset(self: *CountCtx) void {
        self.records = 0;
        self.resets += 1;
    }
    pub fn accept(self: *CountCtx, _: []const u8) sys.Error!void {
        self.records += 1;
        if (self.records == self.fail_at) return self.fail_with;
    }
};

/// A FAKE OF THE KERNEL, for replies a real kernel cannot be made to send:
/// a unix socketpair (SOCK_SEQPACKET or SOCK_DGRAM) whose far end holds
/// replies queued before `run` is called (run takes the next sequence
/// numbers in order). A receive that waits for more than was queued, or a
/// request that finds the far end's queue full (SOCK_DGRAM queues are
/// short), gives up after 200 ms (-EAGAIN) instead of hanging the tests.
pub const FakeKernel = struct {
    pair: [2]i32,

    pub fn init(sock_type: u32) !FakeKernel {
        var pair: [2]i32 = undefined;
        _ = try sys.check(linux.socketpair(linux.AF.UNIX, @intCast(sock_type | linux.SOCK.CLOEXEC), 0, &pair));
        const tv: linux.timeval = .{ .sec = 0, .usec = 200_000 };
        for ([2]u32{ linux.SO.RCVTIMEO, linux.SO.SNDTIMEO }) |opt| {
            _ = linux.setsockopt(pair[0], linux.SOL.SOCKET, opt, std.mem.asBytes(&tv), @sizeOf(linux.timeval));
        }
        return .{ .pair = pair };
    }
    pub fn deinit(self: FakeKernel) void {
        for (self.pair) |fd| _ = linux.close(fd);
    }
    pub fn reply(self: FakeKernel, datagram: []const u8) !void {
        _ = try sys.check(linux.sendto(self.pair[1], datagram.ptr, datagram.len, 0, null, 0));
    }
};

test "run: stale replies skipped, DUMP_INTR retried, then -EINTR" {
    const k = try FakeKernel.init(linux.SOCK.SEQPACKET);
    defer k.deinit();
    var scratch: [min_scratch]u8 = undefined;
    var buf: [256]u8 = undefined;
    const s = seq_counter;
    const done = [_]u8{0} ** 4;
    try k.reply(testFrame(&buf, &.{
        .{ .type = 20, .seq = s, .payload = "stale" },
        .{ .type = 20, .seq = s +% 1, .flags = F_MULTI, .payload = "a" },
        .{ .type = 20, .seq = s +% 1, .flags = F_MULTI | F_DUMP_INTR, .payload = "b" },
    }));
    try k.reply(testFrame(&buf, &.{.{ .type = NLMSG_DONE, .seq = s +% 1, .flags = F_MULTI, .payload = &done }}));
    try k.reply(testFrame(&buf, &.{
        .{ .type = 20, .seq = s +% 2, .flags = F_MULTI, .payload = "a" },
        .{ .type = 20, .seq = s +% 2, .flags = F_MULTI, .payload = "b" },
        .{ .type = 20, .seq = s +% 2, .flags = F_MULTI, .payload = "c" },
        .{ .type = NLMSG_DONE, .seq = s +% 2, .flags = F_MULTI, .payload = &done },
    }));
    var ctx: CountCtx = .{};
    try run(k.pair[0], &scratch, .dump, &ctx);
    try testing.expectEqual(@as(u32, 3), ctx.records);
    try testing.expectEqual(@as(u32, 2), ctx.resets);

    const s2 = seq_counter;
    for (1..max_attempts + 1) |i| try k.reply(testFrame(&buf, &.{
        .{ .type = 20, .seq = s2 +% @as(u32, @intCast(i)), .flags = F_MULTI | F_DUMP_INTR, .payload = "a" },
        .{ .type = NLMSG_DONE, .seq = s2 +% @as(u32, @intCast(i)), .flags = F_MULTI | F_DUMP_INTR, .payload = &done },
    }));
    ctx = .{};
    try testing.expectError(error.INTR, run(k.pair[0], &scratch, .dump, &ctx));
    try testing.expectEqual(@as(u32, max_attempts), ctx.resets);
}

test "run: NLMSG_ERROR, early stop drains the dump, malformed reply" {
    const k = try FakeKernel.init(linux.SOCK.SEQPACKET);
    defer k.deinit();
    var scratch: [min_scratch]u8 = undefined;
    var buf: [256]u8 = undefined;
    const done = [_]u8{0} ** 4;
    var err: [20]u8 = [_]u8{0} ** 20;
    std.mem.writeInt(i32, err[0..4], -@as(i32, sys.errnoOf(error.NOENT)), .little);

    var s = seq_counter +% 1;
    try k.reply(testFrame(&buf, &.{.{ .type = NLMSG_ERROR, .seq = s, .payload = &err }}));
    var ctx: CountCtx = .{};
    try testing.expectError(error.NOENT, run(k.pair[0], &scratch, .dump, &ctx));

    // The record consumer stops at the first record; the rest of this dump
    // is drained, so the next request sees only its own reply.
    s = seq_counter +% 1;
    try k.reply(testFrame(&buf, &.{ .{ .type = 20, .seq = s, .payload = "a" }, .{ .type = 20, .seq = s, .payload = "b" } }));
    try k.reply(testFrame(&buf, &.{ .{ .type = 20, .seq = s, .payload = "c" }, .{ .type = NLMSG_DONE, .seq = s, .payload = &done } }));
    ctx = .{ .fail_at = 1, .fail_with = error.NOSPC };
    try testing.expectError(error.NOSPC, run(k.pair[0], &scratch, .dump, &ctx));
    try testing.expectEqual(@as(u32, 1), ctx.records);

    s = seq_counter +% 1;
    try k.reply(testFrame(&buf, &.{ .{ .type = 20, .seq = s, .payload = "x" }, .{ .type = NLMSG_DONE, .seq = s, .payload = &done } }));
    ctx = .{};
    try run(k.pair[0], &scratch, .dump, &ctx);
    try testing.expectEqual(@as(u32, 1), ctx.records);

    // A reply whose nlmsg_len runs past the datagram.
    s = seq_counter +% 1;
    const bad = testFrame(&buf, &.{.{ .type = 20, .seq = s, .payload = "abcd" }});
    std.mem.writeInt(u32, bad[0..4], 99, .little);
    try k.reply(bad);
    ctx = .{};
    try testing.expectError(error.PROTO, run(k.pair[0], &scratch, .dump, &ctx));

    // A single (non-dump) request ends at its one record.
    s = seq_counter +% 1;
    try k.reply(testFrame(&buf, &.{.{ .type = 20, .seq = s, .payload = "one" }}));
    ctx = .{};
    try run(k.pair[0], &scratch, .single, &ctx);
    try testing.expectEqual(@as(u32, 1), ctx.records);
}

test "run: a datagram larger than scratch is -EMSGSIZE" {
    const k = try FakeKernel.init(linux.SOCK.SEQPACKET);
    defer k.deinit();
    var scratch: [64]u8 = undefined;
    var buf: [256]u8 = undefined;
    const s = seq_counter +% 1;
    try k.reply(testFrame(&buf, &.{.{ .type = 20, .seq = s, .payload = "x" ** 100 }}));
    var ctx: CountCtx = .{};
    try testing.expectError(error.MSGSIZE, run(k.pair[0], &scratch, .dump, &ctx));
    try testing.expectEqual(@as(u32, 0), ctx.records);
}

test "the shared socket: one per process, not closable" {
    const fd = try shared();
    try testing.expect(fd >= 0);
    try testing.expectEqual(fd, try shared());
    try testing.expectError(error.BUSY, close(fd));
}

test "open and close a sock_diag socket" {
    const fd = try open();
    try testing.expect(fd >= 0);
    try close(fd);
    try testing.expectError(error.BADF, close(fd));
    try testing.expectError(error.BADF, close(-1));
}

test {
    _ = @import("fake_kernel_fuzz.zig");
}
