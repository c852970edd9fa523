//! Unix socket listener statistics over unix_diag (linux/unix_diag.h),
//! including abstract names, which /proc/net/unix cannot tell apart from
//! paths reliably. unix_diag has no in-kernel filter, so a dump returns every
//! unix socket in the asked states; records are small (16 bytes plus the
//! name) and counting allocates nothing.
//!
//! Names cross the C ABI as bytes: a path exactly as the socket was bound
//! (the kernel keeps relative paths relative), or an abstract name written
//! with a leading '@' in place of its leading NUL. A query name starting
//! with '@' therefore always means an abstract name, and abstract names
//! containing NUL bytes cannot be queried.
//!
//! Checked on kernel 6.18 with real sockets (see the tests): a connection
//! not yet accepted does not appear in the dump at all (its server-side
//! "embryo" socket is not in the kernel's unix socket table until accept);
//! the listener's rqueue counts those connections and its wqueue is the
//! backlog limit; an accepted server-side socket is ESTABLISHED, carries the
//! listener's name and has an inode; a client that never bound has no name.
//! An embryo that some kernel did report would have no file, hence inode 0,
//! so active = named ESTABLISHED stream/seqpacket sockets with a non-zero
//! inode, and queued = the listeners' rqueue.
const std = @import("std");
const linux = std.os.linux;
const sys = @import("sys.zig");
const netlink = @import("netlink.zig");
const records = @import("records.zig");

const ListenerFigures = records.ListenerFigures;
const UnixListener = records.UnixListener;
const bit = netlink.stateBit;

pub const AF_UNIX: u8 = linux.AF.UNIX;
pub const SOCK_STREAM: u8 = linux.SOCK.STREAM;
pub const SOCK_SEQPACKET: u8 = linux.SOCK.SEQPACKET;
pub const STATE_ESTABLISHED: u8 = 1;
pub const STATE_LISTEN: u8 = 10;

pub const UDIAG_SHOW_NAME: u32 = 0x01;
pub const UDIAG_SHOW_RQLEN: u32 = 0x10;
pub const UNIX_DIAG_NAME: u16 = 0;
pub const UNIX_DIAG_RQLEN: u16 = 4;

/// struct unix_diag_req.
pub const Req = extern struct {
    family: u8 = AF_UNIX,
    protocol: u8 = 0,
    pad: u16 = 0,
    states: u32,
    ino: u32 = 0,
    show: u32,
    cookie: [2]u32 = .{ 0, 0 },
};

/// struct unix_diag_msg.
pub const Msg = extern struct {
    family: u8,
    type: u8,
    state: u8,
    pad: u8,
    ino: u32,
    cookie: [2]u32,
};

/// struct unix_diag_rqlen.
pub const RqLen = extern struct {
    rqueue: u32,
    wqueue: u32,
};

comptime {
    std.debug.assert(@sizeOf(Req) == 24);
    std.debug.assert(@sizeOf(Msg) == 16);
    std.debug.assert(@sizeOf(RqLen) == 8);
}

/// One dumped socket. `name` is the raw UNIX_DIAG_NAME (empty when unbound).
pub const Sock = struct {
    type: u8,
    state: u8,
    ino: u32,
    name: []const u8 = &.{},
    rqueue: u32 = 0,
    wqueue: u32 = 0,
};

/// Parses one unix_diag record; error.Malformed when it is too short or its
/// attributes have bad lengths.
pub fn parse(payload: []const u8) netlink.ParseError!Sock {
    if (payload.len < @sizeOf(Msg)) return error.Malformed;
    const m = std.mem.bytesToValue(Msg, payload[0..@sizeOf(Msg)]);
    var s: Sock = .{ .type = m.type, .state = m.state, .ino = m.ino };
    var it = netlink.Attrs.init(payload, @sizeOf(Msg));
    while (try it.next()) |attr| switch (attr.type) {
        UNIX_DIAG_NAME => s.name = attr.payload,
        UNIX_DIAG_RQLEN => {
            if (attr.payload.len < @sizeOf(RqLen)) return error.Malformed;
            const q = std.mem.bytesToValue(RqLen, attr.payload[0..@sizeOf(RqLen)]);
            s.rqueue = q.rqueue;
            s.wqueue = q.wqueue;
        },
        else => {},
    };
    return s;
}

