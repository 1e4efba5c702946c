// The admission settings of the `proxy:` section: `auth` (who may call what), `rateLimits`
// (token buckets per identity and per model) and `concurrency` (per-model in-flight limits,
// shedding). Validated once at start into frozen values; nothing below reads YAML. Secrets
// named by file or environment variable are read when the guard is built (guard.ts).
import { Issues, join, isRecord, checkKeys, readString, readNumber, readBoolean, readDuration } from '../../common/index.ts';
import type { Api } from '../../common/index.ts';
import { closest } from '../../common/suggest.ts';

/** Where an API key's secret comes from. The file and env forms hold the key itself. */
export type KeySource =
  | { kind: 'sha256'; hex: string }
  | { kind: 'scrypt'; salt: string; hash: string } // base64 (strings: the config is deep-frozen)
  | { kind: 'file'; path: string }
  | { kind: 'env'; name: string };

export interface ApiKeySpec {
  /** The identity a request with this key has. */
  name: string;
  groups: string[];
  source: KeySource;
}

export interface JwtSpec {
  /** Required `iss`. */
  issuer: string;
  /** Required `aud` (any of these). */
  audience: string[];
  jwks: { url: string } | { file: string };
  /** Allowed `alg` values (RFC 8725 §3.1); never `none`. */
  algorithms: string[];
  clockSkewMs: number;
  /** The claim that names the identity (default `sub`). */
  subjectClaim: string;
  /** A claim holding a list (or space-separated string) of groups, for `group:` rules. */
  groupsClaim: string;
  /** Remote JWKS: how long a fetched key set is used before it is fetched again. */
  jwksCacheMs: number;
  /** Remote JWKS: a fetch gives up after this. */
  jwksTimeoutMs: number;
  /** Remote JWKS: a token with an unknown `kid` refetches the set at most this often (key rotation). */
  jwksCooldownMs: number;
  /** Local JWKS file: how often its modification time is checked (key rotation). */
  jwksReloadMs: number;
}

/** API names a rule lists; `predict` in a rule covers every inference call (predict, classify, regress, infer). */
export const RULE_APIS = ['predict', 'classify', 'regress', 'infer', 'metadata', 'status', 'other'] as const;
export type RuleApi = (typeof RULE_APIS)[number];

export interface Rule {
  /** Identity names, `group:<name>`, or `*` (any authenticated caller). */
  identities: string[];
  /** Model names or `*`. */
  models: string[];
  /** Version numbers or labels the request names, or `*` (any, and none). */
  versions: string[];
  apis: ReadonlySet<Api>;
}

export interface AuthConfig {
  apiKeys: ApiKeySpec[];
  jwt?: JwtSpec;
  rules: Rule[];
  /** The `realm` of the WWW-Authenticate challenge. */
  realm: string;
  /** Put the caller's identity on the rejected-requests metric (capped by maxIdentityLabels). */
  identityLabel: boolean;
  maxIdentityLabels: number;
}

export interface Rate {
  /** Sustained requests per second. */
  rps: number;
  /** Requests that may come at once after a quiet spell. */
  burst: number;
}

export interface RateLimitConfig {
  /** Each identity's own bucket (the default for identities not listed in `identities`). */
  identity?: Rate;
  identities: Record<string, Rate>;
  /** Each model's own bucket, all callers together (the default for models not listed). */
  model?: Rate;
  models: Record<string, Rate>;
  /** Each identity's own bucket for each model it calls (needs auth). */
  identityModel?: Rate;
}

export type LimitSpec =
  | { kind: 'fixed'; limit: number }
  | { kind: 'gradient' | 'aimd'; initial: number; min: number; max: number; latencyTargetMs: number };

export interface ConcurrencyConfig {
  /** For models not listed in `models`; absent: those are not limited. */
  default?: LimitSpec;
  models: Record<string, LimitSpec>;
  /** Identities (names or `group:<name>`) shed last: only they may use the reserved share. */
  priority: string[];
  /** Share of each limit kept for priority identities (0 to 0.9). */
  reserve: number;
}

