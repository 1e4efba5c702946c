// HPACK (RFC 7541) for the frame-level HTTP/2 server: a decoder hardened for untrusted peers
// and a minimal encoder that never uses the dynamic table or Huffman coding.
//
// Header lists are flat arrays [name, value, name, value, ...] of latin1 strings (one char per
// octet), so arbitrary octets round-trip. The decoder reports three kinds of failure:
//   HpackError          the block cannot be decoded; the HPACK state is lost, so the caller
//                       answers with a connection error (COMPRESSION_ERROR). The decoder refuses
//                       every later block.
//   HeaderListTooLarge  the block decoded, but its list exceeds maxHeaderListSize (RFC 9113
//                       §6.5.2 accounting) or maxHeaderPairs; a stream error.
//   MalformedField      the block decoded, but a field breaks RFC 9113 §8.2.1; a stream error
//                       (PROTOCOL_ERROR).
// The last two are thrown only once the whole block has been processed, so the dynamic table
// stays in step with the peer's encoder and the connection can go on. When both kinds occur,
// the first one met in the block is reported.
//
// Not done here (the caller's part): bounding the size of a header block across CONTINUATION
// frames, pseudo-header rules (which, where, how many) and connection-specific fields.

export class HpackError extends Error {
  override name = 'HpackError';
}
export class HeaderListTooLarge extends Error {
  override name = 'HeaderListTooLarge';
}
export class MalformedField extends Error {
  override name = 'MalformedField';
}

export interface DecoderLimits {
  /** Our SETTINGS_HEADER_TABLE_SIZE (4096 by default): the largest dynamic table the peer may ask for. */
  maxTableSize: number;
  /** Largest decoded list, counted as the sum of name.length + value.length + 32 per field. */
  maxHeaderListSize: number;
  /** Largest number of fields in one list. */
  maxHeaderPairs: number;
}

// ---------------------------------------------------------------- static table (Appendix A)

const STATIC_ENTRIES: ReadonlyArray<readonly [string, string]> = [
  [':authority', ''], [':method', 'GET'], [':method', 'POST'], [':path', '/'], [':path', '/index.html'],
  [':scheme', 'http'], [':scheme', 'https'], [':status', '200'], [':status', '204'], [':status', '206'],
  [':status', '304'], [':status', '400'], [':status', '404'], [':status', '500'], ['accept-charset', ''],
  ['accept-encoding', 'gzip, deflate'], ['accept-language', ''], ['accept-ranges', ''], ['accept', ''],
  ['access-control-allow-origin', ''], ['age', ''], ['allow', ''], ['authorization', ''], ['cache-control', ''],
  ['content-disposition', ''], ['content-encoding', ''], ['content-language', ''], ['content-length', ''],
  ['content-location', ''], ['content-range', ''], ['content-type', ''], ['cookie', ''], ['date', ''], ['etag', ''],
  ['expect', ''], ['expires', ''], ['from', ''], ['host', ''], ['if-match', ''], ['if-modified-since', ''],
  ['if-none-match', ''], ['if-range', ''], ['if-unmodified-since', ''], ['last-modified', ''], ['link', ''],
  ['location', ''], ['max-forwards', ''], ['proxy-authenticate', ''], ['proxy-authorization', ''], ['range', ''],
  ['referer', ''], ['refresh', ''], ['retry-after', ''], ['server', ''], ['set-cookie', ''],
  ['strict-transport-security', ''], ['transfer-encoding', ''], ['user-agent', ''], ['vary', ''], ['via', ''],
  ['www-authenticate', ''],
];
const STATIC_COUNT = STATIC_ENTRIES.length; // 61
// 1-based, as HPACK indexes them; slot 0 is unused.
const STATIC_NAMES: readonly string[] = ['', ...STATIC_ENTRIES.map((e) => e[0])];
const STATIC_VALUES: readonly string[] = ['', ...STATIC_ENTRIES.map((e) => e[1])];
/** First static index of each name; entries sharing a name are adjacent. */
const STATIC_NAME_INDEX = new Map<string, number>();
for (let i = STATIC_COUNT; i >= 1; i--) STATIC_NAME_INDEX.set(STATIC_NAMES[i]!, i);

