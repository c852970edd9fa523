/**
 * The Watcher's tails, after the gem's Tailer: a streamed response of one
 * line per poll for one listener, at most `max` at once, each ended by its
 * client leaving, its line limit, its deadline or the Watcher closing.
 *
 * @module
 */
import { isoSeconds } from "../_iso_time.ts";
import type { Poller } from "./_poller.ts";
import type { WatchedListeners } from "./_listeners.ts";

/** What one tail prints: lines for `addr` while both thresholds are met, at most `limit`. */
export interface TailRequest {
  readonly addr: string;
  readonly activeMin: number;
  readonly queuedMin: number;
  readonly limit: number;
}

/** The tails streaming from one Watcher. */
export class Tailer {
  /** Most tails streaming at once. */
  readonly max: number;
  readonly #ms: number;
  readonly #poller: Poller;
  readonly #listeners: WatchedListeners;
  /** How to end each open tail now. */
  readonly #open = new Set<() => void>();

  constructor(max: number, seconds: number, poller: Poller, listeners: WatchedListeners) {
    this.max = max;
    this.#ms = seconds * 1000;
    this.#poller = poller;
    this.#listeners = listeners;
  }

  /** Tails streaming now. */
  get count(): number {
    return this.#open.size;
  }

  /** True when no other tail may start. */
  get full(): boolean {
    return this.#open.size >= this.max;
  }

  /** Ends every tail. */
  close(): void {
    for (const end of [...this.#open]) end();
  }

  /**
   * A tail body, holding a slot until it ends. A timer ends it at its
   * deadline even when nothing pulls it (a client that never reads); the
   * server cancels it when the client leaves (both runtimes do, even while
   * no line is due).
   */
  stream({ addr, activeMin, queuedMin, limit }: TailRequest): ReadableStream<Uint8Array> {
    const encoder = new TextEncoder();
    const stop = new AbortController();
    let sent = 0;
    let controller!: ReadableStreamDefaultController<Uint8Array>;
    const end = () => {
      if (!this.#open.delete(end)) return;
      clearTimeout(deadline);
      stop.abort();
      try {
        controller.close();
      } catch { /* cancelled: nothing to close */ }
    };
    const deadline = setTimeout(end, this.#ms);
    this.#open.add(end);
    return new ReadableStream<Uint8Array>({
      start: (c) => {
        controller = c;
      },
      pull: async (c) => {
        // Each turn waits for one poll; the deadline, close() or the client leaving ends it.
        while (sent < limit) {
          const time = await this.#poller.nextPoll(stop.signal);
          const st = this.#listeners.get(addr);
          if (time === null || st === undefined) break;
          const active = st.active.current, queued = st.queued.current;
          if (active >= activeMin && queued >= queuedMin) {
            sent++;
            c.enqueue(encoder.encode(
              `${isoSeconds(time)} ${addr} ${String(active).padStart(10)} ${String(queued).padStart(10)}\n`,
            ));
            return;
          }
        }
        end();
      },
      cancel: end,
    }, { highWaterMark: 0 });
  }
}
