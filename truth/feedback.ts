// The body of POST /api/v1/feedback, checked whole before anything is joined: a JSON array
// of `{id, label}` (classifiers: a class name or index, or one per row for a batch
// prediction) or `{id, value}` (regression: a number, or one per row). The first invalid
// entry answers 400 with its index and nothing is applied; entries that are valid but do
// not join (unknown or expired id, already labelled, wrong task) are counted per batch.
import { isRecord } from '../common/index.ts';

export type FeedbackEntry =
  | { id: string; kind: 'label'; labels: ReadonlyArray<string | number> }
  | { id: string; kind: 'value'; values: readonly number[] };

export type ParsedFeedback = { ok: true; entries: FeedbackEntry[] } | { ok: false; index: number | undefined; message: string; tooLarge?: boolean };

/** Same bound as the proxy's request ids: anything longer was never stored. */
const MAX_ID_LENGTH = 128;
/** Label text bound (a class name). */
const MAX_LABEL_LENGTH = 256;

export function parseFeedback(body: unknown, maxBatch: number): ParsedFeedback {
  const list = isRecord(body) && Array.isArray(body['feedback']) ? body['feedback'] : body;
  if (!Array.isArray(list)) return { ok: false, index: undefined, message: 'body must be a JSON array of {"id": "<x-request-id>", "label": <class>} or {"id": ..., "value": <number>}' };
  if (list.length === 0) return { ok: false, index: undefined, message: 'the feedback array is empty' };
  if (list.length > maxBatch) return { ok: false, index: undefined, message: `${list.length} entries in one request; at most truth.maxBatch = ${maxBatch}: split the batch`, tooLarge: true };
  const entries: FeedbackEntry[] = [];
  for (let i = 0; i < list.length; i++) {
    const e = entry(list[i]);
    if (typeof e === 'string') return { ok: false, index: i, message: `entry ${i}: ${e}` };
    entries.push(e);
  }
  return { ok: true, entries };
}

function entry(raw: unknown): FeedbackEntry | string {
  if (!isRecord(raw)) return 'must be an object {"id", "label"} or {"id", "value"}';
  for (const k of Object.keys(raw)) if (k !== 'id' && k !== 'label' && k !== 'value') return `unknown field "${k}"; an entry has "id" and one of "label" or "value"`;
  const id = raw['id'];
  if (typeof id !== 'string' || id === '' || id.length > MAX_ID_LENGTH) return `"id" must be the request's x-request-id (a string of 1-${MAX_ID_LENGTH} characters)`;
  const hasLabel = raw['label'] !== undefined;
  const hasValue = raw['value'] !== undefined;
  if (hasLabel === hasValue) return 'needs exactly one of "label" (a class, for classifiers) or "value" (a number, for regression)';
  if (hasLabel) {
    const labels = Array.isArray(raw['label']) ? raw['label'] : [raw['label']];
    if (labels.length === 0) return '"label" is an empty list';
    for (const l of labels) {
      const ok = (typeof l === 'string' && l !== '' && l.length <= MAX_LABEL_LENGTH) || (typeof l === 'number' && Number.isInteger(l) && l >= 0);
      if (!ok) return `"label" must be a class name (non-empty string) or a class index (whole number >= 0), or a list of them, got ${JSON.stringify(l)}`;
    }
    return { id, kind: 'label', labels: labels as Array<string | number> };
  }
  const values = Array.isArray(raw['value']) ? raw['value'] : [raw['value']];
  if (values.length === 0) return '"value" is an empty list';
  for (const v of values) if (typeof v !== 'number' || !Number.isFinite(v)) return `"value" must be a finite number, or a list of them, got ${JSON.stringify(v)}`;
  return { id, kind: 'value', values: values as number[] };
}
