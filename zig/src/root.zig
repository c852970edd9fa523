//! libraindrops: the native half of raindrops. Every exported symbol uses the
//! C ABI and reports failure as a negative errno, never by crashing; the
//! TypeScript symbol table in src/native/symbols.ts mirrors these exports.
//! Referencing each module here both exports its functions and, in
//! `zig build test`, collects its tests.
comptime {
    _ = @import("sys.zig");
    _ = @import("shm.zig");
    _ = @import("mappings.zig");
    _ = @import("thread.zig");
    _ = @import("netlink.zig");
    _ = @import("inet_diag.zig");
    _ = @import("tcp_listeners.zig");
    _ = @import("unix_diag.zig");
    _ = @import("tcp_info.zig");
}