// ---------------------------------------------------------------- Huffman code (Appendix B)

/**
 * Code length of each symbol 0..256 (256 is EOS). The code is canonical: codes of equal length
 * are consecutive and ordered by symbol, so the lengths alone define every code.
 */
export const HUFFMAN_CODE_LENGTHS: readonly number[] = [
  13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28,
  6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6, 5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10,
  13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6,
  15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5, 6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28,
  20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23, 24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24,
  22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23, 21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23,
  26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25, 19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27,
  20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23, 26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26,
  30,
];
const EOS = 256;

// The decoder is a finite automaton read one nibble at a time (after nghttp2's approach). Its
// states are the 256 internal nodes of the code tree; a transition consumes 4 bits and emits at
// most one symbol, since no code is shorter than 5 bits.
//   HUFF_STEP[state * 16 + nibble] = next state | EMIT | symbol << 9, or FAIL when EOS is met.
//   HUFF_ACCEPT[state] = 1 when a string may end in that state: the root, or a node reached by
//   at most 7 one-bits from the root (the padding RFC 7541 §5.2 allows: a prefix of EOS).
const HUFF_EMIT = 0x100;
const HUFF_FAIL = 0x20000;
const HUFF_STEP = new Uint32Array(256 * 16);
const HUFF_ACCEPT = new Uint8Array(256);
{
  // Tree: node n has children kids[2n] (bit 0) and kids[2n + 1] (bit 1); a child >= 0 is an
  // internal node, -1 is absent, and -(symbol + 2) is a leaf.
  const kids = new Int32Array(512).fill(-1);
  let nodes = 1;
  const order = HUFFMAN_CODE_LENGTHS.map((_, s) => s).sort((a, b) => HUFFMAN_CODE_LENGTHS[a]! - HUFFMAN_CODE_LENGTHS[b]! || a - b);
  let code = 0;
  let prevLen = 0;
  for (const sym of order) {
    const len = HUFFMAN_CODE_LENGTHS[sym]!;
    code *= 2 ** (len - prevLen);
    prevLen = len;
    let node = 0;
    for (let bit = len - 1; bit > 0; bit--) {
      const slot = node * 2 + (Math.floor(code / 2 ** bit) % 2);
      if (kids[slot] === -1) kids[slot] = nodes++;
      node = kids[slot]!;
    }
    kids[node * 2 + (code % 2)] = -(sym + 2);
    code++;
  }
  if (nodes !== 256) throw new Error('hpack: Huffman code table is not a complete code');
  // Accepting states: walk the all-ones path from the root for up to 7 bits.
  for (let node = 0, depth = 0; depth <= 7; depth++) {
    HUFF_ACCEPT[node] = 1;
    node = kids[node * 2 + 1]!;
  }
  for (let state = 0; state < 256; state++) {
    for (let nibble = 0; nibble < 16; nibble++) {
      let node = state;
      let out = 0;
      for (let bit = 3; bit >= 0; bit--) {
        const next = kids[node * 2 + ((nibble >> bit) & 1)]!;
        if (next >= 0) {
          node = next;
          continue;
        }
        const sym = -next - 2;
        if (sym === EOS) {
          out = HUFF_FAIL;
          break;
        }
        out = HUFF_EMIT | (sym << 9);
        node = 0;
      }
      HUFF_STEP[state * 16 + nibble] = out === HUFF_FAIL ? HUFF_FAIL : out | node;
    }
  }
}

/** Scratch space for Huffman output, shared (decoding is synchronous). It grows up to SCRATCH_MAX; longer strings get a buffer of their own. */
const SCRATCH_MAX = 64 * 1024;
let huffScratch = Buffer.allocUnsafe(1024);

/**
 * Decodes the Huffman string at b[start, end), returning it as latin1 when `need`, else ''.
 * Throws HpackError on EOS, or on padding that is longer than 7 bits or not all ones.
 */
