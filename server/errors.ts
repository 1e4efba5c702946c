// The inference server's error catalog. Every surface (TF Serving REST, KServe REST, gRPC)
// maps errors through this one table. The HTTP statuses follow TF Serving's
// ToHTTPStatusCode (tensorflow_serving/model_servers/http_server.cc).
import { defineErrors, GrpcCode } from '../common/errors.ts';

export const SrvErr = defineErrors({
  /** Bad JSON, wrong dtype or shape, unknown signature, unknown label (TF Serving: INVALID_ARGUMENT → 400). */
  SRV_ERR_INVALID_ARGUMENT: { http: 400, grpc: GrpcCode.INVALID_ARGUMENT },
  /** Path or method that does not parse ("Malformed request: POST /v1/..."). */
  SRV_ERR_MALFORMED_REQUEST: { http: 400, grpc: GrpcCode.INVALID_ARGUMENT },
  /** Unknown model or version. */
  SRV_ERR_NOT_FOUND: { http: 404, grpc: GrpcCode.NOT_FOUND },
  /** A label pointing to a version that is not AVAILABLE (TF Serving: FAILED_PRECONDITION → 400). */
  SRV_ERR_FAILED_PRECONDITION: { http: 400, grpc: GrpcCode.FAILED_PRECONDITION },
  SRV_ERR_METHOD_NOT_ALLOWED: { http: 405, grpc: GrpcCode.UNIMPLEMENTED },
  SRV_ERR_BODY_TOO_LARGE: { http: 413, grpc: GrpcCode.RESOURCE_EXHAUSTED },
  /** Batch queue full, server draining or no version loaded yet. */
  SRV_ERR_UNAVAILABLE: { http: 503, grpc: GrpcCode.UNAVAILABLE },
  SRV_ERR_DEADLINE_EXCEEDED: { http: 504, grpc: GrpcCode.DEADLINE_EXCEEDED },
  /** The client did not send its whole request in time (--body_read_timeout): its own fault, like 4xx. */
  SRV_ERR_REQUEST_TIMEOUT: { http: 408, grpc: GrpcCode.CANCELLED },
  SRV_ERR_UNIMPLEMENTED: { http: 501, grpc: GrpcCode.UNIMPLEMENTED },
  SRV_ERR_CANCELLED: { http: 499, grpc: GrpcCode.CANCELLED },
  /** The runtime failed while running a model. */
  SRV_ERR_INTERNAL: { http: 500, grpc: GrpcCode.INTERNAL },
});

export type SrvErrCode = keyof typeof SrvErr;
