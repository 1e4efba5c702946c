// Request accounting of the REST surface: the requests counter and duration histogram.
import type { CounterSeries, HistogramSeries } from '../core/metric-series.ts';
import type { ServerMetrics } from '../metrics.ts';
import type { RestRequest } from './request.ts';

interface RestSeries {
  duration: HistogramSeries;
  byCode: Map<number, CounterSeries>;
}

/**
 * Counts and times finished requests; probes and scrapes are not counted. The series
 * are looked up once per (model, version, api) and status code, then kept.
 */
export class RestAccounting {
  private readonly series = new Map<string, RestSeries>();

  constructor(private readonly metrics: ServerMetrics) {}

  record(r: RestRequest, status: number): void {
    if (r.api === 'metrics' || r.api === 'health') return;
    const key = `${r.model}\u0001${r.version}\u0001${r.api}`;
    let s = this.series.get(key);
    if (!s) {
      s = { duration: this.metrics.requestDuration.series({ model: r.model, version: r.version, api: r.api, entrypoint: 'rest' }), byCode: new Map() };
      this.series.set(key, s);
    }
    let c = s.byCode.get(status);
    if (!c) {
      c = this.metrics.requests.series({ model: r.model, version: r.version, api: r.api, entrypoint: 'rest', code: String(status) });
      s.byCode.set(status, c);
    }
    c.inc();
    s.duration.observe((performance.now() - r.t0) / 1000);
  }
}