/// A kernel name in its ABI form: `at` is true for an abstract name, which
/// is written '@' ++ body; a path is body (cut at its terminating NUL).
pub const Name = struct {
    at: bool,
    body: []const u8,

    pub fn fromKernel(raw: []const u8) Name {
        if (raw.len > 0 and raw[0] == 0) return .{ .at = true, .body = raw[1..] };
        const end = std.mem.indexOfScalar(u8, raw, 0) orelse raw.len;
        return .{ .at = false, .body = raw[0..end] };
    }

    pub fn isEmpty(self: Name) bool {
        return !self.at and self.body.len == 0;
    }

    pub fn len(self: Name) usize {
        return self.body.len + @intFromBool(self.at);
    }

    /// True when `abi` (a query name or a record name) is this name.
    pub fn matches(self: Name, abi: []const u8) bool {
        if (self.at) return abi.len > 0 and abi[0] == '@' and std.mem.eql(u8, abi[1..], self.body);
        return (abi.len == 0 or abi[0] != '@') and std.mem.eql(u8, abi, self.body);
    }

    pub fn write(self: Name, dest: []u8) void {
        if (self.at) dest[0] = '@';
        @memcpy(dest[@intFromBool(self.at)..][0..self.body.len], self.body);
    }
};

/// Splits a query into names: NUL-separated, one trailing NUL allowed.
pub const QueryNames = struct {
    split: std.mem.SplitIterator(u8, .scalar),

    pub fn init(query: []const u8) QueryNames {
        const q = if (query.len > 0 and query[query.len - 1] == 0) query[0 .. query.len - 1] else query;
        return .{ .split = std.mem.splitScalar(u8, q, 0) };
    }

    /// Number of names, or null if one is empty (-EINVAL for the caller).
    pub fn count(query: []const u8) ?usize {
        if (query.len == 0) return 0;
        var it = init(query);
        var n: usize = 0;
        while (it.next()) |name| : (n += 1) if (name.len == 0) return null;
        return n;
    }

    pub fn next(self: *QueryNames) ?[]const u8 {
        return self.split.next();
    }
};

fn isConnectionType(t: u8) bool {
    return t == SOCK_STREAM or t == SOCK_SEQPACKET;
}

/// Unix listener figures for each name of `query` (NUL-separated, see
/// QueryNames; paths as bound, abstract names as '@' ++ name), written to
/// `out` (one per name) in query order. queued and backlog sum the rqueue
/// and wqueue of LISTEN sockets with that name (stream or seqpacket),
/// listeners counts them, active counts accepted connections
/// (ESTABLISHED, same name, inode != 0). `scratch` holds the request and
/// replies. A kernel without unix_diag answers error.NOENT or
/// error.PROTONOSUPPORT.
pub fn queried(fd: i32, query: []const u8, out: []ListenerFigures, scratch: []u8) sys.Error!void {
    var ctx: QueryCtx = .{ .query = query, .out = out };
    try netlink.run(fd, scratch, .dump, &ctx);
}

fn writeDump(w: *netlink.Writer, states: u32, show: u32) netlink.Writer.Error!void {
    try w.value(Req{ .states = states, .show = show });
}

const QueryCtx = struct {
    query: []const u8,
    out: []ListenerFigures,

    pub fn build(_: *QueryCtx, w: *netlink.Writer) netlink.Writer.Error!void {
        try writeDump(w, bit(STATE_LISTEN) | bit(STATE_ESTABLISHED), UDIAG_SHOW_NAME | UDIAG_SHOW_RQLEN);
    }

    pub fn reset(self: *QueryCtx) void {
        @memset(self.out, .{});
    }

    pub fn accept(self: *QueryCtx, payload: []const u8) sys.Error!void {
        const s = parse(payload) catch return error.PROTO;
        if (!isConnectionType(s.type) or s.name.len == 0) return;
        const listen = s.state == STATE_LISTEN;
        if (!listen and (s.state != STATE_ESTABLISHED or s.ino == 0)) return;
        const name = Name.fromKernel(s.name);
        var it = QueryNames.init(self.query);
        var i: usize = 0;
        while (it.next()) |q| : (i += 1) {
            if (!name.matches(q)) continue;
            const r = &self.out[i];
            if (listen) {
                r.queued +%= s.rqueue;
                r.backlog +%= s.wqueue;
                r.listeners +%= 1;
            } else r.active +%= 1;
        }
    }
};

