// The proxy fixture: the transparent proxy alone (no SLO engine, drift or rollouts; see
// gateway.ts for those), built from a YAML-shaped `proxy:` section through the real
// validator, with the admin listener on port 0 unless the section says otherwise, a fresh
// Prometheus registry and an empty environment.
//
//   const { proxy, registry } = await startProxy({ rest: { host: '127.0.0.1', port: 0, upstream: server.restUrl } });
//   ... proxy.restUrl, proxy.grpcAddress, proxy.adminUrl, proxy.onOutcome(...) ...
//   await proxy.close();
//
// A section the validator refuses throws with the validator's messages.
import { Registry } from 'prom-client';
import { Issues } from '../../common/index.ts';
import { createProxy, readProxyConfig } from '../../proxy/index.ts';
import type { CreateProxyOptions, Proxy } from '../../proxy/index.ts';

export async function startProxy(yaml: Record<string, unknown>, opts: Partial<Omit<CreateProxyOptions, 'config'>> = {}): Promise<{ proxy: Proxy; registry: Registry }> {
  const issues = new Issues();
  const config = readProxyConfig({ admin: { port: 0 }, ...yaml }, 'proxy', issues);
  if (!issues.ok) throw new Error(`the proxy section is refused: ${JSON.stringify(issues.errors)}`);
  const registry = opts.registry ?? new Registry();
  const proxy = await createProxy({ env: {}, ...opts, config, registry });
  return { proxy, registry };
}
