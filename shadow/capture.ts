// Sampled capture of exchanges to rotating JSON Lines files, for `modelgate replay`.
//
// Never on the request path: `offer` builds the line and queues it (the proxy already hands
// bodies over off the response path, proxy/observers.ts); one writer appends queued lines in
// batches. Bounded everywhere: the queue holds at most `maxQueueBytes` (beyond it a line is
// dropped and counted), a file at most `maxFileBytes` (then capture.jsonl becomes
// capture.1.jsonl, .1 becomes .2, ... and the oldest past `maxFiles` is deleted).
import { mkdir, open, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { Counter, type Registry } from 'prom-client';
import { LABEL, SHADOW_METRIC, type Clock } from '../common/index.ts';
import type { CaptureConfig } from './config.ts';
import { toRecord, type CaptureField, type Exchange } from './record.ts';

export interface CaptureOptions {
  dir: string;
  /** Base file name; rotated files insert `.1`, `.2`, ... before `.jsonl`. */
  fileName: string;
  maxFileBytes: number;
  /** Files kept, the current one included. */
  maxFiles: number;
  fields: ReadonlySet<CaptureField>;
  /** Keep only these inputs of JSON request bodies; absent: the whole body. */
  inputs?: ReadonlySet<string>;
  /** Models captured; absent: every model. */
  models?: ReadonlySet<string>;
  maxQueueBytes: number;
}

export const CAPTURE_FILE = 'capture.jsonl';
// Lines waiting for the disk; beyond this, captures are dropped and counted.
const CAPTURE_MAX_QUEUE_BYTES = 8 * 1024 * 1024;

export type CaptureOutcome = 'written' | 'dropped_queue_full' | 'dropped_write_error' | 'dropped_too_large';

export interface CaptureCounts {
  count(model: string, outcome: CaptureOutcome): void;
}

export class CaptureWriter {
  readonly #o: CaptureOptions;
  readonly #clock: Clock;
  readonly #counts: CaptureCounts;
  #queue: { line: string; model: string }[] = [];
  #queuedBytes = 0;
  #file: FileHandle | undefined;
  #fileBytes = 0;
  #pump: Promise<void> | undefined;
  #closed = false;

  constructor(options: CaptureOptions, clock: Clock, counts: CaptureCounts) {
    this.#o = options;
    this.#clock = clock;
    this.#counts = counts;
  }

  /** Path of the file being written. */
  get path(): string {
    return join(this.#o.dir, this.#o.fileName);
  }

  /** Queues one exchange; never throws, never waits. */
  offer(x: Exchange): void {
    if (this.#closed || (this.#o.models && !this.#o.models.has(x.model))) return;
    let line: string;
    try {
      line = `${JSON.stringify(toRecord(x, this.#o.fields, new Date(this.#clock.now()), this.#o.inputs))}\n`;
    } catch {
      this.#counts.count(x.model, 'dropped_write_error');
      return;
    }
    const bytes = Buffer.byteLength(line);
    if (bytes > this.#o.maxFileBytes) return this.#counts.count(x.model, 'dropped_too_large');
    if (this.#queuedBytes + bytes > this.#o.maxQueueBytes) return this.#counts.count(x.model, 'dropped_queue_full');
    this.#queue.push({ line, model: x.model });
    this.#queuedBytes += bytes;
    this.#pump ??= this.#write().finally(() => {
      this.#pump = undefined;
      if (this.#queue.length > 0 && !this.#closed) this.#pump = this.#write();
    });
  }

  /** Resolves once everything queued so far is written. */
  async flush(): Promise<void> {
    while (this.#pump) await this.#pump;
  }

  /** Writes what is queued, then closes the file; later offers are ignored. */
  async close(): Promise<void> {
    await this.flush();
    this.#closed = true;
    await this.#file?.close().catch(() => {});
    this.#file = undefined;
  }

  async #write(): Promise<void> {
    while (this.#queue.length > 0) {
      // Take what fits in the current file (at least one line: a new file always takes one).
      const batch: { line: string; model: string }[] = [];
      let size = 0;
      try {
        const file = await this.#open();
        while (this.#queue.length > 0) {
          const next = this.#queue[0]!;
          const b = Buffer.byteLength(next.line);
          if (this.#fileBytes + size + b > this.#o.maxFileBytes && (size > 0 || this.#fileBytes > 0)) break;
          batch.push(this.#queue.shift()!);
          this.#queuedBytes -= b;
          size += b;
        }
        if (batch.length === 0) {
          await this.#rotate();
          continue;
        }
        await file.write(batch.map((l) => l.line).join(''));
        this.#fileBytes += size;
        for (const l of batch) this.#counts.count(l.model, 'written');
      } catch {
        for (const l of batch) this.#counts.count(l.model, 'dropped_write_error');
        // The queue is dropped too: a disk that fails now is unlikely to take the rest.
        for (const l of this.#queue.splice(0)) this.#counts.count(l.model, 'dropped_write_error');
        this.#queuedBytes = 0;
        await this.#file?.close().catch(() => {});
        this.#file = undefined;
      }
    }
  }

  async #open(): Promise<FileHandle> {
    if (this.#file) return this.#file;
    await mkdir(this.#o.dir, { recursive: true });
    this.#file = await open(this.path, 'a');
    this.#fileBytes = (await stat(this.path)).size;
    return this.#file;
  }

  async #rotate(): Promise<void> {
    await this.#file?.close();
    this.#file = undefined;
    const name = (i: number) => join(this.#o.dir, i === 0 ? this.#o.fileName : rotatedName(this.#o.fileName, i));
    await rm(name(this.#o.maxFiles - 1), { force: true });
    for (let i = this.#o.maxFiles - 2; i >= 0; i--) await rename(name(i), name(i + 1)).catch(() => {});
    this.#fileBytes = 0;
  }
}

/** `modelgate_capture_records_total{model, outcome}` in `registry`, as the writer's counts. */
export function registerCaptureMetrics(registry: Registry): CaptureCounts {
  const c = new Counter({
    name: SHADOW_METRIC.captured,
    help: 'Sampled exchanges offered to the capture files, by outcome: written, dropped_queue_full, dropped_write_error, dropped_too_large.',
    labelNames: [LABEL.model, LABEL.outcome],
    registers: [registry],
  });
  return { count: (model, outcome) => c.inc({ [LABEL.model]: model, [LABEL.outcome]: outcome }) };
}

/** The writer of a validated `capture:` section (file `capture.jsonl` in its `dir`). */
export function captureWriter(config: CaptureConfig, clock: Clock, counts: CaptureCounts): CaptureWriter {
  return new CaptureWriter(
    {
      dir: config.dir,
      fileName: CAPTURE_FILE,
      maxFileBytes: config.maxFileBytes,
      maxFiles: config.maxFiles,
      fields: new Set(config.fields),
      maxQueueBytes: CAPTURE_MAX_QUEUE_BYTES,
      ...(config.inputs ? { inputs: new Set(config.inputs) } : {}),
      ...(config.models ? { models: new Set(config.models) } : {}),
    },
    clock,
    counts,
  );
}

/** `capture.jsonl` → `capture.2.jsonl`. */
export function rotatedName(fileName: string, i: number): string {
  const dot = fileName.lastIndexOf('.');
  return dot > 0 ? `${fileName.slice(0, dot)}.${i}${fileName.slice(dot)}` : `${fileName}.${i}`;
}
