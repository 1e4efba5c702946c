import { test } from 'node:test';
import assert from 'node:assert/strict';
import v8 from 'node:v8';
import vm from 'node:vm';
import { seededRandom } from '../../common/random.ts';
import {
  HUFFMAN_CODE_LENGTHS,
  HeaderListTooLarge,
  HpackDecoder,
  HpackEncoder,
  HpackError,
  MalformedField,
} from '../../proxy/h2/hpack.ts';

// ---------------------------------------------------------------- helpers

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const roomy = (maxTableSize = 4096) => new HpackDecoder({ maxTableSize, maxHeaderListSize: 1 << 24, maxHeaderPairs: 10_000 });

/** The dynamic table, newest first, read back by decoding a block of indexed fields (which leaves the table as it is). */
function tableOf(d: HpackDecoder): Array<[string, string]> {
  if (d.tableLength === 0) return [];
  const block = Buffer.concat(Array.from({ length: d.tableLength }, (_, k) => intBytes(62 + k, 7, 0x80)));
  const list = d.decode(block);
  const pairs: Array<[string, string]> = [];
  for (let i = 0; i < list.length; i += 2) pairs.push([list[i]!, list[i + 1]!]);
  return pairs;
}

/** RFC 7541 §5.1 integer, written independently of the module under test. */
function intBytes(v: number, prefix: number, flags: number): Buffer {
  const max = 2 ** prefix - 1;
  if (v < max) return Buffer.from([flags | v]);
  const out = [flags | max];
  let rest = v - max;
  while (rest >= 128) {
    out.push((rest % 128) + 128);
    rest = Math.floor(rest / 128);
  }
  out.push(rest);
  return Buffer.from(out);
}
const str = (s: string | Buffer): Buffer => {
  const b = typeof s === 'string' ? Buffer.from(s, 'latin1') : s;
  return Buffer.concat([intBytes(b.length, 7, 0x00), b]);
};
const huffStr = (s: string): Buffer => {
  const b = huffmanEncode(Buffer.from(s, 'latin1'));
  return Buffer.concat([intBytes(b.length, 7, 0x80), b]);
};
const withIndexing = (name: string, value: string) => Buffer.concat([Buffer.from([0x40]), str(name), str(value)]);
const withoutIndexing = (name: string, value: string) => Buffer.concat([Buffer.from([0x00]), str(name), str(value)]);
const neverIndexed = (name: string, value: string) => Buffer.concat([Buffer.from([0x10]), str(name), str(value)]);
const indexed = (i: number) => intBytes(i, 7, 0x80);
const sizeUpdate = (n: number) => intBytes(n, 5, 0x20);

const pairsOf = (list: readonly string[]) => {
  const out: string[][] = [];
  for (let i = 0; i < list.length; i += 2) out.push([list[i]!, list[i + 1]!]);
  return out;
};

// A small Huffman encoder for the tests: the canonical code rebuilt from the code lengths,
// checked below against code values printed in RFC 7541 Appendix B and against the Huffman
// strings of Appendix C.
const CODES: Array<{ code: bigint; len: number }> = (() => {
  const syms = HUFFMAN_CODE_LENGTHS.map((_, s) => s).sort((a, b) => HUFFMAN_CODE_LENGTHS[a]! - HUFFMAN_CODE_LENGTHS[b]! || a - b);
  const codes: Array<{ code: bigint; len: number }> = [];
  let code = 0n;
  let len = HUFFMAN_CODE_LENGTHS[syms[0]!]!;
  for (const s of syms) {
    const l = HUFFMAN_CODE_LENGTHS[s]!;
    code <<= BigInt(l - len);
    len = l;
    codes[s] = { code, len: l };
    code++;
  }
  return codes;
})();
function huffmanEncode(bytes: Uint8Array): Buffer {
  let acc = 0n;
  let bits = 0;
  for (const byte of bytes) {
    const { code, len } = CODES[byte]!;
    acc = (acc << BigInt(len)) | code;
    bits += len;
  }
  const pad = (8 - (bits % 8)) % 8;
  acc = (acc << BigInt(pad)) | ((1n << BigInt(pad)) - 1n); // EOS prefix
  bits += pad;
  const out = Buffer.alloc(bits / 8);
  for (let i = out.length - 1; i >= 0; i--) {
    out[i] = Number(acc & 0xffn);
    acc >>= 8n;
  }
  return out;
}


// Octets allocated in V8's young generation by `run`, per call. The count is kept from runs with
// no scavenge (which would make it meaningless) and taken as the smallest of several, after the
// code under test has had the chance to be optimised: until it is, the interpreter allocates on
// its own account, and background compilation may land at any point of a run.
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;
const youngUsed = () => v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')!.space_used_size;
let sink: unknown;
function allocatedBy<T>(prepare: () => T, run: (state: T) => unknown, reps: number, enough: (octets: number) => boolean): number {
  let best = Infinity;
  for (let round = 0; round < 40 && !enough(best); round++) {
    const state = prepare();
    gc();
    const before = youngUsed();
    for (let i = 0; i < reps; i++) sink = run(state);
    const after = youngUsed();
    if (after >= before) best = Math.min(best, (after - before) / reps);
  }
  return best;
}

