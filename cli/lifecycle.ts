// What the long-running commands (start, serve, proxy) share about starting and stopping:
// a port that cannot be opened is named by the flag that changes it, and SIGTERM/SIGINT
// drain (a second signal stops at once).
import { ConfigError } from '../common/index.ts';

/**
 * An error from opening a listener (EADDRINUSE, EACCES, ...) as a ConfigError naming the
 * flag that changes the port; undefined for any other error. `ports` maps a port number
 * (as the command was asked to open it) to its flag; `listener` (the proxy's ListenError)
 * is tried first.
 */
export function portError(
  command: string,
  err: unknown,
  byListener: Readonly<Record<string, string>>,
  byPort: ReadonlyArray<readonly [port: number, flag: string]>,
): ConfigError | undefined {
  const e = err as { code?: unknown; port?: unknown; address?: unknown; listener?: unknown; host?: unknown; syscall?: unknown };
  if (typeof e?.code !== 'string' || !['EADDRINUSE', 'EACCES', 'EADDRNOTAVAIL'].includes(e.code)) return undefined;
  if (e.syscall !== undefined && e.syscall !== 'listen' && e.syscall !== 'bind') return undefined;
  const port = typeof e.port === 'number' ? e.port : undefined;
  const flag = (typeof e.listener === 'string' ? byListener[e.listener] : undefined) ?? byPort.find(([p]) => p === port)?.[1];
  const where = `${String(e.host ?? e.address ?? '')}:${port ?? '?'}`;
  const why =
    e.code === 'EADDRINUSE' ? `${where} is already in use (EADDRINUSE): stop what holds it, or choose another port`
    : e.code === 'EACCES' ? `${where} needs privileges this process does not have (EACCES): choose a port above 1023`
    : `${where} is not an address of this machine (EADDRNOTAVAIL): choose another host`;
  return new ConfigError(`modelgate ${command}`, [{ severity: 'error', path: flag ? `--${flag}` : 'listen', message: flag ? `${why} with --${flag}` : why }]);
}

/**
 * Holds SIGTERM and SIGINT from now until exitOnSignal takes over, for a command that is
 * still starting: its listeners may already answer probes, and a leader may already hold
 * its lease, so dying by node's default action would drop in-flight requests and leave the
 * lease to expire. The first signal is kept (returned by the function this returns, which
 * also stops holding) and exitOnSignal drains as soon as the command is up; a second one
 * while starting exits at once, as during a drain.
 */
export function holdSignals(tag: string): () => NodeJS.Signals | undefined {
  let seen: NodeJS.Signals | undefined;
  const hold = (signal: NodeJS.Signals) => {
    if (seen !== undefined) {
      console.log(`${tag} ${signal} again while starting: exiting now`);
      process.exit(1);
    }
    seen = signal;
    console.log(`${tag} ${signal} while starting: draining once started (send ${signal} again to exit now)`);
  };
  process.on('SIGTERM', hold);
  process.on('SIGINT', hold);
  return () => {
    process.off('SIGTERM', hold);
    process.off('SIGINT', hold);
    return seen;
  };
}

/**
 * Resolves with the exit code once `drain` has finished after SIGTERM or SIGINT (or at once
 * after `pending`, a signal holdSignals kept while starting). A second signal during the
 * drain calls `cut` (stop at once); the drain's promise then settles.
 */
export function exitOnSignal(tag: string, drainSeconds: number, drain: () => Promise<void>, cut: () => Promise<void>, pending?: NodeJS.Signals): Promise<number> {
  return new Promise<number>((resolve) => {
    let draining = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (draining) {
        console.log(`${tag} ${signal} again: stopping now, cutting what is still in flight`);
        void cut();
        return;
      }
      draining = true;
      console.log(`${tag} ${signal}: not ready any more, draining in-flight requests (at most ${drainSeconds} s; send ${signal} again to stop now)`);
      drain().then(
        () => {
          console.log(`${tag} drained, exiting`);
          process.off('SIGTERM', onSignal);
          process.off('SIGINT', onSignal);
          resolve(0);
        },
        (err: unknown) => {
          console.error(`${tag} shutdown failed: ${err instanceof Error ? err.message : String(err)}`);
          process.off('SIGTERM', onSignal);
          process.off('SIGINT', onSignal);
          resolve(1);
        },
      );
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    if (pending !== undefined) onSignal(pending);
  });
}