function huffmanDecode(b: Buffer, start: number, end: number, need: boolean): string {
  // No code is shorter than 5 bits, so n octets hold at most floor(8n / 5) symbols.
  const most = Math.floor(((end - start) * 8) / 5);
  if (huffScratch.length < most && most <= SCRATCH_MAX) huffScratch = Buffer.allocUnsafe(Math.min(SCRATCH_MAX, Math.max(most, huffScratch.length * 2)));
  const out = most <= huffScratch.length ? huffScratch : Buffer.allocUnsafe(most);
  let n = 0;
  let state = 0;
  for (let i = start; i < end; i++) {
    const byte = b[i]!;
    let t = HUFF_STEP[(state << 4) | (byte >> 4)]!;
    if (t & HUFF_FAIL) throw new HpackError('hpack: EOS symbol inside a Huffman string');
    if (t & HUFF_EMIT) out[n++] = t >> 9;
    state = t & 0xff;
    t = HUFF_STEP[(state << 4) | (byte & 0x0f)]!;
    if (t & HUFF_FAIL) throw new HpackError('hpack: EOS symbol inside a Huffman string');
    if (t & HUFF_EMIT) out[n++] = t >> 9;
    state = t & 0xff;
  }
  if (!HUFF_ACCEPT[state]) throw new HpackError('hpack: Huffman padding longer than 7 bits or not all ones');
  return need ? out.toString('latin1', 0, n) : '';
}

// ---------------------------------------------------------------- field validation (RFC 9113 §8.2.1)

/** 1 for the octets a field name may hold: lowercase token characters (RFC 9110 §5.6.2 tchar, no A-Z). */
const NAME_OCTET = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyz") NAME_OCTET[c.charCodeAt(0)] = 1;

/** A lowercase token, or ':' followed by one (a pseudo-header). */
function validName(s: string): boolean {
  const len = s.length;
  let i = len > 1 && s.charCodeAt(0) === 0x3a ? 1 : 0;
  if (len === 0) return false;
  for (; i < len; i++) {
    const c = s.charCodeAt(i);
    if (c > 0xff || NAME_OCTET[c] === 0) return false;
  }
  return true;
}

/** No NUL, CR or LF; no SP or HTAB at either end. */
function validValue(s: string): boolean {
  const len = s.length;
  if (len === 0) return true;
  const first = s.charCodeAt(0);
  const last = s.charCodeAt(len - 1);
  if (first === 0x20 || first === 0x09 || last === 0x20 || last === 0x09) return false;
  for (let i = 0; i < len; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x00 || c === 0x0a || c === 0x0d) return false;
  }
  return true;
}

// ---------------------------------------------------------------- decoder

/** Largest integer the decoder accepts (RFC 7541 §5.1 leaves the bound to the implementation). */
const MAX_INT = 0x7fffffff;
/** Continuation octets that can carry 2^31 - 1 beyond a prefix: ceil(31 / 7). */
const MAX_INT_CONTINUATIONS = 5;
/** RFC 7541 §4.1: each entry counts its name and value lengths plus 32. */
const ENTRY_OVERHEAD = 32;

// Per-entry validity bits, worked out once when the entry is inserted.
const NAME_OK = 1;
const VALUE_OK = 2;

// Why the current block's list will be refused, if it will.
const FINE = 0;
const TOO_LARGE = 1;
const MALFORMED = 2;

function checkLimit(what: string, n: number): number {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`hpack: ${what} must be a non-negative integer, got ${n}`);
  return n;
}

export class HpackDecoder {
  /** Names of the fields the last decoded block sent as never-indexed literals; undefined when there were none. */
  neverIndexed: Set<string> | undefined = undefined;

  readonly #maxTableSize: number;
  readonly #maxListSize: number;
  readonly #maxPairs: number;

  // Dynamic table: a ring of capacity #cap (a power of two), newest entry at #head, the k-th
  // newest (k = 1, 2, ...) at (#head + k - 1) & (#cap - 1). Eviction drops the oldest by
  // decrementing #count; insertion moves #head back by one. Both are O(1).
  #names: string[] = [];
  #values: string[] = [];
  #flags = new Uint8Array(0);
  #cap = 0;
  #head = 0;
  #count = 0;
  #size = 0;
  /** Maximum size the peer's encoder has set (§6.3), at most #maxTableSize. */
  #max: number;

