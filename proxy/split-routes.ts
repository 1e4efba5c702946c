// Admin routes of the traffic split. A change is validated whole before anything changes:
//   GET    /api/v1/splits                    every split
//   GET    /api/v1/models/:model/split       one split (404 without one)
//   PUT    /api/v1/models/:model/split       body {stable, canary?, weight, stickyHeader?}
//   DELETE /api/v1/models/:model/split
// - an empty or invalid body is 400 and the split stays as it was (an empty PUT never
//   deletes: DELETE does);
// - canary equal to stable is 400;
// - a version the upstream does not serve (asked through its status API) is 409 unless
//   `?force=1` (e.g. a version still loading);
// - a model under an active rollout is 409 naming the rollout command to use: the rollout
//   controller owns that split (the guard is registered by rollout/attach.ts).
import { Issues, isRecord } from '../common/index.ts';
import type { AdminApi } from './admin.ts';
import { ProxyErrors } from './errors.ts';
import { readSplit } from './split.ts';
import type { Split } from './split.ts';

/** Returns why a manual split change of `model` is refused (e.g. an active rollout), or undefined. */
export type SplitGuard = (model: string) => string | undefined;

export interface SplitRouteDeps {
  getSplit(model: string): Split | undefined;
  setSplit(model: string, split: Split | undefined): void;
  splits(): Record<string, Split>;
  /** Versions the upstream serves now, or undefined when it cannot say (no status API, unreachable). */
  servedVersions(model: string): Promise<string[] | undefined>;
  /** Guards registered by other areas (the rollout controller). */
  guards(): readonly SplitGuard[];
}

export function mountSplitRoutes(admin: AdminApi, s: SplitRouteDeps): void {
  admin.route('GET', '/api/v1/splits', () => ({ body: { splits: s.splits() } }));
  admin.route('GET', '/api/v1/models/:model/split', ({ params }) => {
    const split = s.getSplit(params['model']!);
    if (!split) throw ProxyErrors.PRX_ERR_NOT_FOUND(`no split for model "${params['model']}"`);
    return { body: { model: params['model'], split } };
  });
  admin.route('PUT', '/api/v1/models/:model/split', async ({ params, body, query }) => {
    const model = params['model']!;
    if (body === undefined) throw ProxyErrors.PRX_ERR_INVALID_ARGUMENT('a JSON body is required, like {"stable": "1", "canary": "2", "weight": 10}; to remove the split use DELETE');
    if (!isRecord(body)) throw ProxyErrors.PRX_ERR_INVALID_ARGUMENT('the body must be a JSON object like {"stable": "1", "canary": "2", "weight": 10}');
    const issues = new Issues();
    const split = readSplit(body, 'split', issues);
    if (!split || !issues.ok) throw ProxyErrors.PRX_ERR_INVALID_ARGUMENT(issues.errors.map((i) => `${i.path}: ${i.message}`).join('; ') || 'invalid split');
    guard(s, model);
    if (query.get('force') !== '1') {
      const named = split.canary === undefined ? [split.stable] : [split.stable, split.canary];
      const served = await s.servedVersions(model);
      if (served === undefined) {
        throw ProxyErrors.PRX_ERR_CONFLICT(`cannot confirm that the upstream serves version ${named.join(' and ')} of "${model}" (its status API is off or did not answer); add ?force=1 to set the split anyway`);
      }
      const missing = named.filter((v) => !served.includes(v));
      if (missing.length) {
        throw ProxyErrors.PRX_ERR_CONFLICT(`the upstream does not serve version ${missing.join(', ')} of "${model}" (serving: ${served.join(', ') || 'none'}); add ?force=1 to set the split anyway`);
      }
    }
    s.setSplit(model, split);
    return { body: { model, split: s.getSplit(model) } };
  });
  admin.route('DELETE', '/api/v1/models/:model/split', ({ params }) => {
    guard(s, params['model']!);
    s.setSplit(params['model']!, undefined);
    return { status: 204 };
  });
}

function guard(s: SplitRouteDeps, model: string): void {
  for (const g of s.guards()) {
    const why = g(model);
    if (why !== undefined) throw ProxyErrors.PRX_ERR_CONFLICT(why);
  }
}
