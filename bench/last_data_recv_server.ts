/**
 * The server bench/last_data_recv.bench.ts measures: a Hono app answering
 * "ok" on `/`, served on port 0 with the runtime's own server and
 * `fetch: app.fetch`, as an app would be. MODE picks what runs per request:
 * `empty` (nothing but the handler), `noop` (a middleware that only calls
 * next()), `ldr` (LastDataRecv, every request) or `ldr16` (LastDataRecv
 * with `sample: 16`). `/_ldr` answers the
 * recorded count and misses. Prints `ready PORT` once listening.
 */
import process from "node:process";
import { Hono } from "hono";
import { LastDataRecv } from "../src/last_data_recv/last_data_recv.ts";

const mode = process.env.MODE ?? "empty";
const app = new Hono();
const ldr = new LastDataRecv({ sample: mode === "ldr16" ? 16 : 1 });
if (mode === "noop") app.use(async (_c, next) => await next());
if (mode.startsWith("ldr")) app.use(ldr.middleware);
app.get("/", (c) => c.text("ok"));
app.get("/_ldr", (c) => c.json({ count: ldr.aggregate.count, missed: ldr.missed, error: String(ldr.lastError) }));

// deno-lint-ignore no-explicit-any
const g = globalThis as any;
if (g.Bun) {
  const server = g.Bun.serve({ port: 0, fetch: app.fetch });
  console.log(`ready ${server.port}`);
} else {
  g.Deno.serve({ port: 0, onListen: ({ port }: { port: number }) => console.log(`ready ${port}`) }, app.fetch);
}
