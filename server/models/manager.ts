// Keeps every configured model's versions in the states TF Serving reports
// (START → LOADING → AVAILABLE → UNLOADING → END), polling the repository for new and
// removed versions. Availability-preserving, like TF Serving's AvailabilityPreservingPolicy
// (tensorflow_serving/core/availability_preserving_policy.h): a new version is loaded and
// warmed before an old one is unloaded, and the last serving version is never unloaded
// because a newer one failed or the folder emptied.
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Clock } from '../../common/clock.ts';
import type { ModelState } from '../../common/conventions.ts';
import { SrvErr } from '../errors.ts';
import type { ServerMetrics } from '../metrics.ts';
import { aspiredVersions } from '../repository/policy.ts';
import { scanRepository, type RefusedVersion, type VersionFile } from '../repository/scan.ts';
import { loadOnnx } from '../runtime/onnx.ts';
import type { LoadedModel, RuntimeOptions, Signature } from '../runtime/types.ts';
import { signatureDiff } from './signature.ts';
import type { ModelConfig, Runner, RunnerFactory, Warmup } from './types.ts';

export interface VersionStatus {
  version: number;
  state: ModelState;
  /** TF error code name ("OK", "INVALID_ARGUMENT", ...) and message, as in get_model_status.proto. */
  errorCode: string;
  errorMessage: string;
}

interface VersionEntry {
  version: number;
  state: ModelState;
  errorCode: string;
  errorMessage: string;
  file?: VersionFile;
  /** size:mtime seen at the previous scan; a file is loaded only once it stops changing. */
  lastSig?: string;
  loaded?: LoadedModel;
  runner?: Runner;
  inFlight: number;
  drained?: () => void;
  attempts: number;
  nextAttemptAt: number;
  failedSig?: string;
  /** Not served because its signature differs from the serving version's (retried when allowed or the file changes). */
  signatureRefused?: boolean;
  /** Why the repository scan refused this version (a link leading outside the base path); logged once per reason. */
  scanRefusal?: string;
}

interface ModelEntry {
  config: ModelConfig;
  versions: Map<number, VersionEntry>;
  labels: Map<string, number>;
  /** Labels from config whose version is not AVAILABLE yet (applied when it is: tensorflow/serving#1608). */
  pendingLabels: Map<string, number>;
  /** size:mtime of each version's file at the previous scan. */
  fileSigs: Map<number, string>;
}

export interface ServingHandle {
  model: string;
  version: number;
  signature: Signature;
  runner: Runner;
  /** Drops the reference; calling it again does nothing. */
  release(): void;
}

export interface ManagerOptions {
  clock: Clock;
  metrics: ServerMetrics;
  /** How often to scan the repository; <= 0 scans once (TF: --file_system_poll_wait_seconds). */
  pollMs: number;
  runtime?: RuntimeOptions;
  warmup?: Warmup;
  runnerFactory?: RunnerFactory;
  /** TF Serving: --max_num_load_retries (5). */
  maxLoadRetries?: number;
  /** First retry delay; doubles per attempt up to maxRetryDelayMs. */
  retryBaseMs?: number;
  maxRetryDelayMs?: number;
  log?: (msg: string) => void;
}

const plainRunner = (loaded: LoadedModel): Runner => ({
  run: (inputs, outputs) => loaded.run(inputs, outputs),
  close: async () => {},
});

/** END entries kept per model for the status API, newest first. */
const MAX_ENDED_KEPT = 8;

/**
 * A reference on one version, taken per request. A class rather than an object literal
 * with a `release` closure: in the compiled build the two cost the same (~30 ns per
 * handle, bench/build.ts's machine), but when the sources run through tsx (the tests)
 * every closure gets a __name wrapper that costs 0.6–1.3 µs per request.
 */
class Handle implements ServingHandle {
  readonly version: number;
  readonly signature: Signature;
  readonly runner: Runner;
  #entry: VersionEntry | undefined;

