//! The C ABI of libraindrops: every exported function, and only here. Each
//! export checks its arguments once (null pointers, buffer lengths, scratch
//! size, record alignment), hands the modules slices and values, and turns
//! their Zig errors into the negative errno its caller sees; it never
//! crashes on bad input. src/native/symbols.ts mirrors these exports, and
//! src/native/records.ts the records of records.zig (rd_abi_layout keeps
//! the two in step).
const std = @import("std");
const sys = @import("sys.zig");
const records = @import("records.zig");
const shm = @import("shm.zig");
const thread = @import("thread.zig");
const environ = @import("environ.zig");
const netlink = @import("netlink.zig");
const inet = @import("inet_diag.zig");
const tcp_listeners = @import("tcp_listeners.zig");
const unix_diag = @import("unix_diag.zig");
const tcp_info = @import("tcp_info.zig");
const socket_fds = @import("socket_fds.zig");
const arrivals = @import("arrivals.zig");
const tcp_port = @import("tcp_port.zig");
const syn_recv = @import("syn_recv.zig");
const clock = @import("clock.zig");
const listen_queue = @import("listen_queue.zig");

const Error = sys.Error;
const max_i32 = std.math.maxInt(i32);

/// An error as the negative errno the C ABI returns.
pub fn errno(err: Error) i32 {
    return -@as(i32, sys.errnoOf(err));
}

/// 0, or the negative errno.
fn status(result: Error!void) i32 {
    result catch |e| return errno(e);
    return 0;
}

/// A count (clamped to i32), or the negative errno.
fn count(result: Error!usize) i32 {
    const n = result catch |e| return errno(e);
    return @intCast(@min(n, max_i32));
}

/// `len` bytes at `ptr`; null is allowed for an empty buffer only.
fn bytes(ptr: ?[*]u8, len: usize) Error![]u8 {
    if (len == 0) return &.{};
    return (ptr orelse return error.INVAL)[0..len];
}

fn constBytes(ptr: ?[*]const u8, len: usize) Error![]const u8 {
    if (len == 0) return &.{};
    return (ptr orelse return error.INVAL)[0..len];
}

/// The records of type T that fit in `len` bytes at `ptr`, which must be
/// aligned for T (a typed array's buffer is).
fn recordsAt(comptime T: type, ptr: ?[*]u8, len: usize) Error![]T {
    const b = try bytes(ptr, len);
    if (@intFromPtr(b.ptr) % @alignOf(T) != 0) return error.INVAL;
    const n = b.len / @sizeOf(T);
    return @as([*]T, @ptrCast(@alignCast(b.ptr)))[0..n];
}

/// The caller's receive buffer for a sock_diag request.
fn scratchOf(ptr: ?[*]u8, len: u32) Error![]u8 {
    if (len < netlink.min_scratch) return error.INVAL;
    return bytes(ptr, len);
}

/// A 20-byte address record (see inet_diag.Addr).
fn addrAt(ptr: ?[*]const u8) Error!inet.Addr {
    const p = ptr orelse return error.INVAL;
    return inet.Addr.decode(p[0..inet.addr_size]) orelse error.INVAL;
}

// Shared counter memory (shm.zig).

pub export fn rd_page_size() u32 {
    return shm.pageSize();
}

pub export fn rd_slot_size() u32 {
    return shm.slotSize();
}

pub export fn rd_map(path: ?[*:0]const u8, size: usize, zero: u32, out: ?*records.Mapping) i32 {
    const p = path orelse return errno(error.INVAL);
    return status(shm.map(p, size, zero != 0, out orelse return errno(error.INVAL)));
}

/// The mapping table knows each mapping's length.
pub export fn rd_unmap(addr: usize) i32 {
    if (addr == 0) return errno(error.INVAL);
    return status(shm.unmap(addr));
}

pub export fn rd_grow(path: ?[*:0]const u8, old_size: usize, new_size: usize, m: ?*records.Mapping) i32 {
    const p = path orelse return errno(error.INVAL);
    return status(shm.grow(p, old_size, new_size, m orelse return errno(error.INVAL)));
}

/// Writes the owner of the file at `path` and this process's euid to `out`.
pub export fn rd_file_owner(path: ?[*:0]const u8, out: ?*[2]u32) i32 {
    const p = path orelse return errno(error.INVAL);
    const o = out orelse return errno(error.INVAL);
    o.* = shm.owners(p) catch |e| return errno(e);
    return 0;
}

