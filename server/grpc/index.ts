// Public surface of the gRPC APIs.
export { startGrpcServer, DEFAULT_GRPC_MAX_MESSAGE_BYTES } from './server.ts';
export type { GrpcServer, GrpcServerOptions } from './server.ts';
export { servingServices, packAny, unpackAny, LOADER_OPTIONS, PROTO_DIR, PROTO_FILES } from './protos.ts';
export type { ServingServices } from './protos.ts';
export { tensorFromProto, tensorToProto, dtypeFromTfName } from './tensor-proto.ts';
export type { TensorProtoMsg } from './tensor-proto.ts';
export { decodeInferInputs, encodeInferOutputs } from './kserve-tensor.ts';
export { HEALTH_SERVICES } from './health.ts';
export { grpcCodeName } from './calls.ts';
export { parseGrpcTimeout } from './timeout.ts';
export { encodeGrpcMessage } from './trailers.ts';
