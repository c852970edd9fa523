/**
 * The server bench/last_data_recv.bench.ts measures: a Hono app answering
 * "ok" on `/`, served on PORT (default 0: any) with the runtime's own server, as an app
 * would be. MODE picks what runs per request: `empty` (nothing but the
 * handler, `fetch: app.fetch`), `noop` (a middleware that only calls
 * next()), `middleware` (`app.use(ldr.middleware)`), `wrap`
 * (`ldr.wrap(app.fetch)`) or `address` (a wrapper that only reads the
 * client's address from the server: the least any per-connection scheme
 * pays per request). `/_ldr` answers the recorded count and misses. Prints
 * `ready PORT` once listening.
 */
import process from "node:process";
import { Hono } from "hono";
import { connectionOf, type FetchHandler, LastDataRecv } from "../hono.ts";

const mode = process.env.MODE ?? "empty";
const port = Number(process.env.PORT ?? 0);
const app = new Hono();
const ldr = new LastDataRecv();
if (mode === "noop") app.use(async (_c, next) => await next());
if (mode === "middleware") app.use(ldr.middleware);
app.get("/", (c) => c.text("ok"));
app.get("/_ldr", (c) => c.json({ count: ldr.aggregate.count, missed: ldr.missed, error: String(ldr.lastError) }));

// deno-lint-ignore no-explicit-any
const addressOnly: FetchHandler = (req: Request, env?: any) => {
  if (connectionOf({ env, req: { raw: req } }) === undefined) throw new Error("the server tells no client address");
  return app.fetch(req, env);
};
const fetch: FetchHandler = mode === "wrap" ? ldr.wrap(app.fetch) : mode === "address" ? addressOnly : app.fetch;

// deno-lint-ignore no-explicit-any
const g = globalThis as any;
if (g.Bun) {
  const server = g.Bun.serve({ port, fetch });
  console.log(`ready ${server.port}`);
} else {
  g.Deno.serve({ port, onListen: ({ port }: { port: number }) => console.log(`ready ${port}`) }, fetch);
}
