/**
 * How `writing` learns that a response body has been sent. Three ways, by
 * what the server offers (read from its `env` by `server_env.ts`):
 * - a per-request completion promise (Deno.serve, `deno serve`);
 * - the server's own count of unfinished requests (Bun.serve's Server),
 *   from which this worker's `writing` is derived, leaving bodies untouched;
 * - neither, or `bodyTracking: "wrap"`: the body is re-streamed and its end,
 *   error or cancel releases `writing`.
 *
 * @module
 */
import { completesAtHandOff, completionOf, pendingCounterOf } from "../server/server_env.ts";

/** A server that counts its unfinished requests (Bun's `Server`). */
type PendingCounter = NonNullable<ReturnType<typeof pendingCounterOf>>;
import { type Counters, WRITING } from "./counters.ts";

/** Read once: Deno's global `Response` is a getter. */
const ResponseClass = Response;

/** How often a derived, nonzero `writing` is re-published while no request comes. */
const DERIVED_REFRESH_MS = 10;

/**
 * `writing` derived from servers' counts of unfinished requests, per set of
 * counters (several middleware instances over the same counters share it):
 * unfinished requests minus those still inside the app.
 */
class DerivedWriting {
  /** Requests between entering a middleware over these counters and leaving the app (stats requests too). */
  #inApp = 0;
  /** The `writing` this worker has published to the counters. */
  #published = 0;
  #servers: PendingCounter[] = [];
  #last: unknown;
  /** The `env` last seen, when it is a server that counts its unfinished requests. */
  #server: PendingCounter | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;
  readonly counters: Counters;
  constructor(counters: Counters) {
    this.counters = counters;
  }

  /**
   * Notes the `env` of a request entering a middleware over these counters:
   * when it is a server that counts its unfinished requests, its count joins
   * the sum. Called for every request; the identity check keeps it cheap.
   */
  see(env: unknown): void {
    if (env === this.#last) return;
    this.#last = env;
    const server = pendingCounterOf(env);
    this.#server = server;
    if (server && !this.#servers.includes(server)) this.#servers.push(server);
  }

  /** True when `env` is a server whose count derives `writing` (noting it first if new). */
  derives(env: unknown): boolean {
    if (env !== this.#server) this.see(env); // another server's request may have come in since
    return env === this.#server;
  }

  entered(): void {
    this.#inApp++;
  }

  left(): void {
    this.#inApp--;
  }

  /** A response of a deriving server leaves the app: rise now; the fall comes from re-deriving. */
  rise(): void {
    this.counters.incr(WRITING);
    this.#published++;
    if (this.#timer === undefined) this.#schedule();
  }

  /** Publishes `writing` = unfinished requests of the seen servers minus those still in the app. */
  refresh = (): void => {
    let pending = 0;
    const servers = this.#servers;
    for (let i = 0; i < servers.length; i++) pending += servers[i].pendingRequests;
    const writing = pending > this.#inApp ? pending - this.#inApp : 0;
    const delta = writing - this.#published;
    if (delta !== 0) {
      this.#published = writing;
      if (delta > 0) this.counters.incr(WRITING, delta);
      else this.counters.decr(WRITING, -delta);
    }
    if (writing > 0) this.#schedule();
    else {
      this.#stop();
      if (servers.length > 1) this.#forgetIdle();
    }
  };

  #tick = (): void => {
    try {
      this.refresh();
    } catch {
      this.#stop(); // the counters were released (the worker is shutting down)
    }
  };

  /** Re-derives every DERIVED_REFRESH_MS while `writing` is above 0: one interval, not a timer per period. */
  #schedule(): void {
    if (this.#timer !== undefined) return;
    const t = setInterval(this.#tick, DERIVED_REFRESH_MS);
    // deno-lint-ignore no-explicit-any
    (t as any)?.unref?.();
    this.#timer = t;
  }

  #stop(): void {
    if (this.#timer === undefined) return;
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Drops servers with nothing pending (a stopped server stays at 0); the next request re-adds its own. */
  #forgetIdle(): void {
    this.#servers = this.#servers.filter((s) => s.pendingRequests > 0);
    this.#last = undefined;
    this.#server = undefined;
  }
}

const derivedOf = new WeakMap<Counters, DerivedWriting>();

/**
 * The largest piece a re-streamed body hands the server at once. A server
 * takes what it is given whole (Deno copies a fixed body's single chunk into
 * its HTTP layer at once), so a body handed on in pieces, each pulled only
 * when the connection has room, ends when about one piece plus the kernel's
 * send buffer is left to send.
 */
const PIECE = 64 * 1024;

/** Re-streams `body` in pieces of at most {@link PIECE} bytes, calling `release` once when it ends, fails or is cancelled. */
function wrapBody(body: ReadableStream<Uint8Array>, release: () => void): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  let rest: Uint8Array | undefined;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (rest) {
        controller.enqueue(rest.subarray(0, PIECE));
        rest = rest.byteLength > PIECE ? rest.subarray(PIECE) : undefined;
        return;
      }
      return reader.read().then(
        (r) => {
          if (r.done) {
            release();
            controller.close();
            return;
          }
          const chunk = r.value;
          if (chunk instanceof Uint8Array && chunk.byteLength > PIECE) {
            rest = chunk.subarray(PIECE);
            controller.enqueue(chunk.subarray(0, PIECE));
          } else controller.enqueue(chunk);
        },
        (e) => {
          release();
          controller.error(e);
        },
      );
    },
    cancel(reason) {
      release();
      rest = undefined;
      return reader.cancel(reason);
    },
  }, { highWaterMark: 0 });
}

