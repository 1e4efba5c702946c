// The open-stream table of the frame-level HTTP/2 connections (proxy/h2/stream-table.ts)
// against a Map, under random adds and removes, and what it promises the garbage collector.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import v8 from 'node:v8';
import vm from 'node:vm';
import { StreamTable } from '../../proxy/h2/stream-table.ts';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

test('200k random adds and removes of odd ids give the same answers as a Map, through growth and wrap-around', () => {
  let seed = 7;
  const rnd = () => (seed = (Math.imul(seed, 1103515245) + 12345) & 0x7fffffff) / 0x7fffffff;
  const table = new StreamTable<number>(4);
  const map = new Map<number, number>();
  for (let step = 0; step < 200_000; step++) {
    const id = 1 + 2 * Math.floor(rnd() * 300);
    if (rnd() < 0.5) {
      table.set(id, step);
      map.set(id, step);
    } else assert.equal(table.delete(id), map.delete(id), `delete ${id} at ${step}`);
    assert.equal(table.size, map.size);
    const probe = 1 + 2 * Math.floor(rnd() * 300);
    assert.equal(table.get(probe), map.get(probe), `get ${probe} at ${step}`);
  }
  assert.deepEqual(table.values().sort((a, b) => a - b), [...map.values()].sort((a, b) => a - b));
});

test('a removed stream is no longer reachable from the table', async () => {
  const table = new StreamTable<object>(8);
  let stream: object | undefined = {};
  const ref = new WeakRef(stream);
  table.set(1, stream);
  for (let id = 3; id < 200; id += 2) table.set(id, {}); // grows several times
  table.delete(1);
  for (let id = 3; id < 200; id += 2) table.delete(id);
  stream = undefined;
  for (let i = 0; i < 5 && ref.deref(); i++) {
    await new Promise((r) => setImmediate(r));
    gc();
  }
  assert.equal(ref.deref(), undefined, 'the table still holds the stream');
  assert.equal(table.size, 0);
  assert.deepEqual(table.values(), []);
});
