// Request outcomes packed as columns for the trip from a proxy worker to the primary.
//
// A worker reports every request it forwarded; sent as an array of objects, each outcome
// is walked by the structured-clone serializer on one side and rebuilt on the other, and
// the batch keeps its objects alive (past a scavenge) until it leaves. Packed, an outcome
// is a few slots in typed arrays (copied as bytes), its repeating strings (model, version,
// api, ...) appear once per batch, and its ids are one space-separated string (request ids
// and trace ids never hold a space: proxy/request-id.ts).
import type { RequestOutcome } from '../common/index.ts';

/** What crosses the IPC channel: plain arrays, typed arrays and strings (structured clone). */
export interface OutcomeColumns {
  n: number;
  /** Each distinct string of the batch once; `refs` points into it. */
  strings: string[];
  /** Per outcome REFS slots: model, version, api, protocol, variant, code, identity, rejected (index + 1; 0 = absent). */
  refs: Uint16Array;
  /** Per outcome NUMS slots: durationSeconds, endMs, httpStatus, grpcCode, requestBytes, responseBytes (NaN = absent). */
  nums: Float64Array;
  /** Per outcome: 1 when pinned. */
  pinned: Uint8Array;
  /** Per outcome, requestId then traceId ('' = absent), joined by one space. */
  ids: string;
}

const REFS = 8;
const NUMS = 6;

/** Collects outcomes into columns; `take()` returns them and starts a new batch. */
export class OutcomeColumnsWriter {
  readonly #capacity: number;
  #strings: string[] = [];
  #index = new Map<string, number>();
  #refs: Uint16Array;
  #nums: Float64Array;
  #pinned: Uint8Array;
  #ids: string[] = [];
  #n = 0;

  /** `capacity`: the most outcomes one batch holds (the caller flushes at that many). */
  constructor(capacity: number) {
    if (!(capacity > 0 && capacity * REFS < 0xffff)) throw new RangeError(`capacity must be in 1..${Math.floor(0xffff / REFS) - 1}`);
    this.#capacity = capacity;
    this.#refs = new Uint16Array(capacity * REFS);
    this.#nums = new Float64Array(capacity * NUMS);
    this.#pinned = new Uint8Array(capacity);
  }

  get length(): number {
    return this.#n;
  }

  push(o: RequestOutcome): void {
    if (this.#n === this.#capacity) throw new RangeError(`an outcome batch holds at most ${this.#capacity} outcomes: take() it first`);
    // Checked before anything is written: a refused outcome leaves the batch as it was.
    const requestId = spaceless(o.requestId);
    const traceId = spaceless(o.traceId);
    const i = this.#n++;
    const r = i * REFS;
    const refs = this.#refs;
    refs[r] = this.#ref(o.model);
    refs[r + 1] = this.#ref(o.version);
    refs[r + 2] = this.#ref(o.api);
    refs[r + 3] = this.#ref(o.protocol);
    refs[r + 4] = this.#ref(o.variant);
    refs[r + 5] = this.#ref(o.code);
    refs[r + 6] = o.identity === undefined ? 0 : this.#ref(o.identity);
    refs[r + 7] = o.rejected === undefined ? 0 : this.#ref(o.rejected);
    const m = i * NUMS;
    const nums = this.#nums;
    nums[m] = o.durationSeconds;
    nums[m + 1] = o.endMs;
    nums[m + 2] = o.httpStatus ?? NaN;
    nums[m + 3] = o.grpcCode ?? NaN;
    nums[m + 4] = o.requestBytes ?? NaN;
    nums[m + 5] = o.responseBytes ?? NaN;
    this.#pinned[i] = o.pinned ? 1 : 0;
    this.#ids.push(requestId, traceId);
  }

  take(): OutcomeColumns {
    const n = this.#n;
    const out: OutcomeColumns = {
      n,
      strings: this.#strings,
      refs: this.#refs.slice(0, n * REFS),
      nums: this.#nums.slice(0, n * NUMS),
      pinned: this.#pinned.slice(0, n),
      ids: this.#ids.join(' '),
    };
    this.#strings = [];
    this.#index.clear();
    this.#ids = [];
    this.#n = 0;
    return out;
  }

  #ref(s: string): number {
    let k = this.#index.get(s);
    if (k === undefined) {
      k = this.#strings.push(s);
      this.#index.set(s, k);
    }
    return k;
  }
}

/** An id as it goes into the space-joined column ('' when absent); one with a space cannot be sent. */
function spaceless(id: string | undefined): string {
  if (id === undefined) return '';
  if (id.includes(' ')) throw new Error(`an id with a space cannot be batched: ${JSON.stringify(id)}`);
  return id;
}

/** The outcomes of a batch, as the worker's recorder made them. Throws on a malformed batch. */
export function readOutcomeColumns(c: OutcomeColumns): RequestOutcome[] {
  const { n, strings, refs, nums, pinned } = c;
  const ids = n === 0 ? [] : c.ids.split(' ');
  if (refs.length !== n * REFS || nums.length !== n * NUMS || pinned.length !== n || ids.length !== 2 * n) {
    throw new Error(`malformed outcome batch: ${n} outcomes with ${refs.length} refs, ${nums.length} numbers, ${ids.length} ids`);
  }
  const str = (k: number): string => {
    const s = strings[k - 1];
    if (s === undefined) throw new Error(`malformed outcome batch: string ${k} of ${strings.length}`);
    return s;
  };
  const out = new Array<RequestOutcome>(n);
  for (let i = 0; i < n; i++) {
    const r = i * REFS;
    const m = i * NUMS;
    const o: RequestOutcome = {
      model: str(refs[r]!),
      version: str(refs[r + 1]!),
      api: str(refs[r + 2]!) as RequestOutcome['api'],
      protocol: str(refs[r + 3]!) as RequestOutcome['protocol'],
      variant: str(refs[r + 4]!) as RequestOutcome['variant'],
      code: str(refs[r + 5]!),
      durationSeconds: nums[m]!,
      endMs: nums[m + 1]!,
    };
    if (!Number.isNaN(nums[m + 2])) o.httpStatus = nums[m + 2]!;
    if (!Number.isNaN(nums[m + 3])) o.grpcCode = nums[m + 3]!;
    if (pinned[i]) o.pinned = true;
    if (ids[2 * i] !== '') o.requestId = ids[2 * i]!;
    if (refs[r + 6]) o.identity = str(refs[r + 6]!);
    if (refs[r + 7]) o.rejected = str(refs[r + 7]!) as NonNullable<RequestOutcome['rejected']>;
    if (ids[2 * i + 1] !== '') o.traceId = ids[2 * i + 1]!;
    if (!Number.isNaN(nums[m + 4])) o.requestBytes = nums[m + 4]!;
    if (!Number.isNaN(nums[m + 5])) o.responseBytes = nums[m + 5]!;
    out[i] = o;
  }
  return out;
}
