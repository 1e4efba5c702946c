// The drift area's error catalog (stable codes; HTTP status and gRPC code for the admin
// API and the CLI). Shape from common/errors.ts.
import { defineErrors, GrpcCode } from '../common/index.ts';

export const DriftErrors = defineErrors({
  /** A baseline file that is not a modelgate drift profile, or is damaged. */
  DRIFT_ERR_BAD_BASELINE: { http: 500, grpc: GrpcCode.DATA_LOSS },
  /** A reference file (JSON lines / CSV) the baseline command cannot read. */
  DRIFT_ERR_BAD_REFERENCE: { http: 400, grpc: GrpcCode.INVALID_ARGUMENT },
  /** A model the drift section does not describe. */
  DRIFT_ERR_UNKNOWN_MODEL: { http: 404, grpc: GrpcCode.NOT_FOUND },
  /** Two versions asked to be compared but at least one has no live data yet. */
  DRIFT_ERR_NO_DATA: { http: 409, grpc: GrpcCode.FAILED_PRECONDITION },
});
