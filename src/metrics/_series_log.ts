/**
 * The record log of a metrics file: an append-only list of metric
 * definitions and label sets, each naming the cells it owns. Every process
 * reads it in order into its own index, so it learns label sets that other
 * processes made, and appends only after reading every record before the
 * free one: a record is taken with a compare-and-swap of its state word, so
 * no two processes append at once, the same label set is never added twice,
 * and a metric's count of label sets (its cap) is exact across processes.
 *
 * A record (32 bytes): state (0 free; {@link CLAIM} with the writer's
 * identity while it is written; then its kind), the heap offset and length
 * of its text, its first cell and cell count, and (a label set) its
 * metric's record number with the overflow flag. A writer killed while
 * writing leaves its mark; the next reader that finds the writer dead
 * voids the record (its heap and cells stay unused: a bounded loss, at most
 * one record per killed writer).
 *
 * @module
 */
import { ExhaustedError, ForeignFileError, MetricMismatchError, RaindropsError } from "../errors.ts";
import { alive } from "../worker_stats.ts";
import { MAX_RECORDS, type MetricsFile, RECORD_BYTES, SEGMENT_CELLS } from "./_file.ts";
import type { MetricDefinition } from "./definition.ts";

const METRIC = 1n, SERIES = 2n, VOID = 3n;
const CLAIM = 1n << 63n;
const LOW = 0xffff_ffffn;
const OVERFLOW_FLAG = 1n << 32n;
/** How long an append waits for a live writer to finish the record before it. */
const WAIT_MS = 10_000;

/** Cells per label set: a counter's value; a gauge's value and time set; a histogram's buckets, +Inf and sum. */
export function cellsOf(d: Pick<MetricDefinition, "type" | "buckets">): number {
  return d.type === "counter" ? 1 : d.type === "gauge" ? 2 : d.buckets!.length + 2;
}

/** A metric of the file, as this process has read it. */
export interface MetricEntry {
  readonly record: number;
  readonly definition: MetricDefinition;
  readonly cells: number;
  /** Its label sets (the overflow set last, if any). */
  readonly series: SeriesEntry[];
  /** Label sets counted against the cap (the overflow set is not). */
  labelSets: number;
  overflow?: SeriesEntry;
}

/** A label set of a metric and its first cell. */
export interface SeriesEntry {
  readonly metric: MetricEntry;
  readonly values: readonly string[];
  readonly cell: number;
  readonly overflow: boolean;
}

/** What differs between two definitions of one metric, or undefined when they agree. */
function difference(a: MetricDefinition, b: MetricDefinition): string | undefined {
  const show = (d: MetricDefinition) =>
    JSON.stringify({ type: d.type, labelNames: d.labelNames, buckets: d.buckets, aggregate: d.aggregate });
  return show(a) === show(b) ? undefined : `${show(a)} in the file, ${show(b)} here`;
}

/** True for a metric definition as writers store it. */
function wellFormed(d: unknown): d is MetricDefinition {
  const m = d as MetricDefinition;
  return typeof m === "object" && m !== null && typeof m.name === "string" && typeof m.help === "string" &&
    (m.type === "counter" || m.type === "gauge" || (m.type === "histogram" && Array.isArray(m.buckets) &&
      m.buckets.length > 0 && m.buckets.length <= SEGMENT_CELLS - 2 && m.buckets.every(Number.isFinite))) &&
    Array.isArray(m.labelNames) && m.labelNames.every((n) => typeof n === "string") &&
    Number.isSafeInteger(m.maxLabelSets) && typeof m.overflowValue === "string";
}

/** This process's index of a file's record log. */
export class SeriesLog {
  readonly #file: MetricsFile;
  #seen = 0;
  readonly #metrics = new Map<string, MetricEntry>();
  readonly #byRecord = new Map<number, MetricEntry>();
  readonly #series = new Map<string, SeriesEntry>();
  /** Definitions already found and checked against the file's. */
  readonly #checked = new WeakMap<MetricDefinition, MetricEntry>();

