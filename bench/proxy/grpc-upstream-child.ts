// Benchmark gRPC upstream: grpc-js serving tensorflow.serving.PredictionService/Predict with
// a fixed PredictResponse (model_spec {name, version}) and no model work. Prints "READY {port}".
import * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs/minimal.js';

const w = protobuf.Writer.create();
// PredictResponse.model_spec (field 2) = ModelSpec { name = "fraud" (1), version = Int64Value{1} (2) }
w.uint32((2 << 3) | 2).fork().uint32((1 << 3) | 2).string('fraud').uint32((2 << 3) | 2).fork().uint32(1 << 3).int64(1).ldelim().ldelim();
w.uint32((3 << 3) | 2).bytes(Buffer.alloc(120, 1)); // a few output bytes (unknown field; parsers skip it)
const response = Buffer.from(w.finish());

const id = (b: Buffer) => b;
const server = new grpc.Server();
server.addService(
  { Predict: { path: '/tensorflow.serving.PredictionService/Predict', requestStream: false, responseStream: false, requestSerialize: id, requestDeserialize: id, responseSerialize: id, responseDeserialize: id } },
  { Predict: (_call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => cb(null, response) },
);
server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => {
  if (err) throw err;
  console.log(`READY ${JSON.stringify({ port })}`);
});
process.on('SIGTERM', () => process.exit(0));
