/**
 * A registry's open file as one thread uses it: the mapping, this thread's
 * index of the record log, and the region it writes in (claimed at its
 * first write, so a process that only reads holds none).
 *
 * @module
 */
import { MetricsFile } from "./_file.ts";
import { SeriesLog } from "./_series_log.ts";

export class Store {
  readonly file: MetricsFile;
  readonly log: SeriesLog;
  #region = -1;

  constructor(path: string | undefined, workerSlots: number) {
    this.file = new MetricsFile(path, workerSlots);
    this.log = new SeriesLog(this.file);
  }

  /** This thread's region, claimed on first use. */
  region(): number {
    if (this.#region < 0) this.#region = this.file.claimRegion((r) => this.#clearGauges(r));
    return this.#region;
  }

  /** Zeroes a region's gauge cells (value and set mark) before a new owner uses it. */
  #clearGauges(region: number): void {
    this.log.catchUp(true);
    const f = this.file;
    f.mapCells();
    for (const m of this.log.metrics) {
      if (m.definition.type !== "gauge") continue;
      for (const s of m.series) {
        f.f64.fill(0, f.layout.cellIndex(region, s.cell), f.layout.cellIndex(region, s.cell) + 2);
      }
    }
  }

  /** Frees the region (its figures stay) and unmaps the file. */
  close(): void {
    if (this.#region >= 0) this.file.releaseRegion(this.#region);
    this.file.close();
  }
}
