// What the upstream serves: the allowlist behind the cardinality cap, and the "which
// version served" answer for upstreams that do not say (TF Serving REST sets no version
// header and its predict response carries no model_spec).
//
// Knowledge comes from two places:
//  - evidence: a 2xx answer for a model (and the version the upstream reported) proves it
//    is served; a 404 or a refused request proves nothing, so random names cannot add
//    series (the architecture's "allowlist" rule);
//  - the upstream's model status, polled: TF Serving `GET /v1/models/{m}`
//    (get_model_status.proto: model_version_status[].{version,state}), or KServe
//    `GET /v2/models/{m}` (metadata `versions[]`).
// A version missing from the status is "gone"; after a grace period its series are dropped.
import type { Clock } from '../common/index.ts';
import { OVERFLOW_LABEL_VALUE } from '../common/index.ts';
import type { StatusApi } from './config.ts';

export interface StatusFetcher {
  /** Returns served versions with their state, `null` if the model is not served (404), or throws when unreachable. */
  (model: string): Promise<Array<{ version: string; state: string }> | null>;
}

interface ModelEntry {
  versions: Map<string, { available: boolean; goneAtMs?: number }>;
  /** Highest AVAILABLE version from the last status answer: what TF Serving serves by default. */
  latest?: string;
  statusAtMs?: number;
  pending?: Promise<void>;
}

export interface CatalogOptions {
  clock: Clock;
  fetchStatus?: StatusFetcher;
  maxModels: number;
  maxVersionsPerModel: number;
  goneVersionGraceMs: number;
  /** Called once when a gone version's grace period ends, so its metric series can be dropped. */
  onVersionGone?: (model: string, version: string) => void;
}

/** Orders versions numerically when both are numbers (TF Serving versions are int64), else as text. */
export function compareVersions(a: string, b: string): number {
  const na = /^\d+$/.test(a), nb = /^\d+$/.test(b);
  if (na && nb) return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
  return a < b ? -1 : a > b ? 1 : 0;
}

export class ModelCatalog {
  readonly #models = new Map<string, ModelEntry>();
  readonly #opts: CatalogOptions;

  constructor(opts: CatalogOptions) {
    this.#opts = opts;
  }

