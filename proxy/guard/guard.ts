// The admission stage: run for every REST request and gRPC call once its model, version
// and API are known, before anything is sent upstream:
//   identity (API key or JWT) → authorization (rules) → rate limit (buckets per identity
//   and per model) → concurrency limit (per model; shed).
// The first refusal answers; an admitted request carries a ticket it returns when it ends
// (the concurrency limit's slot, and its latency for adaptive limits).
import type { Registry } from 'prom-client';
import type { Api, Clock, ErrorSpec, Protocol, RejectReason } from '../../common/index.ts';
import { ConfigError, OVERFLOW_LABEL_VALUE } from '../../common/index.ts';
import type { GuardConfig, LimitSpec, Rate } from './config.ts';
import { REJECT_ERROR } from './errors.ts';
import type { AuthFailure } from './errors.ts';
import { JwtVerifier } from './jwt.ts';
import { ApiKeys } from './keys.ts';
import { ConcurrencyLimit } from './limiter.ts';
import { GuardMetrics } from './metrics.ts';
import { RateBuckets } from './rate.ts';
import { allowed, matchesIdentity } from './rules.ts';
import type { Caller } from './rules.ts';

export interface AdmissionRequest {
  protocol: Protocol;
  api: Api;
  /** '' for server-level calls, undefined when the path or method is not one the proxy understands. */
  model: string | undefined;
  /** The version number or label the request names (not the one a split picks). */
  version: string | undefined;
  /** `Authorization: Bearer <value>` (a JWT, or an API key). */
  bearer: string | undefined;
  /** `x-api-key`. */
  apiKey: string | undefined;
}

/** Returned when the request ends: frees its concurrency slot and feeds adaptive limits. */
export interface Ticket {
  done(latencySeconds: number, dropped: boolean): void;
}

export type Admission =
  | { ok: true; identity: string | undefined; ticket: Ticket | undefined }
  | { ok: false; identity: string | undefined; reason: RejectReason; spec: ErrorSpec; message: string; headers: Record<string, string> };

export interface GuardOptions {
  config: GuardConfig;
  registry: Registry;
  clock: Clock;
  env: Record<string, string | undefined>;
  /** The model label for metrics (the proxy catalog's allowlist). */
  modelLabel: (model: string) => string;
}

/** Headers and metadata the guard reads credentials from; the proxy does not forward them upstream. */
export const CREDENTIAL_HEADERS: ReadonlySet<string> = new Set(['authorization', 'x-api-key']);

// Concurrency limiters kept at most for models named by `default` (names come from
// clients); past it, further models share one.
const MAX_LIMITERS = 1000;
const JWT_SHAPE = /^[\w-]+\.[\w-]+\.[\w-]+$/;

type Identified = { ok: true; caller: Caller | undefined } | { ok: false; failure: AuthFailure; message: string };

export class Guard {
  readonly #config: GuardConfig;
  readonly #clock: Clock;
  readonly #keys: ApiKeys | undefined;
  readonly #jwt: JwtVerifier | undefined;
  readonly #buckets = new RateBuckets();
  readonly #limiters = new Map<string, ConcurrencyLimit>();
  readonly #reserve: number;
  readonly #modelLabel: (model: string) => string;
  readonly metrics: GuardMetrics;

