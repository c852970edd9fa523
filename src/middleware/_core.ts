/**
 * The counting around an application and the stats endpoint, shared by the
 * `raindrops()` middleware and `withRaindrops()`: both hand it the request
 * and the server's `env` (and, for the stats endpoint, a small view of the
 * request: {@link RequestView}), and the response the app returned. The
 * counting path takes no view, so `withRaindrops` allocates nothing per
 * request.
 *
 * @module
 */
import { CALLING, countersFrom, FINISHED, registryOf } from "./counters.ts";
import { RequestMetrics } from "./_request_metrics.ts";
import { monotonicMs } from "../monotonic_clock.ts";
import { requestListener } from "../server/connection.ts";
import { requestView } from "../server/request_view.ts";
import { type RaindropsMiddlewareOptions, settingsFrom } from "./options.ts";
import { hasPath } from "./_request_path.ts";
import type { RequestView } from "../server/request_view.ts";
import { statsEndpoint } from "./_stats_endpoint.ts";
import { WritingTracker } from "./_writing.ts";

/** The counting and the stats endpoint, shared by the middleware and `withRaindrops`. */
export interface RaindropsCore<C extends RequestView> {
  /** The stats path. */
  readonly path: string;
  /** True when `request` asks for the stats path; `path` is the request's path as the router saw it, if any. */
  isStats(request: Request, path?: string): boolean;
  /** Answers the stats path. */
  stats(c: C): Promise<Response>;
  /** Whether `leave` wants the matched route pattern. */
  readonly routes: boolean;
  /** `request` enters the app; returns the time it did (monotonicMs()). */
  enter(request: Request): number;
  /**
   * The app returned `res` for `request`, which entered at `start` (and
   * matched `route`, when the router tells): counts it as writing; returns
   * the response to send (maybe re-streamed).
   */
  leave(env: unknown, request: Request, res: Response, start: number, route?: string): Response;
  /** The app threw `e` for `request`, which entered at `start` (and matched `route`, when the router tells): rethrows it. */
  fail(e: unknown, request: Request, start: number, route?: string): never;
}

/** Builds the counting core from the options (checked here). */
export function raindropsCore<C extends RequestView>(options: RaindropsMiddlewareOptions<C> = {}): RaindropsCore<C> {
  const settings = settingsFrom(options);
  const counters = countersFrom(options);
  const writing = new WritingTracker(counters, settings.bodyTracking);
  const metrics = new RequestMetrics(
    registryOf(counters),
    settings.requestMetrics,
    settings.listeners,
    settings.listenStats,
  );
  const answer = statsEndpoint(settings, counters, metrics.registry);
  const statsPath = settings.path;
  // The tails of the stats path from each of its slashes: what a misread relative URL can leave of it.
  const tails: string[] = [];
  for (let i = statsPath.indexOf("/"); i >= 0; i = statsPath.indexOf("/", i + 1)) tails.push(statsPath.slice(i));
  const isTail = (path: string): boolean => {
    for (let i = 0; i < tails.length; i++) if (tails[i] === path) return true;
    return false;
  };

  // Clock reads cost more than the rest of the metrics together: taken only when something is timed.
  const timed = metrics.timed, tracked = metrics.tracked;
  // Only the calling peak (the default): no clock, no request fields read.
  const untimed = tracked && !timed && !settings.requestMetrics.queueWait;

  function fail(e: unknown, request: Request, start: number, route?: string): never {
    counters.decr(CALLING);
    counters.incr(FINISHED);
    if (untimed) metrics.leaveUntimed();
    else if (tracked) metrics.leave(start, timed ? monotonicMs() : 0, request.method, 0, route);
    throw e;
  }

  /** For `listeners: "auto"`, the listener of a request's server, found once (a kernel lookup). */
  let needListener = metrics.wantsListener;
  function learnListener(env: unknown, request: Request): void {
    needListener = false;
    try {
      const own = requestListener(requestView(request, env));
      metrics.listeners = own ? [own] : [];
    } catch {
      metrics.listeners = []; // no connection info (app.request, a unix socket): no `queued` peak
    }
  }

  return {
    path: statsPath,
    isStats(request: Request, path?: string): boolean {
      if (path === statsPath) return true;
      // Without a Host header a server may hand a relative URL (Bun does), which a router misreads
      // as an empty path, one character, or the tail of the path from a later slash: only a path
      // of that look can hide the stats path, so only then is the URL read (reading it costs).
      if (path !== undefined && path.charCodeAt(0) === 0x2f && !isTail(path)) return false;
      const url = request.url;
      return (path === undefined || url.charCodeAt(0) === 0x2f) && hasPath(url, statsPath);
    },
    stats: answer,
    routes: settings.requestMetrics.duration !== false && settings.requestMetrics.duration.route,
    enter(request: Request): number {
      counters.incr(CALLING);
      if (untimed) {
        metrics.enterUntimed();
        return 0;
      }
      if (!tracked) return 0;
      const now = timed ? monotonicMs() : 0;
      metrics.enter(now, request);
      return now;
    },
    leave(env: unknown, request: Request, res: Response, start: number, route?: string): Response {
      counters.decr(CALLING);
      counters.incr(FINISHED);
      // A handler result that is no Response counts as 5xx (status 0) before track() refuses it.
      if (untimed) metrics.leaveUntimed();
      else if (tracked) {
        const now = timed ? monotonicMs() : 0;
        metrics.leave(start, now, request.method, (res as Response | undefined)?.status ?? 0, route);
      }
      if (needListener) learnListener(env, request);
      return writing.track(env, request, res);
    },
    fail,
  };
}
