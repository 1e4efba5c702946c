// Asks the validators themselves which keys they know, without a second list to keep in
// step: a document that reaches every object is validated with one unknown key
// (`__reference_probe__`) added to each, and the "unknown field ...; known fields: a, b"
// errors the validators report (common/validate.ts checkKeys, rollout/config.ts, the SLI
// kind check) list the known keys at each path.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, Issues, type Issue } from '../../common/index.ts';
import { SECTIONS } from '../../config/index.ts';
import { readModelConfigFile } from '../../server/index.ts';

export const PROBE = '__reference_probe__';
const P = { [PROBE]: 1 };

/** The smallest modelgate.yaml that reaches every object of every section, each with the probe key. */
const MODELGATE_PROBE: Record<string, unknown> = {
  slos: [
    {
      ...P, name: 'a', model: 'm', objective: 99,
      sli: { availability: { ...P } },
      alerting: { ...P, windows: [{ ...P, severity: 'page', long: '1h', short: '5m', factor: 14.4 }] },
    },
    { name: 'b', model: 'm', objective: 99, sli: { latency: { ...P, threshold: '1s' } } },
    // A one-key SLI of an unknown kind: the kind check lists the kinds.
    { name: 'c', model: 'm', objective: 99, sli: { [PROBE]: {} } },
    { name: 'd', model: 'm', objective: 99, sli: { accuracy: { ...P } } },
  ],
  notify: [{ ...P, name: 'n', webhook: 'http://127.0.0.1:1/' }],
  proxy: {
    ...P,
    rest: { ...P, upstream: 'http://127.0.0.1:1', tls: { ...P, cert: 'c', key: 'k' }, upstreamTls: { ...P } },
    grpc: { ...P, upstream: '127.0.0.1:1', tls: { ...P, cert: 'c', key: 'k' }, upstreamTls: { ...P } },
    accessLog: { ...P, to: { ...P, file: '/tmp/access.log' } },
    admin: { ...P }, timeouts: { ...P }, limits: { ...P }, bodies: { ...P }, labels: { ...P },
    tracing: { ...P, otlp: { ...P, url: 'http://127.0.0.1:1/v1/traces' } },
    splits: { '<model>': { ...P, stable: '1' } },
    auth: {
      ...P,
      apiKeys: [{ ...P, name: 'k', hash: `sha256:${'0'.repeat(64)}` }],
      jwt: { ...P, issuer: 'https://issuer', audience: 'a', jwksUrl: 'http://127.0.0.1:1/jwks.json' },
      rules: [{ ...P, identities: ['*'], models: ['*'] }],
    },
    rateLimits: { ...P, identity: { ...P, rps: 1 }, identities: { '<identity>': { ...P, rps: 1 } }, model: { ...P, rps: 1 }, models: { '<model>': { ...P, rps: 1 } }, identityModel: { ...P, rps: 1 } },
    concurrency: { ...P, default: { ...P, limit: 1 }, models: { '<model>': { ...P, adaptive: 'aimd' } } },
  },
  drift: {
    ...P,
    thresholds: { ...P },
    verdict: { ...P, share: 0.5 },
    models: { '<model>': { ...P, baseline: { ...P, from: 'live' }, inputs: [{ ...P, name: 'a' }], outputs: [{ ...P, name: 'b' }] } },
  },
  rollouts: [{
    ...P, model: 'm',
    analysis: { ...P, slo: { ...P }, errors: { ...P }, latency: { ...P }, drift: { ...P }, accuracy: { ...P } },
    webhooks: [{ ...P, name: 'w', type: 'promote', url: 'http://127.0.0.1:1/' }],
    shadow: { ...P, compare: { ...P, outputs: [{ ...P, output: 'y' }] } },
  }],
  capture: { ...P },
  truth: { ...P, models: { '<model>': { ...P, task: 'classification', predicted: { ...P, output: 'y' }, value: { ...P, output: 'y' } } } },
  sloSource: { ...P, prometheus: { ...P, url: 'http://127.0.0.1:9090' } },
  leader: { ...P, mode: 'lease', lease: { ...P, file: '/tmp/x.lease', kubernetes: { ...P, name: 'x' } } },
};

/** The model config file, same idea (server/config.ts). */
const MODELS_PROBE = {
  ...P,
  models: [{ ...P, name: 'm', base_path: '.', version_policy: { latest: { ...P } }, batching: { ...P } }],
  server: { ...P },
};

/** Object path (`slos[].alerting`, `proxy.splits.<model>`; '' for the top) → the keys its validator knows. */
export type KnownKeys = Map<string, string[]>;

const LIST = /(?:known fields|expected one of): (.+)$/;

/** Reads the probe errors: `a.b[3].__reference_probe__` → `a.b[]` knows the listed keys. */
export function knownKeysFrom(issues: readonly Issue[]): KnownKeys {
  const out: KnownKeys = new Map();
  for (const i of issues) {
    const suffix = i.path === PROBE ? PROBE : `.${PROBE}`;
    if (!i.path.endsWith(suffix) || !i.message.includes(`"${PROBE}"`)) continue;
    const m = LIST.exec(i.message);
    if (!m) throw new Error(`a validator reported the probe key at ${i.path} without listing its keys: ${i.message}`);
    const at = i.path.slice(0, -suffix.length).replace(/\[\d+\]/g, '[]');
    const keys = m[1]!.split(',').map((k) => k.trim()).filter(Boolean);
    out.set(at, [...new Set([...(out.get(at) ?? []), ...keys])]);
  }
  return out;
}

/** Keys of modelgate.yaml as the section validators (config/sections.ts) know them. */
export function modelgateYamlKeys(): KnownKeys {
  const issues = new Issues();
  for (const s of SECTIONS) s.validate(MODELGATE_PROBE[s.key], s.key, issues);
  const known = knownKeysFrom(issues.list);
  // The top level is checked by config/loader.ts: apiVersion plus one key per section.
  known.set('', ['apiVersion', ...SECTIONS.map((s) => s.key)]);
  return known;
}

/** Keys of the server's model config file, through the same reader `modelgate serve` uses. */
export async function modelsYamlKeys(): Promise<KnownKeys> {
  const dir = await mkdtemp(join(tmpdir(), 'modelgate-reference-'));
  try {
    const file = join(dir, 'models.yaml');
    await writeFile(file, JSON.stringify(MODELS_PROBE)); // JSON is YAML
    try {
      await readModelConfigFile(file);
    } catch (e) {
      if (e instanceof ConfigError) return knownKeysFrom(e.issues);
      throw e;
    }
    throw new Error('the model config reader accepted an unknown key');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