  constructor(
    readonly model: string,
    entry: VersionEntry,
  ) {
    this.version = entry.version;
    this.signature = entry.loaded!.signature;
    this.runner = entry.runner!;
    this.#entry = entry;
    entry.inFlight++;
  }

  release(): void {
    const entry = this.#entry;
    if (!entry) return;
    this.#entry = undefined;
    entry.inFlight--;
    if (entry.inFlight === 0 && entry.drained) {
      const d = entry.drained;
      entry.drained = undefined;
      d();
    }
  }
}

/** A version that exists in the repository but does not serve yet: loading, or failing to load. */
function notReadyYet(e: VersionEntry): boolean {
  return e.state === 'START' || e.state === 'LOADING' || (e.state === 'END' && e.errorCode !== 'OK');
}

function unavailable(model: string, e: VersionEntry): Error {
  const why = e.state === 'END' ? `failed to load: ${e.errorMessage}` : 'is loading';
  return SrvErr.SRV_ERR_UNAVAILABLE(`Version ${e.version} of model ${model} is not ready: it ${why}`);
}

function hasAvailable(m: ModelEntry): boolean {
  for (const e of m.versions.values()) if (e.state === 'AVAILABLE') return true;
  return false;
}

/** A configured model with no AVAILABLE version: says what it is waiting for. */
function noVersionReady(m: ModelEntry): Error {
  const name = m.config.name;
  const list = [...m.versions.values()].sort((a, b) => b.version - a.version);
  const loading = list.find((e) => e.state === 'START' || e.state === 'LOADING');
  const failed = list.find((e) => e.state === 'END' && e.errorCode !== 'OK');
  let why: string;
  if (loading) why = `version ${loading.version} is loading`;
  else if (failed) why = `version ${failed.version} failed to load: ${failed.errorMessage}`;
  else why = `no version found under ${m.config.basePath} yet`;
  return SrvErr.SRV_ERR_UNAVAILABLE(`Model ${name} has no version ready to serve (${why}); retry later`);
}

export class ModelManager {
  readonly #opts: Required<Pick<ManagerOptions, 'maxLoadRetries' | 'retryBaseMs' | 'maxRetryDelayMs'>> & ManagerOptions;
  readonly #models = new Map<string, ModelEntry>();
  #timer: NodeJS.Timeout | undefined;
  #polling: Promise<void> | undefined;
  #closed = false;

