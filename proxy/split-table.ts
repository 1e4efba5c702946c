// The proxy's traffic splits by model: set from the config at start, then by the admin
// split routes and the rollout controller. Every change is validated whole; the versions it
// names are admitted to the label allowlist (operator-named, so trusted label values).
import { Issues } from '../common/index.ts';
import type { ModelCatalog } from './catalog.ts';
import { ProxyErrors } from './errors.ts';
import type { ProxyMetrics } from './metrics.ts';
import { readSplit } from './split.ts';
import type { Split } from './split.ts';
import type { SplitGuard } from './split-routes.ts';

export interface SplitTable {
  /** The model's split; on every request's path, so a plain Map lookup. */
  get(model: string): Split | undefined;
  /** Sets (or with `undefined`, removes) a model's split. Throws PRX_ERR_INVALID_ARGUMENT for a bad split. */
  set(model: string, split: Split | undefined): void;
  all(): Record<string, Split>;
  /** Guards the admin split routes consult before a manual change; `guard` returns its removal. */
  guards(): readonly SplitGuard[];
  guard(g: SplitGuard): () => void;
  /** Called after every change (admin route, rollout, follower); the workers' primary forwards it. Returns the unsubscribe. */
  onChange(fn: (model: string, split: Split | undefined) => void): () => void;
}

export function createSplitTable(initial: Readonly<Record<string, Split>>, catalog: ModelCatalog, metrics: ProxyMetrics): SplitTable {
  const table = new Map<string, Split>();
  const guards: SplitGuard[] = [];
  const listeners: Array<(model: string, split: Split | undefined) => void> = [];
  const changed = (model: string, split: Split | undefined): void => {
    for (const fn of listeners) fn(model, split);
  };
  const set = (model: string, split: Split | undefined): void => {
    if (split === undefined) {
      table.delete(model);
      metrics.splitWeight.remove({ model });
      changed(model, undefined);
      return;
    }
    const issues = new Issues();
    const checked = readSplit(split, `splits.${model}`, issues);
    if (!checked || !issues.ok) {
      throw ProxyErrors.PRX_ERR_INVALID_ARGUMENT(issues.errors.map((i) => `${i.path}: ${i.message}`).join('; ') || 'invalid split');
    }
    // Operator-named versions are trusted label values.
    catalog.admit(model);
    catalog.admitVersion(model, checked.stable);
    if (checked.canary !== undefined) catalog.admitVersion(model, checked.canary);
    table.set(model, Object.freeze(checked));
    metrics.splitWeight.set({ model }, checked.canary === undefined ? 0 : checked.weight);
    changed(model, table.get(model));
  };
  for (const [model, split] of Object.entries(initial)) set(model, split);
  return {
    get: (model) => table.get(model),
    set,
    all: () => Object.fromEntries(table),
    guards: () => guards,
    guard: (g) => {
      guards.push(g);
      return () => {
        const k = guards.indexOf(g);
        if (k !== -1) guards.splice(k, 1);
      };
    },
    onChange: (fn) => {
      listeners.push(fn);
      return () => {
        const k = listeners.indexOf(fn);
        if (k !== -1) listeners.splice(k, 1);
      };
    },
  };
}
