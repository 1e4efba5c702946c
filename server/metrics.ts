// The server's Prometheus metrics, per model AND version (TF Serving's carry only
// model_name; see tensorflow/serving#1970). Names come from common/conventions.ts.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { SERVER_METRIC, LABEL, MODEL_STATES, latencyBuckets, BATCH_SIZE_BUCKETS, type ModelState } from '../common/conventions.ts';
import { SeriesCounter, SeriesHistogram, type HistogramSeries } from './core/metric-series.ts';

/** Load and warmup times: 10 ms to 5 min. */
const LOAD_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

export class ServerMetrics {
  /** Updated on every request: own series classes with cached handles (core/metric-series.ts). */
  readonly requests: SeriesCounter;
  readonly requestDuration: SeriesHistogram;
  readonly inferenceDuration: SeriesHistogram;
  readonly loadDuration: Histogram<string>;
  readonly warmupDuration: Histogram<string>;
  readonly modelState: Gauge<string>;
  readonly loadFailures: Counter<string>;
  readonly batchSize: Histogram<string>;
  readonly queueDuration: Histogram<string>;
  readonly queueDepth: Gauge<string>;

  constructor(readonly registry: Registry) {
    const registers = [registry];
    this.requests = new SeriesCounter({
      name: SERVER_METRIC.requests,
      help: 'Requests handled, by model, version, API, entry point (rest, grpc) and status code.',
      labelNames: [LABEL.model, LABEL.version, LABEL.api, LABEL.entrypoint, LABEL.code],
      registers,
    });
    this.requestDuration = new SeriesHistogram({
      name: SERVER_METRIC.requestDuration,
      help: 'Time from request received to response written, seconds.',
      labelNames: [LABEL.model, LABEL.version, LABEL.api, LABEL.entrypoint],
      buckets: latencyBuckets(),
      registers,
    });
    this.inferenceDuration = new SeriesHistogram({
      name: SERVER_METRIC.inferenceDuration,
      help: 'Time spent in the model runtime for one run (a whole batch when batching), seconds.',
      labelNames: [LABEL.model, LABEL.version],
      buckets: latencyBuckets(),
      registers,
    });
    this.loadDuration = new Histogram({
      name: SERVER_METRIC.loadDuration,
      help: 'Time to load a model version into the runtime, seconds.',
      labelNames: [LABEL.model, LABEL.version],
      buckets: LOAD_BUCKETS,
      registers,
    });
    this.warmupDuration = new Histogram({
      name: SERVER_METRIC.warmupDuration,
      help: 'Time to run the warmup requests of a model version, seconds.',
      labelNames: [LABEL.model, LABEL.version],
      buckets: LOAD_BUCKETS,
      registers,
    });
    this.modelState = new Gauge({
      name: SERVER_METRIC.modelState,
      help: '1 for the current lifecycle state of each model version (START, LOADING, AVAILABLE, UNLOADING, END).',
      labelNames: [LABEL.model, LABEL.version, LABEL.state],
      registers,
    });
    this.loadFailures = new Counter({
      name: SERVER_METRIC.loadFailures,
      help: 'Failed attempts to load a model version.',
      labelNames: [LABEL.model, LABEL.version],
      registers,
    });
    this.batchSize = new Histogram({
      name: SERVER_METRIC.batchSize,
      help: 'Rows per model run when dynamic batching is on (after padding).',
      labelNames: [LABEL.model, LABEL.version],
      buckets: BATCH_SIZE_BUCKETS as number[],
      registers,
    });
    this.queueDuration = new Histogram({
      name: SERVER_METRIC.queueDuration,
      help: 'Time a request waited in the batching queue, seconds.',
      labelNames: [LABEL.model, LABEL.version],
      buckets: latencyBuckets(),
      registers,
    });
    this.queueDepth = new Gauge({
      name: SERVER_METRIC.queueDepth,
      help: 'Requests waiting in the batching queue.',
      labelNames: [LABEL.model, LABEL.version],
      registers,
    });
  }

  /** Inference-time series per runner (one runner per loaded version): no label key is built per request. */
  readonly #inference = new WeakMap<object, HistogramSeries>();

  inferenceSeries(runner: object, model: string, version: number): HistogramSeries {
    let s = this.#inference.get(runner);
    if (!s) {
      s = this.inferenceDuration.series({ model, version: String(version) });
      this.#inference.set(runner, s);
    }
    return s;
  }

  setState(model: string, version: string, state: ModelState): void {
    for (const s of MODEL_STATES) this.modelState.set({ model, version, state: s }, s === state ? 1 : 0);
  }

  /** Drops every state series of a version that is gone, so unloaded versions stop showing. */
  forgetVersion(model: string, version: string): void {
    for (const s of MODEL_STATES) this.modelState.remove({ model, version, state: s });
  }
}
