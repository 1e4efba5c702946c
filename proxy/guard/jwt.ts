// JWT bearer tokens, verified with jose: signature against a JWKS (a URL, fetched and cached
// by jose's createRemoteJWKSet, refetched when a token names an unknown `kid`, so rotated
// keys are picked up; or a file, re-read when it changes), then `iss`, `aud`, `exp`
// (required), `nbf`, with the configured clock skew, against the injected clock.
import { readFile, stat } from 'node:fs/promises';
import { createLocalJWKSet, createRemoteJWKSet, jwtVerify, errors } from 'jose';
import type { JWTPayload, JWTVerifyGetKey, JSONWebKeySet } from 'jose';
import type { Clock } from '../../common/index.ts';
import type { JwtSpec } from './config.ts';

export interface TokenIdentity {
  name: string;
  groups: readonly string[];
}

export type TokenResult = { ok: true; id: TokenIdentity } | { ok: false; reason: 'invalid_token' | 'expired_token'; message: string };

/** A local JWKS file, re-read when its modification time changes (checked at most every `reloadMs`). */
class FileKeySet {
  readonly #path: string;
  readonly #reloadMs: number;
  readonly #clock: Clock;
  #get: JWTVerifyGetKey | undefined;
  #mtimeMs = -1;
  #checkedAt = -Infinity;
  #loading: Promise<void> | undefined;

  constructor(path: string, reloadMs: number, clock: Clock) {
    this.#path = path;
    this.#reloadMs = reloadMs;
    this.#clock = clock;
  }

  async load(): Promise<void> {
    const s = await stat(this.#path);
    this.#checkedAt = this.#clock.now();
    if (s.mtimeMs === this.#mtimeMs && this.#get) return;
    const jwks = JSON.parse(await readFile(this.#path, 'utf8')) as JSONWebKeySet;
    if (!Array.isArray(jwks?.keys)) throw new Error(`${this.#path} is not a JWKS ({"keys": [...]})`);
    this.#get = createLocalJWKSet(jwks);
    this.#mtimeMs = s.mtimeMs;
  }

  readonly getKey: JWTVerifyGetKey = async (header, token) => {
    if (this.#clock.now() - this.#checkedAt >= this.#reloadMs) {
      // A file that cannot be read now keeps the keys read before (a rotation mid-write).
      this.#loading ??= this.load().catch(() => undefined).finally(() => (this.#loading = undefined));
      await this.#loading;
    }
    if (!this.#get) throw new errors.JWKSNoMatchingKey();
    return this.#get(header, token);
  };
}

// A verified token is remembered (by its text) for at most this long and never past its
// `exp` (plus the skew): an ES256 or RS256 signature check costs ~0.3 ms of CPU, twice
// the proxy's whole work per request, and a client sends the same token for minutes
// (bench/guard.ts). Only successes are kept, so random tokens cannot fill it.
const VERIFIED_TTL_MS = 60_000;
const VERIFIED_MAX = 10_000;

export class JwtVerifier {
  readonly #spec: JwtSpec;
  readonly #verified = new Map<string, { id: TokenIdentity; untilMs: number }>();
  readonly #clock: Clock;
  readonly #getKey: JWTVerifyGetKey;
  readonly #file: FileKeySet | undefined;

  constructor(spec: JwtSpec, clock: Clock) {
    this.#spec = spec;
    this.#clock = clock;
    if ('url' in spec.jwks) {
      this.#getKey = createRemoteJWKSet(new URL(spec.jwks.url), { cacheMaxAge: spec.jwksCacheMs, timeoutDuration: spec.jwksTimeoutMs, cooldownDuration: spec.jwksCooldownMs });
    } else {
      this.#file = new FileKeySet(spec.jwks.file, spec.jwksReloadMs, clock);
      this.#getKey = this.#file.getKey;
    }
  }

  /** Reads a JWKS file once at start, so a missing or malformed file stops the start, not the first request. */
  async ready(): Promise<void> {
    await this.#file?.load();
  }

  /** A token verified before and still within its cache time; undefined otherwise. */
  cached(token: string): TokenIdentity | undefined {
    const hit = this.#verified.get(token);
    if (hit === undefined) return undefined;
    if (this.#clock.now() < hit.untilMs) return hit.id;
    this.#verified.delete(token);
    return undefined;
  }

  async verify(token: string): Promise<TokenResult> {
    const s = this.#spec;
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.#getKey, {
        issuer: s.issuer,
        audience: s.audience,
        algorithms: s.algorithms,
        clockTolerance: s.clockSkewMs / 1000,
        currentDate: new Date(this.#clock.now()),
        requiredClaims: ['exp', s.subjectClaim],
      }));
    } catch (e) {
      if (e instanceof errors.JWTExpired) return { ok: false, reason: 'expired_token', message: 'the token has expired' };
      // The reason goes to the client without internals: claim name or a generic failure.
      const why = e instanceof errors.JWTClaimValidationFailed ? `the token's "${e.claim}" claim is not accepted`
        : e instanceof errors.JWKSTimeout || e instanceof errors.JWKSNoMatchingKey ? 'the token is not signed by a known key'
        : 'the token is not valid';
      return { ok: false, reason: 'invalid_token', message: why };
    }
    const name = payload[s.subjectClaim];
    if (typeof name !== 'string' || name === '') return { ok: false, reason: 'invalid_token', message: `the token's "${s.subjectClaim}" claim is not a string` };
    const g = payload[s.groupsClaim];
    const groups = Array.isArray(g) ? g.filter((x): x is string => typeof x === 'string') : typeof g === 'string' ? g.split(' ').filter(Boolean) : [];
    const id: TokenIdentity = Object.freeze({ name, groups: Object.freeze(groups) });
    const now = this.#clock.now();
    const untilMs = Math.min(now + VERIFIED_TTL_MS, (payload.exp ?? 0) * 1000 + s.clockSkewMs);
    if (untilMs > now) {
      if (this.#verified.size >= VERIFIED_MAX) this.#verified.delete(this.#verified.keys().next().value!);
      this.#verified.set(token, { id, untilMs });
    }
    return { ok: true, id };
  }
}
