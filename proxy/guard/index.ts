// Public surface of the proxy's admission stage (authentication, authorization, rate
// limits, concurrency limits). Listed by hand: what is not here is internal.
export { Guard, openGuard, credentialsOf, CREDENTIAL_HEADERS } from './guard.ts';
export type { AdmissionRequest, Admission, Ticket, GuardOptions } from './guard.ts';
export { readGuardConfig, GUARD_KEYS, GUARD_DEFAULTS, parseKeyHash } from './config.ts';
export type { GuardConfig, AuthConfig, RateLimitConfig, ConcurrencyConfig, LimitSpec, Rate, Rule, ApiKeySpec, JwtSpec } from './config.ts';
export { GuardErrors } from './errors.ts';
export type { AuthFailure } from './errors.ts';
export { sha256KeyHash, scryptKeyHash } from './keys.ts';
export { ConcurrencyLimit } from './limiter.ts';
export { RateBuckets } from './rate.ts';