/// Walks the variable-size records of the all-listeners answer.
const Records = struct {
    buf: []u8,
    at: usize = 0,

    const Record = struct { head: *align(1) UnixListener, name: []const u8 };

    fn next(self: *Records) ?Record {
        if (self.buf.len - self.at < @sizeOf(UnixListener)) return null;
        const head: *align(1) UnixListener = @ptrCast(self.buf[self.at..][0..@sizeOf(UnixListener)]);
        const start = self.at + @sizeOf(UnixListener);
        if (head.name_len > self.buf.len - start) return null;
        self.at = start + netlink.alignTo4(head.name_len);
        return .{ .head = head, .name = self.buf[start..][0..head.name_len] };
    }
};

/// Every listening unix name: `out` receives one UnixListener record per
/// name (listeners sharing a name merged), each followed by its name
/// ('@' first for an abstract name) zero-padded to a multiple of 4;
/// returns the record count. `out` too small: error.NOSPC.
pub fn all(fd: i32, out: []u8, scratch: []u8) sys.Error!usize {
    var listen: ListenAllCtx = .{ .out = out };
    try netlink.run(fd, scratch, .dump, &listen);
    var active: ActiveAllCtx = .{ .out = out[0..listen.used] };
    if (listen.count > 0) try netlink.run(fd, scratch, .dump, &active);
    return listen.count;
}

const ListenAllCtx = struct {
    out: []u8,
    used: usize = 0,
    count: usize = 0,

    pub fn build(_: *ListenAllCtx, w: *netlink.Writer) netlink.Writer.Error!void {
        try writeDump(w, bit(STATE_LISTEN), UDIAG_SHOW_NAME | UDIAG_SHOW_RQLEN);
    }

    pub fn reset(self: *ListenAllCtx) void {
        self.used = 0;
        self.count = 0;
    }

    pub fn accept(self: *ListenAllCtx, payload: []const u8) sys.Error!void {
        const s = parse(payload) catch return error.PROTO;
        if (s.state != STATE_LISTEN) return;
        const name = Name.fromKernel(s.name);
        if (name.isEmpty()) return;
        var it: Records = .{ .buf = self.out[0..self.used] };
        while (it.next()) |r| {
            if (!name.matches(r.name)) continue;
            r.head.queued +%= s.rqueue;
            r.head.backlog +%= s.wqueue;
            return;
        }
        const size = @sizeOf(UnixListener) + netlink.alignTo4(name.len());
        if (self.out.len - self.used < size) return error.NOSPC;
        const r = self.out[self.used..][0..size];
        @memset(r, 0);
        const head: UnixListener = .{ .queued = s.rqueue, .backlog = s.wqueue, .name_len = @intCast(name.len()) };
        r[0..@sizeOf(UnixListener)].* = std.mem.toBytes(head);
        name.write(r[@sizeOf(UnixListener)..]);
        self.used += size;
        self.count += 1;
    }
};

const ActiveAllCtx = struct {
    out: []u8,

    pub fn build(_: *ActiveAllCtx, w: *netlink.Writer) netlink.Writer.Error!void {
        try writeDump(w, bit(STATE_ESTABLISHED), UDIAG_SHOW_NAME);
    }

    pub fn reset(self: *ActiveAllCtx) void {
        var it: Records = .{ .buf = self.out };
        while (it.next()) |r| r.head.active = 0;
    }

    pub fn accept(self: *ActiveAllCtx, payload: []const u8) sys.Error!void {
        const s = parse(payload) catch return error.PROTO;
        if (s.state != STATE_ESTABLISHED or s.ino == 0 or !isConnectionType(s.type)) return;
        const name = Name.fromKernel(s.name);
        if (name.isEmpty()) return;
        var it: Records = .{ .buf = self.out };
        while (it.next()) |r| {
            if (!name.matches(r.name)) continue;
            r.head.active +%= 1;
            return;
        }
    }
};

const testing = std.testing;
const ts = @import("test_sockets.zig");