// ---------------------------------------------------------------- RFC 7541 Appendix C

test('RFC 7541 C.2.1: a literal with incremental indexing is returned and enters the dynamic table', () => {
  const d = roomy();
  assert.deepEqual(d.decode(hex('400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572')), ['custom-key', 'custom-header']);
  assert.equal(d.tableSize, 55);
  assert.deepEqual(tableOf(d), [['custom-key', 'custom-header']]);
  assert.equal(d.neverIndexed, undefined);
});

test('RFC 7541 C.2.2: a literal without indexing leaves the dynamic table empty', () => {
  const d = roomy();
  assert.deepEqual(d.decode(hex('040c 2f73 616d 706c 652f 7061 7468')), [':path', '/sample/path']);
  assert.equal(d.tableLength, 0);
  assert.equal(d.neverIndexed, undefined);
});

test('RFC 7541 C.2.3: a never-indexed literal is returned, reported in neverIndexed, and not indexed', () => {
  const d = roomy();
  assert.deepEqual(d.decode(hex('1008 7061 7373 776f 7264 0673 6563 7265 74')), ['password', 'secret']);
  assert.deepEqual(d.neverIndexed, new Set(['password']));
  assert.equal(d.tableLength, 0);
  d.decode(hex('82'));
  assert.equal(d.neverIndexed, undefined, 'reset by the next block');
});

test('RFC 7541 C.2.4: an indexed field from the static table', () => {
  const d = roomy();
  assert.deepEqual(d.decode(hex('82')), [':method', 'GET']);
  assert.equal(d.tableLength, 0);
});

const REQ1 = [':method', 'GET', ':scheme', 'http', ':path', '/', ':authority', 'www.example.com'];
const REQ2 = [...REQ1, 'cache-control', 'no-cache'];
const REQ3 = [':method', 'GET', ':scheme', 'https', ':path', '/index.html', ':authority', 'www.example.com', 'custom-key', 'custom-value'];
const REQ_TABLES: Array<[Array<[string, string]>, number]> = [
  [[[':authority', 'www.example.com']], 57],
  [[['cache-control', 'no-cache'], [':authority', 'www.example.com']], 110],
  [[['custom-key', 'custom-value'], ['cache-control', 'no-cache'], [':authority', 'www.example.com']], 164],
];

function requestSequence(blocks: string[]): void {
  const d = roomy();
  [REQ1, REQ2, REQ3].forEach((want, i) => {
    assert.deepEqual(d.decode(hex(blocks[i]!)), want, `request ${i + 1}`);
    assert.equal(d.tableSize, REQ_TABLES[i]![1], `table size after request ${i + 1}`);
    assert.deepEqual(tableOf(d), REQ_TABLES[i]![0], `table after request ${i + 1}`);
  });
}

test('RFC 7541 C.3: three requests without Huffman coding decode on one decoder, the table matching after each', () => {
  requestSequence([
    '8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d',
    '8286 84be 5808 6e6f 2d63 6163 6865',
    '8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65',
  ]);
});

test('RFC 7541 C.4: the same three requests with Huffman coding decode on one decoder, the table matching after each', () => {
  requestSequence([
    '8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff',
    '8286 84be 5886 a8eb 1064 9cbf',
    '8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf',
  ]);
});

const DATE1 = 'Mon, 21 Oct 2013 20:13:21 GMT';
const DATE2 = 'Mon, 21 Oct 2013 20:13:22 GMT';
const COOKIE = 'foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1';
const RES1 = [':status', '302', 'cache-control', 'private', 'date', DATE1, 'location', 'https://www.example.com'];
const RES2 = [':status', '307', ...RES1.slice(2)];
const RES3 = [':status', '200', 'cache-control', 'private', 'date', DATE2, 'location', 'https://www.example.com', 'content-encoding', 'gzip', 'set-cookie', COOKIE];
const RES_TABLES: Array<[Array<[string, string]>, number]> = [
  [[['location', 'https://www.example.com'], ['date', DATE1], ['cache-control', 'private'], [':status', '302']], 222],
  [[[':status', '307'], ['location', 'https://www.example.com'], ['date', DATE1], ['cache-control', 'private']], 222],
  [[['set-cookie', COOKIE], ['content-encoding', 'gzip'], ['date', DATE2]], 215],
];
const C5 = [
  '4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70 6c65 2e63 6f6d',
  '4803 3330 37c1 c0bf',
  '88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d 54c0 5a04 677a 6970 7738 666f 6f3d 4153 444a 4b48 514b 425a 584f 5157 454f 5049 5541 5851 5745 4f49 553b 206d 6178 2d61 6765 3d33 3630 303b 2076 6572 7369 6f6e 3d31',
];
const C6 = [
  '4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6 2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3',
  '4883 640e ffc1 c0bf',
  '88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab 77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f 9587 3160 65c0 03ed 4ee5 b106 3d50 07',
];

function responseSequence(d: HpackDecoder, blocks: Buffer[]): void {
  [RES1, RES2, RES3].forEach((want, i) => {
    assert.deepEqual(d.decode(blocks[i]!), want, `response ${i + 1}`);
    assert.equal(d.tableSize, RES_TABLES[i]![1], `table size after response ${i + 1}`);
    assert.deepEqual(tableOf(d), RES_TABLES[i]![0], `table after response ${i + 1}`);
  });
}