  constructor(file: MetricsFile) {
    this.#file = file;
  }

  /** Every metric read so far, in the order they were added. */
  get metrics(): IterableIterator<MetricEntry> {
    return this.#metrics.values();
  }

  /** The u64 index of record `i`'s state word. */
  #word(i: number): number {
    return (this.#file.layout.records + i * RECORD_BYTES) / 8;
  }

  /**
   * Reads the records added since the last call. With `wait`, waits for a
   * record being written by a live thread (an append must see every record
   * before its own); without, stops there (a scrape).
   */
  catchUp(wait: boolean): void {
    const started = Date.now();
    while (this.#seen < MAX_RECORDS) {
      const u64 = this.#file.u64, q = this.#word(this.#seen);
      const state = Atomics.load(u64, q);
      if (state === 0n) return;
      if ((state & CLAIM) !== 0n) {
        if (!alive(state)) Atomics.compareExchange(u64, q, state, VOID);
        else if (!wait) return;
        else if (Date.now() - started > WAIT_MS) {
          throw new RaindropsError(
            `record ${this.#seen} of ${this.#file.path} has been held for ${WAIT_MS} ms by thread ` +
              `${(state & ~CLAIM) >> 41n}, which is alive (stopped?)`,
            "EBUSY",
          );
        }
        continue;
      }
      this.#read(this.#seen, state);
      this.#seen++;
    }
  }

  /** Adds record `i` (published, of kind `kind`) to the index; ForeignFileError for a record no writer makes. */
  #read(i: number, kind: bigint): void {
    if (kind === VOID) return;
    const f = this.#file, q = this.#word(i), u64 = f.u64;
    const text = u64[q + 1], cell = Number(u64[q + 2] & LOW), owner = u64[q + 3];
    const start = Number(text & LOW), end = start + Number(text >> 32n);
    let value: unknown;
    try {
      if (kind !== METRIC && kind !== SERIES) throw new Error("unknown kind");
      if (start < f.layout.heap || end > f.layout.heap + f.heapTop) throw new Error("text outside the heap");
      value = JSON.parse(new TextDecoder().decode(f.u8.subarray(start, end)));
      if (kind === METRIC ? !wellFormed(value) : !Array.isArray(value)) throw new Error("malformed text");
      if (kind === SERIES && !this.#fits(value as string[], cell, owner)) throw new Error("cells out of place");
    } catch (e) {
      throw new ForeignFileError(f.path ?? "anonymous memory", `has a corrupt record ${i} (${(e as Error).message})`);
    }
    if (kind === METRIC) {
      const m: MetricEntry = {
        record: i,
        definition: value as MetricDefinition,
        cells: cellsOf(value as MetricDefinition),
        series: [],
        labelSets: 0,
      };
      this.#metrics.set(m.definition.name, m);
      this.#byRecord.set(i, m);
      return;
    }
    const metric = this.#byRecord.get(Number(owner & LOW))!;
    const s: SeriesEntry = { metric, values: value as string[], cell, overflow: (owner & OVERFLOW_FLAG) !== 0n };
    metric.series.push(s);
    if (s.overflow) metric.overflow = s;
    else metric.labelSets++;
    this.#series.set(`${metric.record}:${JSON.stringify(s.values)}`, s);
  }