export interface GuardConfig {
  auth?: AuthConfig;
  rateLimits?: RateLimitConfig;
  concurrency?: ConcurrencyConfig;
}

export const GUARD_KEYS = ['auth', 'rateLimits', 'concurrency'] as const;

export const GUARD_DEFAULTS = {
  // RFC 7519 leaves skew to the verifier; 30 s covers unsynchronised clocks of the usual kind.
  clockSkewMs: 30_000,
  // jose's createRemoteJWKSet defaults (src/jwks/remote.ts): 10 min cache, 5 s fetch timeout,
  // 30 s between refetches for unknown key ids.
  jwksCacheMs: 600_000,
  jwksTimeoutMs: 5_000,
  jwksCooldownMs: 30_000,
  jwksReloadMs: 5_000,
  algorithms: ['RS256', 'ES256', 'PS256', 'EdDSA'],
  realm: 'modelgate',
  maxIdentityLabels: 50,
  // Share of a limit only priority identities may use (the SRE book's criticality classes, two of them).
  reserve: 0.2,
  // Adaptive limits: Netflix concurrency-limits' Gradient2 bounds (min 20 is for servers; a model
  // server on a few cores saturates far lower).
  adaptiveMin: 1,
  adaptiveMax: 200,
  latencyTargetMs: 250,
} as const;

const JWT_ALGS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'];

function sub(raw: Record<string, unknown>, key: string, path: string, issues: Issues): Record<string, unknown> | undefined {
  const v = raw[key];
  if (v === undefined || v === null) return undefined;
  if (!isRecord(v)) {
    issues.error(join(path, key), 'must be an object');
    return undefined;
  }
  return v;
}

function stringList(raw: Record<string, unknown>, key: string, path: string, issues: Issues, def: string[], example: string): string[] {
  const v = raw[key];
  if (v === undefined || v === null) return def;
  const list = typeof v === 'string' ? [v] : v;
  if (!Array.isArray(list) || list.some((x) => (typeof x !== 'string' && typeof x !== 'number') || String(x) === '')) {
    issues.error(join(path, key), `must be a list of names, e.g. ${example}`);
    return def;
  }
  return list.map(String);
}

/** Reads `auth`, `rateLimits` and `concurrency` from the proxy section `r` (at `path`). */
export function readGuardConfig(r: Record<string, unknown>, path: string, issues: Issues): GuardConfig {
  const out: GuardConfig = {};
  const auth = readAuth(r, path, issues);
  if (auth) out.auth = auth;
  const rateLimits = readRateLimits(r, path, issues);
  if (rateLimits) out.rateLimits = rateLimits;
  const concurrency = readConcurrency(r, path, issues);
  if (concurrency) out.concurrency = concurrency;
  checkIdentityNames(out, path, issues);
  return out;
}