// C.5 and C.6 carry no dynamic table size update: the RFC sets SETTINGS_HEADER_TABLE_SIZE to
// 256, so the decoder starts with a 256-octet table. Both ways of getting there are checked.
test('RFC 7541 C.5: three responses without Huffman coding evict entries from a 256-octet table', () => {
  responseSequence(roomy(256), C5.map(hex));
});

test('RFC 7541 C.5 decodes the same when a 4096 decoder is told 256 by a size update at the start of the first block', () => {
  const blocks = C5.map(hex);
  blocks[0] = Buffer.concat([sizeUpdate(256), blocks[0]!]);
  responseSequence(roomy(4096), blocks);
});

test('RFC 7541 C.6: three responses with Huffman coding evict entries from a 256-octet table', () => {
  responseSequence(roomy(256), C6.map(hex));
});

// ---------------------------------------------------------------- Huffman

test('the Huffman code rebuilt from the code lengths gives the code values of RFC 7541 Appendix B', () => {
  const want: Array<[number, number, number]> = [
    [0, 0x1ff8, 13], [1, 0x7fffd8, 23], [2, 0xfffffe2, 28], [48, 0x0, 5], [97, 0x3, 5],
    [254, 0x7fffff0, 27], [255, 0x3ffffee, 26], [256, 0x3fffffff, 30],
  ];
  for (const [sym, code, len] of want) assert.deepEqual(CODES[sym], { code: BigInt(code), len }, `symbol ${sym}`);
  // A complete prefix code: the Kraft sum is exactly 1.
  const kraft = HUFFMAN_CODE_LENGTHS.reduce((sum, l) => sum + 2 ** (30 - l), 0);
  assert.equal(kraft, 2 ** 30);
});

test('the test Huffman encoder reproduces the Huffman strings of RFC 7541 Appendix C', () => {
  const cases: Array<[string, string]> = [
    ['www.example.com', 'f1e3 c2e5 f23a 6ba0 ab90 f4ff'],
    ['no-cache', 'a8eb 1064 9cbf'],
    ['custom-key', '25a8 49e9 5ba9 7d7f'],
    ['custom-value', '25a8 49e9 5bb8 e8b4 bf'],
    ['302', '6402'],
    ['private', 'aec3 771a 4b'],
    [DATE1, 'd07a be94 1054 d444 a820 0595 040b 8166 e082 a62d 1bff'],
    ['https://www.example.com', '9d29 ad17 1863 c78f 0b97 c8e9 ae82 ae43 d3'],
    ['gzip', '9bd9 ab'],
    [COOKIE, '94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f 9587 3160 65c0 03ed 4ee5 b106 3d50 07'],
  ];
  for (const [s, h] of cases) assert.equal(huffmanEncode(Buffer.from(s, 'latin1')).toString('hex'), hex(h).toString('hex'), s);
});

test('every byte value 0..255 decodes from a Huffman string, alone and all together (NUL, CR and LF then refused as malformed values)', () => {
  const d = roomy();
  for (let byte = 0; byte < 256; byte++) {
    // The value is wrapped in 'a'..'z' so that only NUL, CR and LF make it malformed.
    const value = `a${String.fromCharCode(byte)}z`;
    const block = Buffer.concat([Buffer.from([0x00]), huffStr('x'), huffStr(value)]);
    if (byte === 0 || byte === 10 || byte === 13) assert.throws(() => d.decode(block), MalformedField, `byte ${byte}`);
    else assert.deepEqual(d.decode(block), ['x', value], `byte ${byte}`);
  }
  const all = `a${Array.from({ length: 256 }, (_, i) => String.fromCharCode(i)).join('')}z`;
  const bad = all.replace(/[\0\r\n]/g, '');
  assert.deepEqual(d.decode(Buffer.concat([Buffer.from([0x00]), str('x'), huffStr(bad)])), ['x', bad]);
  // With the NUL/CR/LF kept, the octets still decode; the field is then refused as malformed.
  assert.throws(() => d.decode(Buffer.concat([Buffer.from([0x00]), str('x'), huffStr(all)])), MalformedField);
});

test('random strings round-trip through Huffman decoding, as names and as values, with and without indexing', () => {
  const rand = seededRandom(7541);
  const d = roomy();
  const nameChars = "abcdefghijklmnopqrstuvwxyz0123456789-_.!#$%&'*+^`|~";
  for (let round = 0; round < 500; round++) {
    const nameLen = 1 + Math.floor(rand() * 40);
    let name = '';
    for (let i = 0; i < nameLen; i++) name += nameChars[Math.floor(rand() * nameChars.length)];
    const valueLen = Math.floor(rand() * 300);
    let value = '';
    for (let i = 0; i < valueLen; i++) {
      let c = Math.floor(rand() * 256);
      if (c === 0 || c === 10 || c === 13) c = 0x41;
      value += String.fromCharCode(c);
    }
    value = value.replace(/^[ \t]+|[ \t]+$/g, '');
    const first = round % 2 === 0 ? 0x40 : 0x00;
    assert.deepEqual(d.decode(Buffer.concat([Buffer.from([first]), huffStr(name), huffStr(value)])), [name, value], `round ${round}`);
    if (first === 0x40 && name.length + value.length + 32 <= 4096) assert.deepEqual(d.decode(indexed(62)), [name, value]);
  }
  // Strings longer than the shared scratch space (64 KiB decoded) take their own buffer.
  for (const len of [65_536, 70_001]) {
    const value = 'ab0'.repeat(Math.ceil(len / 3)).slice(0, len);
    assert.deepEqual(d.decode(Buffer.concat([Buffer.from([0x00]), str('x-long'), huffStr(value)])), ['x-long', value]);
  }
  assert.deepEqual(d.decode(Buffer.concat([Buffer.from([0x00]), huffStr('x-short'), huffStr('after')])), ['x-short', 'after']);
});

