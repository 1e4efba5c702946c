// A LeaseBackend (app/leader.ts) on a file that every replica can reach: replicas on one
// host, or pods sharing a ReadWriteMany volume. The read-decide-write of tryAcquire runs
// under a short mutex (a `<file>.lock` created with O_EXCL, which is atomic on local
// filesystems and on NFSv3+), and the lease is replaced by rename so readers never see
// half a record.
//
// Limits (docs/fleet.md): expiry compares the writer's timestamps with the reader's
// clock, so the replicas' clocks must agree to well within the grace period (true on one
// host; NTP on a shared volume). A process that dies inside the critical section (about a
// millisecond) leaves the mutex behind; it is broken after STALE_MUTEX_MS.
import { open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import type { LeaseBackend, LeaseRecord } from './leader.ts';

/** The critical section is a read and a rename; a mutex this old belongs to a dead process. */
export const STALE_MUTEX_MS = 10_000;
/** Waiting for the mutex: a few short tries, then give up for this round (the elector retries). */
const MUTEX_TRIES = 20;
const MUTEX_WAIT_MS = 5;

export class FileLeaseBackend implements LeaseBackend {
  readonly path: string;
  readonly #mutex: string;

  constructor(path: string) {
    this.path = path;
    this.#mutex = `${path}.lock`;
  }

  describe(): string {
    return `file ${this.path}`;
  }

  /** The current record, or null (no file, or a file that is not a lease). */
  async read(): Promise<LeaseRecord | null> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw e;
    }
    try {
      const r = JSON.parse(text) as Partial<LeaseRecord>;
      if (typeof r.holder === 'string' && typeof r.renewedAt === 'number' && typeof r.ttlMs === 'number') return { holder: r.holder, renewedAt: r.renewedAt, ttlMs: r.ttlMs };
    } catch {
      // A torn or foreign file counts as no lease; the next write replaces it.
    }
    return null;
  }

  async tryAcquire(holder: string, ttlMs: number, now: number): Promise<{ acquired: boolean; record: LeaseRecord | null }> {
    return this.#locked(async () => {
      const current = await this.read();
      const free = current === null || current.holder === holder || current.renewedAt + current.ttlMs <= now;
      if (!free) return { acquired: false, record: current };
      const record: LeaseRecord = { holder, renewedAt: now, ttlMs };
      await this.#write(record);
      return { acquired: true, record };
    });
  }

  async release(holder: string): Promise<void> {
    await this.#locked(async () => {
      const current = await this.read();
      if (current?.holder === holder) await rm(this.path, { force: true });
    });
  }

  async #write(record: LeaseRecord): Promise<void> {
    const tmp = `${this.path}.${process.pid}.tmp`;
    await writeFile(tmp, `${JSON.stringify(record)}\n`);
    await rename(tmp, this.path);
  }

  async #locked<T>(fn: () => Promise<T>): Promise<T> {
    for (let i = 0; ; i++) {
      try {
        const h = await open(this.#mutex, 'wx');
        await h.close();
        break;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        if (await this.#breakStale()) continue;
        if (i >= MUTEX_TRIES) throw new Error(`${this.#mutex} is held by another replica; trying again on the next renewal`);
        await new Promise((r) => setTimeout(r, MUTEX_WAIT_MS));
      }
    }
    try {
      return await fn();
    } finally {
      await rm(this.#mutex, { force: true });
    }
  }

  async #breakStale(): Promise<boolean> {
    try {
      const s = await stat(this.#mutex);
      if (Date.now() - s.mtimeMs < STALE_MUTEX_MS) return false;
      await rm(this.#mutex, { force: true });
      return true;
    } catch {
      return true; // gone already: try again
    }
  }
}
