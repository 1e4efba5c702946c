// Reading a reference file for `modelgate baseline`: JSON lines (one object per row, keys
// are feature names) or CSV (a header row of feature names; RFC 4180 quoting).
import { DriftErrors } from './errors.ts';
import { isRecord } from '../common/index.ts';

export interface ReferenceTable {
  /** Column names in first-seen order. */
  names: string[];
  columns: Map<string, unknown[]>;
  rows: number;
}

export function parseReference(text: string, format: 'jsonl' | 'csv', where: string): ReferenceTable {
  return format === 'csv' ? parseCsv(text, where) : parseJsonLines(text, where);
}

export function formatOf(path: string): 'jsonl' | 'csv' {
  return /\.csv$/i.test(path) ? 'csv' : 'jsonl';
}

function parseJsonLines(text: string, where: string): ReferenceTable {
  const columns = new Map<string, unknown[]>();
  let rows = 0;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '') continue;
    let row: unknown;
    try {
      row = JSON.parse(line);
    } catch (e) {
      throw DriftErrors.DRIFT_ERR_BAD_REFERENCE(`${where}:${i + 1}: not JSON (${e instanceof Error ? e.message : String(e)})`);
    }
    if (!isRecord(row)) throw DriftErrors.DRIFT_ERR_BAD_REFERENCE(`${where}:${i + 1}: each line must be a JSON object of feature values`);
    for (const [k, v] of Object.entries(row)) {
      let col = columns.get(k);
      if (!col) columns.set(k, (col = new Array<unknown>(rows).fill(undefined)));
      col[rows] = v;
    }
    rows++;
    for (const col of columns.values()) if (col.length < rows) col.length = rows;
  }
  if (rows === 0) throw DriftErrors.DRIFT_ERR_BAD_REFERENCE(`${where}: no rows`);
  return { names: [...columns.keys()], columns, rows };
}

function parseCsv(text: string, where: string): ReferenceTable {
  const records = csvRecords(text);
  const header = records.shift();
  if (!header || header.length === 0) throw DriftErrors.DRIFT_ERR_BAD_REFERENCE(`${where}: no header row`);
  const columns = new Map<string, unknown[]>(header.map((h) => [h, []]));
  let rows = 0;
  records.forEach((rec, i) => {
    if (rec.length === 1 && rec[0] === '') return; // blank line
    if (rec.length !== header.length) throw DriftErrors.DRIFT_ERR_BAD_REFERENCE(`${where}: record ${i + 2} has ${rec.length} fields, the header has ${header.length}`);
    header.forEach((h, j) => columns.get(h)!.push(rec[j] === '' ? undefined : rec[j]));
    rows++;
  });
  if (rows === 0) throw DriftErrors.DRIFT_ERR_BAD_REFERENCE(`${where}: no rows`);
  return { names: header, columns, rows };
}

/** Splits CSV text into records of fields (RFC 4180: "" escapes a quote inside quotes; CRLF or LF). */
function csvRecords(text: string): string[][] {
  const out: string[][] = [];
  let field = '';
  let record: string[] = [];
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
      continue;
    }
    if (c === '"') quoted = true;
    else if (c === ',') {
      record.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      record.push(field);
      out.push(record);
      record = [];
      field = '';
    } else field += c;
  }
  if (field !== '' || record.length > 0) {
    record.push(field);
    out.push(record);
  }
  return out;
}