test('a Huffman string holding the EOS symbol is a compression error', () => {
  // 'a' (00011) then EOS (30 ones), then one padding bit: 36 bits.
  const block = Buffer.concat([Buffer.from([0x00]), str('x'), Buffer.from([0x85, 0x1f, 0xff, 0xff, 0xff, 0xff])]);
  assert.throws(() => roomy().decode(block), (e: unknown) => e instanceof HpackError && /EOS/.test(e.message));
  // EOS alone, padded with ones to 32 bits.
  assert.throws(() => roomy().decode(Buffer.concat([Buffer.from([0x00]), str('x'), Buffer.from([0x84, 0xff, 0xff, 0xff, 0xff])])), HpackError);
});

test('Huffman padding longer than 7 bits, or not all ones, is a compression error', () => {
  const value = (...octets: number[]) => Buffer.concat([Buffer.from([0x00]), str('x'), Buffer.from([0x80 | octets.length, ...octets])]);
  assert.deepEqual(roomy().decode(value(0x1f)), ['x', 'a'], "'a' then 3 one-bits of padding");
  assert.throws(() => roomy().decode(value(0x1f, 0xff)), (e: unknown) => e instanceof HpackError && /padding/.test(e.message), '11 bits of padding');
  assert.throws(() => roomy().decode(value(0xff)), HpackError, '8 one-bits and no symbol');
  assert.throws(() => roomy().decode(value(0x18)), HpackError, 'padding of zeros');
  assert.throws(() => roomy().decode(value(0x1d)), HpackError, 'padding 101');
  // 'a' then '0' (00000) then 6 one-bits: exactly 2 octets, valid.
  assert.deepEqual(roomy().decode(value(0x18, 0x3f)), ['x', 'a0']);
});

// ---------------------------------------------------------------- integers, indexes, strings

test('an integer above 2^31-1 is a compression error; 2^31-1 itself is read as an integer', () => {
  const tooBig = Buffer.concat([Buffer.from([0x00]), intBytes(2 ** 31, 7, 0x00), Buffer.from('abc')]);
  assert.throws(() => roomy().decode(tooBig), (e: unknown) => e instanceof HpackError && /2\^31-1/.test(e.message));
  const largest = Buffer.concat([Buffer.from([0x00]), intBytes(2 ** 31 - 1, 7, 0x00), Buffer.from('abc')]);
  assert.equal(intBytes(2 ** 31 - 1, 7, 0).length, 6, 'prefix and 5 continuation octets');
  // Read fine as an integer, then refused as a string longer than the block.
  assert.throws(() => roomy().decode(largest), (e: unknown) => e instanceof HpackError && /past the end/.test(e.message));
  // Huge index values take the same path.
  assert.throws(() => roomy().decode(intBytes(2 ** 40, 7, 0x80)), HpackError);
});

test('an integer with more than 5 continuation octets is a compression error, even when its value is small', () => {
  // 127 + 0 written with six continuation octets of zero (an over-long encoding).
  assert.throws(() => roomy().decode(Buffer.from([0xff, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00])), (e: unknown) => e instanceof HpackError && /continuation/.test(e.message));
  // Five are accepted: index 127 + 0 = 127 is just beyond the (empty) tables.
  assert.throws(() => roomy().decode(Buffer.from([0xff, 0x80, 0x80, 0x80, 0x80, 0x00])), (e: unknown) => e instanceof HpackError && /beyond the tables/.test(e.message));
  // An integer cut off by the end of the block.
  assert.throws(() => roomy().decode(Buffer.from([0xff, 0x80])), (e: unknown) => e instanceof HpackError && /end of the block/.test(e.message));
});

test('index 0 is a compression error', () => {
  assert.throws(() => roomy().decode(Buffer.from([0x80])), (e: unknown) => e instanceof HpackError && /index 0/.test(e.message));
});

test('an index beyond the static and dynamic tables is a compression error, for fields and for names', () => {
  assert.throws(() => roomy().decode(indexed(62)), HpackError);
  const d = roomy();
  d.decode(withIndexing('x-a', '1'));
  assert.deepEqual(d.decode(indexed(62)), ['x-a', '1']);
  assert.throws(() => d.decode(indexed(63)), (e: unknown) => e instanceof HpackError && /beyond the tables/.test(e.message));
  // A literal naming entry 63 by index (incremental indexing, 6-bit prefix).
  const d2 = roomy();
  d2.decode(withIndexing('x-a', '1'));
  assert.throws(() => d2.decode(Buffer.concat([intBytes(63, 6, 0x40), str('v')])), HpackError);
  // Without indexing (4-bit prefix).
  assert.throws(() => roomy().decode(Buffer.concat([intBytes(62, 4, 0x00), str('v')])), HpackError);
});

