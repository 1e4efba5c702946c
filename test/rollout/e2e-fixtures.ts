// Fixtures for the end-to-end rollout tests: the "chaos" upstream (examples/lib/chaos.ts)
// that makes version 2 bad on demand, and a load generator that talks only to loopback.
// Test fixtures, not mocks: every request still reaches the real server unless the fixture
// fails it.
import { VERSION_HEADER } from '../../common/index.ts';

export { startChaos } from '../../examples/lib/chaos.ts';
export type { Chaos, ChaosRule } from '../../examples/lib/chaos.ts';

export interface LoadStats {
  sent: number;
  /** Responses by `${version}:${status}`. */
  byVersionStatus: Map<string, number>;
}

export interface Load {
  stats(): LoadStats;
  /** Forget what was counted so far; requests already in flight are not counted either. */
  reset(): void;
  stop(): Promise<void>;
}

/** `workers` loops posting bodies from `body(i)` to `url` (loopback only) as fast as answers come. */
export function startLoad(url: string, body: (i: number) => unknown, workers: number): Load {
  if (!/^http:\/\/127\.0\.0\.1:/.test(url)) throw new Error(`load goes to loopback only, not ${url}`);
  let running = true;
  let stats: LoadStats = { sent: 0, byVersionStatus: new Map() };
  let i = 0;
  let generation = 0;
  const loop = async () => {
    while (running) {
      const payload = JSON.stringify(body(i++));
      const started = generation;
      let key: string;
      try {
        const r = await fetch(url, { method: 'POST', body: payload, headers: { 'content-type': 'application/json' }, signal: AbortSignal.timeout(5000) });
        await r.arrayBuffer();
        key = `${r.headers.get(VERSION_HEADER) ?? '?'}:${r.status}`;
      } catch {
        key = '?:error';
      }
      if (started !== generation) continue; // sent before the last reset
      stats.byVersionStatus.set(key, (stats.byVersionStatus.get(key) ?? 0) + 1);
      stats.sent++;
    }
  };
  const loops = Array.from({ length: workers }, loop);
  return {
    stats: () => stats,
    reset: () => {
      generation++;
      stats = { sent: 0, byVersionStatus: new Map() };
    },
    stop: async () => {
      running = false;
      await Promise.all(loops);
    },
  };
}
