// DriftRecorder: the one object the proxy talks to. `offer` / `offerTensors` are called on
// the response path and only sample and enqueue (O(1), never throw); parsing and recording
// happen later in small setImmediate batches, so a burst of traffic delays drift state,
// never a response. Everything else (evaluate, snapshot, compareVersions) runs on the
// evaluation tick.
import type { Clock } from '../common/index.ts';
import { OVERFLOW_LABEL_VALUE, UNKNOWN_VERSION, systemClock } from '../common/index.ts';
import type { DriftConfig, ModelDriftConfig } from './config.ts';
import { judge } from './evaluate.ts';
import type { Extracted } from './extract.ts';
import { extractJson, extractTensors } from './extract.ts';
import type { BaselineProfile } from './profile.ts';
import { BaselineCapture } from './capture.ts';
import { BaselineSet } from './baselines.ts';
import { FeatureWindow, profileSide } from './window.ts';
import { DriftErrors } from './errors.ts';
import type { BaselineInfo, BodyOffer, DriftSnapshot, DriftStats, DriftVerdict, DriftWindow, GrpcDecoder, TensorOffer } from './types.ts';

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

/** Closed windows kept per model version for the SLI: one day of 5-minute windows. */
const WINDOW_HISTORY = 288;
/** Versions tracked per model; versions come from the proxy's allowlist, this is a backstop. */
const MAX_VERSIONS_PER_MODEL = 32;
/**
 * Queue items parsed per event-loop turn. Each costs ~7–10 µs (bench/drift.ts), so a turn
 * holds the loop for < 0.1 ms: requests arriving meanwhile wait at most that long. With 32
 * per turn the proxy benchmark showed p50 latency up ~0.4 ms at 3000 req/s.
 */
const DEFAULT_BATCH = 8;

type QueueItem =
  | { kind: 'json'; atMs: number; offer: BodyOffer }
  | { kind: 'tensors'; atMs: number; offer: TensorOffer };

class VersionState {
  previous: FeatureWindow | undefined;
  /**
   * Windows of split-routed rows only, kept from the first pinned row of the version on
   * (until then every row was split-routed and `current`/`previous` serve):
   * compareVersions judges these, so a client cannot aim inputs at a canary.
   */
  split: { current: FeatureWindow; previous: FeatureWindow | undefined } | undefined;
  readonly history: DriftWindow[] = [];
  last: DriftVerdict | undefined;
  /** Rows recorded since start, all windows. */
  totalRows = 0;
  constructor(
    readonly version: string,
    public current: FeatureWindow,
  ) {}
}

export class DriftRecorder {
  readonly config: DriftConfig;
  readonly #clock: Clock;
  readonly #random: () => number;
  readonly #sampleRate: number;
  readonly #batch: number;
  readonly #persist: DriftRecorderOptions['persistBaseline'];
  readonly #grpcDecoder: GrpcDecoder | undefined;
  readonly #models = new Map<string, ModelDriftConfig>();
  readonly #state = new Map<string, Map<string, VersionState>>();
  readonly #baselines = new BaselineSet();
  readonly #captures = new Map<string, BaselineCapture>();
  readonly #stable = new Map<string, string>();
  readonly #unparsable = new Map<string, number>();
  readonly #windowListeners: ((w: DriftWindow) => void)[] = [];
  /** Pending items are #queue[#head…]; consumed slots are cleared and compacted away (no O(n) shift per batch). */
  #queue: (QueueItem | undefined)[] = [];
  #head = 0;
  #scheduled = false;
  #idle: (() => void)[] = [];
  readonly stats: DriftStats = { offered: 0, sampledOut: 0, ignored: 0, dropped: 0, processed: 0, unparsable: 0, skipped: 0, errors: 0, queued: 0, persistFailures: 0 };

  constructor(config: DriftConfig, options: DriftRecorderOptions = {}) {
    this.config = config;
    this.#clock = options.clock ?? systemClock;
    this.#random = options.random ?? Math.random;
    this.#sampleRate = options.sampleRate ?? config.sampleRate;
    this.#batch = options.batchSize ?? DEFAULT_BATCH;
    this.#persist = options.persistBaseline;
    this.#grpcDecoder = options.grpcDecoder;
    for (const m of config.models) this.#models.set(m.model, m);
    for (const p of options.baselines ?? []) this.setBaseline(p);
  }

