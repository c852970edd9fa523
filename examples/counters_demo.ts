/**
 * Shared counters across runtimes: two Deno and two Bun processes update
 * one Struct in /dev/shm while this process prints it live.
 * Run: node_modules/.bin/deno run -A examples/counters_demo.ts [seconds]
 */
import { spawn } from "node:child_process";
import { rmSync } from "node:fs";
import { Struct } from "../mod.ts";

const seconds = Number(Deno.args[0] ?? 5);
const path = `/dev/shm/raindrops-demo-${Deno.pid}`;
const Stats = Struct(["requests", "in_flight", "deno", "bun"]);
using stats = new Stats([], { path, zero: true });
const bin = (name: string) => new URL(`../node_modules/.bin/${name}`, import.meta.url).pathname;
const worker = new URL("./counters_worker.ts", import.meta.url).pathname;
const children = [
  spawn(bin("deno"), ["run", "-A", worker, path, String(seconds)], { stdio: "inherit" }),
  spawn(bin("deno"), ["run", "-A", worker, path, String(seconds)], { stdio: "inherit" }),
  spawn(bin("bun"), [worker, path, String(seconds)], { stdio: "inherit" }),
  spawn(bin("bun"), [worker, path, String(seconds)], { stdio: "inherit" }),
];
const done = Promise.all(children.map((c) => new Promise((r) => c.on("close", r))));
console.log(`4 workers (2 Deno, 2 Bun) share ${path} for ${seconds}s`);
const timer = setInterval(() => {
  const s = stats.toObject();
  console.log(`requests ${String(s.requests).padStart(6)}  in_flight ${s.in_flight}  deno ${s.deno}  bun ${s.bun}`);
}, 500);
await done;
clearInterval(timer);
const s = stats.toObject();
console.log(`final: requests ${s.requests} = deno ${s.deno} + bun ${s.bun}; in_flight ${s.in_flight}`);
rmSync(path, { force: true });
