// A gRPC client for the tests, built from the .proto files in server/grpc/protos with proto-loader
// directly (not through the server's own loader), as any TF Serving or KServe client is.
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import protobuf from 'protobufjs';
import { PROTO_DIR } from '../../server/grpc/index.ts';

const def = protoLoader.loadSync(
  ['tensorflow_serving/apis/prediction_service.proto', 'tensorflow_serving/apis/model_service.proto', 'kserve/open_inference_grpc.proto', 'grpc/health/v1/health.proto'],
  { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true, includeDirs: [PROTO_DIR] },
);
const pkg = grpc.loadPackageDefinition(def) as any;

export interface Clients {
  prediction: grpc.Client;
  model: grpc.Client;
  kserve: grpc.Client;
  health: grpc.Client;
  close(): void;
}

/**
 * Clients of `address`; plaintext (h2c) unless `creds` says otherwise (grpc.credentials.createSsl for TLS).
 * `options` are added to the channel options (`'grpc.use_local_subchannel_pool': 1`: a connection
 * of its own instead of one shared with every other client of the same address).
 */
export function connect(address: string, creds: grpc.ChannelCredentials = grpc.credentials.createInsecure(), options: grpc.ChannelOptions = {}): Clients {
  const opts = { 'grpc.max_send_message_length': -1, 'grpc.max_receive_message_length': -1, ...options };
  const c = {
    prediction: new pkg.tensorflow.serving.PredictionService(address, creds, opts),
    model: new pkg.tensorflow.serving.ModelService(address, creds, opts),
    kserve: new pkg.inference.GRPCInferenceService(address, creds, opts),
    health: new pkg.grpc.health.v1.Health(address, creds, opts),
  };
  return { ...c, close: () => Object.values(c).forEach((x) => x.close()) };
}

/** Calls a unary method; resolves the response or rejects with the grpc ServiceError. */
export function call<T = any>(client: grpc.Client, method: string, req: unknown, deadlineMs = 10_000): Promise<T> {
  return new Promise((resolve, reject) => {
    (client as any)[method](req, { deadline: Date.now() + deadlineMs }, (err: grpc.ServiceError | null, res: T) => (err ? reject(err) : resolve(res)));
  });
}

/** Rejects unless the call fails with this gRPC status code. */
export async function expectCode(p: Promise<unknown>, code: grpc.status, message?: RegExp): Promise<void> {
  try {
    await p;
  } catch (e) {
    const err = e as grpc.ServiceError;
    if (err.code !== code) throw new Error(`expected ${grpc.status[code]}, got ${grpc.status[err.code]}: ${err.details}`);
    if (message && !message.test(err.details)) throw new Error(`message "${err.details}" does not match ${message}`);
    return;
  }
  throw new Error(`expected ${grpc.status[code]}, but the call succeeded`);
}

const root = new protobuf.Root();
root.resolvePath = (_o, t) => (t.startsWith('google/protobuf/') || t.startsWith('/') ? t : join(PROTO_DIR, t));
root.loadSync('tensorflow_serving/apis/get_model_metadata.proto', { keepCase: true });

/** Unpacks the SignatureDefMap that GetModelMetadata returns in a google.protobuf.Any. */
export function unpackSignatureDefMap(any: { type_url: string; value: Uint8Array }): any {
  const type = root.lookupType('tensorflow.serving.SignatureDefMap');
  return type.toObject(type.decode(any.value), { longs: String, enums: String, defaults: true });
}

export function floatTensor(shape: number[], values: number[]) {
  return { dtype: 'DT_FLOAT', tensor_shape: { dim: shape.map((size) => ({ size: String(size) })) }, float_val: values };
}

export function rawFloatTensor(shape: number[], values: Float32Array) {
  return { dtype: 'DT_FLOAT', tensor_shape: { dim: shape.map((size) => ({ size: String(size) })) }, tensor_content: Buffer.from(values.buffer, values.byteOffset, values.byteLength) };
}

export { grpc };