function readAuth(r: Record<string, unknown>, path: string, issues: Issues): AuthConfig | undefined {
  const a = sub(r, 'auth', path, issues);
  if (!a) return undefined;
  const p = join(path, 'auth');
  checkKeys(a, ['apiKeys', 'jwt', 'rules', 'realm', 'identityLabel', 'maxIdentityLabels'], p, issues);
  const apiKeys = readApiKeys(a, p, issues);
  const jwt = readJwt(a, p, issues);
  if (apiKeys.length === 0 && !jwt) issues.error(p, 'names no way to authenticate: add apiKeys (a list of {name, hash}) or jwt (issuer, audience, jwksUrl or jwksFile), or remove auth to leave the proxy open');
  const rules = readRules(a, p, issues);
  if (rules.length === 0) issues.warn(join(p, 'rules'), 'no rules: every authenticated caller is refused (403); add e.g. {identities: ["*"], models: ["*"]} to allow any authenticated caller');
  const config: AuthConfig = {
    apiKeys,
    rules,
    realm: readString(a, 'realm', p, issues, { default: GUARD_DEFAULTS.realm }),
    identityLabel: readBoolean(a, 'identityLabel', p, issues, false),
    maxIdentityLabels: readNumber(a, 'maxIdentityLabels', p, issues, { default: GUARD_DEFAULTS.maxIdentityLabels, min: 1, max: 10_000, integer: true }),
  };
  if (/["\\]/.test(config.realm)) issues.error(join(p, 'realm'), 'must not contain quotes or backslashes (it is sent in a quoted header parameter)');
  if (jwt) config.jwt = jwt;
  return config;
}

const HEX64 = /^[0-9a-f]{64}$/i;

function readApiKeys(a: Record<string, unknown>, p: string, issues: Issues): ApiKeySpec[] {
  const v = a['apiKeys'];
  if (v === undefined || v === null) return [];
  const kp = join(p, 'apiKeys');
  if (!Array.isArray(v)) {
    issues.error(kp, 'must be a list of {name, hash | file | env}');
    return [];
  }
  const out: ApiKeySpec[] = [];
  const names = new Set<string>();
  v.forEach((item, i) => {
    const ip = join(kp, i);
    if (!isRecord(item)) return issues.error(ip, 'must be an object {name, hash | file | env}');
    checkKeys(item, ['name', 'hash', 'file', 'env', 'groups'], ip, issues);
    const name = readString(item, 'name', ip, issues, { required: true });
    if (name === undefined) return;
    if (name.startsWith('group:') || name === '*') return issues.error(join(ip, 'name'), `must not be "*" or start with "group:" (rules use those forms), got ${JSON.stringify(name)}`);
    if (names.has(name)) return issues.error(join(ip, 'name'), `"${name}" is named twice; each key needs its own name`);
    names.add(name);
    const given = ['hash', 'file', 'env'].filter((k) => item[k] !== undefined && item[k] !== null);
    if (given.length !== 1) {
      return issues.error(ip, given.length === 0
        ? 'needs one of hash ("sha256:<64 hex digits>" or "scrypt:<salt base64>:<hash base64>"), file (a file holding the key) or env (a variable holding it)'
        : `has ${given.join(' and ')}; give exactly one`);
    }
    const groups = stringList(item, 'groups', ip, issues, [], '["fraud-team"]');
    let source: KeySource | undefined;
    if (given[0] === 'hash') {
      const h = readString(item, 'hash', ip, issues) ?? '';
      source = parseKeyHash(h);
      if (!source) issues.error(join(ip, 'hash'), `must be "sha256:<64 hex digits>" (printf %s "$KEY" | sha256sum) or "scrypt:<salt base64>:<hash base64>"; got ${JSON.stringify(h.length > 12 ? `${h.slice(0, 12)}...` : h)}`);
    } else if (given[0] === 'file') {
      const f = readString(item, 'file', ip, issues);
      if (f !== undefined) source = { kind: 'file', path: f };
    } else {
      const e = readString(item, 'env', ip, issues);
      if (e !== undefined) source = { kind: 'env', name: e };
    }
    if (source) out.push({ name, groups, source });
  });
  return out;
}

/** `sha256:<hex>` or `scrypt:<salt b64>:<hash b64>`; undefined when neither. */
export function parseKeyHash(h: string): KeySource | undefined {
  const [kind, a, b, ...rest] = h.split(':');
  if (kind === 'sha256' && a !== undefined && HEX64.test(a) && b === undefined) return { kind: 'sha256', hex: a.toLowerCase() };
  if (kind === 'scrypt' && a && b && rest.length === 0) {
    if (Buffer.from(a, 'base64').length >= 8 && Buffer.from(b, 'base64').length >= 16) return { kind: 'scrypt', salt: a, hash: b };
  }
  return undefined;
}

function readJwt(a: Record<string, unknown>, p: string, issues: Issues): JwtSpec | undefined {
  const j = sub(a, 'jwt', p, issues);
  if (!j) return undefined;
  const jp = join(p, 'jwt');
  checkKeys(j, ['issuer', 'audience', 'jwksUrl', 'jwksFile', 'algorithms', 'clockSkew', 'subjectClaim', 'groupsClaim', 'jwksCacheMaxAge', 'jwksTimeout', 'jwksCooldown', 'jwksReload'], jp, issues);
  const issuer = readString(j, 'issuer', jp, issues, { required: true });
  const audience = stringList(j, 'audience', jp, issues, [], '["modelgate"]');
  if (j['audience'] === undefined || j['audience'] === null) issues.error(join(jp, 'audience'), 'is required: tokens must be meant for this service (RFC 8725 §3.9), e.g. "modelgate"');
  const url = readString(j, 'jwksUrl', jp, issues);
  const file = readString(j, 'jwksFile', jp, issues);
  if ((url === undefined) === (file === undefined)) issues.error(jp, 'needs exactly one of jwksUrl (e.g. "https://issuer/.well-known/jwks.json") or jwksFile (a JWKS JSON file)');
  if (url !== undefined && !/^https?:\/\/[^/]/.test(url)) issues.error(join(jp, 'jwksUrl'), `must be an http(s) URL, got ${JSON.stringify(url)}`);
  const algorithms = stringList(j, 'algorithms', jp, issues, [...GUARD_DEFAULTS.algorithms], '["RS256", "ES256"]');
  algorithms.forEach((alg, i) => {
    if (JWT_ALGS.includes(alg)) return;
    const near = closest(alg, JWT_ALGS);
    issues.error(join(join(jp, 'algorithms'), i), alg.toLowerCase() === 'none'
      ? '"none" accepts unsigned tokens and is never allowed (RFC 8725 §3.1)'
      : `unknown algorithm "${alg}"${near ? `; did you mean "${near}"?` : `; known: ${JWT_ALGS.join(', ')}`} (HS* shared secrets are not supported: use a JWKS)`);
  });
  const spec: JwtSpec = {
    issuer: issuer ?? '',
    audience,
    jwks: url !== undefined ? { url } : { file: file ?? '' },
    algorithms,
    clockSkewMs: readDuration(j, 'clockSkew', jp, issues, { default: GUARD_DEFAULTS.clockSkewMs, allowZero: true }),
    subjectClaim: readString(j, 'subjectClaim', jp, issues, { default: 'sub' }),
    groupsClaim: readString(j, 'groupsClaim', jp, issues, { default: 'groups' }),
    jwksCacheMs: readDuration(j, 'jwksCacheMaxAge', jp, issues, { default: GUARD_DEFAULTS.jwksCacheMs }),
    jwksTimeoutMs: readDuration(j, 'jwksTimeout', jp, issues, { default: GUARD_DEFAULTS.jwksTimeoutMs }),
    jwksCooldownMs: readDuration(j, 'jwksCooldown', jp, issues, { default: GUARD_DEFAULTS.jwksCooldownMs, allowZero: true }),
    jwksReloadMs: readDuration(j, 'jwksReload', jp, issues, { default: GUARD_DEFAULTS.jwksReloadMs }),
  };
  return issuer === undefined ? undefined : spec;
}

function readRules(a: Record<string, unknown>, p: string, issues: Issues): Rule[] {
  const v = a['rules'];
  if (v === undefined || v === null) return [];
  const rp = join(p, 'rules');
  if (!Array.isArray(v)) {
    issues.error(rp, 'must be a list of {identities, models, versions?, apis?}');
    return [];
  }
  const out: Rule[] = [];
  v.forEach((item, i) => {
    const ip = join(rp, i);
    if (!isRecord(item)) return issues.error(ip, 'must be an object {identities, models, versions?, apis?}');
    checkKeys(item, ['identities', 'models', 'versions', 'apis'], ip, issues);
    if (item['identities'] === undefined) issues.error(join(ip, 'identities'), 'is required: key names, JWT subjects, "group:<name>" or "*" for any authenticated caller');
    if (item['models'] === undefined) issues.error(join(ip, 'models'), 'is required: model names or "*"');
    const identities = stringList(item, 'identities', ip, issues, [], '["fraud-app", "group:ml", "*"]');
    const models = stringList(item, 'models', ip, issues, [], '["fraud"] or ["*"]');
    const versions = stringList(item, 'versions', ip, issues, ['*'], '["1", "stable"] or ["*"]');
    const names = stringList(item, 'apis', ip, issues, ['predict', 'metadata', 'status'], '["predict", "metadata"]');
    const apis = new Set<Api>();
    names.forEach((n, k) => {
      if (!(RULE_APIS as readonly string[]).includes(n)) {
        const near = closest(n, RULE_APIS);
        issues.error(join(join(ip, 'apis'), k), `unknown API "${n}"${near ? `; did you mean "${near}"?` : ''} (one of ${RULE_APIS.join(', ')}; predict covers classify, regress and infer too)`);
      } else if (n === 'predict') for (const x of ['predict', 'classify', 'regress', 'infer'] as const) apis.add(x);
      else apis.add(n as Api);
    });
    out.push({ identities, models, versions, apis });
  });
  return out;
}

function readRate(raw: unknown, path: string, issues: Issues): Rate | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (!isRecord(raw)) {
    issues.error(path, 'must be {rps, burst}, e.g. {rps: 50, burst: 100}');
    return undefined;
  }
  checkKeys(raw, ['rps', 'burst'], path, issues);
  const rps = readNumber(raw, 'rps', path, issues, { required: true, min: 0.001 });
  if (rps === undefined) return undefined;
  const burst = readNumber(raw, 'burst', path, issues, { default: Math.max(1, Math.ceil(rps)), min: 1, integer: true });
  return { rps, burst };
}

function readRateMap(raw: Record<string, unknown>, key: string, path: string, issues: Issues): Record<string, Rate> {
  const m = sub(raw, key, path, issues) ?? {};
  const out: Record<string, Rate> = {};
  for (const [k, v] of Object.entries(m)) {
    const rate = readRate(v, join(join(path, key), k), issues);
    if (rate) out[k] = rate;
  }
  return out;
}

function readRateLimits(r: Record<string, unknown>, path: string, issues: Issues): RateLimitConfig | undefined {
  const l = sub(r, 'rateLimits', path, issues);
  if (!l) return undefined;
  const p = join(path, 'rateLimits');
  checkKeys(l, ['identity', 'identities', 'model', 'models', 'identityModel'], p, issues);
  const out: RateLimitConfig = { identities: readRateMap(l, 'identities', p, issues), models: readRateMap(l, 'models', p, issues) };
  const identity = readRate(l['identity'], join(p, 'identity'), issues);
  if (identity) out.identity = identity;
  const model = readRate(l['model'], join(p, 'model'), issues);
  if (model) out.model = model;
  const identityModel = readRate(l['identityModel'], join(p, 'identityModel'), issues);
  if (identityModel) out.identityModel = identityModel;
  return out;
}

function readLimit(raw: unknown, path: string, issues: Issues): LimitSpec | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw === 'number') raw = { limit: raw };
  if (!isRecord(raw)) {
    issues.error(path, 'must be {limit: N} or {adaptive: gradient | aimd, initial, min, max, latencyTarget}');
    return undefined;
  }
  checkKeys(raw, ['limit', 'adaptive', 'initial', 'min', 'max', 'latencyTarget'], path, issues);
  const adaptive = readString(raw, 'adaptive', path, issues);
  if (adaptive === undefined) {
    for (const k of ['initial', 'min', 'max', 'latencyTarget']) if (raw[k] !== undefined) issues.error(join(path, k), 'applies only with adaptive: gradient or aimd');
    const limit = readNumber(raw, 'limit', path, issues, { required: true, min: 1, integer: true });
    return limit === undefined ? undefined : { kind: 'fixed', limit };
  }
  if (adaptive !== 'gradient' && adaptive !== 'aimd') {
    const near = closest(adaptive, ['gradient', 'aimd']);
    issues.error(join(path, 'adaptive'), `must be "gradient" or "aimd", got ${JSON.stringify(adaptive)}${near ? `; did you mean "${near}"?` : ''}`);
    return undefined;
  }
  if (raw['limit'] !== undefined) issues.error(join(path, 'limit'), 'an adaptive limit moves by itself: give initial, min and max instead');
  const min = readNumber(raw, 'min', path, issues, { default: GUARD_DEFAULTS.adaptiveMin, min: 1, integer: true });
  const max = readNumber(raw, 'max', path, issues, { default: GUARD_DEFAULTS.adaptiveMax, min: 1, integer: true });
  const initial = readNumber(raw, 'initial', path, issues, { default: Math.min(max, Math.max(min, 10)), min: 1, integer: true });
  if (min > max) issues.error(join(path, 'min'), `must not exceed max (${max})`);
  else if (initial < min || initial > max) issues.error(join(path, 'initial'), `must be between min (${min}) and max (${max})`);
  const latencyTargetMs = readDuration(raw, 'latencyTarget', path, issues, { default: GUARD_DEFAULTS.latencyTargetMs });
  return { kind: adaptive, initial, min, max, latencyTargetMs };
}

