//! Connection arrivals at listening sockets this process holds, noticed
//! although the server accepts each connection at once: a server's
//! request handler that sees none since it last asked knows that every
//! connection it serves is one it has seen before.
//!
//! A poll of the listener itself cannot tell: epoll (and poll) report
//! readiness as it is when asked, and by then the server has emptied the
//! accept queue. Each arrival does wake the listener's wait queue, though;
//! a private epoll instance waiting on the listener passes that wake-up on
//! to its own pollers, and an io_uring multishot poll of that epoll
//! instance posts a completion for the wake-up without asking for
//! readiness again. Wake-ups close together may share one completion, so
//! a completion means "one or more arrivals", never a count. The epoll
//! registration holds no reference to the listener (io_uring's poll of the
//! listener would keep it, and its port, open after the server closes it);
//! the kernel drops it when the server's descriptor closes.
//!
//! The completion is posted when the thread that opened the watch next
//! leaves the kernel, which it must do to accept the connection: open a
//! watch on the thread that runs the server. Watches are kept in a small
//! table and named by their index, each with the thread that opened it: a
//! watch whose thread has ended (a terminated Worker, which runs no
//! finalizer) is closed by the next open, and the library stays loaded
//! once a watch was opened, so that the table is never forgotten with
//! descriptors in it.
const std = @import("std");
const linux = std.os.linux;
const sys = @import("sys.zig");
const thread = @import("thread.zig");
const mappings = @import("mappings.zig");

const Error = sys.Error;

/// Watches open at once, per process.
pub const max_watches = 64;
/// Listeners one watch covers (a server listens on one or two sockets).
pub const max_listeners = 8;
/// Completions the ring holds before the kernel ends the multishot poll.
const cq_entries = 64;

const Watch = struct {
    ring: linux.IoUring,
    epoll: i32,
    /// The thread that opened the watch, and when it started (ids are reused).
    owner: i32,
    owner_start: u64,

    fn deinit(self: *Watch) void {
        self.ring.deinit(); // cancels the poll
        _ = linux.close(self.epoll);
    }

    /// Whether the thread that opened the watch has ended.
    fn orphaned(self: *const Watch) bool {
        const start = thread.startTime(self.owner) catch |e| return e == error.NOENT or e == error.SRCH;
        return start != self.owner_start;
    }
};

var lock: std.Thread.Mutex = .{};
var watches: [max_watches]?Watch = @splat(null);

/// Starts watching `listeners` (listening sockets' descriptors) for
/// arrivals; returns the watch's handle. error.INVAL when there are none,
/// more than max_listeners, or one is not a descriptor epoll can watch;
/// error.MFILE when max_watches are open; the kernel's error when io_uring
/// is unavailable (ENOSYS, EPERM). Closes the watches of threads that
/// have ended first.
pub fn open(listeners: []const i32) Error!i32 {
    if (listeners.len == 0 or listeners.len > max_listeners) return error.INVAL;
    const owner = thread.id();
    const owner_start = try thread.startTime(owner);
    mappings.pin();
    lock.lock();
    defer lock.unlock();
    reclaim();
    const slot = for (&watches, 0..) |*w, i| {
        if (w.* == null) break i;
    } else return error.MFILE;
    const epoll: i32 = @intCast(try sys.check(linux.epoll_create1(linux.EPOLL.CLOEXEC)));
    errdefer _ = linux.close(epoll);
    for (listeners) |fd| {
        var ev: linux.epoll_event = .{ .events = linux.EPOLL.IN | linux.EPOLL.ET, .data = .{ .fd = fd } };
        _ = sys.check(linux.epoll_ctl(epoll, linux.EPOLL.CTL_ADD, fd, &ev)) catch |e| return switch (e) {
            error.BADF, error.PERM, error.EXIST => error.INVAL,
            else => e,
        };
    }
    var ring = try ringOf();
    errdefer ring.deinit();
    try arm(&ring, epoll);
    watches[slot] = .{ .ring = ring, .epoll = epoll, .owner = owner, .owner_start = owner_start };
    return @intCast(slot);
}

/// Closes the watches whose thread has ended (under `lock`).
fn reclaim() void {
    for (&watches) |*slot| if (slot.*) |*w| if (w.orphaned()) {
        w.deinit();
        slot.* = null;
    };
}

/// Watches open now, for tests.
pub fn count() usize {
    lock.lock();
    defer lock.unlock();
    var n: usize = 0;
    for (watches) |w| n += @intFromBool(w != null);
    return n;
}