test('a string longer than what is left of the block is a compression error, before anything is allocated', () => {
  // A length of ~2 GB announced in a 9-octet block: refused from the length alone.
  const block = Buffer.concat([Buffer.from([0x00]), intBytes(2 ** 31 - 2, 7, 0x00), Buffer.from('ab')]);
  const before = process.memoryUsage().arrayBuffers;
  assert.throws(() => roomy().decode(block), (e: unknown) => e instanceof HpackError && /string length \d+ runs past the end/.test(e.message));
  assert.ok(process.memoryUsage().arrayBuffers - before < 1 << 20);
  // The same for a Huffman string, and for a value one octet short.
  assert.throws(() => roomy().decode(Buffer.concat([Buffer.from([0x00]), str('x'), intBytes(1 << 24, 7, 0x80), Buffer.from([0xff])])), HpackError);
  assert.throws(() => roomy().decode(Buffer.concat([Buffer.from([0x00]), str('x'), Buffer.from([0x03]), Buffer.from('ab')])), HpackError);
  // A literal cut off before its value, and one cut off in its name.
  assert.throws(() => roomy().decode(Buffer.concat([Buffer.from([0x00]), str('x')])), HpackError);
  assert.throws(() => roomy().decode(hex('400a 6375')), HpackError);
  assert.throws(() => roomy().decode(hex('41')), HpackError);
});

test('after a compression error the decoder refuses every later block', () => {
  const d = roomy();
  assert.throws(() => d.decode(Buffer.from([0x80])), HpackError);
  assert.throws(() => d.decode(hex('82')), (e: unknown) => e instanceof HpackError && /earlier/.test(e.message));
});

// ---------------------------------------------------------------- dynamic table size

test('a dynamic table size update above maxTableSize is a compression error; up to it is accepted', () => {
  const d = roomy(4096);
  assert.deepEqual(d.decode(Buffer.concat([sizeUpdate(4096), indexed(2)])), [':method', 'GET']);
  assert.throws(() => roomy(4096).decode(Buffer.concat([sizeUpdate(4097), indexed(2)])), (e: unknown) => e instanceof HpackError && /above the limit/.test(e.message));
  assert.throws(() => roomy(256).decode(sizeUpdate(257)), HpackError);
  assert.throws(() => roomy(0).decode(sizeUpdate(1)), HpackError);
});

test('a dynamic table size update after a field in the same block is a compression error (RFC 7541 §4.2)', () => {
  assert.throws(() => roomy().decode(Buffer.concat([indexed(2), sizeUpdate(0)])), (e: unknown) => e instanceof HpackError && /start of the block/.test(e.message));
  assert.throws(() => roomy().decode(Buffer.concat([withoutIndexing('x', 'y'), sizeUpdate(100)])), HpackError);
  // Two updates at the start (the smallest, then the final size) are allowed, as is an update at the start of a later block.
  const d = roomy();
  d.decode(withIndexing('x-a', '1'));
  assert.deepEqual(d.decode(Buffer.concat([sizeUpdate(0), sizeUpdate(4096), indexed(2)])), [':method', 'GET']);
  assert.equal(d.tableLength, 0, 'the update to 0 emptied the table');
  assert.deepEqual(d.decode(sizeUpdate(100)), []);
});

test('a size update below the current contents evicts the oldest entries first', () => {
  const d = roomy();
  d.decode(Buffer.concat([withIndexing('x-a', '1'), withIndexing('x-b', '2'), withIndexing('x-c', '3')])); // 36 octets each
  assert.equal(d.tableSize, 108);
  d.decode(sizeUpdate(80));
  assert.deepEqual(tableOf(d), [['x-c', '3'], ['x-b', '2']]);
  assert.equal(d.tableSize, 72);
  // A further insert must now fit in 80.
  d.decode(withIndexing('x-d', '4'));
  assert.deepEqual(tableOf(d), [['x-d', '4'], ['x-c', '3']]);
});

test('an entry larger than the whole table empties the table and is not an error', () => {
  const d = roomy(256);
  d.decode(Buffer.concat([withIndexing('x-a', '1'), withIndexing('x-b', '2')]));
  assert.equal(d.tableLength, 2);
  const big = 'v'.repeat(256 - 32 - 'x-big'.length + 1); // one octet over
  assert.deepEqual(d.decode(withIndexing('x-big', big)), ['x-big', big]);
  assert.equal(d.tableLength, 0);
  assert.equal(d.tableSize, 0);
  assert.throws(() => d.decode(indexed(62)), HpackError, 'nothing left to index');
  // An entry of exactly the table size fits (and is alone).
  const d2 = roomy(256);
  d2.decode(withIndexing('x-a', '1'));
  const exact = 'v'.repeat(256 - 32 - 'x-big'.length);
  d2.decode(withIndexing('x-big', exact));
  assert.deepEqual(tableOf(d2), [['x-big', exact]]);
  assert.equal(d2.tableSize, 256);
});