test "names: paths, abstract, query splitting" {
    const p = Name.fromKernel("/tmp/x.sock\x00");
    try testing.expect(p.matches("/tmp/x.sock"));
    try testing.expect(!p.matches("@/tmp/x.sock"));
    const a = Name.fromKernel("\x00svc");
    try testing.expect(a.matches("@svc"));
    try testing.expect(!a.matches("svc"));
    try testing.expectEqual(@as(usize, 4), a.len());
    var buf: [4]u8 = undefined;
    a.write(&buf);
    try testing.expectEqualStrings("@svc", &buf);
    try testing.expect(Name.fromKernel("").isEmpty());
    try testing.expect(!Name.fromKernel("\x00").isEmpty());
    try testing.expect(Name.fromKernel("\x00").matches("@"));

    try testing.expectEqual(@as(?usize, 0), QueryNames.count(""));
    try testing.expectEqual(@as(?usize, 1), QueryNames.count("/a"));
    try testing.expectEqual(@as(?usize, 1), QueryNames.count("/a\x00"));
    try testing.expectEqual(@as(?usize, 2), QueryNames.count("/a\x00@b"));
    try testing.expectEqual(@as(?usize, 2), QueryNames.count("/a\x00@b\x00"));
    try testing.expectEqual(@as(?usize, null), QueryNames.count("/a\x00\x00@b"));
    try testing.expectEqual(@as(?usize, null), QueryNames.count("/a\x00\x00"));
    try testing.expectEqual(@as(?usize, null), QueryNames.count("\x00"));
    try testing.expectEqual(@as(?usize, null), QueryNames.count("\x00/a"));
    var it = QueryNames.init("/a\x00@b\x00");
    try testing.expectEqualStrings("/a", it.next().?);
    try testing.expectEqualStrings("@b", it.next().?);
    try testing.expectEqual(@as(?[]const u8, null), it.next());
}

test "parse: attributes, truncation, short rqlen" {
    var buf: [64]u8 = [_]u8{0} ** 64;
    const m: Msg = .{ .family = AF_UNIX, .type = SOCK_STREAM, .state = STATE_LISTEN, .pad = 0, .ino = 9, .cookie = .{ 0, 0 } };
    @memcpy(buf[0..16], std.mem.asBytes(&m));
    // UNIX_DIAG_NAME "\0ab" then UNIX_DIAG_RQLEN {2, 128}.
    buf[16] = 7;
    buf[18] = @intCast(UNIX_DIAG_NAME);
    buf[21] = 'a';
    buf[22] = 'b';
    buf[24] = 12;
    buf[26] = @intCast(UNIX_DIAG_RQLEN);
    std.mem.writeInt(u32, buf[28..32], 2, .little);
    std.mem.writeInt(u32, buf[32..36], 128, .little);
    const s = try parse(buf[0..36]);
    try testing.expectEqual(@as(u32, 9), s.ino);
    try testing.expect(Name.fromKernel(s.name).matches("@ab"));
    try testing.expectEqual(@as(u32, 2), s.rqueue);
    try testing.expectEqual(@as(u32, 128), s.wqueue);
    try testing.expectError(error.Malformed, parse(buf[0..15]));
    try testing.expectError(error.Malformed, parse(buf[0..30])); // rta_len past the end
    buf[24] = 8; // rqlen attribute too short for its struct
    try testing.expectError(error.Malformed, parse(buf[0..36]));
}

test "random records never read out of bounds" {
    var prng = std.Random.DefaultPrng.init(42);
    const rand = prng.random();
    var buf: [64]u8 = undefined;
    for (0..20000) |_| {
        const n = rand.uintAtMost(usize, buf.len);
        rand.bytes(buf[0..n]);
        if (n >= 20 and rand.boolean()) buf[16] = rand.uintAtMost(u8, 48);
        if (n >= 20) buf[17] = 0;
        const s = parse(buf[0..n]) catch continue;
        const name = Name.fromKernel(s.name);
        _ = name.matches("@x");
    }
}