  // ---- hot path -------------------------------------------------------------------

  /** A request/response body pair from the proxy's tee (REST JSON, or gRPC messages with `method`). Never throws; O(1). */
  offer(offer: BodyOffer): void {
    this.#enqueue('json', offer);
  }

  /** Tensors already decoded from gRPC. Never throws; O(1). */
  offerTensors(offer: TensorOffer): void {
    this.#enqueue('tensors', offer);
  }

  #enqueue(kind: QueueItem['kind'], offer: BodyOffer | TensorOffer): void {
    try {
      this.stats.offered++;
      const { model, version } = offer;
      // A version the proxy could not name, or folded into the overflow label, mixes
      // several versions: its distribution says nothing about any one of them.
      if (!this.config.enabled || !this.#models.has(model) || version === UNKNOWN_VERSION || version === OVERFLOW_LABEL_VALUE) {
        this.stats.ignored++;
        return;
      }
      if (this.#sampleRate < 1 && this.#random() >= this.#sampleRate) {
        this.stats.sampledOut++;
        return;
      }
      if (this.#queue.length - this.#head >= this.config.maxQueue) {
        this.stats.dropped++;
        return;
      }
      this.#queue.push({ kind, atMs: this.#clock.now(), offer } as QueueItem);
      this.stats.queued = this.#queue.length - this.#head;
      if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(() => this.#drain());
      }
    } catch {
      this.stats.errors++;
    }
  }

  /** Resolves once everything offered so far has been recorded (tests, shutdown). */
  flush(): Promise<void> {
    if (this.#queue.length === this.#head && !this.#scheduled) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  #drain(): void {
    const end = Math.min(this.#queue.length, this.#head + this.#batch);
    for (; this.#head < end; this.#head++) {
      const item = this.#queue[this.#head]!;
      this.#queue[this.#head] = undefined;
      try {
        this.#process(item);
      } catch {
        this.stats.errors++;
      }
    }
    if (this.#head === this.#queue.length) {
      this.#queue = [];
      this.#head = 0;
    } else if (this.#head > 4096) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
    this.stats.queued = this.#queue.length - this.#head;
    if (this.stats.queued > 0) {
      setImmediate(() => this.#drain());
      return;
    }
    this.#scheduled = false;
    const idle = this.#idle;
    this.#idle = [];
    for (const resolve of idle) resolve();
  }

  #process(item: QueueItem): void {
    const model = this.#models.get(item.offer.model);
    if (!model) return;
    const extracted: Extracted =
      item.kind === 'json'
        ? item.offer.protocol === 'grpc'
          ? this.#extractGrpc(model, item.offer)
          : extractJson(model.features, item.offer.requestBody, item.offer.responseBody, item.offer.contentType)
        : extractTensors(model.features, item.offer.inputs, item.offer.outputs);
    this.stats.processed++;
    if (!extracted.ok) {
      if (extracted.reason === 'skipped') {
        this.stats.skipped++;
        return;
      }
      this.stats.unparsable++;
      this.#unparsable.set(model.model, (this.#unparsable.get(model.model) ?? 0) + 1);
      return;
    }
    this.#record(model, item.offer.version, item.atMs, extracted.rows, extracted.values, item.kind === 'json' && item.offer.pinned === true);
  }

  #extractGrpc(model: ModelDriftConfig, offer: BodyOffer): Extracted {
    if (!this.#grpcDecoder) return { ok: false, reason: 'skipped', detail: 'no gRPC decoder configured' };
    let decoded: ReturnType<GrpcDecoder>;
    try {
      decoded = this.#grpcDecoder(offer.method ?? '', toBuffer(offer.requestBody), toBuffer(offer.responseBody));
    } catch (e) {
      return { ok: false, reason: 'unparsable', detail: e instanceof Error ? e.message : String(e) };
    }
    if (!decoded) return { ok: false, reason: 'skipped', detail: `gRPC method ${offer.method} carries no tensors` };
    return extractTensors(model.features, decoded.inputs, decoded.outputs);
  }

  #record(model: ModelDriftConfig, version: string, atMs: number, rows: number, values: ReadonlyMap<string, readonly unknown[]>, pinned = false): void {
    const state = this.#versionState(model, version, atMs);
    if (!state) {
      this.stats.dropped++;
      return;
    }
    this.#roll(model, state, atMs);
    state.current.record(model.features, rows, values);
    if (pinned) state.split ??= { current: this.#newWindow(model, version, atMs), previous: undefined };
    else state.split?.current.record(model.features, rows, values);
    state.totalRows += rows;
    this.#captureRecord(model, version, atMs, rows, values);
  }

  // ---- windows --------------------------------------------------------------------

  #windowStart(atMs: number): number {
    return Math.floor(atMs / this.config.window) * this.config.window;
  }

  #newWindow(model: ModelDriftConfig, version: string, atMs: number): FeatureWindow {
    const start = this.#windowStart(atMs);
    return new FeatureWindow(start, start + this.config.window, model, version, this.config, this.baselineFor(model.model, version)?.profile);
  }

  #versionState(model: ModelDriftConfig, version: string, atMs: number): VersionState | undefined {
    let versions = this.#state.get(model.model);
    if (!versions) this.#state.set(model.model, (versions = new Map()));
    let state = versions.get(version);
    if (!state) {
      if (versions.size >= MAX_VERSIONS_PER_MODEL) return undefined;
      state = new VersionState(version, this.#newWindow(model, version, atMs));
      versions.set(version, state);
    }
    return state;
  }

  /** Closes the current window if `nowMs` is past its end: its verdict becomes one SLI window. */
  #roll(model: ModelDriftConfig, state: VersionState, nowMs: number): void {
    if (nowMs < state.current.endMs) return;
    const closed = state.current;
    const verdict = this.#verdictFor(model, state.version, closed, true, nowMs);
    const entry: DriftWindow = {
      model: model.model,
      version: state.version,
      startMs: closed.startMs,
      endMs: closed.endMs,
      verdict: verdict.verdict,
      drifted: verdict.verdict === 'inconclusive' ? null : verdict.verdict === 'drift',
      samples: closed.rows,
    };
    state.history.push(entry);
    if (state.history.length > WINDOW_HISTORY) state.history.shift();
    // A window with no traffic at all is not worth keeping as "previous".
    state.previous = closed.requests > 0 ? closed : state.previous && nowMs - state.previous.endMs < this.config.window ? state.previous : undefined;
    state.current = this.#newWindow(model, state.version, nowMs);
    if (state.split) {
      const s = state.split;
      s.previous = s.current.requests > 0 ? s.current : s.previous && nowMs - s.previous.endMs < this.config.window ? s.previous : undefined;
      s.current = this.#newWindow(model, state.version, nowMs);
    }
    for (const fn of this.#windowListeners) {
      try {
        fn(entry);
      } catch {
        this.stats.errors++;
      }
    }
  }

  // ---- baselines ------------------------------------------------------------------

  /** Adds or replaces the baseline of one model version. New windows bin against it. */
  setBaseline(profile: BaselineProfile): void {
    this.#baselines.set(profile);
  }

  /** Tells the recorder which version is stable (the rollout controller knows); live baselines are captured from it. */
  setStableVersion(model: string, version: string): void {
    this.#stable.set(model, version);
  }

  /** The baseline a version is compared with (baselines.ts `BaselineSet.for`). */
  baselineFor(model: string, version: string): { profile: BaselineProfile; inherited: boolean } | undefined {
    return this.#baselines.for(model, version);
  }

  #captureRecord(model: ModelDriftConfig, version: string, atMs: number, rows: number, values: ReadonlyMap<string, readonly unknown[]>): void {
    const source = model.baseline;
    if (source.from !== 'live') return;
    const stable = source.version ?? this.#stable.get(model.model);
    if (stable === undefined || stable !== version) return;
    if (this.#baselines.has(model.model, version)) return;
    let capture = this.#captures.get(model.model);
    if (!capture || capture.version !== version) {
      capture = new BaselineCapture(model, version, atMs, source.window, source.minSamples);
      this.#captures.set(model.model, capture);
    }
    capture.record(rows, values);
    if (capture.ready(atMs)) {
      const profile = capture.build(atMs, this.config);
      this.#captures.delete(model.model);
      this.setBaseline(profile);
      const persist = this.#persist;
      if (persist) {
        // Through a promise, so a persister that throws synchronously is counted the same way.
        Promise.resolve()
          .then(() => persist(profile))
          .catch(() => {
            this.stats.persistFailures++;
          });
      }
    }
  }

  // ---- evaluation -----------------------------------------------------------------

  /** Verdicts per model × version: the current window if it has minSamples rows, else the last closed one. */
  evaluate(): DriftVerdict[] {
    const now = this.#clock.now();
    const out: DriftVerdict[] = [];
    for (const [modelName, versions] of this.#state) {
      const model = this.#models.get(modelName)!;
      for (const state of versions.values()) {
        this.#roll(model, state, now);
        const useCurrent = state.current.rows >= this.config.minSamples || !state.previous;
        const window = useCurrent ? state.current : state.previous!;
        state.last = this.#verdictFor(model, state.version, window, !useCurrent, now);
        out.push(state.last);
      }
    }
    return out;
  }

  /** The verdicts of the last `evaluate()` (what the gauges show). */
  latest(): DriftVerdict[] {
    const out: DriftVerdict[] = [];
    for (const versions of this.#state.values()) for (const s of versions.values()) if (s.last) out.push(s.last);
    return out;
  }

  #verdictFor(model: ModelDriftConfig, version: string, window: FeatureWindow, closed: boolean, now: number): DriftVerdict {
    const found = this.baselineFor(model.model, version);
    const head = {
      model: model.model,
      version,
      evaluatedAtMs: now,
      window: { startMs: window.startMs, endMs: window.endMs, closed },
      requests: window.requests,
      samples: window.rows,
    };
    if (!found) {
      const capture = this.#captures.get(model.model);
      const reason = model.baseline.from === 'live'
        ? capture ? `capturing a baseline from version ${capture.version}: ${capture.rows} rows so far` : 'no baseline yet: waiting for traffic of the stable version'
        : `no baseline: run \`modelgate baseline --model ${model.model} --version ${version} --from <file>\``;
      return { ...head, verdict: 'inconclusive', reason, alpha: this.config.thresholds.pValue, driftedFeatures: [], features: [], baseline: null };
    }
    const { profile, inherited } = found;
    const baseline: BaselineInfo = { kind: 'profile', version: profile.version, inherited, rows: profile.rows, createdAt: profile.createdAt, source: profile.source };
    const pairs = model.features.map((f) => ({ f, ref: profileSide(profile, f.name), cur: window.side(f.name) }));
    return { ...head, ...judge(pairs, window.rows, this.config), baseline };
  }

  /**
   * Canary against stable: the same per-feature tests, with version `stable`'s live
   * window as the reference and `canary`'s as the current sample (inputs and outputs).
   * Each side uses its current window if it has minSamples rows, else its last closed one.
   * Only split-routed rows are compared: rows of requests that pinned their version (the
   * client chose it) are left out, so a client cannot make a canary look drifted.
   */
  compareVersions(model: string, stable: string, canary: string): DriftVerdict {
    const cfg = this.#models.get(model);
    if (!cfg) throw DriftErrors.DRIFT_ERR_UNKNOWN_MODEL(`drift is not configured for model "${model}"`);
    const now = this.#clock.now();
    const a = this.#liveWindow(cfg, stable, now);
    const b = this.#liveWindow(cfg, canary, now);
    const head = { model, version: canary, evaluatedAtMs: now, requests: b?.requests ?? 0, samples: b?.rows ?? 0 };
    const windowOf = (w: FeatureWindow | undefined) => ({ startMs: w?.startMs ?? now, endMs: w?.endMs ?? now, closed: w ? w.endMs <= now : false });
    const baseline: BaselineInfo = { kind: 'version', version: stable, samples: a?.rows ?? 0 };
    if (!a || !b || a.rows < this.config.minSamples) {
      const reason = !a ? `no traffic recorded for stable version ${stable}` : !b ? `no traffic recorded for version ${canary}` : `stable version ${stable} has ${a.rows} rows < minSamples ${this.config.minSamples}`;
      return { ...head, window: windowOf(b), verdict: 'inconclusive', reason, alpha: this.config.thresholds.pValue, driftedFeatures: [], features: [], baseline };
    }
    const pairs = cfg.features.map((f) => ({ f, ref: a.side(f.name), cur: b.side(f.name) }));
    return { ...head, window: windowOf(b), ...judge(pairs, b.rows, this.config), baseline };
  }

  #liveWindow(model: ModelDriftConfig, version: string, now: number): FeatureWindow | undefined {
    const state = this.#state.get(model.model)?.get(version);
    if (!state) return undefined;
    this.#roll(model, state, now);
    const w = state.split ?? state;
    if (w.current.rows >= this.config.minSamples || !w.previous) return w.current.requests > 0 ? w.current : undefined;
    return w.previous;
  }

  // ---- the drift SLI --------------------------------------------------------------

  /**
   * The drift SLI hook: closed evaluation windows of one model version, oldest first
   * (at most one day of them). A window is good when `drifted === false`, bad when `true`;
   * inconclusive windows (`null`) count neither way.
   */
  windows(model: string, version: string): readonly DriftWindow[] {
    const state = this.#state.get(model)?.get(version);
    if (state) this.#roll(this.#models.get(model)!, state, this.#clock.now());
    return state?.history ?? [];
  }

  /** Whether the last closed window of a model version drifted: true/false, null if inconclusive, undefined if none closed yet. */
  lastWindowDrifted(model: string, version: string): boolean | null | undefined {
    return this.windows(model, version).at(-1)?.drifted;
  }

  /** Called once per closed window of every model version (the SLO engine can count good windows here). Listener errors are counted, not thrown. */
  onWindowClosed(fn: (w: DriftWindow) => void): () => void {
    this.#windowListeners.push(fn);
    return () => {
      const i = this.#windowListeners.indexOf(fn);
      if (i >= 0) this.#windowListeners.splice(i, 1);
    };
  }

  /** Drops a version's state (windows, history, gauges), e.g. when it is unloaded for good. */
  forgetVersion(model: string, version: string): void {
    this.#state.get(model)?.delete(version);
  }

  // ---- reporting ------------------------------------------------------------------

  unparsableByModel(): ReadonlyMap<string, number> {
    return this.#unparsable;
  }

  /** Rows recorded per model version since start (for modelgate_drift_samples_total). */
  samplesByVersion(): { model: string; version: string; samples: number }[] {
    const out: { model: string; version: string; samples: number }[] = [];
    for (const [model, versions] of this.#state) {
      for (const s of versions.values()) out.push({ model, version: s.version, samples: s.totalRows });
    }
    return out;
  }

  /** JSON for the admin `GET /api/v1/drift`. */
  snapshot(): DriftSnapshot {
    const models: DriftSnapshot['models'] = [];
    for (const m of this.config.models) {
      const versions = [...(this.#state.get(m.model)?.values() ?? [])].map((s) => ({
        version: s.version,
        last: s.last ?? null,
        currentWindow: { startMs: s.current.startMs, endMs: s.current.endMs, requests: s.current.requests, rows: s.current.rows },
        recentWindows: s.history.slice(-12),
        memoryBytes: s.current.bytes() + (s.previous?.bytes() ?? 0),
      }));
      const baselines = this.#baselines.list(m.model).map((p) => ({ version: p.version, rows: p.rows, createdAt: p.createdAt, source: p.source, features: Object.keys(p.features) }));
      const capture = this.#captures.get(m.model);
      models.push({
        model: m.model,
        features: m.features.map((f) => ({ name: f.name, source: f.source, tensor: f.tensor, ...(f.column !== undefined ? { column: f.column } : {}), kind: f.kind, method: f.method })),
        baselines,
        capture: capture ? { version: capture.version, rows: capture.rows, startMs: capture.startMs } : null,
        unparsable: this.#unparsable.get(m.model) ?? 0,
        versions,
      });
    }
    const c = this.config;
    return {
      settings: { enabled: c.enabled, sampleRate: this.#sampleRate, windowMs: c.window, minSamples: c.minSamples, thresholds: c.thresholds, verdict: c.verdict },
      stats: { ...this.stats },
      models,
    };
  }
}

function toBuffer(b: Uint8Array | string): Buffer {
  return typeof b === 'string' ? Buffer.from(b, 'utf8') : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}
