// Access log: one JSON line per finished request (REST and gRPC alike: it is an outcome
// observer, fed by recorder.ts), written by pino to an asynchronous destination
// (sonic-boom, sync: false) so the request path only formats and buffers. Lines go to
// stdout or to a file rotated by size (`file`, `file.1` newest … `file.<keep>` oldest).
// close() flushes what is buffered; the proxy's drain calls it, so SIGTERM loses nothing.
// A sample below 1 logs that share of requests; `fields` keeps only the fields named. Each
// line starts with "log":"access".
import { openSync, renameSync, rmSync, statSync } from 'node:fs';
import { pino, type Logger } from 'pino';
import type { RequestOutcome } from '../common/index.ts';
import { Issues, checkKeys, isRecord, join, readBoolean, readBytes, readNumber, readString } from '../common/validate.ts';
import { suggestion } from '../common/suggest.ts';

/** Every field a line can carry, in the order written. Absent values are left out. */
export const ACCESS_LOG_FIELDS = [
  'time', 'requestId', 'traceId', 'model', 'version', 'variant', 'api', 'protocol', 'status', 'grpcCode', 'code',
  'latencyMs', 'bytesIn', 'bytesOut', 'pinned', 'identity', 'rejected',
] as const;
export type AccessLogField = (typeof ACCESS_LOG_FIELDS)[number];

export interface AccessLogFile {
  file: string;
  /** Rotate when the file would grow past this size. */
  maxBytes: number;
  /** Older files kept (`file.1` … `file.<keep>`). */
  keep: number;
}

export interface AccessLogConfig {
  enabled: boolean;
  /** Share of requests logged, 0..1. */
  sample: number;
  /** Fields written; default all. */
  fields: readonly AccessLogField[];
  to: 'stdout' | AccessLogFile;
}

export const ACCESS_LOG_DEFAULTS = { sample: 1, maxBytes: 100 * 1024 * 1024, keep: 5 } as const;
export const ACCESS_LOG_OFF: AccessLogConfig = { enabled: false, sample: 1, fields: ACCESS_LOG_FIELDS, to: 'stdout' };

/** Validates `proxy.accessLog`. */
export function readAccessLog(raw: unknown, path: string, issues: Issues): AccessLogConfig {
  if (raw === undefined || raw === null) return ACCESS_LOG_OFF;
  if (!isRecord(raw)) {
    issues.error(path, 'must be a mapping like {enabled: true, sample: 1, to: stdout} or {enabled: true, to: {file: /var/log/modelgate/access.log}}');
    return ACCESS_LOG_OFF;
  }
  checkKeys(raw, ['enabled', 'sample', 'fields', 'to'], path, issues);
  const enabled = readBoolean(raw, 'enabled', path, issues, true);
  const sample = readNumber(raw, 'sample', path, issues, { min: 0, max: 1, default: ACCESS_LOG_DEFAULTS.sample });
  let fields: readonly AccessLogField[] = ACCESS_LOG_FIELDS;
  if (raw['fields'] !== undefined) {
    const list = raw['fields'];
    if (!Array.isArray(list) || list.length === 0) {
      issues.error(join(path, 'fields'), `must be a non-empty list of field names (${ACCESS_LOG_FIELDS.join(', ')})`);
    } else {
      const picked: AccessLogField[] = [];
      list.forEach((f, i) => {
        if (typeof f === 'string' && (ACCESS_LOG_FIELDS as readonly string[]).includes(f)) picked.push(f as AccessLogField);
        else issues.error(join(join(path, 'fields'), i), `unknown access log field ${JSON.stringify(f)}${typeof f === 'string' ? suggestion(f, ACCESS_LOG_FIELDS) : ''}; known: ${ACCESS_LOG_FIELDS.join(', ')}`);
      });
      fields = ACCESS_LOG_FIELDS.filter((f) => picked.includes(f));
    }
  }
  let to: AccessLogConfig['to'] = 'stdout';
  const rawTo = raw['to'];
  if (rawTo !== undefined && rawTo !== 'stdout') {
    const toPath = join(path, 'to');
    if (!isRecord(rawTo)) {
      issues.error(toPath, `must be "stdout" or a mapping {file: PATH, maxBytes: 100MiB, keep: 5}, got ${JSON.stringify(rawTo)}`);
    } else {
      checkKeys(rawTo, ['file', 'maxBytes', 'keep'], toPath, issues);
      const file = readString(rawTo, 'file', toPath, issues, { required: true });
      const maxBytes = readBytes(rawTo, 'maxBytes', toPath, issues, { default: ACCESS_LOG_DEFAULTS.maxBytes });
      const keep = readNumber(rawTo, 'keep', toPath, issues, { integer: true, min: 0, max: 100, default: ACCESS_LOG_DEFAULTS.keep });
      if (file !== undefined) to = { file, maxBytes, keep };
    }
  }
  return { enabled, sample, fields, to };
}

/**
 * A sonic-boom file destination that rotates by size: past maxBytes the generations shift
 * (`file.1` → `file.2` …), the file is renamed to `file.1` and a new one is opened at once
 * (one synchronous open per rotation), so every line after the rotation goes to the new
 * file and none lands past the bound while an open is pending. Lines already handed to the
 * old destination are flushed to `file.1` as it ends; nothing is lost or split.
 */
class RotatingFile {
  readonly #o: AccessLogFile;
  #sonic: ReturnType<typeof pino.destination>;
  #bytes: number;
  /** Old destinations still flushing into their renamed file. */
  readonly #ending = new Set<Promise<void>>();