pub export fn rd_private_dir(parent: ?[*:0]const u8, out: ?[*]u8, out_len: u32) i32 {
    const p = parent orelse return errno(error.INVAL);
    const o = out orelse return errno(error.INVAL);
    return count(shm.privateDir(p, o[0..out_len]));
}

pub export fn rd_private_temp_dir(parent: ?[*:0]const u8, out: ?[*]u8, out_len: u32) i32 {
    const p = parent orelse return errno(error.INVAL);
    const o = out orelse return errno(error.INVAL);
    return count(shm.privateTempDir(p, o[0..out_len]));
}

// Thread identity (thread.zig).

pub export fn rd_thread_id() i32 {
    return thread.id();
}

/// The start time as a double (exact below 2^53), or -errno.
pub export fn rd_thread_start(tid: i32) f64 {
    const start = thread.startTime(tid) catch |e| return @floatFromInt(errno(e));
    return @floatFromInt(start);
}

// The starting environment (environ.zig).

/// 1 when the process started with `name` set, 0 when not.
pub export fn rd_env_has(name: ?[*:0]const u8) i32 {
    const n = name orelse return errno(error.INVAL);
    return @intFromBool(environ.has(std.mem.span(n)) catch |e| return errno(e));
}

// sock_diag sockets (netlink.zig).

pub export fn rd_diag_open() i32 {
    return netlink.open() catch |e| errno(e);
}

pub export fn rd_diag_shared() i32 {
    return netlink.shared() catch |e| errno(e);
}

pub export fn rd_diag_close(fd: i32) i32 {
    return status(netlink.close(fd));
}

// Listener statistics (tcp_listeners.zig, unix_diag.zig). With a query,
// one ListenerFigures per queried address or name (error.NOSPC when `out`
// has no room for them all) and the result is their number; without one,
// every listener, and the result is the number of records.

pub export fn rd_tcp_listener_stats(fd: i32, query: ?[*]const u8, query_len: u32, out: ?[*]u8, out_cap: u32, scratch: ?[*]u8, scratch_len: u32) i32 {
    return count(tcpListenerStats(fd, query, query_len, out, out_cap, scratch, scratch_len));
}

fn tcpListenerStats(fd: i32, query: ?[*]const u8, query_len: u32, out: ?[*]u8, out_cap: u32, scratch: ?[*]u8, scratch_len: u32) Error!usize {
    if (query_len % inet.addr_size != 0) return error.INVAL;
    const q = try constBytes(query, query_len);
    const o = try bytes(out, out_cap);
    const s = try scratchOf(scratch, scratch_len);
    if (q.len == 0) return tcp_listeners.all(fd, try recordsAt(records.TcpListener, o.ptr, o.len), s);
    const n = q.len / inet.addr_size;
    const figures = try figuresFor(n, o);
    try tcp_listeners.queried(fd, q, figures, s);
    return n;
}

pub export fn rd_unix_listener_stats(fd: i32, query: ?[*]const u8, query_len: u32, out: ?[*]u8, out_cap: u32, scratch: ?[*]u8, scratch_len: u32) i32 {
    return count(unixListenerStats(fd, query, query_len, out, out_cap, scratch, scratch_len));
}

fn unixListenerStats(fd: i32, query: ?[*]const u8, query_len: u32, out: ?[*]u8, out_cap: u32, scratch: ?[*]u8, scratch_len: u32) Error!usize {
    const q = try constBytes(query, query_len);
    const o = try bytes(out, out_cap);
    const s = try scratchOf(scratch, scratch_len);
    const n = unix_diag.QueryNames.count(q) orelse return error.INVAL;
    if (n == 0) return unix_diag.all(fd, o, s);
    const figures = try figuresFor(n, o);
    try unix_diag.queried(fd, q, figures, s);
    return n;
}

/// Room in `out` for the figures of `n` queried listeners.
fn figuresFor(n: usize, out: []u8) Error![]records.ListenerFigures {
    if (n > max_i32 / @sizeOf(records.ListenerFigures)) return error.INVAL;
    const figures = try recordsAt(records.ListenerFigures, out.ptr, out.len);
    if (figures.len < n) return error.NOSPC;
    return figures[0..n];
}

// TCP_INFO (tcp_info.zig). Results: the bytes of tcp_info the kernel
// returned (which may exceed out_cap; `out` holds what fits), or -errno.

