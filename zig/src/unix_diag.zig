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

const native = @import("builtin").cpu.arch.endian();

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

fn add(buf: []u8, at: usize, v: u32) void {
    const p = buf[at..][0..4];
    std.mem.writeInt(u32, p, std.mem.readInt(u32, p, native) +% v, native);
}

fn put(buf: []u8, at: usize, v: u32) void {
    std.mem.writeInt(u32, buf[at..][0..4], v, native);
}

fn get(buf: []const u8, at: usize) u32 {
    return std.mem.readInt(u32, buf[at..][0..4], native);
}

fn isConnectionType(t: u8) bool {
    return t == SOCK_STREAM or t == SOCK_SEQPACKET;
}

fn bit(state: u8) u32 {
    return @as(u32, 1) << @intCast(state);
}

/// Unix listener statistics by name, or for every listener when query_len
/// is 0. `query` holds NUL-separated names (a trailing NUL is allowed, an
/// empty name is -EINVAL): paths as bound, abstract names as '@' ++ name.
///
/// With N names, `out` receives N records of 16 bytes in query order,
/// { active, queued, backlog, listeners } as native u32; returns N. queued and
/// backlog sum the rqueue and wqueue of LISTEN sockets with that name
/// (stream or seqpacket), listeners counts them, active counts accepted
/// connections (ESTABLISHED, same name, inode != 0).
///
/// With no query, `out` receives one record per listening name (listeners
/// sharing a name merged): { active u32, queued u32, backlog u32,
/// name_len u32, name bytes ('@' first for abstract names), zero padding to
/// a multiple of 4 }; returns the record count. `out` too small: -ENOSPC.
/// `scratch` (at least 32 KiB) holds the request and replies. A kernel
/// without unix_diag answers -ENOENT or -EPROTONOSUPPORT.
pub export fn rd_unix_listener_stats(fd: i32, query: ?[*]const u8, query_len: u32, out: ?[*]u8, out_cap: u32, scratch: ?[*]u8, scratch_len: u32) i32 {
    if (query_len > 0 and query == null) return sys.neg(.INVAL);
    if (out_cap > 0 and out == null) return sys.neg(.INVAL);
    const s = (scratch orelse return sys.neg(.INVAL))[0..scratch_len];
    if (s.len < netlink.min_scratch) return sys.neg(.INVAL);
    const o: []u8 = if (out) |p| p[0..out_cap] else &.{};
    const q: []const u8 = if (query) |p| p[0..query_len] else &.{};
    const n = QueryNames.count(q) orelse return sys.neg(.INVAL);
    if (n == 0) return allListeners(fd, o, s);
    if (n > std.math.maxInt(i32) / 16) return sys.neg(.INVAL);
    if (o.len < n * 16) return sys.neg(.NOSPC);
    var ctx: QueryCtx = .{ .query = q, .out = o[0 .. n * 16] };
    const rc = netlink.run(fd, s, .dump, &ctx);
    if (rc < 0) return rc;
    return @intCast(n);
}

fn writeDump(w: *netlink.Writer, states: u32, show: u32) netlink.Writer.Error!void {
    try w.value(Req{ .states = states, .show = show });
}

const QueryCtx = struct {
    query: []const u8,
    out: []u8,

    pub fn build(_: *QueryCtx, w: *netlink.Writer) netlink.Writer.Error!void {
        try writeDump(w, bit(STATE_LISTEN) | bit(STATE_ESTABLISHED), UDIAG_SHOW_NAME | UDIAG_SHOW_RQLEN);
    }

    pub fn reset(self: *QueryCtx) void {
        @memset(self.out, 0);
    }

    pub fn accept(self: *QueryCtx, payload: []const u8) i32 {
        const s = parse(payload) catch return sys.neg(.PROTO);
        if (!isConnectionType(s.type) or s.name.len == 0) return 0;
        const listen = s.state == STATE_LISTEN;
        if (!listen and (s.state != STATE_ESTABLISHED or s.ino == 0)) return 0;
        const name = Name.fromKernel(s.name);
        var it = QueryNames.init(self.query);
        var i: usize = 0;
        while (it.next()) |q| : (i += 1) {
            if (!name.matches(q)) continue;
            const r = self.out[i * 16 ..][0..16];
            if (listen) {
                add(r, 4, s.rqueue);
                add(r, 8, s.wqueue);
                add(r, 12, 1);
            } else add(r, 0, 1);
        }
        return 0;
    }
};

/// Walks the variable-size records of the all-listeners answer.
const Records = struct {
    buf: []const u8,
    at: usize = 0,

    const header = 16;

    fn next(self: *Records) ?struct { at: usize, name: []const u8 } {
        if (self.at + header > self.buf.len) return null;
        const at = self.at;
        const n = get(self.buf, at + 12);
        if (n > self.buf.len - at - header) return null;
        self.at = at + header + netlink.alignTo4(n);
        return .{ .at = at, .name = self.buf[at + header ..][0..n] };
    }
};

