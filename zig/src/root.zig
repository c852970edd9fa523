//! libraindrops: the native half of raindrops. abi.zig holds every
//! exported symbol (C ABI; failure is a negative errno, never a crash) and
//! the argument checks; the modules below it take slices and return Zig
//! errors. The TypeScript symbol table in src/native/symbols.ts mirrors the
//! exports, src/native/records.ts the records of records.zig.
comptime {
    _ = @import("abi.zig");
}

test {
    _ = @import("sys.zig");
    _ = @import("records.zig");
    _ = @import("shm.zig");
    _ = @import("mappings.zig");
    _ = @import("thread.zig");
    _ = @import("environ.zig");
    _ = @import("netlink.zig");
    _ = @import("inet_diag.zig");
    _ = @import("tcp_listeners.zig");
    _ = @import("unix_diag.zig");
    _ = @import("tcp_info.zig");
    _ = @import("socket_fds.zig");
    _ = @import("tcp_port.zig");
    _ = @import("arrivals.zig");
    _ = @import("address_counts.zig");
    _ = @import("syn_recv.zig");
    _ = @import("clock.zig");
    _ = @import("listen_queue.zig");
}
