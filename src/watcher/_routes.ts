/**
 * The Watcher's endpoints as a Hono app, each a named handler reading the
 * Watcher's parts: the index and detail pages, the JSON series, the tail
 * and the reset.
 *
 * @module
 */
import { type Context, Hono } from "hono";
import { sameOrigin, sameOriginPath } from "../http/same_origin.ts";
import { cacheHeaders, figureHeaders, httpDate } from "./_headers.ts";
import { listenerSeriesJSON, seriesJSON } from "./_json.ts";
import type { WatchedListeners } from "./_listeners.ts";
import { CSP, detailPage, indexPage } from "./_pages.ts";
import type { Poller } from "./_poller.ts";
import type { WatcherSettings } from "./_settings.ts";
import type { Tailer } from "./_tail.ts";
import type { Kind, WatchedListener } from "./_watched_listener.ts";
import type { WatchedWorkers } from "./_workers.ts";

/** What the routes read and act on. */
export interface WatcherParts {
  readonly settings: WatcherSettings;
  readonly listeners: WatchedListeners;
  readonly workers: WatchedWorkers | undefined;
  readonly poller: Poller;
  readonly tailer: Tailer;
}

const KINDS: readonly Kind[] = ["active", "queued"];
/** Polls the index asks for when it does not say. */
const INDEX_POINTS = 120;

/** A non-negative integer query parameter, or `fallback` when absent; undefined when malformed. */
function countParam(c: Context, name: string, fallback: number): number | undefined {
  const text = c.req.query(name);
  if (text === undefined || text === "") return fallback;
  if (!/^[0-9]{1,15}$/.test(text)) return undefined;
  return Number(text);
}

/**
 * The absolute path the Watcher app is mounted at, ending in "/", for a
 * handler whose route is `<mount><marker>...`: the mount has as many path
 * segments in the request as in the route (which may hold parameters).
 */
function baseOf(c: Context, marker: string): string {
  // c.req.routePath, not hono/route's helper: that module only exists from Hono 4.8.
  const route = c.req.routePath;
  const prefix = route.slice(0, route.lastIndexOf(marker));
  const depth = prefix === "" ? 0 : prefix.split("/").length - 1;
  return new URL(c.req.url).pathname.split("/").slice(0, depth + 1).join("/") + "/";
}

const notFound = (c: Context) => c.text("Not Found\n", 404);

function html(c: Context, body: string, headers: Record<string, string>): Response {
  return c.html(body, 200, { ...headers, "Content-Security-Policy": CSP, "Cache-Control": "no-cache" });
}

/** The Hono app serving every endpoint of a Watcher made of `parts`. */
export function watcherRoutes(parts: WatcherParts): Hono {
  const { settings, listeners, workers, poller, tailer } = parts;
  const { delay, maxListeners } = settings;
  const app = new Hono();
  const times = () => ({ time: poller.lastPoll, delay });
  /** The watched listener named by the route's `name` parameter, minus `suffix`. */
  const named = (c: Context, suffix: string): [string, WatchedListener] | undefined => {
    const name = c.req.param("name") ?? "";
    if (!name.endsWith(suffix)) return undefined;
    const addr = name.slice(0, name.length - suffix.length);
    const l = listeners.get(addr);
    return l === undefined ? undefined : [addr, l];
  };

  app.get("/", function watcherIndex(c) {
    const path = new URL(c.req.url).pathname;
    const base = path.endsWith("/") ? path : path + "/";
    const extras = { error: poller.lastError?.message, omitted: listeners.omitted, maxListeners, workers };
    return html(c, indexPage(base, delay, listeners, poller.lastPoll, extras), cacheHeaders(poller.lastPoll, delay));
  });

  app.get("/series.json", function watcherSeries(c) {
    const points = countParam(c, "points", INDEX_POINTS);
    const since = countParam(c, "since", 0);
    if (points === undefined || since === undefined) {
      return c.text("points and since must be non-negative integers\n", 400);
    }
    const body = seriesJSON(times(), listeners, { maxListeners, workers }, points, since);
    return c.json(body, 200, { "Cache-Control": "no-store" });
  });

  app.get("/series/:name{.+}", function watcherListenerSeries(c) {
    const found = named(c, ".json");
    if (!found) return notFound(c);
    const points = countParam(c, "points", Infinity);
    if (points === undefined) return c.text("points must be a non-negative integer\n", 400);
    return c.json(listenerSeriesJSON(times(), found[0], found[1], points), 200, { "Cache-Control": "no-store" });
  });

  for (const kind of KINDS) {
    const marker = `/${kind}/`;
    app.get(`${marker}:name{.+}`, function watcherDetail(c) {
      const txt = named(c, ".txt");
      const found = txt ?? named(c, ".html");
      if (!found) return notFound(c);
      const [addr, l] = found;
      const figure = l.get(kind);
      const headers = { ...cacheHeaders(poller.lastPoll, delay), ...figureHeaders(l, figure) };
      if (txt) return c.text(figure.aggregate.chart(), 200, headers);
      return html(c, detailPage(baseOf(c, marker), delay, kind, addr, l), headers);
    });
  }

  app.get("/tail/:name{.+}", function watcherTail(c) {
    const found = named(c, ".txt");
    if (!found) return notFound(c);
    const activeMin = countParam(c, "active_min", 0);
    const queuedMin = countParam(c, "queued_min", 0);
    const limit = countParam(c, "limit", Infinity);
    if (activeMin === undefined || queuedMin === undefined || limit === undefined) {
      return c.text("active_min, queued_min and limit must be non-negative integers\n", 400);
    }
    if (tailer.full) {
      return c.text(`Too many tails: at most ${tailer.max} stream at once\n`, 503, {
        "Retry-After": String(Math.ceil(delay)),
      });
    }
    const headers = {
      "Content-Type": "text/plain; charset=utf-8",
      "Cache-Control": "no-cache, no-transform",
      "Expires": httpDate(0),
      "X-Accel-Buffering": "no",
    };
    // Hono answers HEAD with the GET handler and drops the body unread: a stream here would hold a slot for ever.
    if (c.req.method === "HEAD") return c.body(null, 200, headers);
    return c.body(tailer.stream({ addr: found[0], activeMin, queuedMin, limit }), 200, headers);
  });

  app.post("/reset/:name{.+}", function watcherReset(c) {
    const hostHeader = c.req.header("Host");
    const host = hostHeader ?? new URL(c.req.url).host;
    if (!sameOrigin(c.req.header("Origin"), host)) return c.text("Forbidden: cross-origin reset\n", 403);
    if (!settings.allowedHost(hostHeader)) {
      const shown = JSON.stringify(hostHeader);
      return c.text(
        `Forbidden: reset under Host ${shown}; use an IP address, localhost, or a name in \`hosts\`\n`,
        403,
      );
    }
    const found = named(c, "");
    if (!found) return notFound(c);
    found[1].reset(Date.now());
    const back = sameOriginPath(c.req.header("Referer"), host) ?? baseOf(c, "/reset/");
    return c.text(`Redirecting to ${back}\n`, 303, { Location: back });
  });

  app.notFound(notFound);
  return app;
}
