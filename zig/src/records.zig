//! The records libraindrops writes for its callers, as `extern struct`s:
//! one definition each, their sizes fixed here at compile time, and their
//! layouts exported (abi.zig's rd_abi_layout) so the TypeScript side's one
//! copy of them is checked against this one. Counts are native-endian u32.
const std = @import("std");

/// A file mapping: where it is and which inode it maps, so that growing it
/// later can refuse a file replaced in between.
pub const Mapping = extern struct {
    addr: u64,
    dev: u64,
    ino: u64,
};

/// One listener's figures, answering one queried address or unix name:
/// accepted connections still open, connections waiting in the accept
/// queues, the queues' limits, and the listening sockets (several with
/// SO_REUSEPORT; 0 when nothing listens there).
pub const ListenerFigures = extern struct {
    active: u32 = 0,
    queued: u32 = 0,
    backlog: u32 = 0,
    listeners: u32 = 0,
};

/// One listening TCP address of the all-listeners answer (SO_REUSEPORT
/// listeners merged): its addr20 record and its figures.
pub const TcpListener = extern struct {
    addr: [20]u8,
    active: u32 = 0,
    queued: u32 = 0,
    backlog: u32 = 0,
};

/// One listening unix name of the all-listeners answer; `name_len` bytes of
/// name follow it ('@' first for an abstract name), zero-padded to a
/// multiple of 4.
pub const UnixListener = extern struct {
    active: u32 = 0,
    queued: u32 = 0,
    backlog: u32 = 0,
    name_len: u32 = 0,
};

/// One socket descriptor of this process and its inode (truncated to 32
/// bits, as sock_diag reports inodes).
pub const SocketFd = extern struct {
    fd: u32,
    inode: u32,
};

comptime {
    std.debug.assert(@sizeOf(Mapping) == 24);
    std.debug.assert(@sizeOf(ListenerFigures) == 16);
    std.debug.assert(@sizeOf(TcpListener) == 32);
    std.debug.assert(@sizeOf(UnixListener) == 16);
    std.debug.assert(@sizeOf(SocketFd) == 8);
}
