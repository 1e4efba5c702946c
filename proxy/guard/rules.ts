// Authorization: does any rule let this identity call this model, version and API? Pure.
import type { Api } from '../../common/index.ts';
import type { Rule } from './config.ts';

export interface Caller {
  name: string;
  groups: readonly string[];
}

/** Whether `who` matches one of a list of identity names, `group:<g>` or `*`. */
export function matchesIdentity(list: readonly string[], who: Caller): boolean {
  for (const n of list) {
    if (n === '*' || n === who.name) return true;
    if (n.startsWith('group:') && who.groups.includes(n.slice(6))) return true;
  }
  return false;
}

/**
 * `model`: '' for server-level calls (any rule with models `*` covers them); `version`: the
 * version number or label the request names, undefined when it names none.
 */
export function allowed(rules: readonly Rule[], who: Caller, model: string, version: string | undefined, api: Api): boolean {
  for (const r of rules) {
    if (!r.apis.has(api) || !matchesIdentity(r.identities, who)) continue;
    if (!r.models.includes('*') && (model === '' || !r.models.includes(model))) continue;
    if (!r.versions.includes('*') && (version === undefined || !r.versions.includes(version))) continue;
    return true;
  }
  return false;
}
