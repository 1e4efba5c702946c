// Mounts the status page on the proxy's admin API: GET /status (HTML) and GET /status.json
// (the same numbers as JSON). Read-only, so, like /metrics, no bearer token: only /api/
// routes change anything. Usage by the lead:
//   mountStatusPage(proxy.route, { slos: () => engine.snapshot(), drift: () => recorder.snapshot(),
//     rollouts: () => controller.snapshot().rollouts }, { clock })
// Recent alerts come from `alerts` (a RecentAlerts fed by the engine's onTransition) when
// given, else from comparing successive SLO snapshots.
import { systemClock } from '../../common/index.ts';
import type { Clock } from '../../common/index.ts';
import type { AdminHandler, RouteOptions } from '../admin.ts';
import { StatusHistory } from './history.ts';
import { RecentAlerts } from './adapters.ts';
import { buildStatusModel } from './build-status.ts';
import type { StatusSources } from './build-status.ts';
import { renderStatusPage } from './render.ts';

export type Mount = (method: string, path: string, handler: AdminHandler, opts?: RouteOptions) => void;

export interface StatusPageOptions {
  clock?: Clock;
  history?: StatusHistory;
  /** Path of the HTML page; the JSON is at `${path}.json`. */
  path?: string;
}

export function mountStatusPage(mount: Mount, sources: StatusSources, opts: StatusPageOptions = {}): { history: StatusHistory } {
  const clock = opts.clock ?? systemClock;
  const history = opts.history ?? new StatusHistory();
  const path = opts.path ?? '/status';
  const derived = sources.alerts ? undefined : new RecentAlerts();
  const build = () => buildStatusModel(sources, history, clock, derived);
  mount('GET', path, () => ({ text: renderStatusPage(build(), history.spanMs), contentType: 'text/html; charset=utf-8' }), { auth: false });
  mount('GET', `${path}.json`, () => ({ body: build() }), { auth: false });
  return { history };
}
