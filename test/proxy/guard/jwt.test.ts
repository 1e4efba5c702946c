import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import type { CryptoKey, JWK } from 'jose';
import { Registry } from 'prom-client';
import { Issues, ManualClock } from '../../../common/index.ts';
import { Guard, readGuardConfig } from '../../../proxy/guard/index.ts';
import type { Admission, AdmissionRequest } from '../../../proxy/guard/index.ts';

const ISSUER = 'https://issuer.test';
const NOW_S = 1_800_000_000;

interface Key { kid: string; privateKey: CryptoKey; jwk: JWK }
async function key(kid: string): Promise<Key> {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  return { kid, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' } };
}

function sign(k: Key, claims: Record<string, unknown>, opts: { exp?: number; aud?: string; iss?: string } = {}): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'ES256', kid: k.kid })
    .setIssuer(opts.iss ?? ISSUER)
    .setAudience(opts.aud ?? 'modelgate')
    .setIssuedAt(NOW_S - 10)
    .setExpirationTime(opts.exp ?? NOW_S + 300)
    .sign(k.privateKey);
}

const req = (bearer: string | undefined, model = 'fraud'): AdmissionRequest => ({ protocol: 'grpc', api: 'predict', model, version: undefined, bearer, apiKey: undefined });

function makeGuard(jwks: Record<string, unknown>, clock: ManualClock): Guard {
  const issues = new Issues();
  const config = readGuardConfig({
    auth: {
      jwt: { issuer: ISSUER, audience: 'modelgate', clockSkew: '30s', ...jwks },
      rules: [{ identities: ['group:fraud-team'], models: ['fraud'] }, { identities: ['svc-mnist'], models: ['mnist'] }],
    },
  }, 'proxy', issues);
  assert.deepEqual(issues.errors, []);
  return new Guard({ config, registry: new Registry(), clock, env: {}, modelLabel: (m) => m });
}

