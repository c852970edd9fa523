//! Builds libraindrops.so (the C ABI used by the TypeScript layer) and runs
//! the Zig unit tests with `zig build test`.
const std = @import("std");

pub fn build(b: *std.Build) void {
    const target = b.standardTargetOptions(.{});
    const optimize = b.standardOptimizeOption(.{ .preferred_optimize_mode = .ReleaseFast });
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