function readConcurrency(r: Record<string, unknown>, path: string, issues: Issues): ConcurrencyConfig | undefined {
  const c = sub(r, 'concurrency', path, issues);
  if (!c) return undefined;
  const p = join(path, 'concurrency');
  checkKeys(c, ['default', 'models', 'priority', 'reserve'], p, issues);
  const models: Record<string, LimitSpec> = {};
  for (const [m, v] of Object.entries(sub(c, 'models', p, issues) ?? {})) {
    const spec = readLimit(v, join(join(p, 'models'), m), issues);
    if (spec) models[m] = spec;
  }
  const out: ConcurrencyConfig = {
    models,
    priority: stringList(c, 'priority', p, issues, [], '["fraud-app", "group:critical"]'),
    reserve: readNumber(c, 'reserve', p, issues, { default: GUARD_DEFAULTS.reserve, min: 0, max: 0.9 }),
  };
  const def = readLimit(c['default'], join(p, 'default'), issues);
  if (def) out.default = def;
  if (!def && Object.keys(models).length === 0) issues.warn(p, 'limits nothing: add default ({limit: N}) or models ({<model>: {limit: N}})');
  return out;
}

/**
 * Identity names in rules, priorities and rate limits must be API key names unless JWTs
 * are accepted (a subject is not known until a token comes); `group:` and `*` forms pass.
 */