  /** Throws ConfigError when a key file or variable cannot be read. Call ready() before serving. */
  constructor(opts: GuardOptions) {
    const { config } = opts;
    this.#config = config;
    this.#clock = opts.clock;
    this.#modelLabel = opts.modelLabel;
    const auth = config.auth;
    if (auth && auth.apiKeys.length > 0) this.#keys = new ApiKeys(auth.apiKeys, opts.env);
    if (auth?.jwt) this.#jwt = new JwtVerifier(auth.jwt, opts.clock);
    this.#reserve = config.concurrency && config.concurrency.priority.length > 0 ? config.concurrency.reserve : 0;
    for (const [model, spec] of Object.entries(config.concurrency?.models ?? {})) this.#limiters.set(model, new ConcurrencyLimit(spec, this.#reserve));
    this.metrics = new GuardMetrics(opts.registry, {
      identityLabel: auth?.identityLabel ?? false,
      knownIdentities: auth?.apiKeys.map((k) => k.name) ?? [],
      maxIdentityLabels: auth?.maxIdentityLabels ?? 0,
      limits: () => [...this.#limiters].map(([model, l]) => ({ model, limit: l.limit, inFlight: l.inFlight })),
    });
  }

  /** Loads what must be there before the first request (a JWKS file). */
  async ready(): Promise<void> {
    await this.#jwt?.ready();
  }

  /** True when callers must identify themselves (credential headers are then not forwarded). */
  get authenticates(): boolean {
    return this.#config.auth !== undefined;
  }

  /** Decides on one request. A promise only when a credential needs asynchronous checking (a JWT, a new scrypt key). */
  admit(req: AdmissionRequest): Admission | Promise<Admission> {
    const id = this.#identify(req);
    if (id instanceof Promise) return id.then((r) => this.#decide(req, r));
    return this.#decide(req, id);
  }

  #identify(req: AdmissionRequest): Identified | Promise<Identified> {
    const auth = this.#config.auth;
    // Health checks stay open: probes carry no credentials.
    if (!auth || req.api === 'health') return { ok: true, caller: undefined };
    const token = req.bearer ?? req.apiKey;
    if (token === undefined || token === '') return { ok: false, failure: 'missing_credential', message: 'this call needs a credential: Authorization: Bearer <token> or x-api-key: <key>' };
    if (this.#jwt && req.bearer !== undefined && JWT_SHAPE.test(req.bearer)) {
      const known = this.#jwt.cached(req.bearer);
      if (known) return { ok: true, caller: known };
      return this.#jwt.verify(req.bearer).then((r): Identified => (r.ok ? { ok: true, caller: r.id } : { ok: false, failure: r.reason, message: r.message }));
    }
    const unknown: Identified = { ok: false, failure: 'unknown_key', message: 'the credential is not valid' };
    if (!this.#keys) return unknown;
    const hit = this.#keys.verify(token);
    if (hit instanceof Promise) return hit.then((k) => (k ? { ok: true, caller: k } : unknown), () => unknown);
    return hit ? { ok: true, caller: hit } : unknown;
  }

  #decide(req: AdmissionRequest, id: Identified): Admission {
    const model = req.model;
    if (!id.ok) {
      this.metrics.authFailure(id.failure);
      const realm = this.#config.auth!.realm;
      // RFC 6750 §3: error_description may not hold '"' or '\\'.
      const challenge = id.failure === 'missing_credential' ? `Bearer realm="${realm}"` : `Bearer realm="${realm}", error="invalid_token", error_description="${id.message.replace(/["\\]/g, "'")}"`;
      return this.#refuse(model, 'unauthenticated', undefined, id.message, { 'www-authenticate': challenge });
    }
    const caller = id.caller;
    const name = caller?.name;
    const auth = this.#config.auth;
    if (auth && caller && !allowed(auth.rules, caller, model ?? '', req.version, req.api)) {
      this.metrics.authFailure('forbidden');
      // The same words whether or not the model exists: no rule names it for this caller.
      const what = model ? `model "${model}"${req.version !== undefined ? ` version ${req.version}` : ''}` : 'this path';
      return this.#refuse(model, 'forbidden', name, `${name} may not call ${req.api} on ${what}`, {});
    }
    if (req.api === 'health') return { ok: true, identity: name, ticket: undefined };
    const waitMs = this.#rateWait(model, name);
    if (waitMs > 0) {
      const retry = Math.max(1, Math.ceil(waitMs / 1000));
      return this.#refuse(model, 'rate_limited', name, `rate limit reached${name !== undefined ? ` for ${name}` : ''}; retry after ${retry} s`, { 'retry-after': String(retry) });
    }
    const limiter = model ? this.#limiter(model) : undefined;
    if (!limiter) return { ok: true, identity: name, ticket: undefined };
    const priority = caller !== undefined && matchesIdentity(this.#config.concurrency!.priority, caller);
    if (!limiter.tryAcquire(priority)) {
      return this.#refuse(model, 'shed', name, `model "${model}" is at its concurrency limit (${limiter.limit} in flight); retry later`, { 'retry-after': '1' });
    }
    let done = false;
    return {
      ok: true,
      identity: name,
      ticket: {
        done: (latencySeconds, dropped) => {
          if (done) return;
          done = true;
          limiter.release(latencySeconds * 1000, dropped);
        },
      },
    };
  }

  #rateWait(model: string | undefined, name: string | undefined): number {
    const rl = this.#config.rateLimits;
    if (!rl) return 0;
    const pairs: Array<readonly [string, Rate]> = [];
    if (name !== undefined) {
      const r = rl.identities[name] ?? rl.identity;
      if (r) pairs.push([`i\u0000${name}`, r]);
    }
    if (model) {
      const r = rl.models[model] ?? rl.model;
      if (r) pairs.push([`m\u0000${model}`, r]);
      if (name !== undefined && rl.identityModel) pairs.push([`im\u0000${name}\u0000${model}`, rl.identityModel]);
    }
    return pairs.length === 0 ? 0 : this.#buckets.take(this.#clock.now(), pairs);
  }

  #limiter(model: string): ConcurrencyLimit | undefined {
    const l = this.#limiters.get(model);
    if (l) return l;
    const def: LimitSpec | undefined = this.#config.concurrency?.default;
    if (!def) return undefined;
    const key = this.#limiters.size < MAX_LIMITERS ? model : OVERFLOW_LABEL_VALUE;
    let made = this.#limiters.get(key);
    if (!made) this.#limiters.set(key, (made = new ConcurrencyLimit(def, this.#reserve)));
    return made;
  }

  #refuse(model: string | undefined, reason: RejectReason, identity: string | undefined, message: string, headers: Record<string, string>): Admission {
    this.metrics.reject(model === undefined ? OVERFLOW_LABEL_VALUE : model === '' ? '' : this.#modelLabel(model), reason, identity);
    return { ok: false, identity, reason, spec: REJECT_ERROR[reason], message, headers };
  }
}

/** The guard for a config, ready to serve (JWKS file read); undefined when nothing is configured. */
export async function openGuard(opts: GuardOptions): Promise<Guard | undefined> {
  const c = opts.config;
  if (!c.auth && !c.rateLimits && !c.concurrency) return undefined;
  const guard = new Guard(opts);
  await guard.ready().catch((e: unknown) => {
    const file = c.auth?.jwt && 'file' in c.auth.jwt.jwks ? c.auth.jwt.jwks.file : '';
    throw new ConfigError('proxy.auth', [{ severity: 'error', path: 'proxy.auth.jwt.jwksFile', message: `cannot read the JWKS ${file}: ${(e as Error).message}` }]);
  });
  return guard;
}

/** Reads the credential from a header getter (REST headers, gRPC metadata). */
export function credentialsOf(get: (name: string) => string | undefined): { bearer: string | undefined; apiKey: string | undefined } {
  const a = get('authorization');
  const m = a === undefined ? null : /^Bearer[ \t]+(\S+)\s*$/i.exec(a);
  return { bearer: m?.[1], apiKey: get('x-api-key')?.trim() };
}