/// Every established socket carrying `name`, for the embryo check.
const RawCtx = struct {
    name: []const u8,
    named: u32 = 0,
    with_inode: u32 = 0,

    pub fn build(_: *RawCtx, w: *netlink.Writer) netlink.Writer.Error!void {
        try writeDump(w, bit(STATE_ESTABLISHED), UDIAG_SHOW_NAME);
    }
    pub fn reset(self: *RawCtx) void {
        self.named = 0;
        self.with_inode = 0;
    }
    pub fn accept(self: *RawCtx, payload: []const u8) sys.Error!void {
        const s = parse(payload) catch return error.PROTO;
        if (!Name.fromKernel(s.name).matches(self.name)) return;
        self.named += 1;
        if (s.ino != 0) self.with_inode += 1;
    }
};

var test_scratch: [256 * 1024]u8 = undefined;

fn figures(r: anytype) [4]u32 {
    return .{ r.active, r.queued, r.backlog, if (@hasField(@TypeOf(r.*), "name_len")) r.name_len else r.listeners };
}

test "real unix listeners: path and abstract, embryo sockets" {
    var path_buf: [64]u8 = undefined;
    const path = try std.fmt.bufPrint(&path_buf, "/tmp/raindrops-zig-{d}.sock", .{std.os.linux.getpid()});
    var path_z: [65]u8 = undefined;
    @memcpy(path_z[0..path.len], path);
    path_z[path.len] = 0;
    _ = std.os.linux.unlink(@ptrCast(&path_z));
    defer _ = std.os.linux.unlink(@ptrCast(&path_z));
    var abs_buf: [64]u8 = undefined;
    const abstract = try std.fmt.bufPrint(&abs_buf, "\x00raindrops-zig-{d}", .{std.os.linux.getpid()});

    const lp = try ts.unixListen(path, 7);
    defer ts.close(lp);
    const la = try ts.unixListen(abstract, 5);
    defer ts.close(la);
    var clients: [5]i32 = undefined;
    for (clients[0..3]) |*c| c.* = try ts.unixConnect(path);
    for (clients[3..5]) |*c| c.* = try ts.unixConnect(abstract);
    defer for (clients) |c| ts.close(c);
    const acc = try ts.accept(lp);
    defer ts.close(acc);

    const fd = try netlink.open();
    defer netlink.close(fd) catch {};

    // The finding documented at the top: of the 3 server-side sockets of the
    // path listener only the accepted one is dumped, with the listener's
    // name and an inode; the 2 waiting ones show only in its rqueue.
    var raw: RawCtx = .{ .name = path };
    try netlink.run(fd, &test_scratch, .dump, &raw);
    try testing.expectEqual(@as(u32, 1), raw.named);
    try testing.expectEqual(@as(u32, 1), raw.with_inode);

    var abs_query: [64]u8 = undefined;
    abs_query[0] = '@';
    @memcpy(abs_query[1..abstract.len], abstract[1..]);
    var qbuf: [256]u8 = undefined;
    const q = try std.fmt.bufPrint(&qbuf, "{s}\x00{s}\x00/nonexistent.sock", .{ path, abs_query[0..abstract.len] });
    var out: [3]ListenerFigures = undefined;
    try queried(fd, q, &out, &test_scratch);
    try testing.expectEqual([4]u32{ 1, 2, 7, 1 }, figures(&out[0]));
    try testing.expectEqual([4]u32{ 0, 2, 5, 1 }, figures(&out[1]));
    try testing.expectEqual([4]u32{ 0, 0, 0, 0 }, figures(&out[2]));

    // Every listener: both names appear with the same figures.
    var every: [256 * 1024]u8 = undefined;
    const n = try all(fd, &every, &test_scratch);
    try testing.expect(n >= 2);
    var it: Records = .{ .buf = &every };
    var seen: u8 = 0;
    for (0..n) |_| {
        const r = it.next().?;
        if (std.mem.eql(u8, r.name, path)) {
            seen += 1;
            try testing.expectEqual([4]u32{ 1, 2, 7, @intCast(path.len) }, figures(r.head));
        } else if (std.mem.eql(u8, r.name, abs_query[0..abstract.len])) {
            seen += 1;
            try testing.expectEqual([4]u32{ 0, 2, 5, @intCast(abstract.len) }, figures(r.head));
        }
    }
    try testing.expectEqual(@as(u8, 2), seen);
    try testing.expectError(error.NOSPC, all(fd, every[0..8], &test_scratch));
}