  constructor(models: readonly ModelConfig[], opts: ManagerOptions) {
    // Options given as undefined (startServer passes its own optional values through) keep the defaults.
    this.#opts = {
      ...opts,
      maxLoadRetries: opts.maxLoadRetries ?? 5,
      retryBaseMs: opts.retryBaseMs ?? 1000,
      maxRetryDelayMs: opts.maxRetryDelayMs ?? 60_000,
    };
    for (const m of models) this.#models.set(m.name, this.#newEntry(m));
  }

  #newEntry(config: ModelConfig): ModelEntry {
    return { config, versions: new Map(), labels: new Map(), pendingLabels: new Map(Object.entries(config.labels)), fileSigs: new Map() };
  }

  /** First scan (awaited), then periodic polling. */
  async start(): Promise<void> {
    await this.poll();
    this.#schedule();
  }

  #schedule(): void {
    if (this.#closed || this.#opts.pollMs <= 0) return;
    this.#timer = setTimeout(() => {
      this.poll().finally(() => this.#schedule());
    }, this.#opts.pollMs);
    this.#timer.unref();
  }

  /** One scan of every model's folder; concurrent callers share the same scan. */
  poll(): Promise<void> {
    if (!this.#polling) {
      this.#polling = (async () => {
        try {
          for (const m of [...this.#models.values()]) await this.#pollModel(m);
        } finally {
          this.#polling = undefined;
        }
      })();
    }
    return this.#polling;
  }

  async #pollModel(m: ModelEntry): Promise<void> {
    const now = this.#opts.clock.now();
    const { files, refused } = await scanRepository(m.config.basePath);
    this.#markRefused(m, refused);
    const byVersion = new Map(files.map((f) => [f.version, f]));
    const sigs = new Map<number, string>();
    const ready: number[] = [];
    for (const f of files) {
      const sig = `${f.size}:${f.mtimeMs}`;
      sigs.set(f.version, sig);
      // A half-copied file is never loaded: it must be unchanged since the previous scan,
      // or older than one poll interval (so files present at start load at once).
      const settled = m.fileSigs.get(f.version) === sig || now - f.mtimeMs >= Math.max(this.#opts.pollMs, 1000);
      if (settled && f.size > 0) ready.push(f.version);
    }
    m.fileSigs = sigs;
    const aspired = new Set(aspiredVersions(m.config.policy, ready));
    for (const v of [...aspired].sort((a, b) => b - a)) {
      let e = m.versions.get(v);
      if (!e) {
        e = { version: v, state: 'START', errorCode: 'OK', errorMessage: '', inFlight: 0, attempts: 0, nextAttemptAt: 0 };
        m.versions.set(v, e);
        this.#opts.metrics.setState(m.config.name, String(v), 'START');
      }
      e.file = byVersion.get(v);
      const sig = sigs.get(v);
      if (e.failedSig && e.failedSig !== sig) {
        // The file changed after failing: a fresh set of attempts.
        e.attempts = 0;
        e.nextAttemptAt = 0;
        e.failedSig = undefined;
      }
      e.lastSig = sig;
      if (e.state === 'AVAILABLE' || e.state === 'LOADING' || e.state === 'UNLOADING') continue;
      if (e.failedSig && (e.attempts > this.#opts.maxLoadRetries || now < e.nextAttemptAt)) continue;
      await this.#load(m, e);
    }
    // Unload versions the policy no longer wants, but only while another wanted version serves.
    const someAspiredAvailable = [...aspired].some((v) => m.versions.get(v)?.state === 'AVAILABLE');
    if (someAspiredAvailable) {
      for (const e of m.versions.values()) {
        if (e.state === 'AVAILABLE' && !aspired.has(e.version)) await this.#unload(m, e);
      }
    }
    this.#trimEnded(m, aspired);
  }

  /** Versions the scan refused show in status as END with the reason, logged once; they are never loaded. */
  #markRefused(m: ModelEntry, refused: readonly RefusedVersion[]): void {
    const now = new Set(refused.map((r) => r.version));
    for (const e of m.versions.values()) {
      // A refusal that no longer holds (the link was fixed or removed): the entry is forgotten
      // unless it serves, and the next scan treats the folder as any other.
      if (e.scanRefusal !== undefined && !now.has(e.version) && e.state === 'END') {
        m.versions.delete(e.version);
        this.#opts.metrics.forgetVersion(m.config.name, String(e.version));
      }
    }
    for (const r of refused) {
      let e = m.versions.get(r.version);
      if (e && (e.state === 'AVAILABLE' || e.state === 'LOADING' || e.state === 'UNLOADING')) continue;
      if (!e) {
        e = { version: r.version, state: 'END', errorCode: 'OK', errorMessage: '', inFlight: 0, attempts: 0, nextAttemptAt: 0 };
        m.versions.set(r.version, e);
      }
      const message = `Version ${r.version} of ${m.config.name} is refused: ${r.reason}`;
      if (e.scanRefusal !== r.reason) this.#log(message);
      e.scanRefusal = r.reason;
      e.errorCode = 'PERMISSION_DENIED';
      e.errorMessage = message;
      this.#setState(m, e, 'END');
    }
  }

  async #load(m: ModelEntry, e: VersionEntry): Promise<void> {
    const name = m.config.name;
    const label = String(e.version);
    const sig = e.lastSig;
    this.#setState(m, e, 'LOADING');
    const t0 = performance.now();
    let refusedBy: { version: number; diff: string[] } | undefined;
    try {
      const bytes = await readFile(e.file!.path);
      const loaded = await loadOnnx(bytes, { ...this.#opts.runtime, workerThreads: m.config.workerThreads });
      this.#opts.metrics.loadDuration.observe({ model: name, version: label }, (performance.now() - t0) / 1000);
      // A new signature would turn every existing client's request into a 400: the serving
      // version stays, unless the model config allows the change.
      const serving = this.#newestAvailable(m, e);
      if (serving && !m.config.allowSignatureChange) {
        const diff = signatureDiff(serving.loaded!.signature, loaded.signature);
        if (diff.length > 0) {
          refusedBy = { version: serving.version, diff };
          await loaded.release();
          throw SrvErr.SRV_ERR_FAILED_PRECONDITION(`signature differs from version ${serving.version}, which serves: ${diff.join('; ')}`);
        }
      }
      try {
        const w0 = performance.now();
        if (this.#opts.warmup) await this.#opts.warmup(m.config, e.version, dirname(e.file!.path), loaded);
        this.#opts.metrics.warmupDuration.observe({ model: name, version: label }, (performance.now() - w0) / 1000);
      } catch (err) {
        await loaded.release();
        throw SrvErr.SRV_ERR_INVALID_ARGUMENT(`warmup failed: ${(err as Error).message}`, err);
      }
      e.loaded = loaded;
      e.runner = this.#opts.runnerFactory ? this.#opts.runnerFactory(m.config, e.version, loaded) : plainRunner(loaded);
      e.errorCode = 'OK';
      e.errorMessage = '';
      e.attempts = 0;
      e.failedSig = undefined;
      e.signatureRefused = false;
      this.#setState(m, e, 'AVAILABLE');
      this.#log(`loaded ${name} version ${e.version} in ${Math.round(performance.now() - t0)} ms`);
      // Labels waiting for this version.
      for (const [l, v] of m.pendingLabels) {
        if (v === e.version) {
          m.labels.set(l, v);
          m.pendingLabels.delete(l);
        }
      }
    } catch (err) {
      this.#opts.metrics.loadFailures.inc({ model: name, version: label });
      if (refusedBy) {
        // Not retried: the same file gives the same signature. Again when the file changes
        // or the model config allows the change.
        e.attempts = this.#opts.maxLoadRetries + 1;
        e.failedSig = sig;
        e.signatureRefused = true;
        e.errorCode = 'FAILED_PRECONDITION';
        e.errorMessage =
          `Version ${e.version} of ${name} is not served: its signature differs from version ${refusedBy.version}, which keeps serving: ` +
          `${refusedBy.diff.join('; ')}. Set allow_signature_change: true in the model config to serve it.`;
        this.#setState(m, e, 'END');
        this.#log(e.errorMessage);
        return;
      }
      e.attempts++;
      e.failedSig = sig;
      const delay = Math.min(this.#opts.retryBaseMs * 2 ** (e.attempts - 1), this.#opts.maxRetryDelayMs);
      e.nextAttemptAt = this.#opts.clock.now() + delay;
      e.errorCode = 'INVALID_ARGUMENT';
      e.errorMessage = `Failed to load ${name} version ${e.version} from ${e.file?.path}: ${(err as Error).message}`;
      this.#setState(m, e, 'END');
      const more = e.attempts <= this.#opts.maxLoadRetries ? `retrying in ${delay} ms` : 'giving up until the file changes';
      this.#log(`${e.errorMessage} (attempt ${e.attempts}, ${more})`);
    }
  }

  /** The newest AVAILABLE version of a model other than `except` (the one "latest" requests get). */
  #newestAvailable(m: ModelEntry, except: VersionEntry): VersionEntry | undefined {
    let best: VersionEntry | undefined;
    for (const c of m.versions.values()) {
      if (c !== except && c.state === 'AVAILABLE' && c.loaded && (!best || c.version > best.version)) best = c;
    }
    return best;
  }

  async #unload(m: ModelEntry, e: VersionEntry): Promise<void> {
    this.#setState(m, e, 'UNLOADING');
    if (e.inFlight > 0) await new Promise<void>((resolve) => (e.drained = resolve));
    const loaded = e.loaded;
    const runner = e.runner;
    e.loaded = undefined;
    e.runner = undefined;
    await runner?.close();
    await loaded?.release();
    e.errorCode = 'OK';
    e.errorMessage = '';
    this.#setState(m, e, 'END');
    this.#log(`unloaded ${m.config.name} version ${e.version}`);
  }

  #setState(m: ModelEntry, e: VersionEntry, state: ModelState): void {
    e.state = state;
    this.#opts.metrics.setState(m.config.name, String(e.version), state);
  }

  #trimEnded(m: ModelEntry, aspired: Set<number>): void {
    const ended = [...m.versions.values()]
      .filter((e) => (e.state === 'END' || e.state === 'START') && !aspired.has(e.version))
      .sort((a, b) => b.version - a.version);
    for (const e of ended.slice(MAX_ENDED_KEPT)) {
      m.versions.delete(e.version);
      this.#opts.metrics.forgetVersion(m.config.name, String(e.version));
    }
  }

  #log(msg: string): void {
    this.#opts.log?.(msg);
  }

  // ---- queries --------------------------------------------------------------------------

  modelNames(): string[] {
    return [...this.#models.keys()];
  }

  hasModel(name: string): boolean {
    return this.#models.has(name);
  }

  config(name: string): ModelConfig | undefined {
    return this.#models.get(name)?.config;
  }

  /** True when every configured model has at least one AVAILABLE version. */
  allReady(): boolean {
    for (const m of this.#models.values()) {
      if (![...m.versions.values()].some((e) => e.state === 'AVAILABLE')) return false;
    }
    return true;
  }

  /** Status of all versions of a model, or of one version (TF Serving GetModelStatus). */
  status(name: string, version?: number): VersionStatus[] {
    const m = this.#models.get(name);
    if (!m || m.versions.size === 0) throw SrvErr.SRV_ERR_NOT_FOUND(`Could not find any versions of model ${name}`);
    const list = [...m.versions.values()].sort((a, b) => b.version - a.version);
    const pick = version === undefined ? list : list.filter((e) => e.version === version);
    if (pick.length === 0) throw SrvErr.SRV_ERR_NOT_FOUND(`Could not find version ${version} of model ${name}`);
    return pick.map((e) => ({ version: e.version, state: e.state, errorCode: e.errorCode, errorMessage: e.errorMessage }));
  }

  labels(name: string): Record<string, number> {
    const m = this.#models.get(name);
    return m ? Object.fromEntries(m.labels) : {};
  }

  availableVersions(name: string): number[] {
    const m = this.#models.get(name);
    if (!m) return [];
    return [...m.versions.values()].filter((e) => e.state === 'AVAILABLE').map((e) => e.version).sort((a, b) => a - b);
  }

  /**
   * Resolves a request's model spec to a serving version and takes a reference on it.
   * A model that is not configured is NOT_FOUND; a configured one with nothing ready to
   * serve the request yet (loading, or failing to load) is UNAVAILABLE (503, Retry-After),
   * so a restart's or a bad load's outage is visible to the SLOs as a server-side failure.
   */
  acquire(name: string, spec: { version?: number; label?: string } = {}): ServingHandle {
    const m = this.#models.get(name);
    if (spec.version !== undefined && spec.label !== undefined) {
      throw SrvErr.SRV_ERR_INVALID_ARGUMENT('Specify either a version or a label, not both');
    }
    let e: VersionEntry | undefined;
    if (spec.label !== undefined) {
      const v = m?.labels.get(spec.label) ?? m?.pendingLabels.get(spec.label);
      if (!m || v === undefined) throw SrvErr.SRV_ERR_INVALID_ARGUMENT(`Unrecognized servable version label: ${spec.label}`);
      e = m.versions.get(v);
      if (!e || e.state !== 'AVAILABLE') {
        if (e && notReadyYet(e)) throw unavailable(name, e);
        if (!hasAvailable(m)) throw noVersionReady(m);
        throw SrvErr.SRV_ERR_FAILED_PRECONDITION(`Label ${spec.label} of model ${name} points to version ${v}, which is not available`);
      }
    } else if (spec.version !== undefined) {
      e = m?.versions.get(spec.version);
      if (!e || e.state !== 'AVAILABLE') {
        if (e && notReadyYet(e)) throw unavailable(name, e);
        // Nothing of this model serves yet (starting, or still scanning): an outage, not a wrong number.
        if (m && !hasAvailable(m)) throw noVersionReady(m);
        throw SrvErr.SRV_ERR_NOT_FOUND(`Servable not found for request: Specific(${name}, ${spec.version})`);
      }
    } else {
      if (!m) throw SrvErr.SRV_ERR_NOT_FOUND(`Servable not found for request: Latest(${name})`);
      for (const c of m.versions.values()) if (c.state === 'AVAILABLE' && (!e || c.version > e.version)) e = c;
      if (!e) throw noVersionReady(m);
    }
    return new Handle(name, e);
  }

  // ---- reconfiguration ------------------------------------------------------------------

  /**
   * Applies a new model list (TF Serving HandleReloadConfigRequest): models not in it are
   * unloaded, new ones added, policies and labels replaced. Labels must point to AVAILABLE
   * versions (FAILED_PRECONDITION otherwise), checked before anything changes.
   */
  async reconfigure(models: readonly ModelConfig[]): Promise<void> {
    for (const c of models) {
      const m = this.#models.get(c.name);
      for (const [label, v] of Object.entries(c.labels)) {
        const current = m?.labels.get(label);
        if (current === v) continue;
        if (m?.versions.get(v)?.state !== 'AVAILABLE') {
          throw SrvErr.SRV_ERR_FAILED_PRECONDITION(`Request to assign label to version ${v} of model ${c.name}, which is not currently available for inference`);
        }
      }
    }
    const keep = new Set(models.map((c) => c.name));
    for (const [name, m] of [...this.#models]) {
      if (keep.has(name)) continue;
      this.#models.delete(name);
      for (const e of m.versions.values()) {
        if (e.state === 'AVAILABLE') await this.#unload(m, e);
        this.#opts.metrics.forgetVersion(name, String(e.version));
      }
    }
    for (const c of models) {
      const m = this.#models.get(c.name);
      if (!m) {
        this.#models.set(c.name, this.#newEntry(c));
        continue;
      }
      m.config = c;
      m.labels = new Map(Object.entries(c.labels));
      m.pendingLabels.clear();
      if (c.allowSignatureChange) {
        for (const e of m.versions.values()) {
          if (!e.signatureRefused) continue;
          e.signatureRefused = false;
          e.failedSig = undefined;
          e.attempts = 0;
          e.nextAttemptAt = 0;
        }
      }
    }
    await this.poll();
  }

  /** Sets or moves one label (e.g. stable → 2); the version must be AVAILABLE. */
  setLabel(name: string, label: string, version: number): void {
    const m = this.#models.get(name);
    if (!m) throw SrvErr.SRV_ERR_NOT_FOUND(`Could not find any versions of model ${name}`);
    if (m.versions.get(version)?.state !== 'AVAILABLE') {
      throw SrvErr.SRV_ERR_FAILED_PRECONDITION(`Request to assign label to version ${version} of model ${name}, which is not currently available for inference`);
    }
    m.labels.set(label, version);
    m.config = { ...m.config, labels: { ...m.config.labels, [label]: version } };
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    await this.#polling;
    for (const m of this.#models.values()) {
      for (const e of m.versions.values()) if (e.state === 'AVAILABLE') await this.#unload(m, e);
    }
  }
}