/** Raises and releases `writing` for the responses of one middleware instance. */
export class WritingTracker {
  readonly #counters: Counters;
  readonly #derived: DerivedWriting;
  /** False for `bodyTracking: "wrap"`: every body is re-streamed. */
  readonly #useServer: boolean;
  readonly #releaseOne = (): void => this.#counters.decr(WRITING);

  constructor(counters: Counters, tracking: "auto" | "wrap") {
    this.#counters = counters;
    let derived = derivedOf.get(counters);
    if (!derived) derivedOf.set(counters, derived = new DerivedWriting(counters));
    this.#derived = derived;
    this.#useServer = tracking === "auto";
  }

  /** A request (the stats request too) enters the middleware, served by the server behind `env`. */
  enter(env: unknown): void {
    this.#derived.entered();
    if (this.#useServer) this.#derived.see(env);
  }

  /** The request left the app (returned or threw). */
  leave(): void {
    this.#derived.left();
  }

  /** Makes this worker's derived `writing` exact now (before the stats are read). */
  refresh(): void {
    this.#derived.refresh();
  }

  /**
   * Raises `writing` for `res`, the response to `request` (served by the
   * server behind `env`) leaving the app, and arranges its release; returns
   * the response to send (a re-streamed copy when wrapping).
   */
  track(env: unknown, request: Request, res: Response): Response {
    // Checked before counting, so a bad handler result never leaves `writing` raised.
    if (!(res instanceof ResponseClass)) throw new TypeError(`the handler returned ${typeof res}, not a Response`);
    if (this.#useServer && env) {
      if (this.#derived.derives(env)) {
        this.#derived.rise();
        return res;
      }
      if (completesAtHandOff(env, res)) return res; // `writing` would rise and fall in one turn
      const completion = completionOf(env);
      if (completion) {
        this.#counters.incr(WRITING);
        completion.then(this.#releaseOne, this.#releaseOne);
        return res;
      }
    }
    return this.#wrap(request, res);
  }

  #wrap(request: Request, res: Response): Response {
    let open = true;
    const release = () => {
      if (open) {
        open = false;
        this.#counters.decr(WRITING);
      }
    };
    this.#counters.incr(WRITING);
    const body = res.body;
    // HEAD: the server drops the body without reading or cancelling it.
    if (body === null || body.locked || request.method === "HEAD") {
      release();
      return res;
    }
    return new Response(wrapBody(body, release), res);
  }
}
