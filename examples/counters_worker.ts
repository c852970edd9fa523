// One worker of examples/counters_demo.ts: opens the shared Struct by path
// and counts simulated requests for `seconds`, at a jittered pace.
import { Struct } from "../mod.ts";

// deno-lint-ignore no-explicit-any
const g = globalThis as any;
const [path, seconds] = g.Deno ? g.Deno.args : g.process.argv.slice(2);
const Stats = Struct(["requests", "in_flight", "deno", "bun"]);
using stats = new Stats([], { path });
const me = g.Bun ? "bun" : "deno";
const end = Date.now() + Number(seconds) * 1000;
while (Date.now() < end) {
  stats.incr("in_flight");
  await new Promise((r) => setTimeout(r, Math.random() * 20));
  stats.incr("requests");
  stats.incr(me);
  stats.decr("in_flight");
}
