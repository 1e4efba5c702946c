// The admission stage's error catalog: why the proxy refused a request before forwarding
// it. HTTP/gRPC pairs as TF Serving's ToHTTPStatusCode maps them (http_server.cc), and
// gRPC's doc/statuscodes.md: RESOURCE_EXHAUSTED for a spent quota, UNAVAILABLE for a
// transient overload the client should retry with backoff.
import { defineErrors, GrpcCode } from '../../common/index.ts';
import type { RejectReason } from '../../common/index.ts';

export const GuardErrors = defineErrors({
  /** No credential, or one that does not verify (RFC 6750 §3.1: 401 with WWW-Authenticate). */
  GRD_ERR_UNAUTHENTICATED: { http: 401, grpc: GrpcCode.UNAUTHENTICATED },
  /** The caller is known but no rule lets it call this model, version and API; unknown models get the same answer. */
  GRD_ERR_FORBIDDEN: { http: 403, grpc: GrpcCode.PERMISSION_DENIED },
  /** The caller's or the model's request rate is spent (RFC 6585 §4: 429 with Retry-After). */
  GRD_ERR_RATE_LIMITED: { http: 429, grpc: GrpcCode.RESOURCE_EXHAUSTED },
  /** The model has as many requests in flight as its concurrency limit allows: shed, retry later. */
  GRD_ERR_SHED: { http: 503, grpc: GrpcCode.UNAVAILABLE },
});

export const REJECT_ERROR = {
  unauthenticated: GuardErrors.GRD_ERR_UNAUTHENTICATED,
  forbidden: GuardErrors.GRD_ERR_FORBIDDEN,
  rate_limited: GuardErrors.GRD_ERR_RATE_LIMITED,
  shed: GuardErrors.GRD_ERR_SHED,
} as const satisfies Record<RejectReason, unknown>;

/** The `reason` label of modelgate_auth_failures_total. */
export type AuthFailure = 'missing_credential' | 'unknown_key' | 'invalid_token' | 'expired_token' | 'forbidden';
