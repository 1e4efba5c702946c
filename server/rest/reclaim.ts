// Gives the memory of large requests back once they are done. V8 collects garbage only when
// JavaScript allocates: after a large body (a few MB of JSON becomes ~100 MB of strings,
// arrays and tensors) an idle server kept that garbage, and the RSS that held it, until
// the next traffic (measured: heap used 100 MB and RSS 253 MB five seconds after one 8 MB
// predict; 14 MB and 180 MB after one full collection).
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

let gcFn: (() => void) | undefined | null;

/**
 * The isolate's gc(): exposing it with --expose-gc after start-up makes it available to new
 * contexts only, and a context's gc() collects the whole isolate. Null if this runtime does
 * not allow it (then nothing is forced and V8's own heuristics apply).
 */
function collector(): (() => void) | null {
  if (gcFn !== undefined) return gcFn;
  try {
    const existing = (globalThis as { gc?: () => void }).gc;
    if (typeof existing === 'function') return (gcFn = existing);
    setFlagsFromString('--expose-gc');
    const fn = runInNewContext('gc') as unknown;
    gcFn = typeof fn === 'function' ? (fn as () => void) : null;
  } catch {
    gcFn = null;
  }
  return gcFn;
}

/**
 * Returns a function to call when the last large request in progress is done: after
 * `quietMs` with no new call, one full collection runs (tens of ms on a heap of ~100 MB,
 * once per burst of large requests, never per request).
 */
export function reclaimAfterLargeBodies(quietMs = 1000): () => void {
  let timer: NodeJS.Timeout | undefined;
  return () => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      collector()?.();
    }, quietMs);
    timer.unref();
  };
}