  /** True when a label set's values and cells agree with its metric and the cells handed out. */
  #fits(values: string[], cell: number, owner: bigint): boolean {
    const metric = this.#byRecord.get(Number(owner & LOW));
    if (!metric || values.length !== metric.definition.labelNames.length) return false;
    if (!values.every((v) => typeof v === "string")) return false;
    const cells = metric.cells;
    return cell + cells <= this.#file.cellTop &&
      Math.floor(cell / SEGMENT_CELLS) === Math.floor((cell + cells - 1) / SEGMENT_CELLS);
  }

  /**
   * Appends a record after every record read; undefined when another
   * process took the slot first (read again and retry), null when the file
   * has no room left.
   */
  #append(kind: bigint, text: string, cells: number, owner: bigint): number | undefined | null {
    const f = this.#file, i = this.#seen;
    if (i >= MAX_RECORDS) return null;
    const q = this.#word(i);
    if (Atomics.compareExchange(f.u64, q, 0n, CLAIM | f.identity) !== 0n) return undefined;
    const bytes = new TextEncoder().encode(text);
    const at = f.takeHeap(bytes.length);
    if (at === undefined) {
      Atomics.store(f.u64, q, VOID);
      return null;
    }
    const cell = cells > 0 ? f.takeCells(cells) : 0; // may remap: views are read after
    f.u8.set(bytes, at);
    const u64 = f.u64;
    u64[q + 1] = BigInt(at) | (BigInt(bytes.length) << 32n);
    u64[q + 2] = BigInt(cell) | (BigInt(cells) << 32n);
    u64[q + 3] = owner;
    Atomics.store(u64, q, kind);
    return i;
  }

  #full(what: string): ExhaustedError {
    return new ExhaustedError(
      `the metrics file ${this.#file.path ?? "(anonymous)"} has no room for ${what} ` +
        `(${MAX_RECORDS} records or its string heap used up); lower the metrics' maxLabelSets or use a new file`,
    );
  }

  /** The file's entry for `definition`, added when missing; MetricMismatchError when it differs. */
  metric(definition: MetricDefinition): MetricEntry {
    const known = this.#checked.get(definition);
    if (known !== undefined) return known;
    for (;;) {
      this.catchUp(true);
      const found = this.#metrics.get(definition.name);
      if (found) {
        const diff = difference(found.definition, definition);
        if (diff !== undefined) {
          throw new MetricMismatchError(
            `metric ${definition.name} of ${this.#file.path ?? "(anonymous)"} is defined differently: ${diff}`,
          );
        }
        // A labelled metric's overflow set is made with it, so a full file still has it;
        // a metric without labels has its one set from the start, shown as 0.
        const labelled = found.definition.labelNames.length > 0;
        if (labelled ? found.overflow : found.series.length > 0) {
          this.#checked.set(definition, found);
          return found;
        }
        if (this.#addSeries(found, labelled ? null : []) === null) throw this.#full(`metric ${definition.name}`);
        continue;
      }
      if (this.#append(METRIC, JSON.stringify(definition), 0, 0n) === null) {
        throw this.#full(`metric ${definition.name}`);
      }
    }
  }

  /**
   * The label set `values` of `metric`, added when missing; once the
   * metric has `maxLabelSets` sets (over every process), the overflow set.
   */
  series(metric: MetricEntry, values: readonly string[]): SeriesEntry {
    const key = `${metric.record}:${JSON.stringify(values)}`;
    for (;;) {
      const found = this.#series.get(key);
      if (found) return found;
      this.catchUp(true);
      if (this.#series.has(key)) continue;
      if (metric.labelSets >= metric.definition.maxLabelSets && metric.overflow) return metric.overflow;
      const added = this.#addSeries(metric, values);
      if (added === null) {
        if (metric.overflow) return metric.overflow;
        throw this.#full(`a label set of ${metric.definition.name}`);
      }
    }
  }

  /** Appends a label set (`null`: the overflow set) and reads it in. */
  #addSeries(metric: MetricEntry, values: readonly string[] | null): number | undefined | null {
    const overflow = values === null;
    const text = JSON.stringify(
      overflow ? metric.definition.labelNames.map(() => metric.definition.overflowValue) : values,
    );
    const added = this.#append(SERIES, text, metric.cells, BigInt(metric.record) | (overflow ? OVERFLOW_FLAG : 0n));
    this.catchUp(true);
    return added;
  }
}
