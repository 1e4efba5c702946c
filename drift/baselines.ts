// The baselines a recorder knows, by model and the version each describes, and the rule
// for which one a version is compared with.
import type { BaselineProfile } from './profile.ts';

export class BaselineSet {
  readonly #byModel = new Map<string, Map<string, BaselineProfile>>();

  /** Adds or replaces the baseline of one model version. */
  set(profile: BaselineProfile): void {
    let versions = this.#byModel.get(profile.model);
    if (!versions) this.#byModel.set(profile.model, (versions = new Map()));
    versions.set(profile.version, profile);
  }

  has(model: string, version: string): boolean {
    return this.#byModel.get(model)?.has(version) ?? false;
  }

  list(model: string): BaselineProfile[] {
    return [...(this.#byModel.get(model)?.values() ?? [])];
  }

  /**
   * A version's own baseline if one was built for it, else the newest version's that has
   * one (a canary without its own reference data is held to the stable version's), marked
   * `inherited`.
   */
  for(model: string, version: string): { profile: BaselineProfile; inherited: boolean } | undefined {
    const versions = this.#byModel.get(model);
    if (!versions || versions.size === 0) return undefined;
    const own = versions.get(version);
    if (own) return { profile: own, inherited: false };
    const newest = [...versions.keys()].sort(compareVersionNames).at(-1)!;
    return { profile: versions.get(newest)!, inherited: true };
  }
}

/** Model versions are numbers in TF Serving's layout; compare them as numbers when both are. */
export function compareVersionNames(a: string, b: string): number {
  const na = Number(a);
  const nb = Number(b);
  if (Number.isFinite(na) && Number.isFinite(nb)) return na - nb;
  return a < b ? -1 : a > b ? 1 : 0;
}
