// The config readers: a field that is missing or wrong gives the default (and, when wrong, an
// error that says what to write); a reader given a default is typed to never return undefined,
// so a config section needs no `?? default` after it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Issues, readBytes, readDuration, readNumber, readString } from '../../common/validate.ts';

const section = { timeout: '250ms', retries: 3, host: 'example.org', wrongTimeout: 5, wrongRetries: 'three', wrongHost: 7 };

test('a field that is present is read as written', () => {
  const issues = new Issues();
  const timeoutMs: number = readDuration(section, 'timeout', 'client', issues, { default: 1000 });
  const retries: number = readNumber(section, 'retries', 'client', issues, { default: 1, min: 0, integer: true });
  const host: string = readString(section, 'host', 'client', issues, { default: 'localhost' });
  assert.deepEqual([timeoutMs, retries, host], [250, 3, 'example.org']);
  assert.deepEqual(issues.list, []);
});

test('a missing field gives the default without a complaint', () => {
  const issues = new Issues();
  const timeoutMs: number = readDuration({}, 'timeout', 'client', issues, { default: 1000 });
  const retries: number = readNumber({}, 'retries', 'client', issues, { default: 1 });
  const host: string = readString({}, 'host', 'client', issues, { default: 'localhost' });
  assert.deepEqual([timeoutMs, retries, host], [1000, 1, 'localhost']);
  assert.deepEqual(issues.list, []);
});

test('a wrong field gives the default and an error at its path that says what to write', () => {
  const issues = new Issues();
  assert.equal(readDuration(section, 'wrongTimeout', 'client', issues, { default: 1000 }), 1000);
  assert.equal(readNumber(section, 'wrongRetries', 'client', issues, { default: 1 }), 1);
  assert.equal(readString(section, 'wrongHost', 'client', issues, { default: 'localhost' }), 'localhost');
  assert.deepEqual(
    issues.errors.map((i) => i.path),
    ['client.wrongTimeout', 'client.wrongRetries', 'client.wrongHost'],
  );
  assert.match(issues.errors[0]!.message, /write "5s" or "5ms"/);
});

test('without a default a missing field is undefined, and a required one is an error', () => {
  const issues = new Issues();
  assert.equal(readDuration({}, 'timeout', 'client', issues), undefined);
  assert.equal(readNumber({}, 'retries', 'client', issues, { required: true }), undefined);
  assert.equal(readString({}, 'host', 'client', issues), undefined);
  assert.deepEqual(issues.errors.map((i) => [i.path, i.message]), [['client.retries', 'is required (a number)']]);
});

test('sizes are read as a whole number of bytes or with a binary unit, and 0 is refused', () => {
  const issues = new Issues();
  const sizes = { plain: 1048576, mib: '64MiB', kib: '512 KiB', zero: '0MiB', words: '64 megabytes' };
  const read = (key: string): number => readBytes(sizes, key, 'limits', issues, { default: 4096 });
  assert.deepEqual(['plain', 'mib', 'kib', 'missing'].map(read), [1048576, 64 * 1024 * 1024, 512 * 1024, 4096]);
  assert.deepEqual(issues.list, []);
  assert.deepEqual(['zero', 'words'].map(read), [4096, 4096]);
  assert.deepEqual(issues.errors.map((i) => i.path), ['limits.zero', 'limits.words']);
  assert.match(issues.errors[1]!.message, /like 1048576 or "64MiB", got "64 megabytes"/);
});
