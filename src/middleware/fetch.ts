/**
 * The raindrops middleware around a whole fetch handler (`app.fetch`),
 * outside Hono's router. An `app.use` middleware moves every route off
 * Hono's single-handler fast path (a middleware that only calls `next()`
 * measures 0.87–0.90 of a bare app's requests/s); wrapping the handler
 * instead keeps that path, and keeps a synchronous response synchronous.
 *
 * @module
 */
import type { Context } from "hono";
import { type RaindropsCore, raindropsCore, type RaindropsMiddlewareOptions } from "./index.ts";

/** A fetch handler as servers call it: Hono's `app.fetch`, or any other. */
// deno-lint-ignore no-explicit-any
export type FetchHandler = (request: Request, env?: any) => Response | Promise<Response>;

/**
 * The path of a request URL without parsing the whole URL, percent-decoded
 * as Hono decodes `c.req.path` (so both entry points see the same path).
 */
function pathOf(url: string): string {
  const start = url.indexOf("/", url.indexOf("//") + 2);
  if (start < 0) return "/";
  const query = url.indexOf("?", start);
  const path = query < 0 ? url.slice(start) : url.slice(start, query);
  if (!path.includes("%")) return path;
  try {
    return decodeURI(path);
  } catch {
    return path; // malformed escapes: as Hono, keep the raw path
  }
}

/**
 * The parts of a Hono `Context` the core reads, for a request outside
 * Hono's router; one object per request (`c.req` is the object itself).
 */
class RequestContext {
  res: Response | undefined = undefined;
  // deno-lint-ignore no-explicit-any
  constructor(readonly raw: Request, readonly env: any, readonly path: string) {}
  get req(): this {
    return this;
  }
  query(name: string): string | undefined {
    return new URL(this.raw.url).searchParams.get(name) ?? undefined;
  }
  header(name: string): string | undefined {
    return this.raw.headers.get(name) ?? undefined;
  }
}

/**
 * Wraps a fetch handler with raindrops: the same counts, stats path,
 * formats, access rules and options as the `raindrops()` middleware, without
 * costing the app Hono's middleware dispatch.
 *
 * @example
 * ```ts
 * const app = new Hono().get("/", (c) => c.text("hi"));
 * Deno.serve(withRaindrops(app.fetch));            // or
 * Bun.serve({ fetch: withRaindrops(app.fetch) });
 * ```
 */
export function withRaindrops(fetch: FetchHandler, options: RaindropsMiddlewareOptions = {}): FetchHandler {
  if (typeof fetch !== "function") throw new TypeError("fetch must be a function");
  const core: RaindropsCore = raindropsCore(options);
  // deno-lint-ignore no-explicit-any
  return function raindropsFetch(request: Request, env?: any): Response | Promise<Response> {
    const path = pathOf(request.url);
    const c = new RequestContext(request, env, path) as unknown as Context & { res: Response };
    if (path === core.path) return core.stats(c);
    core.enter(c);
    let res: Response | Promise<Response>;
    try {
      res = fetch(request, env);
    } catch (e) {
      core.fail(e);
    }
    if (typeof (res as PromiseLike<Response>)?.then === "function") {
      return Promise.resolve(res).then((r) => {
        c.res = r;
        core.leave(c);
        return c.res;
      }, core.fail);
    }
    c.res = res as Response;
    core.leave(c);
    return c.res;
  };
}
