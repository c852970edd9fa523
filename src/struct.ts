/**
 * Named counters: a class per list of member names, backed by one
 * {@link Raindrops} set with one slot per member.
 *
 * @module
 */
import { Raindrops, type RaindropsOptions } from "./raindrops.ts";

/** An instance of a struct class made by {@link Struct}. */
export type StructInstance<K extends string> = {
  /** Adds `delta` (default 1) to a member; returns the new value. */
  incr(member: K, delta?: number | bigint): number;
  /** Subtracts `delta` (default 1) from a member, wrapping below 0; returns the new value. */
  decr(member: K, delta?: number | bigint): number;
  /** A member's value (exact up to 2^53-1). */
  get(member: K): number;
  /** A member's exact value. */
  getBigInt(member: K): bigint;
  /** Assigns a member. */
  set(member: K, value: number | bigint): void;
  /** Every member's value, keyed by name. */
  toObject(): Record<K, number>;
  /** The counter set underneath (shared by path like any Raindrops). */
  readonly raindrops: Raindrops;
  /** An independent copy in fresh anonymous memory, with the same values (not shared with any file). */
  dup(): StructInstance<K>;
  /** Unmaps the counters; later use throws EvaporatedError. */
  evaporate(): void;
  [Symbol.dispose](): void;
  /** The member at this position, in the order the members were given. */
  [position: number]: number;
} & { [P in K]: number };

/** The class returned by {@link Struct}. */
export interface StructClass<K extends string> {
  /**
   * A new set of the named counters, anonymous or shared by `path`.
   *
   * @param initial values for the first members in order (at most one per member)
   * @param options `path` to share the struct by file, `zero` to clear it
   */
  new (initial?: readonly (number | bigint)[], options?: RaindropsOptions): StructInstance<K>;
  /** The member names, in slot order. */
  readonly members: readonly K[];
}

/**
 * Makes a class with one shared counter per member name; member names type
 * the accessors. A member is also read and assigned by position (`s[0]` is
 * the first member). Names that are positions or clash with the instance's
 * own properties (`raindrops`, `incr`, `dup`, `toString`, ...) throw
 * RangeError.
 *
 * @example
 * ```ts
 * const Stats = Struct(["calling", "writing"]);
 * using stats = new Stats([], { path: "/dev/shm/app.stats" });
 * stats.incr("calling");
 * stats.calling;       // 1
 * stats.toObject();    // { calling: 1, writing: 0 }
 * stats[0];            // 1, the first member
 * const copy = stats.dup(); // anonymous, independent of the file
 * ```
 */
export function Struct<const K extends string>(members: readonly K[]): StructClass<K> {
  if (!Array.isArray(members) || members.length === 0) {
    throw new TypeError("Struct needs a non-empty array of member names");
  }
  const index = new Map<string, number>();
  for (const m of members) {
    if (typeof m !== "string" || m === "") {
      throw new TypeError(`member names must be non-empty strings, got ${String(m)}`);
    }
    if (index.has(m)) throw new RangeError(`duplicate member name: ${m}`);
    index.set(m, index.size);
  }
  const slot = (member: string): number => {
    const i = index.get(member);
    if (i === undefined) throw new RangeError(`unknown member ${String(member)}; members are ${members.join(", ")}`);
    return i;
  };

  class RaindropsStruct {
    static readonly members = Object.freeze([...members]);
    readonly #raindrops: Raindrops;

    constructor(initial: readonly (number | bigint)[] = [], options: RaindropsOptions = {}) {
      if (!Array.isArray(initial)) throw new TypeError("initial values must be an array");
      if (initial.length > members.length) {
        throw new RangeError(`${initial.length} initial values for ${members.length} members`);
      }
      this.#raindrops = new Raindrops(members.length, options);
      try {
        initial.forEach((v, i) => this.#raindrops.set(i, v));
      } catch (e) {
        this.#raindrops.evaporate(); // a bad initial value must not leave the mapping behind
        throw e;
      }
    }
    // A getter on the prototype (not an own field), so that the name check below sees it.
    get raindrops(): Raindrops {
      return this.#raindrops;
    }
    dup(): RaindropsStruct {
      return new RaindropsStruct(this.#raindrops.toBigIntArray());
    }
    incr(member: K, delta: number | bigint = 1): number {
      return this.#raindrops.incr(slot(member), delta);
    }
    decr(member: K, delta: number | bigint = 1): number {
      return this.#raindrops.decr(slot(member), delta);
    }
    get(member: K): number {
      return this.#raindrops.get(slot(member));
    }
    getBigInt(member: K): bigint {
      return this.#raindrops.getBigInt(slot(member));
    }
    set(member: K, value: number | bigint): void {
      this.#raindrops.set(slot(member), value);
    }
    toObject(): Record<K, number> {
      const values = this.#raindrops.toArray();
      return Object.fromEntries(members.map((m, i) => [m, values[i]])) as Record<K, number>;
    }
    evaporate(): void {
      this.#raindrops.evaporate();
    }
    [Symbol.dispose](): void {
      this.#raindrops[Symbol.dispose]();
    }
  }
  members.forEach((m, i) => {
    if (String(Number(m)) === m || m in RaindropsStruct.prototype) {
      throw new RangeError(`member name ${m} clashes with a position or a property of the struct`);
    }
    const accessors = {
      get(this: RaindropsStruct) {
        return this.get(m);
      },
      set(this: RaindropsStruct, v: number | bigint) {
        this.set(m, v);
      },
    };
    Object.defineProperty(RaindropsStruct.prototype, m, accessors);
    Object.defineProperty(RaindropsStruct.prototype, i, accessors);
  });
  return RaindropsStruct as unknown as StructClass<K>;
}
