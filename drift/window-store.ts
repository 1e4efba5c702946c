// The recorder's windows: per model and version, the window filling now, the last closed one
// with traffic, the split-routed pair, and the closed windows' verdicts (the drift SLI).
// Windows are aligned to multiples of `window` and roll when a row or a read comes after
// their end; a closed window is judged once (by the evaluator, through `judgeClosed`) and
// handed to the listeners.
import type { DriftConfig, ModelDriftConfig } from './config.ts';
import type { BaselineProfile } from './profile.ts';
import { FeatureWindow } from './window.ts';
import type { DriftStats, DriftVerdict, DriftWindow } from './types.ts';

/** Closed windows kept per model version for the SLI: one day of 5-minute windows. */
const WINDOW_HISTORY = 288;
/** Versions tracked per model; versions come from the proxy's allowlist, this is a backstop. */
const MAX_VERSIONS_PER_MODEL = 32;

/** A current window and the last closed one worth comparing against. */
export interface WindowPair {
  current: FeatureWindow;
  previous: FeatureWindow | undefined;
}

export class VersionWindows implements WindowPair {
  previous: FeatureWindow | undefined;
  /**
   * Windows of split-routed rows only, kept from the first pinned row of the version on
   * (until then every row was split-routed and `current`/`previous` serve):
   * compareVersions judges these, so a client cannot aim inputs at a canary.
   */
  split: WindowPair | undefined;
  readonly history: DriftWindow[] = [];
  /** The verdict of the last evaluation (what the gauges show). */
  last: DriftVerdict | undefined;
  /** Rows recorded since start, all windows. */
  totalRows = 0;
  constructor(
    readonly model: ModelDriftConfig,
    readonly version: string,
    public current: FeatureWindow,
  ) {}
}

export interface WindowStoreHooks {
  /** The baseline whose bins a new window of this version counts in. */
  binsFor(model: string, version: string): BaselineProfile | undefined;
  /** The verdict of a window that just closed. */
  judgeClosed(model: ModelDriftConfig, version: string, window: FeatureWindow, nowMs: number): DriftVerdict;
}

export class WindowStore {
  readonly #config: DriftConfig;
  readonly #stats: DriftStats;
  readonly #hooks: WindowStoreHooks;
  readonly #byModel = new Map<string, Map<string, VersionWindows>>();
  readonly #listeners: ((w: DriftWindow) => void)[] = [];

  constructor(config: DriftConfig, stats: DriftStats, hooks: WindowStoreHooks) {
    this.#config = config;
    this.#stats = stats;
    this.#hooks = hooks;
  }

  /** Adds one request's rows to the version's windows; false when the model has too many versions already. */
  record(model: ModelDriftConfig, version: string, atMs: number, rows: number, values: ReadonlyMap<string, readonly unknown[]>, pinned: boolean): boolean {
    const state = this.#versionState(model, version, atMs);
    if (!state) return false;
    this.#roll(state, atMs);
    state.current.record(model.features, rows, values);
    if (pinned) state.split ??= { current: this.#newWindow(model, version, atMs), previous: undefined };
    else state.split?.current.record(model.features, rows, values);
    state.totalRows += rows;
    return true;
  }

  /** A version's windows, rolled to `nowMs`; undefined when it has seen no rows. */
  get(model: string, version: string, nowMs: number): VersionWindows | undefined {
    const state = this.#byModel.get(model)?.get(version);
    if (state) this.#roll(state, nowMs);
    return state;
  }

  /** Every version's windows, model by model in the order they first saw rows, rolled to `nowMs`. */
  *all(nowMs: number): IterableIterator<VersionWindows> {
    for (const versions of this.#byModel.values()) {
      for (const state of versions.values()) {
        this.#roll(state, nowMs);
        yield state;
      }
    }
  }

  /** One model's versions as they are (not rolled), for reporting. */
  versionsOf(model: string): readonly VersionWindows[] {
    return [...(this.#byModel.get(model)?.values() ?? [])];
  }

  /** Every version with rows, as they are (not rolled), for reporting. */
  *each(): IterableIterator<VersionWindows> {
    for (const versions of this.#byModel.values()) yield* versions.values();
  }

  /**
   * The window a version is judged by: the current one if it has minSamples rows (or
   * there is no closed one), else the last closed one. `split` takes the split-routed
   * windows once the version has them.
   */
  scored(pair: WindowPair): { window: FeatureWindow; closed: boolean } {
    const useCurrent = pair.current.rows >= this.#config.minSamples || !pair.previous;
    return useCurrent ? { window: pair.current, closed: false } : { window: pair.previous!, closed: true };
  }

  /** Called once per closed window of every model version. Listener errors are counted, not thrown. */
  onWindowClosed(fn: (w: DriftWindow) => void): () => void {
    this.#listeners.push(fn);
    return () => {
      const i = this.#listeners.indexOf(fn);
      if (i >= 0) this.#listeners.splice(i, 1);
    };
  }

  forget(model: string, version: string): void {
    this.#byModel.get(model)?.delete(version);
  }

  #newWindow(model: ModelDriftConfig, version: string, atMs: number): FeatureWindow {
    const size = this.#config.window;
    const start = Math.floor(atMs / size) * size;
    return new FeatureWindow(start, start + size, model, version, this.#config, this.#hooks.binsFor(model.model, version));
  }

  #versionState(model: ModelDriftConfig, version: string, atMs: number): VersionWindows | undefined {
    let versions = this.#byModel.get(model.model);
    if (!versions) this.#byModel.set(model.model, (versions = new Map()));
    let state = versions.get(version);
    if (!state) {
      if (versions.size >= MAX_VERSIONS_PER_MODEL) return undefined;
      state = new VersionWindows(model, version, this.#newWindow(model, version, atMs));
      versions.set(version, state);
    }
    return state;
  }

  /** Closes the current window if `nowMs` is past its end: its verdict becomes one SLI window. */
  #roll(state: VersionWindows, nowMs: number): void {
    if (nowMs < state.current.endMs) return;
    const { model, version } = state;
    const closed = state.current;
    const verdict = this.#hooks.judgeClosed(model, version, closed, nowMs);
    const entry: DriftWindow = {
      model: model.model,
      version,
      startMs: closed.startMs,
      endMs: closed.endMs,
      verdict: verdict.verdict,
      drifted: verdict.verdict === 'inconclusive' ? null : verdict.verdict === 'drift',
      samples: closed.rows,
    };
    state.history.push(entry);
    if (state.history.length > WINDOW_HISTORY) state.history.shift();
    this.#rotate(state, nowMs);
    state.current = this.#newWindow(model, version, nowMs);
    if (state.split) {
      this.#rotate(state.split, nowMs);
      state.split.current = this.#newWindow(model, version, nowMs);
    }
    for (const fn of this.#listeners) {
      try {
        fn(entry);
      } catch {
        this.#stats.errors++;
      }
    }
  }

  /** The closed window becomes `previous`; one with no traffic at all is not worth keeping, so the older one stays for one more window. */
  #rotate(pair: WindowPair, nowMs: number): void {
    const closed = pair.current;
    pair.previous = closed.requests > 0 ? closed : pair.previous && nowMs - pair.previous.endMs < this.#config.window ? pair.previous : undefined;
  }
}