test('a literal indexing a new value under the name of the entry it evicts keeps that name (RFC 7541 §4.4)', () => {
  const d = roomy(64);
  d.decode(withIndexing('x-name', 'v1')); // 40 octets: the next one evicts it
  assert.deepEqual(d.decode(Buffer.concat([intBytes(62, 6, 0x40), str('v2')])), ['x-name', 'v2']);
  assert.deepEqual(tableOf(d), [['x-name', 'v2']]);
});

test('the dynamic table stays correct over many inserts and evictions (the ring wraps and grows)', () => {
  const rand = seededRandom(42);
  const d = roomy(4096);
  const model: Array<[string, string]> = []; // newest first
  let size = 0;
  for (let i = 0; i < 3000; i++) {
    const name = `x-${i % 97}`;
    const value = 'v'.repeat(Math.floor(rand() * 200));
    d.decode(withIndexing(name, value));
    model.unshift([name, value]);
    size += name.length + value.length + 32;
    while (size > 4096) {
      const [n, v] = model.pop()!;
      size -= n.length + v.length + 32;
    }
    if (i % 250 === 0) {
      assert.equal(d.tableSize, size);
      assert.deepEqual(tableOf(d), model);
    }
  }
  // Many small entries (the most the table can hold: 4096 / 34 = 120 entries).
  for (let i = 0; i < 200; i++) d.decode(withIndexing('a', String(i % 10)));
  assert.equal(d.tableLength, 120);
  assert.deepEqual(tableOf(d)[0], ['a', '9']);
});

// ---------------------------------------------------------------- header list limits

test('a header list over maxHeaderListSize is refused with HeaderListTooLarge; one exactly at the limit is not', () => {
  // Each field counts name + value + 32: ':method: GET' is 42, 'x-a: 1' is 36.
  const block = Buffer.concat([indexed(2), withoutIndexing('x-a', '1')]);
  assert.deepEqual(new HpackDecoder({ maxTableSize: 4096, maxHeaderListSize: 78, maxHeaderPairs: 100 }).decode(block), [':method', 'GET', 'x-a', '1']);
  assert.throws(() => new HpackDecoder({ maxTableSize: 4096, maxHeaderListSize: 77, maxHeaderPairs: 100 }).decode(block), HeaderListTooLarge);
});

test('a header list with more fields than maxHeaderPairs is refused with HeaderListTooLarge', () => {
  const d = new HpackDecoder({ maxTableSize: 4096, maxHeaderListSize: 1 << 20, maxHeaderPairs: 3 });
  assert.equal(d.decode(Buffer.concat([indexed(2), indexed(4), indexed(6)])).length, 6);
  assert.throws(() => d.decode(Buffer.concat([indexed(2), indexed(4), indexed(6), indexed(8)])), HeaderListTooLarge);
  assert.deepEqual(d.decode(indexed(2)), [':method', 'GET'], 'a stream error: the decoder goes on');
});

test('the dynamic table is kept in step through a refused list: inserts after the limit still happen', () => {
  const d = new HpackDecoder({ maxTableSize: 4096, maxHeaderListSize: 100, maxHeaderPairs: 100 });
  const block = Buffer.concat([
    withIndexing('x-first', 'a'.repeat(50)), // 89 octets: within the limit
    withIndexing('x-second', 'b'.repeat(50)), // over it
    withoutIndexing('x-skipped', 'c'),
    Buffer.concat([Buffer.from([0x40]), huffStr('x-third'), huffStr('third value')]),
  ]);
  assert.throws(() => d.decode(block), HeaderListTooLarge);
  assert.equal(d.tableLength, 3);
  assert.equal(d.tableSize, 89 + 90 + 50);
  assert.deepEqual(d.decode(indexed(62)), ['x-third', 'third value']);
  assert.deepEqual(d.decode(indexed(63)), ['x-second', 'b'.repeat(50)]);
  assert.deepEqual(d.decode(indexed(64)), ['x-first', 'a'.repeat(50)]);
});

test('an HPACK bomb (a 4000-octet entry referenced 1000 times in a 4 KB block) is refused within the limit and the next block still decodes', () => {
  const limits = { maxTableSize: 4096, maxHeaderListSize: 64 * 1024, maxHeaderPairs: 10_000 };
  const big = 'B'.repeat(4000 - 32 - 'x-bomb'.length);
  const armed = () => {
    const d = new HpackDecoder(limits);
    assert.deepEqual(d.decode(withIndexing('x-bomb', big)), ['x-bomb', big]);
    assert.equal(d.tableSize, 4000);
    return d;
  };
  // 1000 references (3.9 MB decoded), a never-indexed literal, an insert that evicts the big
  // entry (99 octets where 96 are free), and static references to fill 4 KB.
  const kept = 'k'.repeat(60);
  const tail = Buffer.concat([neverIndexed('x-secret', 's'), withIndexing('x-after', kept)]);
  const bomb = Buffer.concat([Buffer.alloc(1000, 0xbe), tail, Buffer.alloc(4096 - 1000 - tail.length, 0x82)]);
  assert.equal(bomb.length, 4096);
  // A list of 1000 fields would take at least 8 KB for the array alone.
  const bound = 8 * 1024;
  let last: HpackDecoder | undefined;
  const allocated = allocatedBy(armed, (d) => {
    last = d; // a fresh decoder each time: each bomb changes its table
    assert.throws(() => d.decode(bomb), HeaderListTooLarge);
  }, 1, (octets) => octets < bound);
  assert.ok(allocated < bound, `allocated ${allocated} octets while refusing the bomb`);
  // The table went on: the big entry was evicted by 'x-after'.
  const d = last!;
  assert.deepEqual(d.decode(indexed(62)), ['x-after', kept]);
  assert.equal(d.tableLength, 1);
  assert.equal(d.neverIndexed, undefined);
  assert.deepEqual(d.decode(Buffer.concat([indexed(2), indexed(62), withoutIndexing('x-n', '1')])), [':method', 'GET', 'x-after', kept, 'x-n', '1']);
  // The literal and its references in the same block.
  const d2 = new HpackDecoder(limits);
  assert.throws(() => d2.decode(Buffer.concat([withIndexing('x-bomb', big), Buffer.alloc(1000, 0xbe)])), HeaderListTooLarge);
  assert.deepEqual(d2.decode(indexed(62)), ['x-bomb', big]);
});

