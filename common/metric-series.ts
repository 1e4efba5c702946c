// Counters, gauges and histograms for per-request metrics, with a cached handle per label
// set, and removal of a label set (the proxy drops the series of a version that is gone).
//
// prom-client's Counter.inc and Histogram.observe hash the labels object, validate every
// label name and allocate per call; the histogram also turns each bucket bound back into a
// string key. Here a series is found once per label set and updating it is a few additions
// into a typed array. The design is the server's (server/core/metric-series.ts), with
// `remove` added.
//
// These classes speak the metric contract prom-client's Registry reads at scrape time and
// that AggregatorRegistry merges (name, help, type, aggregator, get(), getForPromString(),
// reset()), returning values in exactly the shape prom-client's own Counter, Gauge and
// Histogram return (node_modules/prom-client/lib/counter.js and gauge.js get(), lib/histogram.js
// extractBucketValuesForExport / addSumAndCountForExport), so the exposition text is
// byte-identical to theirs for the same updates (test/common/metric-series.test.ts).
import type { Metric, Registry } from 'prom-client';

type Labels = Record<string, string>;

/** prom-client's MetricObject, as Registry.getMetricsAsString reads it. */
interface MetricValues {
  name: string;
  help: string;
  type: 'counter' | 'gauge' | 'histogram';
  values: object[];
  aggregator: 'sum';
}

interface Config {
  name: string;
  help: string;
  labelNames: readonly string[];
  registers: Registry[];
}

/** Joins label values into a map key; U+0001 cannot occur in a sane label value, and undefined gets its own marker. */
function keyOf(labelNames: readonly string[], labels: Labels): string {
  let key = '';
  for (let i = 0; i < labelNames.length; i++) {
    const v = labels[labelNames[i]!];
    key += v === undefined ? '\u0002\u0001' : `${v}\u0001`;
  }
  return key;
}

/** Same check and message as prom-client's validateLabel (lib/validation.js). */
function validateLabels(labelNames: readonly string[], labels: Labels): void {
  for (const name in labels) {
    if (!labelNames.includes(name)) throw new Error(`Added label "${name}" is not included in initial labelset: [ ${labelNames.map((n) => `'${n}'`).join(', ')} ]`);
  }
}

/** A copy holding only the defined labels, in the caller's order (prom-client keeps the caller's object). */
function ownLabels(labels: Labels): Labels {
  const out: Labels = {};
  for (const name in labels) if (labels[name] !== undefined) out[name] = labels[name]!;
  return out;
}

function register(metric: object, registers: Registry[]): void {
  // The Registry only reads the members MetricValues names; it is typed for its own classes.
  for (const r of registers) r.registerMetric(metric as unknown as Metric);
}

/**
 * A series shows in the exposition only from its first update, and then in the order of
 * first updates, as prom-client's would (it creates a series on its first inc/observe);
 * reset() hides it again but keeps it usable, so cached handles stay valid. A removed
 * series is forgotten: drop its handle and ask `series()` again.
 */
interface Owner {
  show(series: ValueSeries | HistogramSeries): void;
}

/** One label set's value: a counter's or a gauge's. */
class ValueSeries {
  value = 0;
  visible = false;
  constructor(
    readonly labels: Labels,
    readonly key: string,
    readonly owner: Owner,
  ) {}
  add(delta: number): void {
    if (!this.visible) this.owner.show(this);
    this.value += delta;
  }
}

export class CounterSeries extends ValueSeries {
  inc(by = 1): void {
    this.add(by);
  }
}

export class GaugeSeries extends ValueSeries {}

/** What the metric kinds share: the label-set table, its exposition order, registration, removal. */
abstract class SeriesMetric<S extends ValueSeries | HistogramSeries> implements Owner {
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly string[];
  readonly aggregator = 'sum';
  protected readonly table = new Map<string, S>();

  constructor(config: Config) {
    this.name = config.name;
    this.help = config.help;
    this.labelNames = config.labelNames;
    register(this, config.registers);
  }

  protected abstract create(labels: Labels, key: string): S;
  protected abstract clear(series: S): void;

  /** The series for a label set, created at zero the first time. Keep it: updates through it skip every lookup. */
  series(labels: Labels): S {
    const key = keyOf(this.labelNames, labels);
    let s = this.table.get(key);
    if (!s) {
      validateLabels(this.labelNames, labels);
      s = this.create(ownLabels(labels), key);
      this.table.set(key, s);
    }
    return s;
  }

  /** Moves a series to the end of the exposition order and shows it. */
  show(series: S): void {
    this.table.delete(series.key);
    this.table.set(series.key, series);
    series.visible = true;
  }

  /** prom-client's remove(labels): the label set leaves the exposition; a later update starts it again at zero, last. */
  remove(labels: Labels): void {
    validateLabels(this.labelNames, labels);
    const key = keyOf(this.labelNames, labels);
    const s = this.table.get(key);
    if (!s) return;
    this.table.delete(key);
    this.clear(s);
    s.visible = false;
  }

  /** How many label sets are held (shown or not); for tests. */
  get size(): number {
    return this.table.size;
  }