pub export fn rd_tcp_info_fd(sockfd: i32, out: ?[*]u8, out_cap: u32) i32 {
    return count(tcp_info.byFd(sockfd, bytes(out, out_cap) catch |e| return errno(e)));
}

pub export fn rd_tcp_info_fd_checked(sockfd: i32, inode: u32, out: ?[*]u8, out_cap: u32) i32 {
    return count(tcp_info.byFdChecked(sockfd, inode, bytes(out, out_cap) catch |e| return errno(e)));
}

pub export fn rd_tcp_info_by_addr(fd: i32, local: ?[*]const u8, remote: ?[*]const u8, out: ?[*]u8, out_cap: u32, scratch: ?[*]u8, scratch_len: u32) i32 {
    return count(tcpInfoByAddr(fd, local, remote, out, out_cap, scratch, scratch_len));
}

fn tcpInfoByAddr(fd: i32, local: ?[*]const u8, remote: ?[*]const u8, out: ?[*]u8, out_cap: u32, scratch: ?[*]u8, scratch_len: u32) Error!usize {
    const l = try addrAt(local);
    const r = try addrAt(remote);
    return tcp_info.byAddr(fd, l, r, try bytes(out, out_cap), try scratchOf(scratch, scratch_len));
}

/// `out_local` (20 bytes) is the hint in and the local end found out;
/// `out_inode`, when not null, receives the socket's inode (native u32).
pub export fn rd_tcp_info_by_remote(fd: i32, remote: ?[*]const u8, local_port: u32, out_local: ?[*]u8, out_inode: ?[*]u8, out: ?[*]u8, out_cap: u32, scratch: ?[*]u8, scratch_len: u32) i32 {
    return count(tcpInfoByRemote(fd, remote, local_port, out_local, out_inode, out, out_cap, scratch, scratch_len));
}

fn tcpInfoByRemote(fd: i32, remote: ?[*]const u8, local_port: u32, out_local: ?[*]u8, out_inode: ?[*]u8, out: ?[*]u8, out_cap: u32, scratch: ?[*]u8, scratch_len: u32) Error!usize {
    const r = try addrAt(remote);
    if (local_port > std.math.maxInt(u16)) return error.INVAL;
    const local = (out_local orelse return error.INVAL)[0..inet.addr_size];
    const o = try bytes(out, out_cap);
    const s = try scratchOf(scratch, scratch_len);
    var unwanted: u32 = 0;
    const inode: *align(1) u32 = if (out_inode) |p| @ptrCast(p) else &unwanted;
    return tcp_info.byRemote(fd, r, @intCast(local_port), local, inode, o, s);
}

/// Every socket descriptor of this process as SocketFd records, as many
/// as fit in out_cap bytes; returns how many sockets there are.
pub export fn rd_socket_fds(out: ?[*]u8, out_cap: u32) i32 {
    return count(socket_fds.list(recordsAt(records.SocketFd, out, out_cap) catch |e| return errno(e)));
}

/// The local port of `fd` when it is a TCP socket that is listening
/// (`listening` 1) or connected (0); -ENOENT for another socket.
pub export fn rd_tcp_local_port(fd: i32, listening: u32) i32 {
    if (listening > 1) return errno(error.INVAL);
    const port = tcp_port.of(fd, if (listening == 1) .listener else .connection) catch |e| return errno(e);
    return port;
}

/// Both ends of `fd` as two address records (local, then remote: 40
/// bytes at `out`) when it is a connected TCP socket; 0, or -ENOENT for
/// another socket.
pub export fn rd_tcp_ends(fd: i32, out: ?[*]u8) i32 {
    const recs = (out orelse return errno(error.INVAL))[0 .. 2 * inet.addr_size];
    const e = tcp_port.ends(fd) catch |err| return errno(err);
    e.local.encode(recs[0..inet.addr_size]);
    e.remote.encode(recs[inet.addr_size..][0..inet.addr_size]);
    return 0;
}

// Connection arrivals (arrivals.zig).

/// Watches the listeners whose descriptors are the `len / 4` i32 at
/// `fds`; returns the watch's handle.
fn arrivalsOpen(fds: ?[*]u8, len: u32) Error!i32 {
    if (len % @sizeOf(i32) != 0) return error.INVAL;
    return arrivals.open(try recordsAt(i32, fds, len));
}

pub export fn rd_arrivals_open(fds: ?[*]u8, len: u32) i32 {
    return arrivalsOpen(fds, len) catch |e| errno(e);
}

