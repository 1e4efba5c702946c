// DriftRecorder: the one object the proxy talks to, in three parts. `offer` / `offerTensors`
// go to the ingest (ingest.ts: sample and enqueue on the response path, parse later in
// small batches); parsed rows go to the window store (window-store.ts: per model/version
// windows and their rotation) and to the evaluator's live baseline capture (evaluator.ts:
// baselines, statistics, verdicts). Everything else (evaluate, snapshot, compareVersions)
// runs on the evaluation tick.
import type { Clock } from '../common/index.ts';
import { systemClock } from '../common/index.ts';
import type { DriftConfig, ModelDriftConfig } from './config.ts';
import type { BaselineProfile } from './profile.ts';
import { DEFAULT_BATCH, DriftIngest } from './ingest.ts';
import { WindowStore } from './window-store.ts';
import { DriftEvaluator } from './evaluator.ts';
import type { BodyOffer, DriftSnapshot, DriftStats, DriftVerdict, DriftWindow, GrpcDecoder, TensorOffer } from './types.ts';

export interface DriftRecorderOptions {
  clock?: Clock;
  /** Overrides the config's sampleRate (0..1). */
  sampleRate?: number;
  /** Source of uniform [0,1) numbers for sampling; tests pass a seeded one. */
  random?: () => number;
  /** Baselines to start with (e.g. from `loadBaselines(config.baselineDir)`). */
  baselines?: readonly BaselineProfile[];
  /** Called with a baseline captured from live traffic, to persist it (e.g. `saveBaseline`). Errors are counted. */
  persistBaseline?: (profile: BaselineProfile) => Promise<unknown>;
  /** Queue items parsed per event-loop turn. */
  batchSize?: number;
  /** Decodes gRPC bodies handed to `offer` (protocol 'grpc'); without one they are skipped and counted. */
  grpcDecoder?: GrpcDecoder;
}

export class DriftRecorder {
  readonly config: DriftConfig;
  readonly stats: DriftStats = { offered: 0, sampledOut: 0, ignored: 0, dropped: 0, processed: 0, unparsable: 0, skipped: 0, errors: 0, queued: 0, persistFailures: 0 };
  readonly #clock: Clock;
  readonly #ingest: DriftIngest;
  readonly #windows: WindowStore;
  readonly #evaluator: DriftEvaluator;

