//! libraindrops: the native half of raindrops. Every exported symbol uses the
//! C ABI and reports failure as a negative errno, never by crashing; the
//! TypeScript symbol table in src/native/symbols.ts mirrors these exports.
comptime {
    _ = @import("shm.zig");
    _ = @import("netlink.zig");
    _ = @import("inet_diag.zig");
    _ = @import("tcp_listeners.zig");
    _ = @import("unix_diag.zig");
    _ = @import("tcp_info.zig");
}

test {
    _ = @import("shm.zig");
    _ = @import("netlink.zig");
    _ = @import("inet_diag.zig");
    _ = @import("tcp_listeners.zig");
    _ = @import("unix_diag.zig");
    _ = @import("tcp_info.zig");
}
