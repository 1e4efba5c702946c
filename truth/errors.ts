// The ground-truth area's error catalog (stable codes; HTTP status and gRPC code for the
// admin API). Shape from common/errors.ts.
import { defineErrors, GrpcCode } from '../common/index.ts';

export const TruthErrors = defineErrors({
  /** A feedback body that is not a JSON array of {id, label} / {id, value} entries (the message names the index). */
  TRUTH_ERR_BAD_FEEDBACK: { http: 400, grpc: GrpcCode.INVALID_ARGUMENT },
  /** More feedback entries in one request than truth.maxBatch. */
  TRUTH_ERR_BATCH_TOO_LARGE: { http: 413, grpc: GrpcCode.RESOURCE_EXHAUSTED },
});