  reset(): void {
    for (const s of this.table.values()) {
      this.clear(s);
      s.visible = false;
    }
  }
}

/** What counters and gauges share: one number per label set, cleared to 0, exposed as is. */
abstract class ValueMetric<S extends ValueSeries> extends SeriesMetric<S> {
  abstract readonly type: 'counter' | 'gauge';

  protected clear(series: S): void {
    series.value = 0;
  }

  async get(): Promise<MetricValues> {
    const values: object[] = [];
    for (const s of this.table.values()) if (s.visible) values.push({ value: s.value, labels: s.labels });
    return { help: this.help, name: this.name, type: this.type, values, aggregator: this.aggregator };
  }
}

export class SeriesCounter extends ValueMetric<CounterSeries> {
  readonly type = 'counter';

  protected create(labels: Labels, key: string): CounterSeries {
    return new CounterSeries(labels, key, this);
  }

  /** prom-client's Counter.inc(labels, value), for callers off the hot path. */
  inc(labels: Labels, value = 1): void {
    validateLabels(this.labelNames, labels);
    if (!Number.isFinite(value)) throw new TypeError(`Value is not a valid number: ${value}`);
    if (value < 0) throw new Error('It is not possible to decrease a counter');
    this.series(labels).inc(value);
  }
}

/**
 * prom-client's Gauge.inc / dec with a label object (an in-flight count updated twice per
 * request). A series shows from its first update and keeps showing at 0, as prom-client's.
 */
export class SeriesGauge extends ValueMetric<GaugeSeries> {
  readonly type = 'gauge';

  protected create(labels: Labels, key: string): GaugeSeries {
    return new GaugeSeries(labels, key, this);
  }

  inc(labels: Labels, value = 1): void {
    this.#add(labels, value);
  }

  dec(labels: Labels, value = 1): void {
    this.#add(labels, -value);
  }

  #add(labels: Labels, delta: number): void {
    if (typeof delta !== 'number') throw new TypeError(`Delta is not a valid number: ${delta}`);
    validateLabels(this.labelNames, labels);
    this.series(labels).add(delta);
  }
}

export class HistogramSeries {
  /** Observations per bucket, not cumulative; values above the last bound are only in count. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  visible = false;
  constructor(
    readonly labels: Labels,
    readonly upperBounds: readonly number[],
    readonly key: string,
    readonly owner: Owner,
  ) {
    this.counts = new Float64Array(upperBounds.length);
  }
  observe(value: number): void {
    if (!this.visible) this.owner.show(this);
    const bounds = this.upperBounds;
    // Linear, like prom-client's findBound: latency buckets are few and most values land early.
    for (let i = 0; i < bounds.length; i++) {
      if (value <= bounds[i]!) {
        this.counts[i]!++;
        break;
      }
    }
    this.sum += value;
    this.count++;
  }
}

export class SeriesHistogram extends SeriesMetric<HistogramSeries> {
  readonly upperBounds: readonly number[];
  readonly type = 'histogram';

  constructor(config: Config & { buckets: readonly number[] }) {
    super(config);
    // Used as given, as prom-client does (lib/histogram.js constructor); bucket lists in
    // common/conventions.ts are ascending.
    this.upperBounds = [...config.buckets];
  }

  protected create(labels: Labels, key: string): HistogramSeries {
    return new HistogramSeries(labels, this.upperBounds, key, this);
  }

  protected clear(series: HistogramSeries): void {
    series.counts.fill(0);
    series.sum = 0;
    series.count = 0;
  }

  /** prom-client's Histogram.observe(labels, value), for callers off the hot path. */
  observe(labels: Labels, value: number): void {
    validateLabels(this.labelNames, labels);
    if (!Number.isFinite(value)) throw new TypeError(`Value is not a valid number: ${value}`);
    this.series(labels).observe(value);
  }

  /** The values prom-client's Histogram.getForPromString returns: per series every bucket, +Inf, sum, count. */
  async getForPromString(): Promise<MetricValues> {
    const bucket = `${this.name}_bucket`;
    const values: object[] = [];
    for (const s of this.table.values()) {
      if (!s.visible) continue;
      let acc = 0;
      for (let i = 0; i < this.upperBounds.length; i++) {
        acc += s.counts[i]!;
        values.push({ labels: { le: this.upperBounds[i]! }, sharedLabels: s.labels, value: acc, metricName: bucket, exemplar: null });
      }
      values.push(
        { labels: { le: '+Inf' }, sharedLabels: s.labels, value: s.count, metricName: bucket, exemplar: null },
        { labels: {}, sharedLabels: s.labels, value: s.sum, metricName: `${this.name}_sum`, exemplar: undefined },
        { labels: {}, sharedLabels: s.labels, value: s.count, metricName: `${this.name}_count`, exemplar: undefined },
      );
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }

  /** prom-client's Histogram.get: the same values with the series labels merged in (splayLabels). */
  async get(): Promise<MetricValues> {
    const data = await this.getForPromString();
    data.values = data.values.map((v) => {
      const { sharedLabels, labels, ...rest } = v as { sharedLabels: Labels; labels: Labels };
      return { ...rest, labels: { ...labels, ...sharedLabels } };
    });
    return data;
  }
}
