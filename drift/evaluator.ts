// The recorder's judgement: which baseline each version is held to (files, or one captured
// from the stable version's live traffic), and the verdicts of windows against it or of a
// canary's windows against the stable version's. The statistics are evaluate.ts `judge`.
import type { Clock } from '../common/index.ts';
import type { DriftConfig, ModelDriftConfig } from './config.ts';
import { judge } from './evaluate.ts';
import type { BaselineProfile } from './profile.ts';
import { BaselineCapture } from './capture.ts';
import { BaselineSet } from './baselines.ts';
import { profileSide } from './window.ts';
import type { FeatureWindow } from './window.ts';
import type { WindowStore } from './window-store.ts';
import { DriftErrors } from './errors.ts';
import type { BaselineInfo, DriftStats, DriftVerdict } from './types.ts';

export interface EvaluatorOptions {
  clock: Clock;
  /** Persists a baseline captured from live traffic; failures are counted in stats.persistFailures. */
  persistBaseline: ((profile: BaselineProfile) => Promise<unknown>) | undefined;
}

export class DriftEvaluator {
  readonly #config: DriftConfig;
  readonly #models: ReadonlyMap<string, ModelDriftConfig>;
  readonly #stats: DriftStats;
  readonly #clock: Clock;
  readonly #persist: EvaluatorOptions['persistBaseline'];
  readonly #baselines = new BaselineSet();
  readonly #captures = new Map<string, BaselineCapture>();
  readonly #stable = new Map<string, string>();
  readonly #windows: WindowStore;

  /** `windows` are what `evaluate` and `compareVersions` judge; the store asks `verdict` for each window it closes. */
  constructor(config: DriftConfig, models: ReadonlyMap<string, ModelDriftConfig>, windows: WindowStore, stats: DriftStats, options: EvaluatorOptions) {
    this.#config = config;
    this.#models = models;
    this.#windows = windows;
    this.#stats = stats;
    this.#clock = options.clock;
    this.#persist = options.persistBaseline;
  }

  // ---- baselines ------------------------------------------------------------------

  setBaseline(profile: BaselineProfile): void {
    this.#baselines.set(profile);
  }

  setStableVersion(model: string, version: string): void {
    this.#stable.set(model, version);
  }

  baselineFor(model: string, version: string): { profile: BaselineProfile; inherited: boolean } | undefined {
    return this.#baselines.for(model, version);
  }

  baselinesOf(model: string): BaselineProfile[] {
    return this.#baselines.list(model);
  }

  /** The live capture under way for a model, if any. */
  captureOf(model: string): BaselineCapture | undefined {
    return this.#captures.get(model);
  }

  /** Rows of the stable version feed its live baseline until the capture window is over; then it is set and persisted. */
  capture(model: ModelDriftConfig, version: string, atMs: number, rows: number, values: ReadonlyMap<string, readonly unknown[]>): void {
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
      const profile = capture.build(atMs, this.#config);
      this.#captures.delete(model.model);
      this.setBaseline(profile);
      const persist = this.#persist;
      if (persist) {
        // Through a promise, so a persister that throws synchronously is counted the same way.
        Promise.resolve()
          .then(() => persist(profile))
          .catch(() => {
            this.#stats.persistFailures++;
          });
      }
    }
  }

  // ---- verdicts -------------------------------------------------------------------

  /** Verdicts per model × version; each is kept as the version's `last`. */
  evaluate(): DriftVerdict[] {
    const now = this.#clock.now();
    const out: DriftVerdict[] = [];
    for (const state of this.#windows.all(now)) {
      const { window, closed } = this.#windows.scored(state);
      state.last = this.verdict(state.model, state.version, window, closed, now);
      out.push(state.last);
    }
    return out;
  }

  /** A window of `version` against its baseline; inconclusive, saying what to do, when there is none. */
  verdict(model: ModelDriftConfig, version: string, window: FeatureWindow, closed: boolean, now: number): DriftVerdict {
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
      return { ...head, verdict: 'inconclusive', reason, alpha: this.#config.thresholds.pValue, driftedFeatures: [], features: [], baseline: null };
    }
    const { profile, inherited } = found;
    const baseline: BaselineInfo = { kind: 'profile', version: profile.version, inherited, rows: profile.rows, createdAt: profile.createdAt, source: profile.source };
    const pairs = model.features.map((f) => ({ f, ref: profileSide(profile, f.name), cur: window.side(f.name) }));
    return { ...head, ...judge(pairs, window.rows, this.#config), baseline };
  }

  /** `canary`'s split-routed live window against `stable`'s (DriftRecorder.compareVersions). */
  compareVersions(model: string, stable: string, canary: string): DriftVerdict {
    const cfg = this.#models.get(model);
    if (!cfg) throw DriftErrors.DRIFT_ERR_UNKNOWN_MODEL(`drift is not configured for model "${model}"`);
    const now = this.#clock.now();
    const minSamples = this.#config.minSamples;
    const a = this.#liveWindow(model, stable, now);
    const b = this.#liveWindow(model, canary, now);
    const head = { model, version: canary, evaluatedAtMs: now, requests: b?.requests ?? 0, samples: b?.rows ?? 0 };
    const windowOf = (w: FeatureWindow | undefined) => ({ startMs: w?.startMs ?? now, endMs: w?.endMs ?? now, closed: w ? w.endMs <= now : false });
    const baseline: BaselineInfo = { kind: 'version', version: stable, samples: a?.rows ?? 0 };
    if (!a || !b || a.rows < minSamples) {
      const reason = !a ? `no traffic recorded for stable version ${stable}` : !b ? `no traffic recorded for version ${canary}` : `stable version ${stable} has ${a.rows} rows < minSamples ${minSamples}`;
      return { ...head, window: windowOf(b), verdict: 'inconclusive', reason, alpha: this.#config.thresholds.pValue, driftedFeatures: [], features: [], baseline };
    }
    const pairs = cfg.features.map((f) => ({ f, ref: a.side(f.name), cur: b.side(f.name) }));
    return { ...head, window: windowOf(b), ...judge(pairs, b.rows, this.#config), baseline };
  }

  /** A version's split-routed window to compare: as `scored` picks it, or none while the current one has no traffic and nothing closed. */
  #liveWindow(model: string, version: string, now: number): FeatureWindow | undefined {
    const state = this.#windows.get(model, version, now);
    if (!state) return undefined;
    const { window, closed } = this.#windows.scored(state.split ?? state);
    return closed || window.requests > 0 ? window : undefined;
  }
}
