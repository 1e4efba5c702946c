// The proxy's error catalog: one table that both the REST and the gRPC surfaces use, so a
// refused upstream is a 502 on REST and UNAVAILABLE on gRPC for the same reason.
// HTTP/gRPC pairs follow TF Serving's ToHTTPStatusCode (http_server.cc) where one exists;
// 502 for an upstream that refuses or resets is the reverse-proxy convention (RFC 9110 §15.6.3).
import { defineErrors, GrpcCode } from '../common/index.ts';

export const ProxyErrors = defineErrors({
  /** The upstream refused the connection, reset it, or is not configured. */
  PRX_ERR_UPSTREAM_UNAVAILABLE: { http: 502, grpc: GrpcCode.UNAVAILABLE },
  /** The upstream did not answer within the configured timeout (RFC 9110 §15.6.5). */
  PRX_ERR_UPSTREAM_TIMEOUT: { http: 504, grpc: GrpcCode.DEADLINE_EXCEEDED },
  // The client sent no byte of its request body for `timeouts.clientBody`, or not the whole
  // request within `timeouts.request` (RFC 9110 §15.5.9): the client's fault, never counted
  // as an upstream failure (gRPC unary calls: CANCELLED).
  PRX_ERR_CLIENT_TIMEOUT: { http: 408, grpc: GrpcCode.CANCELLED },
  /** Request body larger than `limits.maxBodyBytes` (RFC 9110 §15.5.14). */
  PRX_ERR_BODY_TOO_LARGE: { http: 413, grpc: GrpcCode.RESOURCE_EXHAUSTED },
  /** Admin API: missing or wrong bearer token (RFC 6750 §3.1). */
  PRX_ERR_UNAUTHORIZED: { http: 401, grpc: GrpcCode.UNAUTHENTICATED },
  /** Admin API: mutation refused because no admin token is configured. */
  PRX_ERR_ADMIN_DISABLED: { http: 403, grpc: GrpcCode.PERMISSION_DENIED },
  /** Admin API: bad split or other bad input. */
  PRX_ERR_INVALID_ARGUMENT: { http: 400, grpc: GrpcCode.INVALID_ARGUMENT },
  /** Admin API: no such route. */
  PRX_ERR_NOT_FOUND: { http: 404, grpc: GrpcCode.NOT_FOUND },
  /** Admin API: a change that conflicts with what is running (a version the upstream does not serve, a model under an active rollout). */
  PRX_ERR_CONFLICT: { http: 409, grpc: GrpcCode.FAILED_PRECONDITION },
  /** Admin API: route exists, method does not. */
  PRX_ERR_METHOD_NOT_ALLOWED: { http: 405, grpc: GrpcCode.UNIMPLEMENTED },
  /** Unexpected failure inside the proxy itself. */
  PRX_ERR_INTERNAL: { http: 500, grpc: GrpcCode.INTERNAL },
});

/** Kinds of upstream failure, the `kind` label of `modelgate_upstream_errors_total`. */
export type UpstreamErrorKind = 'connect' | 'reset' | 'timeout' | 'protocol' | 'client_abort' | 'client_timeout' | 'body_too_large';

/** The JSON error body the REST surface sends: `{"error": "...", "code": "PRX_ERR_..."}` (TF Serving uses `{"error"}`). */
export function errorBody(code: string, message: string): string {
  return JSON.stringify({ error: message, code });
}
