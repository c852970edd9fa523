//! libraindrops: the native half of raindrops. Every exported symbol uses the
//! C ABI and reports failure as a negative errno, never by crashing; the
//! TypeScript symbol table in src/native/symbols.ts mirrors these exports.
comptime {
    _ = @import("shm.zig");
}

test {
    _ = @import("shm.zig");
}
