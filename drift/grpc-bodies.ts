// Adapter from the proxy's gRPC body tee (one request message, one response message, the
// method path) to decoded tensors for DriftRecorder. It reuses the server's protos
// and TensorProto / KServe tensor decoders (server/grpc), so the two never disagree on a
// dtype; drift's core does not import it — pass it in: `new DriftRecorder(config,
// { grpcDecoder: decodeGrpcBodies })`.
//   TF Serving Predict: PredictRequest.inputs / PredictResponse.outputs, map<string, TensorProto>
//     (tensorflow_serving/apis/predict.proto fields 2 and 1).
//   KServe ModelInfer: ModelInferRequest.inputs + raw_input_contents, ModelInferResponse.outputs
//     + raw_output_contents (kserve open_inference_grpc.proto).
import type { ServiceDefinition } from '@grpc/grpc-js';
import { decodeInferInputs, servingServices, tensorFromProto } from '../server/grpc/index.ts';
import type { TensorProtoMsg } from '../server/grpc/index.ts';
import type { DecodedTensor } from './extract.ts';

type Decoded = { inputs: DecodedTensor[]; outputs: DecodedTensor[] };
type Deserialize = (b: Buffer) => Record<string, unknown>;

let methods: Map<string, { req: Deserialize; res: Deserialize; kind: 'tf' | 'kserve' }> | undefined;

function table() {
  if (methods) return methods;
  const s = servingServices();
  const entry = (svc: ServiceDefinition, name: string, kind: 'tf' | 'kserve') => {
    const m = svc[name]!;
    return [m.path, { req: m.requestDeserialize as Deserialize, res: m.responseDeserialize as Deserialize, kind }] as const;
  };
  methods = new Map([entry(s.predictionService, 'Predict', 'tf'), entry(s.inferenceService, 'ModelInfer', 'kserve')]);
  return methods;
}

/** Tensors of a Predict / ModelInfer exchange; undefined for any other method. Throws on a message that does not decode. */
export function decodeGrpcBodies(method: string, request: Buffer, response: Buffer): Decoded | undefined {
  const m = table().get(method);
  if (!m) return undefined;
  const req = m.req(request);
  const res = response.length > 0 ? m.res(response) : {};
  if (m.kind === 'tf') {
    const fromMap = (map: unknown): DecodedTensor[] =>
      Object.entries((map ?? {}) as Record<string, TensorProtoMsg>).map(([name, p]) => {
        const t = tensorFromProto(p, name);
        return { name, shape: t.shape, values: t.data };
      });
    return { inputs: fromMap(req['inputs']), outputs: fromMap(res['outputs']) };
  }
  const fromList = (list: unknown, raw: unknown): DecodedTensor[] => {
    const items = (list ?? []) as Parameters<typeof decodeInferInputs>[0];
    if (items.length === 0) return [];
    return [...decodeInferInputs(items, (raw ?? []) as Uint8Array[])].map(([name, t]) => ({ name, shape: t.shape, values: t.data }));
  };
  return { inputs: fromList(req['inputs'], req['raw_input_contents']), outputs: fromList(res['outputs'], res['raw_output_contents']) };
}
