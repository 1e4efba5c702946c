// The gateway fixture: what `modelgate start` runs in front of a model server (proxy, SLO
// engine, drift recorder, rollouts, status page), configured by examples/modelgate.yaml
// unless the test passes its own config. The proxy's REST listener is on 127.0.0.1 port 0
// in front of `upstream`, its gRPC listener is off, the admin listener is on port 0; rollout
// state and the audit log go to a temporary directory; evaluations run when the test calls
// tick() (the timer is a minute) and the environment is empty (no tokens or identity from
// the machine running the tests).
//
//   const gw = await startTestGateway(server.restUrl, { proxy: (p) => ({ ...p, bodies: { ...p.bodies, sampleRate: 1 } }) });
//   ... gw.proxy.restUrl, gw.proxy.adminUrl, gw.tick(), gw.rollouts() ...
//   await gw.close();   // stops the gateway, then removes the state directory
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startGateway } from '../../app/gateway.ts';
import type { Gateway, GatewayOptions } from '../../app/gateway.ts';
import { loadConfig } from '../../config/index.ts';
import type { Config } from '../../config/index.ts';
import type { ProxyConfig } from '../../proxy/index.ts';
import { EXAMPLES } from './repo.ts';

/** examples/modelgate.yaml, the configuration the README walks through. */
export const EXAMPLE_CONFIG = join(EXAMPLES, '..', 'modelgate.yaml');

/** examples/modelgate.yaml, loaded (relative paths such as drift.baselineDir resolved). */
export function exampleConfig(): Config {
  return loadConfig(EXAMPLE_CONFIG);
}

/** The same configuration with drift detection off (the gateway then builds no drift recorder). */
export function withoutDrift(config: Config): Config {
  return { ...config, drift: { ...config.drift, enabled: false } };
}

export interface TestGatewayOptions extends Omit<GatewayOptions, 'config' | 'stateDir' | 'proxyOverride'> {
  /** Default: examples/modelgate.yaml. */
  config?: Config;
  /** Further changes to the proxy section, after its listeners are set as above. */
  proxy?: (p: ProxyConfig) => ProxyConfig;
}

export interface TestGateway extends Gateway {
  /** The temporary directory of rollout state and the audit log. */
  stateDir: string;
}

/** Starts the gateway in front of `upstream` (a REST base URL); close() also removes its state directory. */
export async function startTestGateway(upstream: string, opts: TestGatewayOptions = {}): Promise<TestGateway> {
  const { config = exampleConfig(), proxy = (p) => p, ...rest } = opts;
  const stateDir = await mkdtemp(join(tmpdir(), 'modelgate-gateway-state-'));
  try {
    const gw = await startGateway({
      tickMs: 60_000,
      env: {},
      ...rest,
      config,
      stateDir,
      proxyOverride: (p) => proxy({ ...p, rest: { host: '127.0.0.1', port: 0, upstream }, grpc: undefined, admin: { ...p.admin, host: '127.0.0.1', port: 0 } }),
    });
    return {
      ...gw,
      stateDir,
      close: async () => {
        await gw.close();
        await rm(stateDir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await rm(stateDir, { recursive: true, force: true });
    throw err;
  }
}