// ---------------------------------------------------------------- field validation

const badName = (name: string) => withoutIndexing(name, 'v');
test('a field name with uppercase, space, a separator, a control or a non-ASCII octet is malformed (RFC 9113 §8.2.1)', () => {
  for (const name of ['Content-Type', 'x-A', 'x a', 'x:a', 'x(a)', 'x"a', 'x,a', 'x/a', 'x;a', 'x=a', 'x@a', 'x{a}', 'x\\a', 'x\ta', 'x\0', '\x7f', 'x\x80', 'é', '', ':', '::path', ' x']) {
    assert.throws(() => roomy().decode(badName(name)), MalformedField, JSON.stringify(name));
  }
  for (const name of [':path', ':authority', 'x-custom_1', 'grpc-status', "a!#$%&'*+-.^_`|~z", '0']) {
    assert.deepEqual(roomy().decode(badName(name)), [name, 'v'], JSON.stringify(name));
  }
});

test('a field value with NUL, CR or LF, or with leading or trailing SP or HTAB, is malformed; other octets are not', () => {
  for (const value of ['a\0b', 'a\rb', 'a\nb', ' a', 'a ', '\ta', 'a\t', ' ', '\0']) {
    assert.throws(() => roomy().decode(withoutIndexing('x', value)), MalformedField, JSON.stringify(value));
  }
  for (const value of ['', 'a b', 'a\tb', 'a\x01\x7f\x80\xffb', '"quoted", (and) {braces}']) {
    assert.deepEqual(roomy().decode(withoutIndexing('x', value)), ['x', value], JSON.stringify(value));
  }
});

test('a malformed field is reported only after the whole block, so its inserts and the ones after it stay in step', () => {
  const d = roomy();
  const block = Buffer.concat([withIndexing('Bad-Name', 'v'), withIndexing('x-ok', 'fine'), withIndexing('x-bad-value', ' padded ')]);
  assert.throws(() => d.decode(block), MalformedField);
  assert.equal(d.tableLength, 3);
  assert.deepEqual(d.decode(indexed(63)), ['x-ok', 'fine']);
  // The malformed entries are malformed wherever they are referenced.
  assert.throws(() => d.decode(indexed(64)), MalformedField);
  assert.throws(() => d.decode(indexed(62)), MalformedField);
  // A new, valid value under an indexed valid name is fine; a valid value under the malformed name is not.
  assert.deepEqual(d.decode(Buffer.concat([intBytes(62, 4, 0x00), str('trimmed')])), ['x-bad-value', 'trimmed']);
  assert.throws(() => d.decode(Buffer.concat([intBytes(64, 4, 0x00), str('v')])), MalformedField);
  // When the list is refused for size first, that is what is reported.
  const small = new HpackDecoder({ maxTableSize: 4096, maxHeaderListSize: 40, maxHeaderPairs: 100 });
  assert.throws(() => small.decode(Buffer.concat([indexed(2), withoutIndexing('Bad', 'v')])), HeaderListTooLarge);
});

// ---------------------------------------------------------------- encoder

const BINARY = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
const GRPC_REQUEST = [
  ':method', 'POST',
  ':scheme', 'http',
  ':path', '/tensorflow.serving.PredictionService/Predict',
  ':authority', 'models.internal:8500',
  'content-type', 'application/grpc',
  'te', 'trailers',
  'user-agent', 'grpc-node-js/1.14.7',
  'grpc-accept-encoding', 'identity,deflate,gzip',
  'grpc-timeout', '9989m',
  'authorization', 'Bearer eyJhbGciOiJFUzI1NiJ9.e30.c2ln',
  // gRPC sends -bin values base64-encoded (padding optional).
  'grpc-trace-bin', BINARY.toString('base64'),
  'x-blob-bin', BINARY.subarray(0, 100).toString('base64').replace(/=+$/, ''),
  // Raw octets other than NUL, CR and LF survive as latin1.
  'x-octets', `<${BINARY.subarray(1).toString('latin1').replace(/[\r\n]/g, '')}>`,
];

