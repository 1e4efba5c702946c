// Header objects and field rules of the frame-level HTTP/2 connections (proxy/h2/connection.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkFields, headerObject } from '../../proxy/h2/connection.ts';

test('decoded fields become a node:http2-style object: repeats joined, cookies with "; ", set-cookie a list, :status a number', () => {
  const h = headerObject([':status', '200', 'x', '1', 'x', '2', 'cookie', 'a=1', 'cookie', 'b=2', 'set-cookie', 's=1', 'set-cookie', 't=2']);
  assert.deepEqual({ ...h }, { ':status': 200, x: '1, 2', cookie: 'a=1; b=2', 'set-cookie': ['s=1', 't=2'] });
});

test('fields named like Object.prototype members are plain properties, and absent ones read as undefined', () => {
  const h = headerObject(['__proto__', 'p', 'constructor', 'c', 'toString', 't']) as Record<string, unknown>;
  assert.deepEqual(Object.keys(h), ['__proto__', 'constructor', 'toString']);
  assert.equal(h['__proto__'], 'p');
  assert.equal(h['constructor'], 'c');
  const empty = headerObject([]) as Record<string, unknown>;
  for (const name of ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf']) assert.equal(empty[name], undefined, name);
  assert.equal('constructor' in empty, false);
});

test('a request needs its pseudo-headers first, once each, and no connection-specific field', () => {
  const ok = [':method', 'POST', ':scheme', 'http', ':path', '/x', ':authority', 'h', 'te', 'trailers'];
  assert.equal(checkFields(ok, 'request'), undefined);
  assert.match(checkFields([':method', 'POST', ':path', '/x'], 'request')!, /needs/);
  assert.match(checkFields([':method', 'POST', ':scheme', 'http', 'a', 'b', ':path', '/x'], 'request')!, /after regular/);
  assert.match(checkFields([':method', 'POST', ':method', 'GET', ':scheme', 'http', ':path', '/x'], 'request')!, /repeated/);
  assert.match(checkFields([...ok, 'connection', 'close'], 'request')!, /connection-specific/);
  assert.match(checkFields([...ok.slice(0, 8), 'te', 'gzip'], 'request')!, /te other/);
  assert.match(checkFields([':status', '200', ':path', '/'], 'response')!, /not allowed/);
  assert.match(checkFields([':status', '200'], 'trailers')!, /trailers/);
});

test('a header object encodes to the same block as its field list, pseudo-headers first, big blocks included', async () => {
  const { HpackDecoder, HpackEncoder } = await import('../../proxy/h2/hpack.ts');
  const objects = [
    { 'x-a': '1', ':status': 200, 'set-cookie': ['s=1', 't=2'], 'content-type': 'application/grpc', 'grpc-status': '0' },
    { ':method': 'POST', ':scheme': 'http', ':path': '/p', ':authority': 'h', te: 'trailers', 'x-big': 'v'.repeat(20_000) },
  ];
  for (const o of objects) {
    const list: string[] = [];
    for (const pass of [0, 1]) {
      for (const [k, v] of Object.entries(o)) {
        if (k.startsWith(':') !== (pass === 0)) continue;
        for (const x of Array.isArray(v) ? v : [v]) list.push(k, String(x));
      }
    }
    const fromObject = new HpackEncoder().encodeObject(o, 9);
    const fromList = new HpackEncoder().encode(list);
    assert.deepEqual(fromObject.subarray(9), fromList);
    assert.deepEqual(new HpackDecoder({ maxTableSize: 4096, maxHeaderListSize: 1 << 20, maxHeaderPairs: 100 }).decode(fromObject.subarray(9)), list);
  }
});
