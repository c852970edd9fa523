/**
 * The arrival watches of one LastDataRecv (see `_listener_arrivals.ts`):
 * one per server that tells its port (Bun's), made at its first request
 * and closed once its listeners are gone; or, for servers that tell no
 * port (Deno's), one of every TCP listener of the process, looked over
 * again at most once a second so that a server started later is covered.
 *
 * @module
 */
import { ListenerArrivals, ownListeners } from "./_listener_arrivals.ts";

/** Least time between two rescans of the process's listeners (each lists every socket of the process). */
const RESCAN_MS = 1000;
/** Rescans are spaced at least this many times their own duration apart. */
const RESCAN_SPACING = 100;
/** Late connections remembered at most (those that never send again are forgotten with the rest). */
const MAX_LATE = 65536;

/**
 * Watches by server, closed with their listeners or with {@link close}.
 *
 * @example
 * ```ts
 * import { ArrivalWatches } from "./_arrival_watches.ts";
 * const watches = new ArrivalWatches();
 * const server = { port: 8080 }; // what a request's env names: Bun's Server
 * const arrivals = watches.ofServer(server, server.port); // undefined when none can be made
 * watches.close();
 * ```
 */
export class ArrivalWatches implements Disposable {
  readonly #byServer = new WeakMap<object, ListenerArrivals | null>();
  readonly #open = new Set<ListenerArrivals>();
  #anyListener: ListenerArrivals | null | undefined;
  #nextRescan = 0;
  /**
   * Inodes of connections that reached a listener before it was watched:
   * their first request may have passed unseen, so they are counted in
   * {@link lateCount} and never recorded at a later request.
   */
  readonly late = new Set<number>();
  /** Connections found late (see {@link late}) so far. */
  lateCount = 0;
  /** Why the last watch could not be made, if one could not. */
  lastError: Error | undefined;

  /** Watches open now. */
  get size(): number {
    return this.#open.size;
  }

  /** The watch of `server`'s listeners on `port`, made at its first request; undefined when none can be made. */
  ofServer(server: object, port: number): ListenerArrivals | undefined {
    let watch = this.#byServer.get(server);
    if (watch === undefined) {
      for (const w of this.#open) if (!w.listening()) this.#open.delete(w);
      watch = this.#opened(() => ListenerArrivals.watch(port));
      this.#byServer.set(server, watch);
    }
    return watch ?? undefined;
  }

  /**
   * The watch of every TCP listener of the process, made at the first call
   * (undefined when none can be made), and made again when a rescan (at most
   * once a second) finds the listeners changed. `seen` holds the inodes of
   * the connections seen so far.
   */
  anyListener(seen: ReadonlySet<number>): ListenerArrivals | undefined {
    const start = performance.now();
    if (this.#anyListener === undefined) {
      this.#anyListener = this.#opened(() => ListenerArrivals.watchAll());
    } else if (start >= this.#nextRescan) {
      this.#rescan(seen);
    } else return this.#anyListener ?? undefined;
    const end = performance.now();
    this.#nextRescan = end + Math.max(RESCAN_MS, RESCAN_SPACING * (end - start));
    return this.#anyListener ?? undefined;
  }

  /**
   * Makes the any-listener watch again when the listeners changed. The
   * connections that new listeners took meanwhile, unseen, are noted late:
   * the old watch did not see them arrive.
   */
  #rescan(seen: ReadonlySet<number>): void {
    const old = this.#anyListener;
    const now = ownListeners();
    const watching = old && !old.closed; // else every request was identified meanwhile
    if (watching && !old.stale(now)) return;
    if (old) (old.close(), this.#open.delete(old));
    this.#anyListener = this.#opened(() => ListenerArrivals.watchAll());
    if (!watching) return;
    const watched = new Set(old.listeners.map((l) => l.inode));
    const added = new Set(now.filter((l) => !watched.has(l.inode)).map((l) => l.port));
    if (added.size === 0) return;
    if (this.late.size > MAX_LATE) this.late.clear();
    for (const inode of ListenerArrivals.connectionsOn(added)) {
      if (!seen.has(inode) && !this.late.has(inode)) (this.late.add(inode), this.lateCount++);
    }
  }

  /** A watch made by `make`, kept open; null when it cannot be made. */
  #opened(make: () => ListenerArrivals | undefined): ListenerArrivals | null {
    try {
      const watch = make();
      if (!watch) return null;
      this.#open.add(watch);
      return watch;
    } catch (e) {
      this.lastError = e instanceof Error ? e : new Error(String(e));
      return null;
    }
  }

  /** Closes every watch; later calls make new ones. */
  close(): void {
    for (const w of this.#open) w.close();
    this.#open.clear();
    this.#anyListener = undefined;
    this.late.clear();
  }

  /** Same as {@link close}, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }
}
