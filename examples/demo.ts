/**
 * `make demo`: the live demo. For now, shared counters across Deno and Bun
 * processes (examples/counters_demo.ts); the server demo builds on it.
 */
await import("./counters_demo.ts");