  constructor(o: AccessLogFile) {
    this.#o = o;
    this.#sonic = pino.destination({ dest: o.file, sync: false, mkdir: true });
    let size = 0;
    try {
      size = statSync(o.file).size;
    } catch {
      // a new file
    }
    this.#bytes = size;
  }

  write(line: string): boolean {
    // JSON lines here are ASCII but for model names and ids; length is close enough for a size bound.
    if (this.#bytes > 0 && this.#bytes + line.length > this.#o.maxBytes) this.#rotate();
    this.#bytes += line.length;
    return this.#sonic.write(line);
  }

  #rotate(): void {
    const f = this.#o.file;
    let fd: number;
    try {
      if (this.#o.keep === 0) {
        renameSync(f, `${f}.0`); // removed below; lines still being written to it are dropped with it
      } else {
        for (let g = this.#o.keep - 1; g >= 1; g--) {
          try {
            renameSync(`${f}.${g}`, `${f}.${g + 1}`);
          } catch {
            // that generation does not exist yet
          }
        }
        renameSync(f, `${f}.1`);
      }
      fd = openSync(f, 'a');
    } catch {
      // Cannot rename or open (permissions, file gone): keep appending to the same file.
      this.#bytes = 0;
      return;
    }
    const old = this.#sonic;
    this.#sonic = pino.destination({ fd, sync: false });
    const ended = endOf(old);
    this.#ending.add(ended);
    void ended.then(() => this.#ending.delete(ended));
    if (this.#o.keep === 0) rmSync(`${f}.0`, { force: true });
    this.#bytes = 0;
  }

  flush(cb?: (err?: Error) => void): void {
    this.#sonic.flush(cb);
  }

  async end(): Promise<void> {
    await Promise.all([endOf(this.#sonic), ...this.#ending]);
  }
}

/** Ends a destination once its buffered lines are written. */
function endOf(sonic: ReturnType<typeof pino.destination>): Promise<void> {
  return new Promise((resolve) => {
    sonic.once('close', () => resolve());
    sonic.once('error', () => resolve());
    sonic.end();
  });
}

/** The proxy's access log; `observe` is an outcome observer (proxy.onOutcome). */
export class AccessLog {
  readonly #cfg: AccessLogConfig;
  readonly #random: () => number;
  readonly #logger: Logger;
  readonly #file: RotatingFile | undefined;
  readonly #stdout: ReturnType<typeof pino.destination> | undefined;
  readonly #all: boolean;
  #closed: Promise<void> | undefined;
  /** Lines handed to the destination. */
  written = 0;

  constructor(cfg: AccessLogConfig, deps: { random?: () => number } = {}) {
    this.#cfg = cfg;
    this.#random = deps.random ?? Math.random;
    this.#all = cfg.fields.length === ACCESS_LOG_FIELDS.length;
    // No level, pid, hostname or pino time: the line is the request's record, with its own
    // time. In place of the level, "log":"access" tells these lines from others on stdout.
    const opts = { base: null, timestamp: false, formatters: { level: () => ({ log: 'access' }) } };
    if (typeof cfg.to === 'object') {
      this.#file = new RotatingFile(cfg.to);
      this.#logger = pino(opts, this.#file);
    } else {
      this.#stdout = pino.destination({ dest: 1, sync: false });
      this.#logger = pino(opts, this.#stdout);
    }
  }

  readonly observe = (o: RequestOutcome): void => {
    if (this.#closed) return;
    if (this.#cfg.sample < 1 && this.#random() >= this.#cfg.sample) return;
    const line = this.#all ? lineOf(o) : pick(lineOf(o), this.#cfg.fields);
    this.#logger.info(line);
    this.written++;
  };

  /** Flushes buffered lines and closes the file (stdout stays open). Idempotent. */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      if (this.#file) return this.#file.end();
      await new Promise<void>((resolve) => {
        try {
          this.#stdout!.flushSync();
          resolve();
        } catch {
          this.#stdout!.flush(() => resolve());
        }
      });
    })();
    return this.#closed;
  }
}

type Line = Partial<Record<AccessLogField, string | number | boolean>>;

function lineOf(o: RequestOutcome): Line {
  const line: Line = { time: new Date(o.endMs).toISOString() };
  if (o.requestId !== undefined) line.requestId = o.requestId;
  if (o.traceId !== undefined) line.traceId = o.traceId;
  line.model = o.model;
  line.version = o.version;
  line.variant = o.variant;
  line.api = o.api;
  line.protocol = o.protocol;
  if (o.httpStatus !== undefined) line.status = o.httpStatus;
  if (o.grpcCode !== undefined) line.grpcCode = o.grpcCode;
  line.code = o.code;
  line.latencyMs = Math.round(o.durationSeconds * 1e6) / 1e3;
  if (o.requestBytes !== undefined) line.bytesIn = o.requestBytes;
  if (o.responseBytes !== undefined) line.bytesOut = o.responseBytes;
  if (o.pinned) line.pinned = true;
  if (o.identity !== undefined) line.identity = o.identity;
  if (o.rejected !== undefined) line.rejected = o.rejected;
  return line;
}

function pick(line: Line, fields: readonly AccessLogField[]): Line {
  const out: Line = {};
  for (const f of fields) if (line[f] !== undefined) out[f] = line[f];
  return out;
}
