// The shape shared by every area's error catalog (server/errors.ts, proxy/errors.ts, ...):
// a stable code users can match on, the HTTP status and the gRPC status code it maps to.
// (Habit from fastify lib/errors.js and undici lib/core/errors.js.)

/** gRPC status codes (grpc/include/grpc/impl/codegen/status.h). */
export const GrpcCode = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;
export type GrpcCodeValue = (typeof GrpcCode)[keyof typeof GrpcCode];

export interface ErrorSpec {
  readonly code: string;
  readonly http: number;
  readonly grpc: GrpcCodeValue;
}

export class ModelgateError extends Error {
  readonly code: string;
  readonly http: number;
  readonly grpc: GrpcCodeValue;
  constructor(spec: ErrorSpec, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ModelgateError';
    this.code = spec.code;
    this.http = spec.http;
    this.grpc = spec.grpc;
  }
}

/** Builds a catalog: each entry is a factory `(message) => ModelgateError` that also carries its spec. */
export function defineErrors<K extends string>(
  specs: Record<K, Omit<ErrorSpec, 'code'>>,
): { [P in K]: ErrorSpec & ((message: string, cause?: unknown) => ModelgateError) } {
  const out = {} as { [P in K]: ErrorSpec & ((message: string, cause?: unknown) => ModelgateError) };
  for (const key of Object.keys(specs) as K[]) {
    const spec: ErrorSpec = { code: key, ...specs[key] };
    const make = (message: string, cause?: unknown) =>
      new ModelgateError(spec, message, cause === undefined ? undefined : { cause });
    out[key] = Object.assign(make, spec);
  }
  return out;
}

export function isModelgateError(e: unknown): e is ModelgateError {
  return e instanceof ModelgateError;
}