fn allListeners(fd: i32, o: []u8, s: []u8) i32 {
    var listen: ListenAllCtx = .{ .out = o };
    var rc = netlink.run(fd, s, .dump, &listen);
    if (rc < 0) return rc;
    var active: ActiveAllCtx = .{ .out = o[0..listen.used] };
    if (listen.count > 0) {
        rc = netlink.run(fd, s, .dump, &active);
        if (rc < 0) return rc;
    }
    return @intCast(listen.count);
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

    pub fn accept(self: *ListenAllCtx, payload: []const u8) i32 {
        const s = parse(payload) catch return sys.neg(.PROTO);
        if (s.state != STATE_LISTEN) return 0;
        const name = Name.fromKernel(s.name);
        if (name.isEmpty()) return 0;
        var it: Records = .{ .buf = self.out[0..self.used] };
        while (it.next()) |r| {
            if (!name.matches(r.name)) continue;
            add(self.out, r.at + 4, s.rqueue);
            add(self.out, r.at + 8, s.wqueue);
            return 0;
        }
        const size = Records.header + netlink.alignTo4(name.len());
        if (self.out.len - self.used < size) return sys.neg(.NOSPC);
        const r = self.out[self.used..][0..size];
        @memset(r, 0);
        put(r, 4, s.rqueue);
        put(r, 8, s.wqueue);
        put(r, 12, @intCast(name.len()));
        name.write(r[Records.header..]);
        self.used += size;
        self.count += 1;
        return 0;
    }
};

const ActiveAllCtx = struct {
    out: []u8,

    pub fn build(_: *ActiveAllCtx, w: *netlink.Writer) netlink.Writer.Error!void {
        try writeDump(w, bit(STATE_ESTABLISHED), UDIAG_SHOW_NAME);
    }

    pub fn reset(self: *ActiveAllCtx) void {
        var it: Records = .{ .buf = self.out };
        while (it.next()) |r| put(self.out, r.at, 0);
    }

    pub fn accept(self: *ActiveAllCtx, payload: []const u8) i32 {
        const s = parse(payload) catch return sys.neg(.PROTO);
        if (s.state != STATE_ESTABLISHED or s.ino == 0 or !isConnectionType(s.type)) return 0;
        const name = Name.fromKernel(s.name);
        if (name.isEmpty()) return 0;
        var it: Records = .{ .buf = self.out };
        while (it.next()) |r| {
            if (!name.matches(r.name)) continue;
            add(self.out, r.at, 1);
            return 0;
        }
        return 0;
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
    pub fn accept(self: *RawCtx, payload: []const u8) i32 {
        const s = parse(payload) catch return sys.neg(.PROTO);
        if (!Name.fromKernel(s.name).matches(self.name)) return 0;
        self.named += 1;
        if (s.ino != 0) self.with_inode += 1;
        return 0;
    }
};

var test_scratch: [256 * 1024]u8 = undefined;

fn readStats(out: []const u8, i: usize) [4]u32 {
    return .{ get(out, i * 16), get(out, i * 16 + 4), get(out, i * 16 + 8), get(out, i * 16 + 12) };
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

    const fd = netlink.rd_diag_open();
    defer _ = netlink.rd_diag_close(fd);

    // The finding documented at the top: of the 3 server-side sockets of the
    // path listener only the accepted one is dumped, with the listener's
    // name and an inode; the 2 waiting ones show only in its rqueue.
    var raw: RawCtx = .{ .name = path };
    try testing.expectEqual(@as(i32, 0), netlink.run(fd, &test_scratch, .dump, &raw));
    try testing.expectEqual(@as(u32, 1), raw.named);
    try testing.expectEqual(@as(u32, 1), raw.with_inode);

    var abs_query: [64]u8 = undefined;
    abs_query[0] = '@';
    @memcpy(abs_query[1..abstract.len], abstract[1..]);
    var qbuf: [256]u8 = undefined;
    const q = try std.fmt.bufPrint(&qbuf, "{s}\x00{s}\x00/nonexistent.sock", .{ path, abs_query[0..abstract.len] });
    var out: [48]u8 = undefined;
    try testing.expectEqual(@as(i32, 3), rd_unix_listener_stats(fd, q.ptr, @intCast(q.len), &out, out.len, &test_scratch, test_scratch.len));
    try testing.expectEqual([4]u32{ 1, 2, 7, 1 }, readStats(&out, 0));
    try testing.expectEqual([4]u32{ 0, 2, 5, 1 }, readStats(&out, 1));
    try testing.expectEqual([4]u32{ 0, 0, 0, 0 }, readStats(&out, 2));
    try testing.expectEqual(sys.neg(.NOSPC), rd_unix_listener_stats(fd, q.ptr, @intCast(q.len), &out, 47, &test_scratch, test_scratch.len));
    try testing.expectEqual(sys.neg(.INVAL), rd_unix_listener_stats(fd, "a\x00\x00b", 4, &out, out.len, &test_scratch, test_scratch.len));

    // Every listener: both names appear with the same figures.
    var all: [256 * 1024]u8 = undefined;
    const n = rd_unix_listener_stats(fd, null, 0, &all, all.len, &test_scratch, test_scratch.len);
    try testing.expect(n >= 2);
    var it: Records = .{ .buf = &all };
    var seen: u8 = 0;
    for (0..@intCast(n)) |_| {
        const r = it.next().?;
        if (std.mem.eql(u8, r.name, path)) {
            seen += 1;
            try testing.expectEqual([4]u32{ 1, 2, 7, @intCast(path.len) }, readStats(all[r.at..], 0));
        } else if (std.mem.eql(u8, r.name, abs_query[0..abstract.len])) {
            seen += 1;
            try testing.expectEqual([4]u32{ 0, 2, 5, @intCast(abstract.len) }, readStats(all[r.at..], 0));
        }
        try testing.expect(r.name.len == 0 or r.at + 16 + r.name.len <= all.len);
    }
    try testing.expectEqual(@as(u8, 2), seen);
    try testing.expectEqual(sys.neg(.NOSPC), rd_unix_listener_stats(fd, null, 0, &all, 8, &test_scratch, test_scratch.len));
}