/// 1 when connections arrived since the last call, else 0; or -errno.
pub export fn rd_arrivals_take(handle: i32) i32 {
    const any = arrivals.take(handle) catch |e| return errno(e);
    return @intFromBool(any);
}

pub export fn rd_arrivals_close(handle: i32) i32 {
    return status(arrivals.close(handle));
}

// The monotonic clock (clock.zig), for timing requests.

pub export fn rd_monotonic_ms() f64 {
    return clock.monotonicMs();
}

// Half-open connections per listen address (syn_recv.zig): one u32 per
// queried addr20 record (error.NOSPC when `out` has no room for them all);
// the result is their number.

pub export fn rd_tcp_syn_recv(fd: i32, query: ?[*]const u8, query_len: u32, out: ?[*]u8, out_cap: u32, scratch: ?[*]u8, scratch_len: u32) i32 {
    return count(tcpSynRecv(fd, query, query_len, out, out_cap, scratch, scratch_len));
}

fn tcpSynRecv(fd: i32, query: ?[*]const u8, query_len: u32, out: ?[*]u8, out_cap: u32, scratch: ?[*]u8, scratch_len: u32) Error!usize {
    return perAddress(syn_recv.count, fd, query, query_len, out, out_cap, scratch, scratch_len);
}

// The accept queue alone per listen address (listen_queue.zig): as
// rd_tcp_syn_recv, one u32 per queried addr20 record.

pub export fn rd_tcp_listen_queued(fd: i32, query: ?[*]const u8, query_len: u32, out: ?[*]u8, out_cap: u32, scratch: ?[*]u8, scratch_len: u32) i32 {
    return count(perAddress(listen_queue.queued, fd, query, query_len, out, out_cap, scratch, scratch_len));
}

/// A query of addr20 records answered with one u32 each by `f`.
fn perAddress(f: fn (i32, []const u8, []u32, []u8) Error!void, fd: i32, query: ?[*]const u8, query_len: u32, out: ?[*]u8, out_cap: u32, scratch: ?[*]u8, scratch_len: u32) Error!usize {
    if (query_len % inet.addr_size != 0) return error.INVAL;
    const q = try constBytes(query, query_len);
    const n = q.len / inet.addr_size;
    const o = try recordsAt(u32, out, out_cap);
    if (o.len < n) return error.NOSPC;
    try f(fd, q, o[0..n], try scratchOf(scratch, scratch_len));
    return n;
}

/// The layout of every record in records.zig, and of the 20-byte address
/// record, as text: a line "Name size" per record and "Name.field offset"
/// per field. Written to `out` as far as it fits; returns its length.
/// Only the test that keeps src/native/records.ts in step reads it.
pub export fn rd_abi_layout(out: ?[*]u8, out_cap: u32) i32 {
    const o = bytes(out, out_cap) catch |e| return errno(e);
    const n = @min(o.len, layout.len);
    @memcpy(o[0..n], layout[0..n]);
    return layout.len;
}

const layout: []const u8 = blk: {
    @setEvalBranchQuota(10_000);
    var text: []const u8 = std.fmt.comptimePrint("Addr {d}\n", .{inet.addr_size});
    for (@typeInfo(records).@"struct".decls) |decl| {
        const T = @field(records, decl.name);
        text = text ++ std.fmt.comptimePrint("{s} {d}\n", .{ decl.name, @sizeOf(T) });
        for (@typeInfo(T).@"struct".fields) |f| {
            text = text ++ std.fmt.comptimePrint("{s}.{s} {d}\n", .{ decl.name, f.name, @offsetOf(T, f.name) });
        }
    }
    break :blk text;
};

const testing = std.testing;

