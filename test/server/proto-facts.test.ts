// The .proto files in server/grpc/protos are our own text; what must not change is their
// wire facts, recorded in server/grpc/protos/facts.json (scripts/proto-facts.ts).
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_PROTO_DIR, protoFacts } from '../../scripts/proto-facts.ts';

const FACTS_FILE = join(DEFAULT_PROTO_DIR, 'facts.json');
const recorded = JSON.parse(await readFile(FACTS_FILE, 'utf8'));

const scratch = await mkdtemp(join(tmpdir(), 'proto-facts-'));
after(() => rm(scratch, { recursive: true, force: true }));

test('the .proto tree has exactly the wire facts recorded in facts.json', () => {
  assert.deepEqual(protoFacts(DEFAULT_PROTO_DIR), recorded);
});

test('the facts cover the four served services and the SignatureDefMap packed into Any', () => {
  assert.deepEqual(Object.keys(recorded.services).sort(), [
    'grpc.health.v1.Health',
    'inference.GRPCInferenceService',
    'tensorflow.serving.ModelService',
    'tensorflow.serving.PredictionService',
  ]);
  assert.ok(recorded.types['tensorflow.serving.SignatureDefMap']);
  assert.ok(recorded.types['tensorflow.TensorProto']);
});

// Each edit is one a careless rewrite could make; each must show up as a difference.
const EDITS: Array<[string, string, string, string]> = [
  ['a changed field number', 'tensorflow_serving/apis/predict.proto', 'ModelSpec model_spec = 1;', 'ModelSpec model_spec = 4;'],
  ['a dropped [packed = true]', 'tensorflow/core/framework/tensor.proto', 'repeated float float_val = 5 [packed = true];', 'repeated float float_val = 5;'],
  ['a field moved out of its oneof', 'tensorflow_serving/apis/model.proto', '    string version_label = 4;', '  }\n  string version_label = 4;\n  oneof unused {'],
  ['a renamed enum value', 'tensorflow_serving/apis/get_model_status.proto', 'AVAILABLE = 30;', 'READY = 30;'],
  ['a response made streaming', 'grpc/health/v1/health.proto', 'rpc Check(HealthCheckRequest) returns (HealthCheckResponse);', 'rpc Check(HealthCheckRequest) returns (stream HealthCheckResponse);'],
  ['a map turned into a repeated field', 'kserve/open_inference_grpc.proto', 'map<string, InferParameter> parameters = 4;\n  repeated InferInputTensor', 'repeated InferParameter parameters = 4;\n  repeated InferInputTensor'],
  ['proto2 syntax in place of proto3', 'tensorflow/core/example/feature.proto', 'syntax = "proto3";', 'syntax = "proto2";'],
  ['a dropped json_name', 'tensorflow_serving/apis/status.proto', ' [json_name = "error_message"]', ''],
];

for (const [what, file, from, to] of EDITS) {
  test(`${what} (${file}) is caught by the facts`, async () => {
    const dir = await mkdtemp(join(scratch, 'tree-'));
    await cp(DEFAULT_PROTO_DIR, dir, { recursive: true });
    const text = await readFile(join(dir, file), 'utf8');
    assert.ok(text.includes(from), `the edit's source text is in ${file}`);
    await writeFile(join(dir, file), text.replace(from, to));
    assert.notDeepEqual(protoFacts(dir), recorded);
  });
}
