import { test } from 'node:test';
import assert from 'node:assert/strict';
import { byShape, nameIn } from '../../proxy/header-names.ts';

const NAMES = byShape(['content-length', 'connection', 'keep-alive', 'date', 'x-request-id']);
const find = (line: string) => nameIn(line, 0, line.indexOf(':'), NAMES);

test('a known header name is found in any letter case, as its lower-case spelling', () => {
  assert.equal(find('Content-Length: 5'), 'content-length');
  assert.equal(find('CONNECTION: close'), 'connection');
  assert.equal(find('x-Request-ID: a'), 'x-request-id');
  assert.equal(find('Date: x'), 'date');
});

test('names of the same shape but other letters, and CR where a dash belongs, are not taken for a known one', () => {
  assert.equal(find('content-lengtx: 5'), undefined);
  assert.equal(find('Content-Type: a/b'), undefined);
  assert.equal(find('Dare: x'), undefined);
  assert.equal(find('content\rlength: 5'), undefined);
  assert.equal(find('keep\ralive: timeout=5'), undefined);
  assert.equal(find('x-request_id: a'), undefined);
});

test('names that start with other than a letter, or longer than any known one, are never known', () => {
  assert.equal(find('1ontent-length: 5'), undefined);
  assert.equal(find(`${'x'.repeat(200)}: 5`), undefined);
  assert.equal(find(': 5'), undefined);
});

test('a table cannot be made of a name the shape lookup could not find', () => {
  assert.throws(() => byShape(['-dash']), /cannot be looked up by shape/);
  assert.throws(() => byShape([`x${'-'.repeat(80)}`]), /cannot be looked up by shape/);
});
