/**
 * The raindrops middleware around a whole fetch handler (`app.fetch`),
 * outside Hono's router. An `app.use` middleware moves every route off
 * Hono's single-handler fast path; wrapping the handler instead keeps that
 * path, and keeps a synchronous response synchronous.
 *
 * @module
 */
import { type RaindropsCore, raindropsCore } from "./_core.ts";
import type { RaindropsMiddlewareOptions } from "./options.ts";
import { type RequestView, requestView } from "../server/request_view.ts";

/** A fetch handler as servers call it: Hono's `app.fetch`, or any other. */
// deno-lint-ignore no-explicit-any
export type FetchHandler = (request: Request, env?: any) => Response | Promise<Response>;

/**
 * Wraps a fetch handler with raindrops: the same counts, stats path,
 * formats, access rules and options as the `raindrops()` middleware, without
 * costing the app Hono's middleware dispatch. The `allow` and
 * `connection` callbacks get a {@link RequestView}.
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import { withRaindrops } from "raindrops/hono";
 * const app = new Hono().get("/", (c) => c.text("hi"));
 * Deno.serve(withRaindrops(app.fetch)); // or Bun.serve({ fetch: withRaindrops(app.fetch) })
 * ```
 */
export function withRaindrops(
  fetch: FetchHandler,
  options: RaindropsMiddlewareOptions<RequestView> = {},
): FetchHandler {
  if (typeof fetch !== "function") throw new TypeError("fetch must be a function");
  const duration = options?.requestDuration;
  if (typeof duration === "object" && duration !== null && duration.route === true) {
    // Only a router knows the matched pattern; a wrapped fetch handler sees the URL alone.
    throw new TypeError(
      "requestDuration.route needs the route the router matched, which withRaindrops does not see: " +
        "use app.use(raindrops({ requestDuration: { route: true } })), or drop route",
    );
  }
  const core: RaindropsCore<RequestView> = raindropsCore(options);
  // deno-lint-ignore no-explicit-any
  return function raindropsFetch(request: Request, env?: any): Response | Promise<Response> {
    if (core.isStats(request)) return core.stats(requestView(request, env));
    const start = core.enter(request);
    let res: Response | Promise<Response>;
    try {
      res = fetch(request, env);
    } catch (e) {
      core.fail(e, request, start);
    }
    if (typeof (res as PromiseLike<Response>)?.then === "function") {
      return Promise.resolve(res).then((r) => core.leave(env, request, r, start), (e) => core.fail(e, request, start));
    }
    return core.leave(env, request, res as Response, start);
  };
}
