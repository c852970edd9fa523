/**
 * The request as the middleware core reads it: a small view that a Hono
 * `Context` already is, and that {@link FetchRequest} builds for a request
 * outside Hono's router.
 *
 * @module
 */
import type { RequestLike } from "../hono/server_env.ts";

/**
 * What the middleware reads of a request, and what the `allow` and
 * `remoteAddress` options are given: a Hono `Context` under `app.use`, a
 * {@link FetchRequest} under `withRaindrops`.
 */
export interface RequestView extends RequestLike {
  /** The request: the raw `Request` and its header and query lookups. */
  readonly req: {
    readonly raw: Request;
    /** A request header, undefined when absent. */
    header(name: string): string | undefined;
    /** A query parameter, undefined when absent. */
    query(name: string): string | undefined;
  };
}

/**
 * The path of a request URL without parsing the whole URL, percent-decoded
 * as Hono decodes `c.req.path`. A relative URL (Bun's, for a request
 * without a Host header) is a path already.
 *
 * @example
 * ```ts
 * requestPath("http://x/_raindrops?format=json"); // "/_raindrops"
 * requestPath("/%5Fraindrops");                   // "/_raindrops"
 * ```
 */
export function requestPath(url: string): string {
  const start = url.charCodeAt(0) === 0x2f ? 0 : url.indexOf("/", url.indexOf("//") + 2);
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

/** The {@link RequestView} of a request handed to a plain fetch handler; `req` is the object itself. */
export class FetchRequest implements RequestView {
  /** The request and the `env` the server passed to the fetch handler. */
  // deno-lint-ignore no-explicit-any
  constructor(readonly raw: Request, readonly env: any) {}
  /** This object, standing where Hono's `c.req` would. */
  get req(): this {
    return this;
  }
  /** A query parameter, undefined when absent. */
  query(name: string): string | undefined {
    return new URL(this.raw.url, "http://localhost").searchParams.get(name) ?? undefined;
  }
  /** A request header, undefined when absent. */
  header(name: string): string | undefined {
    return this.raw.headers.get(name) ?? undefined;
  }
}
