// The rollout area's error catalog (one per area, see common/errors.ts). The admin API and
// the CLI map these codes to HTTP statuses; users match on the code.
import { defineErrors, GrpcCode } from '../common/index.ts';

export const RolloutErrors = defineErrors({
  /** No rollout is configured for the model named in a command or URL. */
  ROL_ERR_UNKNOWN_MODEL: { http: 404, grpc: GrpcCode.NOT_FOUND },
  /** A command that the rollout's phase does not allow (resume a running rollout, promote a rolled-back one). */
  ROL_ERR_CONFLICT: { http: 409, grpc: GrpcCode.FAILED_PRECONDITION },
  /** A command name or argument that does not exist. */
  ROL_ERR_INVALID_ARGUMENT: { http: 400, grpc: GrpcCode.INVALID_ARGUMENT },
  /** The persisted state of a model is not valid rollout state: the file was moved aside; nothing is done for the model until `modelgate rollout reset MODEL`. */
  ROL_ERR_STATE_CORRUPT: { http: 503, grpc: GrpcCode.UNAVAILABLE },
  /** Applying an action (split, label, webhook) failed; the controller retries on the next tick. */
  ROL_ERR_APPLY: { http: 502, grpc: GrpcCode.UNAVAILABLE },
});