  /** Models currently on the allowlist. */
  models(): string[] {
    return [...this.#models.keys()];
  }

  /** Versions on the label allowlist, including gone ones still in their grace period. */
  versions(model: string): string[] {
    return [...(this.#models.get(model)?.versions.keys() ?? [])];
  }

  /** Versions believed served now: allowlisted and not missing from the last status. */
  available(model: string): string[] {
    const m = this.#models.get(model);
    if (!m) return [];
    return [...m.versions].filter(([, v]) => v.goneAtMs === undefined).map(([version]) => version).sort(compareVersions);
  }

  /** Adds a model to the allowlist (from config or evidence). False when the cap is reached. */
  admit(model: string): boolean {
    if (this.#models.has(model)) return true;
    if (this.#models.size >= this.#opts.maxModels) return false;
    this.#models.set(model, { versions: new Map() });
    return true;
  }

  /** Adds a version the upstream proved it serves. False when the per-model cap is reached. */
  admitVersion(model: string, version: string): boolean {
    const m = this.#models.get(model);
    if (!m) return false;
    const v = m.versions.get(version);
    if (v) return true;
    if (m.versions.size >= this.#opts.maxVersionsPerModel) return false;
    m.versions.set(version, { available: true });
    return true;
  }

  /** The model label value: the name if allowed (admitting it on evidence), else the overflow value. */
  modelLabel(model: string, served: boolean): string {
    if (this.#models.has(model)) return model;
    if (served && this.admit(model)) return model;
    return OVERFLOW_LABEL_VALUE;
  }

  /** The version label value, same rule as `modelLabel`, within an allowed model. */
  versionLabel(model: string, version: string, served: boolean): string {
    const m = this.#models.get(model);
    if (!m) return OVERFLOW_LABEL_VALUE;
    if (m.versions.has(version)) return version;
    if (served && this.admitVersion(model, version)) return version;
    return OVERFLOW_LABEL_VALUE;
  }

  /** The highest AVAILABLE version per the last status, if known. */
  latest(model: string): string | undefined {
    return this.#models.get(model)?.latest;
  }

  /** True when the model is allowed and no status answer has arrived yet. */
  needsStatus(model: string): boolean {
    const m = this.#models.get(model);
    return !!m && m.statusAtMs === undefined && this.#opts.fetchStatus !== undefined;
  }

  /** Fetches status for one model now (deduplicated); never throws. */
  refresh(model: string): Promise<void> {
    const m = this.#models.get(model);
    const fetch = this.#opts.fetchStatus;
    if (!m || !fetch) return Promise.resolve();
    if (m.pending) return m.pending;
    m.pending = fetch(model)
      .then((list) => this.#apply(model, m, list))
      .catch(() => {
        // Unreachable or erroring: keep what we knew, and count the attempt as an answer so
        // requests stop waiting on it; the poll loop tries again.
        m.statusAtMs ??= this.#opts.clock.now();
      })
      .finally(() => {
        delete m.pending;
      });
    return m.pending;
  }

  /**
   * Asks the upstream now which versions of `model` it serves (AVAILABLE), and applies the
   * answer. Undefined when it cannot say: no status API, or no answer. For the admin API's
   * split check; never throws.
   */
  async servedVersions(model: string): Promise<string[] | undefined> {
    const fetch = this.#opts.fetchStatus;
    if (!fetch) return undefined;
    let list: Array<{ version: string; state: string }> | null;
    try {
      list = await fetch(model);
    } catch {
      return undefined;
    }
    const m = this.#models.get(model);
    if (m) this.#apply(model, m, list);
    return (list ?? []).filter((e) => e.state === 'AVAILABLE').map((e) => e.version);
  }

  /** Polls every allowed model once; call on an interval. */
  async pollAll(): Promise<void> {
    await Promise.all(this.models().map((m) => this.refresh(m)));
    this.sweep();
  }

  /** Ends the grace period of versions gone for longer than it; calls onVersionGone for each. */
  sweep(): void {
    const now = this.#opts.clock.now();
    for (const [model, m] of this.#models) {
      for (const [version, v] of m.versions) {
        if (v.goneAtMs !== undefined && now - v.goneAtMs >= this.#opts.goneVersionGraceMs) {
          m.versions.delete(version);
          this.#opts.onVersionGone?.(model, version);
        }
      }
    }
  }

  #apply(model: string, m: ModelEntry, list: Array<{ version: string; state: string }> | null): void {
    const now = this.#opts.clock.now();
    m.statusAtMs = now;
    const served = new Set<string>();
    let latest: string | undefined;
    for (const { version, state } of list ?? []) {
      if (state !== 'AVAILABLE') continue;
      served.add(version);
      if (latest === undefined || compareVersions(version, latest) > 0) latest = version;
    }
    if (latest === undefined) delete m.latest;
    else m.latest = latest;
    for (const version of served) {
      const v = m.versions.get(version);
      if (v) delete v.goneAtMs;
      else this.admitVersion(model, version);
    }
    for (const [version, v] of m.versions) {
      if (!served.has(version) && v.goneAtMs === undefined) v.goneAtMs = now;
    }
  }
}

/** The status fetcher for an upstream REST base URL, by dialect. */
export function httpStatusFetcher(
  get: (path: string) => Promise<{ status: number; body: unknown }>,
  api: StatusApi,
): StatusFetcher | undefined {
  if (api === 'none') return undefined;
  return async (model) => {
    const enc = encodeURIComponent(model);
    const { status, body } = await get(api === 'tfserving' ? `/v1/models/${enc}` : `/v2/models/${enc}`);
    if (status === 404) return null;
    if (status !== 200) throw new Error(`status ${status}`);
    return api === 'tfserving' ? parseTfStatus(body) : parseKserveMetadata(body);
  };
}

/** TF Serving GetModelStatusResponse as JSON: `{"model_version_status":[{"version":"1","state":"AVAILABLE"}]}`. */
export function parseTfStatus(body: unknown): Array<{ version: string; state: string }> {
  const list = (body as { model_version_status?: unknown })?.model_version_status;
  if (!Array.isArray(list)) return [];
  return list.flatMap((e: unknown) => {
    const r = e as { version?: unknown; state?: unknown };
    return (typeof r.version === 'string' || typeof r.version === 'number') && typeof r.state === 'string'
      ? [{ version: String(r.version), state: r.state }]
      : [];
  });
}

/** KServe v2 model metadata: `{"name":"m","versions":["1","2"]}`; listed versions are taken as available. */
export function parseKserveMetadata(body: unknown): Array<{ version: string; state: string }> {
  const list = (body as { versions?: unknown })?.versions;
  if (!Array.isArray(list)) return [];
  return list.filter((v) => typeof v === 'string' || typeof v === 'number').map((v) => ({ version: String(v), state: 'AVAILABLE' }));
}
