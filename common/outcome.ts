// What the proxy knows about one finished request. The proxy produces these; the SLO
// evaluator, the rollout analysis and the metrics all consume the same record, so they
// count the same requests the same way.

export type Protocol = 'rest' | 'grpc';
export type Variant = 'stable' | 'canary' | 'direct';
export type Api = 'predict' | 'classify' | 'regress' | 'infer' | 'status' | 'metadata' | 'health' | 'other';

export interface RequestOutcome {
  /** Model name as served (already folded to the overflow value if not in the allowlist). */
  model: string;
  /** The version that actually served, or 'unknown'. */
  version: string;
  api: Api;
  protocol: Protocol;
  variant: Variant;
  /** HTTP status (rest) — e.g. 200, 503; 0 when no response was received. */
  httpStatus?: number;
  /** gRPC status code number (grpc), e.g. 0 OK, 14 UNAVAILABLE. */
  grpcCode?: number;
  /** The `code` label value: the HTTP status as text for REST, the gRPC code name for gRPC. */
  code: string;
  /**
   * Wall time to response end, seconds, from the request received whole (REST and unary gRPC:
   * a client's slow upload is its own time) or from its start (gRPC streams).
   */
  durationSeconds: number;
  /** End time, ms since epoch (from the injected clock). */
  endMs: number;
  /**
   * The client chose the version (a `/versions/N` or `/labels/L` path, a gRPC `version` or
   * `version_label`) of a model that has a canary split, so the split did not. Counted in
   * metrics and SLOs like any request; the rollout analysis judges only split-routed
   * requests (a client cannot aim failures at a canary) and reports pinned ones beside them.
   * Absent means false.
   */
  pinned?: boolean;
  /**
   * The request's id (`x-request-id`: the client's when valid, else made up by the proxy),
   * also in the response headers / gRPC metadata. Always set by the proxy.
   */
  requestId?: string;
  /** W3C trace id of the request's span (32 hex), when tracing is on. */
  traceId?: string;
  /** Bytes of the request and response bodies as they passed the proxy (gRPC: messages with their prefixes). */
  requestBytes?: number;
  responseBytes?: number;
  /**
   * Who called (an API key's name or a JWT's subject, proxy/guard): set only when the proxy
   * authenticates callers and the caller was identified. Never the secret itself.
   */
  identity?: string;
  /**
   * Refused by the proxy's admission stage before forwarding: no or a bad credential
   * (`unauthenticated`, 401 / UNAUTHENTICATED), not allowed (`forbidden`, 403 /
   * PERMISSION_DENIED), over its rate (`rate_limited`, 429 / RESOURCE_EXHAUSTED) or over the
   * model's concurrency limit (`shed`, 503 / UNAVAILABLE). The SLO engine skips these unless
   * configured to count them: the upstream never saw them.
   */
  rejected?: RejectReason;
}

/** Why the proxy refused a request before forwarding it (RequestOutcome.rejected). */
export type RejectReason = 'unauthenticated' | 'forbidden' | 'rate_limited' | 'shed';