describe('JWT bearer tokens against a JWKS served on 127.0.0.1', () => {
  let server: Server;
  let url: string;
  let keys: Key[];
  let fetches = 0;
  const clock = new ManualClock(NOW_S * 1000);
  let g: Guard;

  before(async () => {
    keys = [await key('k1')];
    server = createServer((_req, res) => {
      fetches++;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ keys: keys.map((k) => k.jwk) }));
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`;
    g = makeGuard({ jwksUrl: url, jwksCooldown: '0s' }, clock);
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  test('a valid token names its subject; its groups claim feeds group rules', async () => {
    const a = await g.admit(req(await sign(keys[0]!, { sub: 'alice', groups: ['fraud-team'] })));
    assert.equal(a.ok, true);
    assert.equal(a.identity, 'alice');
    const b = await g.admit(req(await sign(keys[0]!, { sub: 'svc-mnist' }), 'mnist'));
    assert.equal(b.ok, true);
  });

  test('a valid token for a model no rule gives it: 403, as for a model that does not exist', async () => {
    const token = await sign(keys[0]!, { sub: 'alice', groups: ['fraud-team'] });
    const a = (await g.admit(req(token, 'mnist'))) as Admission & { ok: false };
    const b = (await g.admit(req(token, 'nonexistent'))) as Admission & { ok: false };
    assert.equal(a.reason, 'forbidden');
    assert.equal(b.reason, 'forbidden');
  });

  test('expired (beyond the skew), wrong audience, wrong issuer and unsigned tokens: 401', async () => {
    const refused = async (token: string) => {
      const a = await g.admit(req(token));
      assert.equal(a.ok, false, token);
      return a as Admission & { ok: false };
    };
    const expired = await refused(await sign(keys[0]!, { sub: 'alice', groups: ['fraud-team'] }, { exp: NOW_S - 60 }));
    assert.match(expired.headers['www-authenticate']!, /error="invalid_token", error_description="the token has expired"/);
    // Within the 30 s skew: still accepted.
    assert.equal((await g.admit(req(await sign(keys[0]!, { sub: 'alice', groups: ['fraud-team'] }, { exp: NOW_S - 20 })))).ok, true);
    const aud = await refused(await sign(keys[0]!, { sub: 'alice', groups: ['fraud-team'] }, { aud: 'someone-else' }));
    // A valid header value: no '"' inside the quoted error_description (RFC 6750 §3).
    assert.match(aud.headers['www-authenticate']!, /error_description="[^"\\]*"$/);
    await refused(await sign(keys[0]!, { sub: 'alice', groups: ['fraud-team'] }, { iss: 'https://evil.test' }));
    const header = Buffer.from(JSON.stringify({ alg: 'none' })).toString('base64url');
    const body = Buffer.from(JSON.stringify({ sub: 'alice', iss: ISSUER, aud: 'modelgate', exp: NOW_S + 60, groups: ['fraud-team'] })).toString('base64url');
    await refused(`${header}.${body}.`);
    await refused(`${header}.${body}.c2ln`);
  });

  test('a rotated key (new kid) is fetched when a token names it', async () => {
    const before = fetches;
    keys.push(await key('k2'));
    const a = await g.admit(req(await sign(keys[1]!, { sub: 'alice', groups: ['fraud-team'] })));
    assert.equal(a.ok, true);
    assert.ok(fetches > before, 'the JWKS was fetched again');
  });

  test('a token signed by a key the JWKS does not hold: 401', async () => {
    const stranger = await key('k1');
    assert.equal((await g.admit(req(await sign(stranger, { sub: 'alice', groups: ['fraud-team'] })))).ok, false);
  });
});

describe('JWT bearer tokens against a JWKS file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'modelgate-jwks-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('the file is read at start and re-read when it changes (rotation)', async () => {
    const file = join(dir, 'jwks.json');
    const k1 = await key('a');
    const k2 = await key('b');
    writeFileSync(file, JSON.stringify({ keys: [k1.jwk] }));
    const clock = new ManualClock(NOW_S * 1000);
    const g = makeGuard({ jwksFile: file, jwksReload: '1s' }, clock);
    await g.ready();
    const claims = { sub: 'alice', groups: ['fraud-team'] };
    assert.equal((await g.admit(req(await sign(k1, claims)))).ok, true);
    assert.equal((await g.admit(req(await sign(k2, claims)))).ok, false);
    writeFileSync(file, JSON.stringify({ keys: [k2.jwk] }));
    const { utimesSync } = await import('node:fs');
    utimesSync(file, new Date(), new Date(Date.now() + 5000)); // a distinct mtime even on coarse clocks
    clock.advance(1000);
    assert.equal((await g.admit(req(await sign(k2, claims)))).ok, true);
    assert.equal((await g.admit(req(await sign(k1, claims)))).ok, false, 'the retired key no longer verifies');
  });

  test('a verified token is remembered, but never past its expiry', async () => {
    const file = join(dir, 'jwks-cache.json');
    const k = await key('c');
    writeFileSync(file, JSON.stringify({ keys: [k.jwk] }));
    const clock = new ManualClock(NOW_S * 1000);
    const g = makeGuard({ jwksFile: file, jwksReload: '1h' }, clock);
    await g.ready();
    const token = await sign(k, { sub: 'alice', groups: ['fraud-team'] }, { exp: NOW_S + 45 });
    assert.ok((await g.admit(req(token))).ok);
    const again = g.admit(req(token));
    assert.ok(!(again instanceof Promise), 'the second check is answered from memory');
    clock.advance(45_000 + 30_000 + 1); // past exp + the 30 s skew
    const later = await g.admit(req(token));
    assert.equal(later.ok, false);
  });

  test('a missing file stops the start', async () => {
    const g = makeGuard({ jwksFile: join(dir, 'missing.json') }, new ManualClock(0));
    await assert.rejects(g.ready(), /ENOENT/);
  });
});
