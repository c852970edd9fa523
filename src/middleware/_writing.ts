/**
 * How `writing` learns that a response body has been sent. A response is
 * counted only while an end that JS will see is pending, so `writing` never
 * exceeds the responses that have left the app and are not finished, in
 * any worker, at any moment. By what the server offers (read from its `env`
 * by `src/server/_server_env.ts`):
 * - a per-request completion signal (Deno.serve, `deno serve`, the
 *   response's `close` on `@hono/node-server`): counted
 *   until it settles; a body the server takes whole settles it at once, so
 *   such a body is not counted at all;
 * - a server that tells JS no response's end (Bun.serve's Server): not
 *   counted, since nothing would ever release the count in time;
 * - neither, or `bodyTracking: "wrap"`: the body is re-streamed and its end,
 *   error or cancel releases `writing`.
 *
 * @module
 */
import { completesAtHandOff, endsUnseen, onCompletion } from "../server/_server_env.ts";
import { type Counters, WRITING } from "./counters.ts";

/** Read once: Deno's global `Response` is a getter. */
const ResponseClass = Response;

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
  /** False for `bodyTracking: "wrap"`: every body is re-streamed. */
  readonly #useServer: boolean;
  readonly #releaseOne = (): void => this.#counters.decr(WRITING);
  /** The last `env` found to be a server that tells JS no response's end (Bun's Server, the same object each request). */
  #unseen: unknown;

  constructor(counters: Counters, tracking: "auto" | "wrap") {
    this.#counters = counters;
    this.#useServer = tracking === "auto";
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
      if (env === this.#unseen) return res; // asked once per server: its getters cost a native call
      if (completesAtHandOff(env, res)) return res; // `writing` would rise and fall in one turn
      // One shared release, called after the count rises: no closure or promise per request.
      if (onCompletion(env, this.#releaseOne)) {
        this.#counters.incr(WRITING);
        return res;
      }
      if (endsUnseen(env)) {
        this.#unseen = env;
        return res; // no end would ever release it: not counted (see the module doc)
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