function checkIdentityNames(g: GuardConfig, path: string, issues: Issues): void {
  const keys = g.auth?.apiKeys.map((k) => k.name) ?? [];
  const open = g.auth?.jwt !== undefined;
  const check = (name: string, at: string) => {
    if (name === '*' || name.startsWith('group:') || open || keys.includes(name)) return;
    const near = closest(name, keys);
    issues.error(at, `no API key named "${name}"${near ? `; did you mean "${near}"?` : keys.length ? ` (keys: ${keys.join(', ')})` : ''}; with only API keys, identities are their names`);
  };
  g.auth?.rules.forEach((rule, i) => rule.identities.forEach((n, k) => check(n, join(join(join(join(path, 'auth'), 'rules'), i), 'identities') + `[${k}]`)));
  const priority = g.concurrency?.priority ?? [];
  if (priority.length > 0 && !g.auth) issues.error(join(join(path, 'concurrency'), 'priority'), 'needs auth: priorities name identities, and without auth callers are anonymous');
  else priority.forEach((n, k) => check(n, join(join(join(path, 'concurrency'), 'priority'), k)));
  const ids = g.rateLimits ? Object.keys(g.rateLimits.identities) : [];
  if ((ids.length > 0 || g.rateLimits?.identity || g.rateLimits?.identityModel) && !g.auth) issues.error(join(path, 'rateLimits'), 'identity limits need auth: without it callers are anonymous; use model / models, or configure auth');
  for (const n of ids) check(n, join(join(join(path, 'rateLimits'), 'identities'), n));
}