  #pos = 0;
  #broken = false;
  // Per-block accounting.
  #listSize = 0;
  #pairs = 0;
  #problem = FINE;
  #problemDetail = '';

  constructor(limits: DecoderLimits) {
    this.#maxTableSize = checkLimit('maxTableSize', limits.maxTableSize);
    this.#maxListSize = checkLimit('maxHeaderListSize', limits.maxHeaderListSize);
    this.#maxPairs = checkLimit('maxHeaderPairs', limits.maxHeaderPairs);
    this.#max = this.#maxTableSize;
  }

  /** Octets the dynamic table holds now (RFC 7541 §4.1 accounting). */
  get tableSize(): number {
    return this.#size;
  }
  /** Entries in the dynamic table now. */
  get tableLength(): number {
    return this.#count;
  }

  /**
   * Decodes one complete header block into [name, value, ...].
   * Throws HpackError (connection error; this decoder is then unusable), or, after the whole
   * block has been applied to the dynamic table, HeaderListTooLarge or MalformedField.
   */
  decode(block: Buffer): string[] {
    if (this.#broken) throw new HpackError('hpack: decoder state lost to an earlier compression error');
    this.neverIndexed = undefined;
    this.#pos = 0;
    this.#listSize = 0;
    this.#pairs = 0;
    this.#problem = FINE;
    this.#problemDetail = '';
    const out: string[] = [];
    try {
      this.#decodeInto(block, out);
    } catch (err) {
      this.#broken = true;
      this.neverIndexed = undefined;
      throw err instanceof HpackError ? err : new HpackError(`hpack: ${(err as Error).message}`);
    }
    if (this.#problem === TOO_LARGE) {
      throw new HeaderListTooLarge(`hpack: header list exceeds ${this.#maxListSize} octets or ${this.#maxPairs} fields (${this.#problemDetail})`);
    }
    if (this.#problem === MALFORMED) throw new MalformedField(`hpack: ${this.#problemDetail}`);
    return out;
  }

  #decodeInto(b: Buffer, out: string[]): void {
    const end = b.length;
    let sizeUpdateAllowed = true; // §4.2: only before the first field representation
    while (this.#pos < end) {
      const first = b[this.#pos]!;
      if (first & 0x80) {
        // §6.1 indexed field
        sizeUpdateAllowed = false;
        const index = this.#int(b, 7);
        if (index === 0) throw new HpackError('hpack: index 0');
        if (this.#problem !== FINE) {
          if (index > STATIC_COUNT + this.#count) throw new HpackError(`hpack: index ${index} beyond the tables`);
          continue;
        }
        if (index <= STATIC_COUNT) {
          this.#field(out, STATIC_NAMES[index]!, STATIC_VALUES[index]!, NAME_OK | VALUE_OK);
        } else {
          const slot = this.#slot(index);
          this.#field(out, this.#names[slot]!, this.#values[slot]!, this.#flags[slot]!);
        }
      } else if (first & 0x40) {
        // §6.2.1 literal with incremental indexing
        sizeUpdateAllowed = false;
        this.#literal(b, out, 6, true, false);
      } else if (first & 0x20) {
        // §6.3 dynamic table size update
        if (!sizeUpdateAllowed) throw new HpackError('hpack: dynamic table size update after the start of the block');
        const size = this.#int(b, 5);
        if (size > this.#maxTableSize) throw new HpackError(`hpack: dynamic table size update to ${size} above the limit ${this.#maxTableSize}`);
        this.#max = size;
        this.#evictTo(size);
      } else {
        // §6.2.2 literal without indexing (0000), §6.2.3 never indexed (0001)
        sizeUpdateAllowed = false;
        this.#literal(b, out, 4, false, (first & 0x10) !== 0);
      }
    }
  }

  #literal(b: Buffer, out: string[], prefix: number, indexing: boolean, never: boolean): void {
    const index = this.#int(b, prefix);
    // Strings are built only when they will be used: for the list, or for the table.
    const need = indexing || this.#problem === FINE;
    let name: string;
    let flags: number;
    if (index === 0) {
      name = this.#string(b, need);
      flags = need && validName(name) ? NAME_OK : 0;
    } else if (index <= STATIC_COUNT) {
      name = STATIC_NAMES[index]!;
      flags = NAME_OK;
    } else {
      const slot = this.#slot(index);
      name = this.#names[slot]!;
      flags = this.#flags[slot]! & NAME_OK;
    }
    const value = this.#string(b, need);
    if (need && validValue(value)) flags |= VALUE_OK;
    if (indexing) this.#insert(name, value, flags);
    if (this.#problem !== FINE) return;
    this.#field(out, name, value, flags);
    if (never && this.#problem === FINE) (this.neverIndexed ??= new Set()).add(name);
  }

  /** Counts a decoded field against the limits and appends it, unless the list is already refused. */
  #field(out: string[], name: string, value: string, flags: number): void {
    this.#listSize += name.length + value.length + ENTRY_OVERHEAD;
    this.#pairs++;
    if (this.#listSize > this.#maxListSize || this.#pairs > this.#maxPairs) {
      this.#problem = TOO_LARGE;
      this.#problemDetail = `${this.#pairs} fields, ${this.#listSize} octets so far`;
      out.length = 0; // the list is refused: drop what it holds now
      return;
    }
    if (flags !== (NAME_OK | VALUE_OK)) {
      this.#problem = MALFORMED;
      this.#problemDetail = (flags & NAME_OK) === 0
        ? `field ${this.#pairs}: name is not a lowercase token (RFC 9113 §8.2.1)`
        : `field ${this.#pairs}: value holds NUL, CR or LF, or starts or ends with whitespace (RFC 9113 §8.2.1)`;
      out.length = 0;
      return;
    }
    out.push(name, value);
  }

  /** Ring slot of a dynamic-table index (static count + 1 = newest). */
  #slot(index: number): number {
    const k = index - STATIC_COUNT;
    if (k > this.#count) throw new HpackError(`hpack: index ${index} beyond the tables (${STATIC_COUNT} static, ${this.#count} dynamic)`);
    return (this.#head + k - 1) & (this.#cap - 1);
  }

  /** §5.1 integer with an N-bit prefix; bounded by MAX_INT and MAX_INT_CONTINUATIONS. */
  #int(b: Buffer, prefix: number): number {
    const mask = (1 << prefix) - 1;
    let v = b[this.#pos++]! & mask;
    if (v < mask) return v;
    for (let i = 0, shift = 0; i < MAX_INT_CONTINUATIONS; i++, shift += 7) {
      if (this.#pos >= b.length) throw new HpackError('hpack: integer runs past the end of the block');
      const c = b[this.#pos++]!;
      v += (c & 0x7f) * 2 ** shift;
      if (v > MAX_INT) throw new HpackError('hpack: integer above 2^31-1');
      if ((c & 0x80) === 0) return v;
    }
    throw new HpackError(`hpack: integer longer than ${MAX_INT_CONTINUATIONS} continuation octets`);
  }

  /** §5.2 string literal. Its length is checked against the block before anything is allocated; when !need only validated and skipped. */
  #string(b: Buffer, need: boolean): string {
    if (this.#pos >= b.length) throw new HpackError('hpack: string literal missing at the end of the block');
    const huffman = (b[this.#pos]! & 0x80) !== 0;
    const len = this.#int(b, 7);
    const start = this.#pos;
    if (len > b.length - start) throw new HpackError(`hpack: string length ${len} runs past the end of the block`);
    this.#pos = start + len;
    if (huffman) return huffmanDecode(b, start, start + len, need);
    return need ? b.toString('latin1', start, start + len) : '';
  }

  /** §4.4: evicts what the new entry needs; an entry larger than the table empties it and is not added. */
  #insert(name: string, value: string, flags: number): void {
    const size = name.length + value.length + ENTRY_OVERHEAD;
    if (size > this.#max) {
      this.#evictTo(0);
      return;
    }
    this.#evictTo(this.#max - size);
    if (this.#count === this.#cap) this.#grow();
    const slot = (this.#head - 1) & (this.#cap - 1);
    this.#head = slot;
    this.#names[slot] = name;
    this.#values[slot] = value;
    this.#flags[slot] = flags;
    this.#count++;
    this.#size += size;
  }

  #evictTo(limit: number): void {
    const mask = this.#cap - 1;
    while (this.#size > limit) {
      const slot = (this.#head + this.#count - 1) & mask;
      this.#size -= this.#names[slot]!.length + this.#values[slot]!.length + ENTRY_OVERHEAD;
      this.#names[slot] = ''; // let large strings go
      this.#values[slot] = '';
      this.#count--;
    }
  }

  /** Doubles the ring (entries are at least 32 octets, so it never exceeds #maxTableSize / 32 rounded up to a power of two). */
  #grow(): void {
    const cap = this.#cap === 0 ? 8 : this.#cap * 2;
    const names = new Array<string>(cap).fill('');
    const values = new Array<string>(cap).fill('');
    const flags = new Uint8Array(cap);
    const mask = this.#cap - 1;
    for (let k = 0; k < this.#count; k++) {
      const from = (this.#head + k) & mask;
      names[k] = this.#names[from]!;
      values[k] = this.#values[from]!;
      flags[k] = this.#flags[from]!;
    }
    this.#names = names;
    this.#values = values;
    this.#flags = flags;
    this.#cap = cap;
    this.#head = 0;
  }
}

// ---------------------------------------------------------------- encoder

/** Octets of an integer with an N-bit prefix (§5.1). */
function intLength(prefix: number, v: number): number {
  const mask = (1 << prefix) - 1;
  if (v < mask) return 1;
  let n = 2;
  for (v -= mask; v >= 0x80; v = Math.floor(v / 0x80)) n++;
  return n;
}

function writeInt(b: Buffer, pos: number, prefix: number, flags: number, v: number): number {
  const mask = (1 << prefix) - 1;
  if (v < mask) {
    b[pos++] = flags | v;
    return pos;
  }
  b[pos++] = flags | mask;
  for (v -= mask; v >= 0x80; v = Math.floor(v / 0x80)) b[pos++] = (v % 0x80) | 0x80;
  b[pos++] = v;
  return pos;
}

function writeString(b: Buffer, pos: number, s: string): number {
  pos = writeInt(b, pos, 7, 0, s.length);
  const n = s.length;
  // Header strings are short: a loop costs less than Buffer#write's call into C++ below ~64.
  if (n > 64) return pos + b.write(s, pos, 'latin1');
  for (let i = 0; i < n; i++) b[pos + i] = s.charCodeAt(i); // latin1: the low byte
  return pos + n;
}

/** Static index of exactly (name, value), or 0. */
function staticExact(nameIndex: number, name: string, value: string): number {
  for (let i = nameIndex; i <= STATIC_COUNT && STATIC_NAMES[i] === name; i++) if (STATIC_VALUES[i] === value) return i;
  return 0;
}

/**
 * Static-table-only encoder: never inserts into the dynamic table (so it keeps none) and writes
 * strings as raw octets. Names and values are latin1 strings; they are not validated here.
 */
/** Where encodeObject() writes a block before copying it out (one per process: encoding is synchronous). */
const SCRATCH = Buffer.allocUnsafeSlow(16 * 1024);

export class HpackEncoder {
  #announceZero = true;

  /** Our peer's SETTINGS_HEADER_TABLE_SIZE changed: the next block restates our table size (0). */
  setPeerTableSize(n: number): void {
    checkLimit('peer table size', n);
    this.#announceZero = true;
  }

  encode(headers: readonly string[], neverIndexed?: ReadonlySet<string>): Buffer {
    const count = headers.length;
    if (count % 2 !== 0) throw new TypeError('hpack: header list must hold name/value pairs');
    // Exact size first, so the returned Buffer holds no slack.
    let size = this.#announceZero ? 1 : 0;
    for (let i = 0; i < count; i += 2) size += this.#fieldLength(headers[i]!, headers[i + 1]!, neverIndexed);
    const b = Buffer.allocUnsafe(size);
    let pos = 0;
    if (this.#announceZero) {
      b[pos++] = 0x20; // §6.3 dynamic table size update to 0
      this.#announceZero = false;
    }
    for (let i = 0; i < count; i += 2) {
      const name = headers[i]!;
      pos = this.#writeField(b, pos, name, headers[i + 1]!, neverIndexed !== undefined && neverIndexed.has(name));
    }
    if (pos !== size) throw new Error(`hpack: encoder wrote ${pos} octets, expected ${size}`);
    return b;
  }

  /**
   * Encodes a node:http2-style header object (lowercase names; a value is a string, a number
   * or an array of them, each element its own field), pseudo-headers first, into one Buffer
   * with `headroom` octets left free at its start (for the frame header). Same encoding as
   * encode(), without building a list first.
   */
  encodeObject(h: Readonly<Record<string, string | number | readonly string[] | undefined>>, headroom: number): Buffer {
    // Written once into a scratch buffer, then copied out at its exact size; a block that
    // would not fit the scratch buffer is sized first instead.
    const scratch = SCRATCH;
    let pos = 0;
    let fits = true;
    if (this.#announceZero) scratch[pos++] = 0x20; // §6.3 dynamic table size update to 0
    for (let pass = 0; pass < 2 && fits; pass++) {
      for (const name in h) {
        if ((name.charCodeAt(0) === 58) !== (pass === 0)) continue;
        const v = h[name];
        if (v === undefined) continue;
        if (typeof v === 'object') {
          for (const x of v) {
            const value = String(x);
            if (pos + name.length + value.length + 16 > scratch.length) fits = false;
            else pos = this.#writeField(scratch, pos, name, value);
          }
        } else {
          const value = typeof v === 'string' ? v : String(v);
          if (pos + name.length + value.length + 16 > scratch.length) {
            fits = false;
            break;
          }
          pos = this.#writeField(scratch, pos, name, value);
        }
      }
    }
    if (fits) {
      this.#announceZero = false;
      const b = Buffer.allocUnsafe(headroom + pos);
      scratch.copy(b, headroom, 0, pos);
      return b;
    }
    return this.#encodeObjectSized(h, headroom);
  }

  /** A block too big for the scratch buffer (rare): through the field list and encode(). */
  #encodeObjectSized(h: Readonly<Record<string, string | number | readonly string[] | undefined>>, headroom: number): Buffer {
    const list: string[] = [];
    for (let pass = 0; pass < 2; pass++) {
      for (const name in h) {
        if ((name.charCodeAt(0) === 58) !== (pass === 0)) continue;
        const v = h[name];
        if (v === undefined) continue;
        if (typeof v === 'object') for (const x of v) list.push(name, String(x));
        else list.push(name, String(v));
      }
    }
    const block = this.encode(list);
    const b = Buffer.allocUnsafe(headroom + block.length);
    block.copy(b, headroom);
    return b;
  }

  /** One field: a static-table index when name and value match, else a literal without indexing (never indexed when `never`). */
  #writeField(b: Buffer, pos: number, name: string, value: string, never = false): number {
    const nameIndex = STATIC_NAME_INDEX.get(name) ?? 0;
    const exact = never || nameIndex === 0 ? 0 : staticExact(nameIndex, name, value);
    if (exact !== 0) return writeInt(b, pos, 7, 0x80, exact);
    pos = writeInt(b, pos, 4, never ? 0x10 : 0x00, nameIndex);
    if (nameIndex === 0) pos = writeString(b, pos, name);
    return writeString(b, pos, value);
  }

  #fieldLength(name: string, value: string, neverIndexed: ReadonlySet<string> | undefined): number {
    const never = neverIndexed !== undefined && neverIndexed.has(name);
    const nameIndex = STATIC_NAME_INDEX.get(name) ?? 0;
    const exact = never || nameIndex === 0 ? 0 : staticExact(nameIndex, name, value);
    if (exact !== 0) return intLength(7, exact);
    let n = intLength(4, nameIndex) + intLength(7, value.length) + value.length;
    if (nameIndex === 0) n += intLength(7, name.length) + name.length;
    return n;
  }
}
