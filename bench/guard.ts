// The admission stage's cost per request, in process (no sockets): Guard.admit plus the
// ticket's return, for what a proxy config can ask for. Variants run in alternating rounds
// (so machine load spreads over all of them); the report gives the median per variant.
//
//   node --import tsx bench/guard.ts [--rounds 7] [--n 20000]
import { performance } from 'node:perf_hooks';
import { Registry } from 'prom-client';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Issues, systemClock } from '../common/index.ts';
import { Guard, readGuardConfig, sha256KeyHash, scryptKeyHash } from '../proxy/guard/index.ts';
import type { AdmissionRequest } from '../proxy/guard/index.ts';

const args = process.argv.slice(2);
const arg = (name: string, def: string) => {
  const i = args.indexOf(`--${name}`);
  return i === -1 ? def : args[i + 1]!;
};
const ROUNDS = Number(arg('rounds', '7'));
const N = Number(arg('n', '20000'));

const dir = mkdtempSync(join(tmpdir(), 'modelgate-bench-guard-'));
const { privateKey, publicKey } = await generateKeyPair('ES256');
writeFileSync(join(dir, 'jwks.json'), JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: 'k', alg: 'ES256' }] }));
const token = await new SignJWT({ sub: 'svc' }).setProtectedHeader({ alg: 'ES256', kid: 'k' }).setIssuer('https://i').setAudience('modelgate').setExpirationTime('1h').sign(privateKey);

const rules = [{ identities: ['*'], models: ['*'] }];
const high = { rps: 1e9, burst: 1e9 };
const VARIANTS: Record<string, { raw: Record<string, unknown>; req: Partial<AdmissionRequest> }> = {
  'concurrency limit only': { raw: { concurrency: { models: { fraud: { limit: 1e6 } } } }, req: {} },
  'API key (sha256) + rules': { raw: { auth: { apiKeys: [{ name: 'svc', hash: sha256KeyHash('k-svc') }], rules } }, req: { apiKey: 'k-svc' } },
  'API key + rules + rate limits + adaptive limit': {
    raw: { auth: { apiKeys: [{ name: 'svc', hash: sha256KeyHash('k-svc') }], rules }, rateLimits: { identity: high, model: high }, concurrency: { models: { fraud: { adaptive: 'gradient', initial: 1000, max: 100000 } } } },
    req: { apiKey: 'k-svc' },
  },
  'API key (scrypt, cached) + rules': { raw: { auth: { apiKeys: [{ name: 'svc', hash: await scryptKeyHash('k-svc', Buffer.from('0123456789abcdef')) }], rules } }, req: { apiKey: 'k-svc' } },
  'JWT (ES256, JWKS file) + rules, token seen before': { raw: { auth: { jwt: { issuer: 'https://i', audience: 'modelgate', jwksFile: join(dir, 'jwks.json') }, rules } }, req: { bearer: token } },
  'JWT (ES256, JWKS file) + rules, new token each time': { raw: { auth: { jwt: { issuer: 'https://i', audience: 'modelgate', jwksFile: join(dir, 'jwks.json') }, rules } }, req: {} },
};
// Distinct tokens (a distinct jti each), so no check is answered from memory.
const fresh = await Promise.all(Array.from({ length: N }, (_, i) =>
  new SignJWT({ sub: 'svc' }).setJti(String(i)).setProtectedHeader({ alg: 'ES256', kid: 'k' }).setIssuer('https://i').setAudience('modelgate').setExpirationTime('1h').sign(privateKey)));

const guards = new Map<string, Guard>();
async function build(name: string): Promise<void> {
  const v = VARIANTS[name]!;
  const issues = new Issues();
  const config = readGuardConfig(v.raw, 'proxy', issues);
  if (!issues.ok) throw new Error(`${name}: ${JSON.stringify(issues.errors)}`);
  const g = new Guard({ config, registry: new Registry(), clock: systemClock, env: {}, modelLabel: (m) => m });
  await g.ready();
  guards.set(name, g);
}
for (const name of Object.keys(VARIANTS)) await build(name);

async function run(name: string): Promise<number> {
  // A fresh guard per round for the fresh-token variant, so its tokens are new to it.
  if (name.endsWith('new token each time')) await build(name);
  const g = guards.get(name)!;
  const each = name.endsWith('new token each time');
  const req: AdmissionRequest = { protocol: 'rest', api: 'predict', model: 'fraud', version: undefined, bearer: undefined, apiKey: undefined, ...VARIANTS[name]!.req };
  const t0 = performance.now();
  for (let i = 0; i < N; i++) {
    if (each) req.bearer = fresh[i]!;
    let a = g.admit(req);
    if (a instanceof Promise) a = await a;
    if (!a.ok) throw new Error(`${name}: refused (${a.message})`);
    a.ticket?.done(0.001, false);
  }
  return ((performance.now() - t0) * 1000) / N;
}

const results = new Map<string, number[]>();
for (const name of guards.keys()) await run(name); // warm up
for (let r = 0; r < ROUNDS; r++) {
  for (const name of guards.keys()) {
    const us = await run(name);
    results.set(name, [...(results.get(name) ?? []), us]);
  }
}
rmSync(dir, { recursive: true, force: true });
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
console.log(`admission cost per request, µs (median of ${ROUNDS} alternating rounds of ${N}; machine shared with other work):`);
for (const [name, xs] of results) console.log(`  ${name.padEnd(48)} ${median(xs).toFixed(2).padStart(8)}   (rounds ${xs.map((x) => x.toFixed(1)).join(', ')})`);
