/**
 * A request as the apps read it: a small view that a Hono `Context`
 * already is, and that {@link requestView} builds for a request handed to a
 * plain fetch handler (`withRaindrops`, `LastDataRecv#wrap`).
 *
 * @module
 */

/**
 * What an app reads of a request, and what its callbacks (`allow`,
 * `connection`) are given: a Hono `Context` under `app.use`, a view built
 * by the wrapper around a whole fetch handler otherwise.
 */
export interface RequestView {
  /** What the server passed as the fetch handler's second argument (Hono's `c.env`). */
  readonly env: unknown;
  /** The request: the raw `Request` and its header and query lookups. */
  readonly req: {
    readonly raw: Request;
    /** A request header, undefined when absent. */
    header(name: string): string | undefined;
    /** A query parameter, undefined when absent. */
    query(name: string): string | undefined;
  };
}

/** A view whose `req` is itself, so one object per request. */
class FetchView implements RequestView {
  readonly raw: Request;
  // deno-lint-ignore no-explicit-any
  readonly env: any;
  // deno-lint-ignore no-explicit-any
  constructor(raw: Request, env: any) {
    this.raw = raw;
    this.env = env;
  }
  get req(): this {
    return this;
  }
  query(name: string): string | undefined {
    return new URL(this.raw.url, "http://localhost").searchParams.get(name) ?? undefined;
  }
  header(name: string): string | undefined {
    return this.raw.headers.get(name) ?? undefined;
  }
}

/**
 * The {@link RequestView} of `request`, handed to a fetch handler with
 * `env` as its second argument.
 *
 * @example
 * ```ts
 * import { requestView } from "./request_view.ts";
 * const c = requestView(new Request("http://x/?format=json"), undefined);
 * c.req.query("format"); // "json"
 * ```
 */
export function requestView(request: Request, env: unknown): RequestView {
  return new FetchView(request, env);
}
