/**
 * The counting around an application and the stats endpoint, shared by the
 * `raindrops()` middleware and `withRaindrops()`: both hand it a small view
 * of the request ({@link RequestView}) and the response the app returned.
 *
 * @module
 */
import { CALLING, countersFrom } from "./counters.ts";
import { type RaindropsMiddlewareOptions, settingsFrom } from "./options.ts";
import { requestPath, type RequestView } from "./request.ts";
import { statsEndpoint } from "./stats_endpoint.ts";
import { WritingTracker } from "./writing.ts";

/** The counting and the stats endpoint, shared by the middleware and `withRaindrops`. */
export interface RaindropsCore<C extends RequestView> {
  /** The stats path. */
  readonly path: string;
  /** True when `c` asks for the stats path; `path` is the request's path as the router saw it, if any. */
  isStats(c: C, path?: string): boolean;
  /** Answers the stats path. */
  stats(c: C): Promise<Response>;
  /** A request enters the app. */
  enter(c: C): void;
  /** The app returned `res` for `c`: counts it as writing; returns the response to send (maybe re-streamed). */
  leave(c: C, res: Response): Response;
  /** The app threw `e`: rethrows it. */
  fail(e: unknown): never;
}

/** Builds the counting core from the options (checked here). */
export function raindropsCore<C extends RequestView>(options: RaindropsMiddlewareOptions<C> = {}): RaindropsCore<C> {
  const settings = settingsFrom(options);
  const counters = countersFrom(options);
  const writing = new WritingTracker(counters, settings.bodyTracking);
  const answer = statsEndpoint(settings, counters, () => writing.refresh());
  const statsPath = settings.path;

  function fail(e: unknown): never {
    counters.decr(CALLING);
    writing.leave();
    throw e;
  }

  return {
    path: statsPath,
    isStats(c: C, path?: string): boolean {
      if (path === statsPath) return true;
      // Without a Host header a server may hand a relative URL, which routers misread.
      const url = c.req.raw.url;
      return (path === undefined || url.charCodeAt(0) === 0x2f) && requestPath(url) === statsPath;
    },
    stats(c: C): Promise<Response> {
      writing.enter(c.env);
      return answer(c).finally(() => writing.leave());
    },
    enter(c: C): void {
      counters.incr(CALLING);
      writing.enter(c.env);
    },
    leave(c: C, res: Response): Response {
      counters.decr(CALLING);
      writing.leave();
      return writing.track(c.env, c.req.raw.method, res);
    },
    fail,
  };
}
