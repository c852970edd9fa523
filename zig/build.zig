//! Builds libraindrops.so (the C ABI used by the TypeScript layer) and runs
//! the Zig unit tests with `zig build test`. Releases are ReleaseSafe
//! (`--release=safe`): bounds, null and overflow checks stay on, since the
//! hot paths are JavaScript and a native call costs the same either way.
const std = @import("std");

pub fn build(b: *std.Build) void {
    const target = b.standardTargetOptions(.{});
    const optimize = b.standardOptimizeOption(.{});
    const strip = b.option(bool, "strip", "Leave debug information out of the library (for packages)");

    const root_module = b.createModule(.{
        .root_source_file = b.path("src/root.zig"),
        .target = target,
        .optimize = optimize,
        .strip = strip,
    });
    const lib = b.addLibrary(.{ .linkage = .dynamic, .name = "raindrops", .root_module = root_module });
    b.installArtifact(lib);

    const tests = b.addTest(.{ .root_module = root_module });
    const run_tests = b.addRunArtifact(tests);
    const test_step = b.step("test", "Run the Zig unit tests");
    test_step.dependOn(&run_tests.step);
}