  constructor(config: DriftConfig, options: DriftRecorderOptions = {}) {
    this.config = config;
    const clock = (this.#clock = options.clock ?? systemClock);
    const models = new Map<string, ModelDriftConfig>(config.models.map((m) => [m.model, m]));
    const windows: WindowStore = new WindowStore(config, this.stats, {
      binsFor: (model, version) => evaluator.baselineFor(model, version)?.profile,
      judgeClosed: (model, version, window, nowMs) => evaluator.verdict(model, version, window, true, nowMs),
    });
    const evaluator: DriftEvaluator = new DriftEvaluator(config, models, windows, this.stats, { clock, persistBaseline: options.persistBaseline });
    this.#windows = windows;
    this.#evaluator = evaluator;
    this.#ingest = new DriftIngest(config, models, this.stats, (model, version, atMs, rows, values, pinned) => {
      if (!windows.record(model, version, atMs, rows, values, pinned)) {
        this.stats.dropped++;
        return;
      }
      evaluator.capture(model, version, atMs, rows, values);
    }, {
      clock,
      sampleRate: options.sampleRate ?? config.sampleRate,
      random: options.random ?? Math.random,
      batchSize: options.batchSize ?? DEFAULT_BATCH,
      grpcDecoder: options.grpcDecoder,
    });
    for (const p of options.baselines ?? []) evaluator.setBaseline(p);
  }

  // ---- hot path -------------------------------------------------------------------

  /** A request/response body pair from the proxy's tee (REST JSON, or gRPC messages with `method`). Never throws; O(1). */
  offer(offer: BodyOffer): void {
    this.#ingest.offer(offer);
  }

  /** Tensors already decoded from gRPC. Never throws; O(1). */
  offerTensors(offer: TensorOffer): void {
    this.#ingest.offerTensors(offer);
  }

  /** Resolves once everything offered so far has been recorded (tests, shutdown). */
  flush(): Promise<void> {
    return this.#ingest.flush();
  }

  // ---- baselines ------------------------------------------------------------------

  /** Adds or replaces the baseline of one model version. New windows bin against it. */
  setBaseline(profile: BaselineProfile): void {
    this.#evaluator.setBaseline(profile);
  }

  /** Tells the recorder which version is stable (the rollout controller knows); live baselines are captured from it. */
  setStableVersion(model: string, version: string): void {
    this.#evaluator.setStableVersion(model, version);
  }

  /** The baseline a version is compared with (baselines.ts `BaselineSet.for`). */
  baselineFor(model: string, version: string): { profile: BaselineProfile; inherited: boolean } | undefined {
    return this.#evaluator.baselineFor(model, version);
  }

  // ---- evaluation -----------------------------------------------------------------

  /** Verdicts per model × version: the current window if it has minSamples rows, else the last closed one. */
  evaluate(): DriftVerdict[] {
    return this.#evaluator.evaluate();
  }

  /** The verdicts of the last `evaluate()` (what the gauges show). */
  latest(): DriftVerdict[] {
    const out: DriftVerdict[] = [];
    for (const s of this.#windows.each()) if (s.last) out.push(s.last);
    return out;
  }

  /**
   * Canary against stable: the same per-feature tests, with version `stable`'s live
   * window as the reference and `canary`'s as the current sample (inputs and outputs).
   * Each side uses its current window if it has minSamples rows, else its last closed one.
   * Only split-routed rows are compared: rows of requests that pinned their version (the
   * client chose it) are left out, so a client cannot make a canary look drifted.
   */
  compareVersions(model: string, stable: string, canary: string): DriftVerdict {
    return this.#evaluator.compareVersions(model, stable, canary);
  }

  // ---- the drift SLI --------------------------------------------------------------

  /**
   * The drift SLI hook: closed evaluation windows of one model version, oldest first
   * (at most one day of them). A window is good when `drifted === false`, bad when `true`;
   * inconclusive windows (`null`) count neither way.
   */
  windows(model: string, version: string): readonly DriftWindow[] {
    return this.#windows.get(model, version, this.#clock.now())?.history ?? [];
  }

  /** Whether the last closed window of a model version drifted: true/false, null if inconclusive, undefined if none closed yet. */
  lastWindowDrifted(model: string, version: string): boolean | null | undefined {
    return this.windows(model, version).at(-1)?.drifted;
  }

  /** Called once per closed window of every model version (the SLO engine can count good windows here). Listener errors are counted, not thrown. */
  onWindowClosed(fn: (w: DriftWindow) => void): () => void {
    return this.#windows.onWindowClosed(fn);
  }

  /** Drops a version's state (windows, history, gauges), e.g. when it is unloaded for good. */
  forgetVersion(model: string, version: string): void {
    this.#windows.forget(model, version);
  }

  // ---- reporting ------------------------------------------------------------------

  unparsableByModel(): ReadonlyMap<string, number> {
    return this.#ingest.unparsableByModel();
  }

  /** Rows recorded per model version since start (for modelgate_drift_samples_total). */
  samplesByVersion(): { model: string; version: string; samples: number }[] {
    const out: { model: string; version: string; samples: number }[] = [];
    for (const s of this.#windows.each()) out.push({ model: s.model.model, version: s.version, samples: s.totalRows });
    return out;
  }

  /** JSON for the admin `GET /api/v1/drift`. */
  snapshot(): DriftSnapshot {
    const unparsable = this.#ingest.unparsableByModel();
    const models: DriftSnapshot['models'] = [];
    for (const m of this.config.models) {
      const versions = this.#windows.versionsOf(m.model).map((s) => ({
        version: s.version,
        last: s.last ?? null,
        currentWindow: { startMs: s.current.startMs, endMs: s.current.endMs, requests: s.current.requests, rows: s.current.rows },
        recentWindows: s.history.slice(-12),
        memoryBytes: s.current.bytes() + (s.previous?.bytes() ?? 0),
      }));
      const baselines = this.#evaluator.baselinesOf(m.model).map((p) => ({ version: p.version, rows: p.rows, createdAt: p.createdAt, source: p.source, features: Object.keys(p.features) }));
      const capture = this.#evaluator.captureOf(m.model);
      models.push({
        model: m.model,
        features: m.features.map((f) => ({ name: f.name, source: f.source, tensor: f.tensor, ...(f.column !== undefined ? { column: f.column } : {}), kind: f.kind, method: f.method })),
        baselines,
        capture: capture ? { version: capture.version, rows: capture.rows, startMs: capture.startMs } : null,
        unparsable: unparsable.get(m.model) ?? 0,
        versions,
      });
    }
    const c = this.config;
    return {
      settings: { enabled: c.enabled, sampleRate: this.#ingest.sampleRate, windowMs: c.window, minSamples: c.minSamples, thresholds: c.thresholds, verdict: c.verdict },
      stats: { ...this.stats },
      models,
    };
  }
}
