// Did-you-mean: one rule (common/suggest.ts closest) for config keys, CLI flags and names.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closest, suggestion } from '../../common/suggest.ts';
import { Issues, checkKeys } from '../../common/validate.ts';
import { suggestFlag } from '../../cli/args.ts';

test('a name spelt in another case or with other separators is that name', () => {
  assert.equal(closest('sample_rate', ['window', 'sampleRate']), 'sampleRate');
  assert.equal(closest('Port', ['host', 'port']), 'port');
  assert.equal(closest('max-body-bytes', ['maxBodyBytes']), 'maxBodyBytes');
});

test('the same name wins over one fewer edits away', () => {
  assert.equal(closest('a_b', ['a_c', 'ab']), 'ab');
});

test('else the closest by edit distance within a third of the word', () => {
  assert.equal(closest('failureThreshhold', ['interval', 'failureThreshold']), 'failureThreshold');
  assert.equal(closest('latncy', ['errors', 'latency']), 'latency');
  assert.equal(closest('zzz', ['latency', 'errors']), undefined);
});

test('else the shortest name holding all the typed words in order', () => {
  assert.equal(closest('rest_port', ['grpc_port', 'rest_api_port', 'rest_api_port_tls']), 'rest_api_port');
  assert.equal(closest('max_p99', ['maxBurnRate', 'maxP99Ratio']), 'maxP99Ratio');
  assert.equal(closest('port', ['rest_api_port_x']), undefined, 'one word is not matched by containment');
});

test('config keys, flags and enum values are suggested by that one rule', () => {
  const issues = new Issues();
  checkKeys({ controler: 'a', rest_port: 1, zzz: 0 }, ['mode', 'controller', 'rest_api_port'], 'leader', issues);
  assert.deepEqual(issues.errors.map((e) => `${e.path}: ${e.message}`), [
    'leader.controler: unknown field "controler"; did you mean "controller"?',
    'leader.rest_port: unknown field "rest_port"; did you mean "rest_api_port"?',
    'leader.zzz: unknown field "zzz"; known fields: mode, controller, rest_api_port',
  ]);
  const flags = [{ name: 'rest_api_port', type: 'number' as const, help: '' }, { name: 'model_name', type: 'string' as const, help: '' }];
  assert.equal(suggestFlag('rest-port', flags), 'rest_api_port');
  assert.equal(suggestFlag('Model-Name', flags), 'model_name');
  assert.equal(suggestion('latncy', ['availability', 'latency']), 'did you mean "latency"?');
  assert.equal(suggestion('zzz', ['availability', 'latency']), 'expected one of: availability, latency');
});
