//! The monotonic clock in milliseconds as a double: one vDSO call, no
//! allocation, so JS can time every request for less than its runtime's
//! own `performance.now()` costs (measured in bench/middleware.bench.ts).
const std = @import("std");

/// CLOCK_MONOTONIC in ms (exact to the ns for 104 days of uptime); 0 if
/// the clock cannot be read (never on Linux).
pub fn monotonicMs() f64 {
    const t = std.posix.clock_gettime(.MONOTONIC) catch return 0;
    return @as(f64, @floatFromInt(t.sec)) * 1e3 + @as(f64, @floatFromInt(t.nsec)) / 1e6;
}

test "the monotonic clock never goes back and moves with time" {
    const a = monotonicMs();
    std.Thread.sleep(2 * std.time.ns_per_ms);
    const b = monotonicMs();
    try std.testing.expect(a > 0 and b - a >= 2 and b - a < 1000);
}