test "argument checks: null pointers, lengths, scratch, alignment" {
    var m: records.Mapping = undefined;
    const page = std.heap.pageSize();
    try testing.expectEqual(errno(error.INVAL), rd_map(null, page, 0, &m));
    try testing.expectEqual(errno(error.INVAL), rd_map("/tmp/x", page, 0, null));
    try testing.expectEqual(errno(error.INVAL), rd_unmap(0));
    try testing.expectEqual(errno(error.INVAL), rd_private_dir("/tmp", null, 8));
    try testing.expectEqual(errno(error.INVAL), rd_private_temp_dir("/tmp", null, 8));
    try testing.expectEqual(errno(error.INVAL), rd_file_owner("/tmp", null));
    try testing.expectEqual(@as(f64, @floatFromInt(errno(error.INVAL))), rd_thread_start(-1));
    try testing.expectEqual(errno(error.INVAL), rd_env_has(null));
    try testing.expectEqual(@as(i32, 1), rd_env_has("PATH"));

    var scratch: [netlink.min_scratch]u8 = undefined;
    var out: [64]u8 align(8) = undefined;
    var q: [40]u8 = [_]u8{0} ** 40;
    const fd = try netlink.open();
    defer netlink.close(fd) catch {};
    try testing.expectEqual(errno(error.INVAL), rd_tcp_listener_stats(fd, &q, 21, &out, 64, &scratch, scratch.len));
    try testing.expectEqual(errno(error.INVAL), rd_tcp_listener_stats(fd, &q, 20, &out, 64, &scratch, scratch.len)); // family 0
    try testing.expectEqual(errno(error.INVAL), rd_tcp_listener_stats(fd, &q, 0, &out, 64, &scratch, 1000));
    try testing.expectEqual(errno(error.INVAL), rd_tcp_listener_stats(fd, null, 20, &out, 64, &scratch, scratch.len));
    try testing.expectEqual(errno(error.INVAL), rd_tcp_listener_stats(fd, &q, 0, null, 64, &scratch, scratch.len));
    q[0] = 4;
    q[20] = 6;
    try testing.expectEqual(errno(error.NOSPC), rd_tcp_listener_stats(fd, &q, 40, &out, 31, &scratch, scratch.len));
    try testing.expectEqual(errno(error.INVAL), rd_tcp_listener_stats(fd, &q, 40, out[1..].ptr, 32, &scratch, scratch.len));
    try testing.expectEqual(errno(error.BADF), rd_tcp_listener_stats(-1, &q, 40, &out, 64, &scratch, scratch.len));
    try testing.expectEqual(errno(error.NOSPC), rd_unix_listener_stats(fd, "/a\x00@b", 5, &out, 31, &scratch, scratch.len));
    try testing.expectEqual(errno(error.INVAL), rd_unix_listener_stats(fd, "a\x00\x00b", 4, &out, out.len, &scratch, scratch.len));
    try testing.expectEqual(errno(error.INVAL), rd_unix_listener_stats(fd, null, 4, &out, out.len, &scratch, scratch.len));
    try testing.expectEqual(errno(error.INVAL), rd_tcp_info_by_addr(fd, null, &q, &out, out.len, &scratch, scratch.len));
    try testing.expectEqual(errno(error.INVAL), rd_tcp_info_by_remote(fd, &q, 70000, &out, null, &out, out.len, &scratch, scratch.len));
    try testing.expectEqual(errno(error.INVAL), rd_socket_fds(null, 8));
    try testing.expectEqual(errno(error.INVAL), rd_tcp_local_port(0, 2));
    try testing.expectEqual(errno(error.INVAL), rd_tcp_ends(0, null));
    var fds = [_]i32{ 0, 0 };
    try testing.expectEqual(errno(error.INVAL), rd_arrivals_open(@ptrCast(&fds), 6));
    try testing.expectEqual(errno(error.INVAL), rd_arrivals_open(@as([*]u8, @ptrCast(&fds)) + 1, 4));
    try testing.expectEqual(errno(error.INVAL), rd_arrivals_open(null, 0));
    try testing.expectEqual(errno(error.BADF), rd_arrivals_take(-1));
}

test "errors cross as negative errno numbers" {
    try testing.expectEqual(@as(i32, -2), errno(error.NOENT));
    try testing.expectEqual(@as(i32, -28), errno(error.NOSPC));
    try testing.expectEqual(@as(i32, 0), status({}));
    try testing.expectEqual(@as(i32, max_i32), count(@as(usize, 1) << 40));
}

test "the layout names every record with its size and field offsets" {
    var buf: [1024]u8 = undefined;
    const n: usize = @intCast(rd_abi_layout(&buf, buf.len));
    const text = buf[0..n];
    try testing.expect(std.mem.indexOf(u8, text, "ListenerFigures 16\n") != null);
    try testing.expect(std.mem.indexOf(u8, text, "TcpListener.active 20\n") != null);
    try testing.expect(std.mem.indexOf(u8, text, "Addr 20\n") != null);
    try testing.expectEqual(@as(i32, @intCast(n)), rd_abi_layout(null, 0));
}
