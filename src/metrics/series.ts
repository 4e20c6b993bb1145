/**
 * One labelled series of a prom-client counter or histogram, recorded into without hashing
 * its labels on every call (issue 15: prom-client's `labels(...)` children hash the label
 * object, validate it and look up the bucket by a number-keyed property on each call, 1–1.5
 * µs per request on the invoke path). The first record goes through prom-client's own
 * method, which creates the series exactly as before; the series then keeps prom-client's
 * entry for those labels and adds to it directly (the counter's `value`; the histogram's
 * `sum`, `count` and bucket), which is what prom-client's own `inc`/`observe` do. The
 * exposition text is therefore the one prom-client writes (src/metrics/series.test.ts
 * compares it with plain prom-client series fed the same values). Anything unusual (the
 * metric was reset, a value that is not a finite number, an entry this prom-client does not
 * keep where 15.x does) takes prom-client's own path.
 */
import type { Counter, Histogram } from "prom-client";
// A static import, so the compiled executable bundles it (a runtime require of it was not found there).
import { hashObject } from "prom-client/lib/util";

type Labels = Record<string, string>;

/** prom-client's key of a label set in a metric's `hashMap` (lib/util.js, the function its metrics use). */


/** The fields of a prom-client 15 metric the series reads (lib/counter.js, lib/histogram.js). */
interface Internals<E> {
  hashMap: Record<string, E | undefined>;
  sortedLabelNames: string[];
}

/** The entry for `labels` in the metric's current map, or null when prom-client keeps none there. */
function entryOf<E>(metric: Internals<E>, labels: Labels): E | null {
  return metric.hashMap[hashObject(labels, metric.sortedLabelNames)] ?? null;
}

/** A counter's series for one label set: `inc()` adds 1. */
export class CounterSeries {
  private map: object | null = null;
  private entry: { value: number } | null = null;
  constructor(private readonly counter: Counter<string>, private readonly labels: Labels) {}

  inc(): void {
    const m = this.counter as unknown as Internals<{ value: number }>;
    if (this.entry !== null && m.hashMap === this.map && typeof this.entry.value === "number") {
      this.entry.value += 1;
      return;
    }
    this.counter.inc(this.labels);
    this.map = m.hashMap;
    this.entry = entryOf(m, this.labels);
  }
}

interface HistogramEntry {
  sum: number;
  count: number;
  bucketValues: Record<string, number>;
}

/** A histogram's series for one label set: `observe(v)` records one value. */
export class HistogramSeries {
  private map: object | null = null;
  private entry: HistogramEntry | null = null;
  /** The upper bounds, and the property names prom-client keeps their counts under. */
  private readonly bounds: readonly number[];
  private readonly keys: readonly string[];
  constructor(private readonly histogram: Histogram<string>, private readonly labels: Labels) {
    this.bounds = (histogram as unknown as { upperBounds: number[] }).upperBounds;
    this.keys = this.bounds.map(String);
  }

  observe(value: number): void {
    const m = this.histogram as unknown as Internals<HistogramEntry>;
    const e = this.entry;
    if (e === null || m.hashMap !== this.map || !Number.isFinite(value)) {
      this.histogram.observe(this.labels, value); // (throws prom-client's TypeError for a non-finite value)
      this.map = m.hashMap;
      const found = entryOf(m, this.labels);
      this.entry = found && typeof found.sum === "number" && typeof found.bucketValues === "object" ? found : null;
      return;
    }
    // prom-client's findBound: the first bound at or above the value; past the last, only +Inf (count) has it.
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && !(value <= bounds[i]!)) i++;
    e.sum += value;
    e.count += 1;
    if (i < bounds.length) e.bucketValues[this.keys[i]!]! += 1;
  }
}
