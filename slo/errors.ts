// The SLO area's error catalog (one table; every surface maps the same code to the same
// HTTP status and gRPC code). Habit from fastify lib/errors.js.
import { defineErrors, GrpcCode } from '../common/index.ts';

export const SloErrors = defineErrors({
  SLO_ERR_UNKNOWN_SLO: { http: 404, grpc: GrpcCode.NOT_FOUND },
  SLO_ERR_BAD_WINDOW: { http: 400, grpc: GrpcCode.INVALID_ARGUMENT },
  SLO_ERR_DUPLICATE_SLO: { http: 400, grpc: GrpcCode.INVALID_ARGUMENT },
  // The fleet source (slo/prometheus-source.ts) has no fresh reading from Prometheus.
  SLO_ERR_SOURCE_UNAVAILABLE: { http: 503, grpc: GrpcCode.UNAVAILABLE },
});