/// Whether one or more connections arrived since the last call (or since
/// the watch opened). Costs no syscall when none did. After a completion
/// that ends the multishot poll (the ring was full) the poll is started
/// again and true returned: arrivals may have gone unreported meanwhile.
pub fn take(handle: i32) Error!bool {
    lock.lock();
    defer lock.unlock();
    const w = try watchOf(handle);
    if (w.ring.cq_ring_needs_flush()) _ = w.ring.enter(0, 0, linux.IORING_ENTER_GETEVENTS) catch return error.IO;
    const ready = w.ring.cq_ready();
    if (ready == 0) return false;
    var armed = true;
    const head = w.ring.cq.head.*;
    for (0..ready) |i| {
        const cqe = w.ring.cq.cqes[(head +% @as(u32, @intCast(i))) & w.ring.cq.mask];
        if (cqe.flags & linux.IORING_CQE_F_MORE == 0) armed = false;
    }
    w.ring.cq_advance(ready);
    if (!armed) try arm(&w.ring, w.epoll);
    return true;
}

/// Stops a watch and frees its descriptors and mappings.
pub fn close(handle: i32) Error!void {
    lock.lock();
    defer lock.unlock();
    const w = try watchOf(handle);
    w.deinit();
    watches[@intCast(handle)] = null;
}

fn watchOf(handle: i32) Error!*Watch {
    if (handle < 0 or handle >= max_watches) return error.BADF;
    return if (watches[@intCast(handle)]) |*w| w else error.BADF;
}

/// A ring with room for one submission and cq_entries completions.
fn ringOf() Error!linux.IoUring {
    var params = std.mem.zeroInit(linux.io_uring_params, .{ .flags = linux.IORING_SETUP_CQSIZE, .cq_entries = cq_entries });
    return linux.IoUring.init_params(1, &params) catch |e| switch (e) {
        error.PermissionDenied => error.PERM,
        error.ProcessFdQuotaExceeded => error.MFILE,
        error.SystemFdQuotaExceeded => error.NFILE,
        error.SystemResources => error.NOMEM,
        else => error.NOSYS,
    };
}

/// Submits the multishot poll of `epoll`.
fn arm(ring: *linux.IoUring, epoll: i32) Error!void {
    const sqe = ring.poll_add(0, epoll, linux.POLL.IN) catch return error.BUSY;
    sqe.len = linux.IORING_POLL_ADD_MULTI;
    _ = ring.submit() catch |e| return switch (e) {
        error.SystemResources => error.AGAIN,
        else => error.IO,
    };
}

const testing = std.testing;
const ts = @import("test_sockets.zig");

test "each arrival is reported once accepted; none without one" {
    const l = try ts.tcpListen(.v4, ts.v4(127, 0, 0, 1), 0, 16, false);
    defer ts.close(l.fd);
    const port = try ts.localPort(l.fd);
    const w = try open(&.{l.fd});
    defer close(w) catch {};
    try testing.expect(!try take(w));

    const c1 = try ts.tcpConnect(.v4, ts.v4(127, 0, 0, 1), port);
    defer ts.close(c1);
    const s1 = try ts.accept(l.fd); // accepted before asked: still reported
    defer ts.close(s1);
    try testing.expect(try take(w));
    try testing.expect(!try take(w));

    var clients: [3]i32 = undefined;
    for (&clients) |*c| c.* = try ts.tcpConnect(.v4, ts.v4(127, 0, 0, 1), port);
    defer for (clients) |c| ts.close(c);
    for (0..clients.len) |_| ts.close(try ts.accept(l.fd));
    try testing.expect(try take(w));
    try testing.expect(!try take(w));
}

test "a closed listener is released: its port can be bound again" {
    const l = try ts.tcpListen(.v4, ts.v4(127, 0, 0, 1), 0, 4, false);
    const port = try ts.localPort(l.fd);
    const w = try open(&.{l.fd});
    defer close(w) catch {};
    ts.close(l.fd);
    const again = try ts.tcpListen(.v4, ts.v4(127, 0, 0, 1), port, 4, false);
    ts.close(again.fd);
}

test "a watch whose thread has ended is closed by the next open" {
    const l = try ts.tcpListen(.v4, ts.v4(127, 0, 0, 1), 0, 4, false);
    defer ts.close(l.fd);
    const before = count();
    const t = try std.Thread.spawn(.{}, struct {
        fn run(fd: i32) void {
            _ = open(&.{fd}) catch unreachable; // never closed: its thread ends
        }
    }.run, .{l.fd});
    t.join();
    try testing.expectEqual(before + 1, count());
    const w = try open(&.{l.fd});
    try testing.expectEqual(before + 1, count());
    try close(w);
    try testing.expectEqual(before, count());
}

test "bad handles and listeners are refused" {
    try testing.expectError(error.INVAL, open(&.{}));
    try testing.expectError(error.INVAL, open(&.{-1}));
    try testing.expectError(error.BADF, take(-1));
    try testing.expectError(error.BADF, take(max_watches));
    try testing.expectError(error.BADF, take(max_watches - 1));
    try testing.expectError(error.BADF, close(max_watches - 1));
}
