/**
 * The part of the OpenTelemetry JS API `Meter` raindrops uses, typed by
 * shape so raindrops depends on no OpenTelemetry package: Deno's built-in
 * Meter and the OTel JS SDK's both are one.
 *
 * @module
 */

/** Attributes of one observation. */
export type OtelAttributes = Record<string, string | number>;

/** An observable instrument, as the Meter hands it out (opaque here). */
export type OtelObservable = object;

/** The result a batch callback reports into (`BatchObservableResult`). */
export interface OtelBatchResult {
  /** Reports `value` for `observable` with `attributes` in this collection. */
  observe(observable: OtelObservable, value: number, attributes?: OtelAttributes): void;
}

/** A batch observable callback. */
export type OtelBatchCallback = (result: OtelBatchResult) => void;

/** What an instrument is created with (`MetricOptions`). */
export interface OtelInstrumentOptions {
  /** What the instrument measures. */
  description?: string;
  /** UCUM unit, e.g. `{request}`. */
  unit?: string;
}

/**
 * The part of an OpenTelemetry API `Meter` used here: observable counters,
 * up-down counters and gauges, and batch callbacks.
 * `metrics.getMeter(...)` of `@opentelemetry/api` (1.3 or later) is one.
 */
export interface OtelMeter {
  /** An asynchronous counter (monotonic sum). */
  createObservableCounter(name: string, options?: OtelInstrumentOptions): OtelObservable;
  /** An asynchronous up-down counter (non-monotonic sum). */
  createObservableUpDownCounter(name: string, options?: OtelInstrumentOptions): OtelObservable;
  /** An asynchronous gauge (a value not meant to be added up). */
  createObservableGauge(name: string, options?: OtelInstrumentOptions): OtelObservable;
  /** Calls `callback` once per collection to observe every one of `observables`. */
  addBatchObservableCallback(callback: OtelBatchCallback, observables: OtelObservable[]): void;
  /** Undoes {@link OtelMeter.addBatchObservableCallback}. */
  removeBatchObservableCallback(callback: OtelBatchCallback, observables: OtelObservable[]): void;
}
