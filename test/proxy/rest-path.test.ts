import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRestPath, pinnedPath } from '../../proxy/index.ts';
import { restTargetOf } from '../../proxy/rest-path.ts';

// Every URL form of TF Serving REST (api_rest.md) and KServe v2 REST (required_api.md).
const TABLE: Array<[string, Record<string, unknown> | undefined]> = [
  ['/v1/models/half_plus_two:predict', { dialect: 'tfserving', api: 'predict', model: 'half_plus_two' }],
  ['/v1/models/half_plus_two/versions/123:predict', { dialect: 'tfserving', api: 'predict', model: 'half_plus_two', version: '123' }],
  ['/v1/models/fraud/labels/canary:predict', { dialect: 'tfserving', api: 'predict', model: 'fraud', label: 'canary' }],
  ['/v1/models/fraud:classify', { api: 'classify', model: 'fraud' }],
  ['/v1/models/fraud/versions/2:regress', { api: 'regress', model: 'fraud', version: '2' }],
  ['/v1/models/fraud', { api: 'status', model: 'fraud' }],
  ['/v1/models/fraud/versions/2', { api: 'status', model: 'fraud', version: '2' }],
  ['/v1/models/fraud/labels/stable', { api: 'status', model: 'fraud', label: 'stable' }],
  ['/v1/models/fraud/metadata', { api: 'metadata', model: 'fraud' }],
  ['/v1/models/fraud/versions/1/metadata', { api: 'metadata', model: 'fraud', version: '1' }],
  ['/v1/models/fraud:predict?debug=1', { api: 'predict', model: 'fraud', query: '?debug=1' }],
  ['/v1/models/my%20model:predict', { api: 'predict', model: 'my model', rawModel: 'my%20model' }],
  ['/v1/models/fraud:explode', undefined],
  ['/v1/models/fraud/versions/1/extra:predict', undefined],
  ['/v1/models/%E0%A4%A:predict', undefined],
  ['/v2/models/fraud/infer', { dialect: 'kserve', api: 'infer', model: 'fraud' }],
  ['/v2/models/fraud/versions/2/infer', { dialect: 'kserve', api: 'infer', model: 'fraud', version: '2' }],
  ['/v2/models/fraud/ready', { api: 'status', model: 'fraud' }],
  ['/v2/models/fraud/versions/1/ready', { api: 'status', model: 'fraud', version: '1' }],
  ['/v2/models/fraud', { api: 'metadata', model: 'fraud' }],
  ['/v2/models/fraud/versions/1', { api: 'metadata', model: 'fraud', version: '1' }],
  ['/v2/health/ready', { api: 'health', model: '' }],
  ['/v2/health/live', { api: 'health', model: '' }],
  ['/v2', { api: 'metadata', model: '' }],
  ['/v2/models/fraud/generate', undefined],
  ['/metrics', undefined],
];

for (const [url, want] of TABLE) {
  test(`${url} parses to ${want ? JSON.stringify(want) : 'nothing'}`, () => {
    const got = parseRestPath(url);
    if (!want) return assert.equal(got, undefined);
    assert.ok(got);
    for (const [k, v] of Object.entries(want)) assert.equal((got as unknown as Record<string, unknown>)[k], v, k);
    if (!('version' in want)) assert.equal(got.version, undefined);
    if (!('label' in want)) assert.equal(got.label, undefined);
  });
}

const PIN: Array<[string, string, string]> = [
  ['/v1/models/fraud:predict', '2', '/v1/models/fraud/versions/2:predict'],
  ['/v1/models/fraud/labels/canary:predict?x=1', '2', '/v1/models/fraud/versions/2:predict?x=1'],
  ['/v1/models/fraud/metadata', '1', '/v1/models/fraud/versions/1/metadata'],
  ['/v1/models/my%20model:classify', '3', '/v1/models/my%20model/versions/3:classify'],
  ['/v2/models/fraud/infer', '2', '/v2/models/fraud/versions/2/infer'],
  ['/v2/models/fraud', '2', '/v2/models/fraud/versions/2'],
];
for (const [url, version, want] of PIN) {
  test(`pinning ${url} to version ${version} gives ${want}`, () => {
    assert.equal(pinnedPath(parseRestPath(url)!, version), want);
  });
}

test('restTargetOf remembers a parsed path: the same frozen result for the same path, the same answer as parseRestPath after many distinct paths', () => {
  const a = restTargetOf('/v1/models/fraud:predict');
  assert.equal(restTargetOf('/v1/models/fraud:predict'), a);
  assert.ok(Object.isFrozen(a));
  assert.deepEqual(a, parseRestPath('/v1/models/fraud:predict'));
  assert.equal(restTargetOf('/not/an/api'), undefined);
  for (let i = 0; i < 3000; i++) assert.deepEqual(restTargetOf(`/v2/models/m${i}/versions/${i}/infer`), parseRestPath(`/v2/models/m${i}/versions/${i}/infer`));
  assert.deepEqual(restTargetOf('/v1/models/fraud:predict'), a);
});
