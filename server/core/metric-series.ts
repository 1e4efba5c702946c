// The server's request metrics use the shared series classes (common/metric-series.ts):
// handles kept per label set, exposition byte-identical to prom-client's.
export { CounterSeries, SeriesCounter, HistogramSeries, SeriesHistogram } from '../../common/metric-series.ts';
