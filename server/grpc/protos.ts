// Loads the .proto files in server/grpc/protos (see protos/README.md) once: the grpc-js service
// definitions for the server, and a protobufjs Root to pack messages into
// google.protobuf.Any (GetModelMetadata's SignatureDefMap).
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import protobuf from 'protobufjs';

export const PROTO_DIR = join(dirname(fileURLToPath(import.meta.url)), 'protos');

export const PROTO_FILES = [
  'tensorflow_serving/apis/prediction_service.proto',
  'tensorflow_serving/apis/model_service.proto',
  'kserve/open_inference_grpc.proto',
  'grpc/health/v1/health.proto',
] as const;

/**
 * proto-loader options, shared by the server and by clients built in tests: field names as
 * in the .proto (snake_case, like TF Serving's JSON), int64 as decimal strings (no
 * precision loss), enums by name, defaults filled in, and the name of the set oneof field.
 */
export const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
  includeDirs: [PROTO_DIR],
};

export interface ServingServices {
  predictionService: grpc.ServiceDefinition;
  modelService: grpc.ServiceDefinition;
  inferenceService: grpc.ServiceDefinition;
  health: grpc.ServiceDefinition;
  /** Client constructors, for tests and tools. */
  clients: {
    PredictionService: grpc.ServiceClientConstructor;
    ModelService: grpc.ServiceClientConstructor;
    GRPCInferenceService: grpc.ServiceClientConstructor;
    Health: grpc.ServiceClientConstructor;
  };
}

let cached: ServingServices | undefined;

type Pkg = Record<string, unknown>;
function at(obj: grpc.GrpcObject, path: string): grpc.ServiceClientConstructor {
  let cur: unknown = obj;
  for (const part of path.split('.')) cur = (cur as Pkg)[part];
  return cur as grpc.ServiceClientConstructor;
}

export function servingServices(): ServingServices {
  if (cached) return cached;
  const def = protoLoader.loadSync([...PROTO_FILES], LOADER_OPTIONS);
  const pkg = grpc.loadPackageDefinition(def);
  const clients = {
    PredictionService: at(pkg, 'tensorflow.serving.PredictionService'),
    ModelService: at(pkg, 'tensorflow.serving.ModelService'),
    GRPCInferenceService: at(pkg, 'inference.GRPCInferenceService'),
    Health: at(pkg, 'grpc.health.v1.Health'),
  };
  cached = {
    predictionService: clients.PredictionService.service,
    modelService: clients.ModelService.service,
    inferenceService: clients.GRPCInferenceService.service,
    health: clients.Health.service,
    clients,
  };
  return cached;
}

let root: protobuf.Root | undefined;

/** A protobufjs Root over the .proto files (for Any packing). */
export function protoRoot(): protobuf.Root {
  if (root) return root;
  const r = new protobuf.Root();
  r.resolvePath = (_origin, target) => (target.startsWith('google/protobuf/') || target.startsWith('/') ? target : join(PROTO_DIR, target));
  r.loadSync('tensorflow_serving/apis/get_model_metadata.proto', { keepCase: true });
  r.resolveAll();
  root = r;
  return r;
}

/** google.protobuf.Any holding `message` of the given full type name, as proto-loader takes it. */
export function packAny(typeName: string, message: Record<string, unknown>): { type_url: string; value: Buffer } {
  const type = protoRoot().lookupType(typeName);
  const bytes = type.encode(type.fromObject(message)).finish();
  return { type_url: `type.googleapis.com/${typeName}`, value: Buffer.from(bytes) };
}

/** Decodes a google.protobuf.Any produced by `packAny` (tests, tools). */
export function unpackAny(any: { type_url: string; value: Uint8Array }): Record<string, unknown> {
  const typeName = any.type_url.slice(any.type_url.lastIndexOf('/') + 1);
  const type = protoRoot().lookupType(typeName);
  return type.toObject(type.decode(any.value), { longs: String, enums: String, defaults: true }) as Record<string, unknown>;
}
