/**
 * The raindrops Hono middleware for `app.use`.
 *
 * @module
 */
import type { Context, MiddlewareHandler } from "hono";
import { type RaindropsCore, raindropsCore } from "./_core.ts";
import type { RaindropsMiddlewareOptions } from "./options.ts";
import { isMountedPath } from "./_request_path.ts";

/**
 * Hono middleware reporting, from any worker, how many requests all
 * workers are running (`calling`) and writing (`writing`), plus listen
 * queues, at `/_raindrops`; see {@link RaindropsMiddlewareOptions}.
 *
 * `calling` rises before the rest of the app runs and falls when it returns
 * or throws; `writing` rises when the response leaves the app and falls
 * once, when its body has been sent, has failed, or was abandoned by the
 * client, for the bodies whose end the server lets JS see (per server:
 * `bodyTracking`; on Bun only with `bodyTracking: "wrap"`), so it never
 * exceeds the responses still going out. The counts live in
 * a shared file with a slot per worker thread, summed over live workers, so
 * a killed worker's requests stop counting.
 *
 * The endpoint answers in the gem's text by default, in JSON for
 * `?format=json` or `Accept: application/json`, and in Prometheus text for
 * `?format=prometheus` or a Prometheus `Accept`; only loopback clients may
 * read it unless `allow` says otherwise (others get 403). Under
 * `basePath("/api")`, `app.route("/api", sub)` or `app.use("/api/*", ...)`
 * the stats path is under the mount: `/api/_raindrops`.
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import { raindrops } from "raindrops/hono";
 * // deno serve --parallel, or Bun workers with reusePort
 * export default new Hono().use(raindrops()).get("/", (c) => c.text("hi"));
 * ```
 */
export function raindrops(options: RaindropsMiddlewareOptions<Context> = {}): MiddlewareHandler {
  const core: RaindropsCore<Context> = raindropsCore(options);
  const routes = core.routes;
  function leave(c: Context, start: number): void {
    const res = core.leave(c.env, c.req.raw, c.res, start, routes ? c.req.routePath : undefined);
    if (res !== c.res) {
      c.res = undefined; // so Hono's setter does not copy headers onto a second Response
      c.res = res;
    }
  }
  return function raindrops(c, next) {
    const path = c.req.path;
    // Under basePath("/api") or app.route("/api", sub) the stats path is /api/_raindrops
    // (Hono's routePath is read only for a path that ends so).
    if (
      core.isStats(c.req.raw, path) || (path.endsWith(core.path) && isMountedPath(path, c.req.routePath, core.path))
    ) return core.stats(c);
    const start = core.enter(c.req.raw);
    let pending: Promise<void>;
    try {
      pending = next();
    } catch (e) {
      core.fail(e, c.req.raw, start, routes ? c.req.routePath : undefined);
    }
    return pending.then(
      () => leave(c, start),
      (e) => core.fail(e, c.req.raw, start, routes ? c.req.routePath : undefined),
    );
  };
}