test('a gRPC-like header list round-trips through the encoder and decoder, -bin values and never-indexed authorization included', () => {
  const enc = new HpackEncoder();
  const d = roomy();
  const block = enc.encode(GRPC_REQUEST, new Set(['authorization']));
  assert.deepEqual(d.decode(block), GRPC_REQUEST);
  assert.deepEqual(d.neverIndexed, new Set(['authorization']));
  assert.equal(d.tableLength, 0, 'the encoder never indexes');
  // Again, without the never-indexed set: the same list, none reported.
  assert.deepEqual(d.decode(enc.encode(GRPC_REQUEST)), GRPC_REQUEST);
  assert.equal(d.neverIndexed, undefined);
});

test('the encoder emits a table size update to 0 on its first block and after setPeerTableSize, and only then', () => {
  const enc = new HpackEncoder();
  assert.deepEqual([...enc.encode([':method', 'POST'])], [0x20, 0x83]);
  assert.deepEqual([...enc.encode([':method', 'POST'])], [0x83]);
  assert.deepEqual([...enc.encode([])], []);
  enc.setPeerTableSize(0);
  assert.deepEqual([...enc.encode([])], [0x20]);
  assert.deepEqual([...enc.encode([])], []);
  enc.setPeerTableSize(65536);
  assert.deepEqual([...enc.encode([':status', '200'])], [0x20, 0x88]);
  assert.throws(() => enc.setPeerTableSize(-1), RangeError);
});

test('the encoder uses a static index for an exact match, a static name index otherwise, and never Huffman', () => {
  const enc = new HpackEncoder();
  enc.encode([]); // past the initial size update
  assert.deepEqual([...enc.encode([':scheme', 'https', ':status', '404', 'accept-encoding', 'gzip, deflate'])], [0x87, 0x8d, 0x90]);
  // An exact match on an empty static value.
  assert.deepEqual([...enc.encode(['accept', ''])], [0x80 | 19]);
  // content-type (31) with another value: 4-bit prefix 15, then 16; value length 16 without the H bit.
  assert.deepEqual(enc.encode(['content-type', 'application/grpc']), Buffer.concat([Buffer.from([0x0f, 0x10, 16]), Buffer.from('application/grpc')]));
  // :status with a value the static table lacks: name index 8.
  assert.deepEqual(enc.encode([':status', '201']), Buffer.concat([Buffer.from([0x08, 3]), Buffer.from('201')]));
  // A new name: literal name, raw octets.
  assert.deepEqual(enc.encode(['te', 'trailers']), Buffer.concat([Buffer.from([0x00, 2]), Buffer.from('te'), Buffer.from([8]), Buffer.from('trailers')]));
  // Never indexed: 0001 prefix, even where an exact static match exists.
  assert.deepEqual([...enc.encode([':method', 'GET'], new Set([':method']))], [0x12, 3, ...Buffer.from('GET')]);
  assert.deepEqual(enc.encode(['authorization', 'x'], new Set(['authorization'])), Buffer.from([0x1f, 0x08, 1, 0x78]));
  assert.deepEqual(enc.encode(['x-k', 'v'], new Set(['x-k'])), Buffer.from([0x10, 3, ...Buffer.from('x-k'), 1, 0x76]));
});

test('the encoder writes long strings with multi-octet lengths that decode back', () => {
  const enc = new HpackEncoder();
  const d = roomy();
  for (const len of [126, 127, 128, 254, 255, 16_510, 16_511, 70_000]) {
    const list = ['x-long', 'v'.repeat(len), 'y'.repeat(Math.min(len, 300)), 'w'];
    assert.deepEqual(d.decode(enc.encode(list)), list, `length ${len}`);
  }
  assert.throws(() => enc.encode(['odd']), TypeError);
});

// ---------------------------------------------------------------- allocation

test('decoding a typical gRPC request block allocates no more than the output array itself', () => {
  // What a gRPC client sends on a warm connection: every field from the dynamic table.
  const d = roomy();
  const first = Buffer.concat(pairsOf(GRPC_REQUEST.slice(0, 20)).map(([n, v]) => Buffer.concat([Buffer.from([0x40]), huffStr(n!), huffStr(v!)])));
  const want = GRPC_REQUEST.slice(0, 20);
  assert.deepEqual(d.decode(first), want);
  const warm = Buffer.concat(Array.from({ length: 10 }, (_, k) => indexed(71 - k)));
  assert.deepEqual(d.decode(warm), want);
  // The reference: building the same flat array from the same strings.
  const names = pairsOf(want).map((p) => p[0]!);
  const values = pairsOf(want).map((p) => p[1]!);
  const reference = () => {
    const out: string[] = [];
    for (let i = 0; i < names.length; i++) out.push(names[i]!, values[i]!);
    return out;
  };
  const referenceBytes = allocatedBy(() => undefined, reference, 500, () => false);
  // Ten per-field [name, value] arrays would add at least 10 * 32 octets.
  const decodeBytes = allocatedBy(() => undefined, () => d.decode(warm), 500, (octets) => octets <= referenceBytes + 64);
  assert.ok(decodeBytes <= referenceBytes + 64, `decode allocated ${decodeBytes} octets per block, the bare output array ${referenceBytes}`);
  assert.ok(sink !== undefined);
});
