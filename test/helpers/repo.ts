// Temporary model repositories for tests, built with the project's own ONNX builder.
import { cp, mkdtemp, mkdir, rm, writeFile, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildModel, type GraphSpec } from '../../examples/lib/onnx-builder.ts';

export const EXAMPLES = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'examples', 'models');

export class TempRepo {
  private constructor(readonly root: string) {}

  static async create(): Promise<TempRepo> {
    return new TempRepo(await mkdtemp(join(tmpdir(), 'modelgate-test-')));
  }

  /** Copies one example model (all its versions) into the repo. */
  async copyExample(model: string): Promise<string> {
    const dst = join(this.root, model);
    await cp(join(EXAMPLES, model), dst, { recursive: true });
    await this.age(dst);
    return dst;
  }

  /**
   * Writes <model>/<version>/model.onnx. `settled` backdates the file so the server loads it
   * at the next scan (a fresh file must stay unchanged for one poll interval first).
   */
  async writeVersion(model: string, version: number, bytes: Uint8Array | GraphSpec, settled = true): Promise<string> {
    const path = join(this.root, model, String(version), 'model.onnx');
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, bytes instanceof Uint8Array ? bytes : buildModel(bytes));
    if (settled) await this.age(path);
    return path;
  }

  async age(path: string): Promise<void> {
    const old = new Date(Date.now() - 60_000);
    const { stat, readdir } = await import('node:fs/promises');
    const s = await stat(path);
    if (s.isDirectory()) for (const e of await readdir(path)) await this.age(join(path, e));
    await utimes(path, old, old);
  }

  path(...parts: string[]): string {
    return join(this.root, ...parts);
  }

  async remove(): Promise<void> {
    await rm(this.root, { recursive: true, force: true });
  }
}

type Falsy = undefined | null | false | '' | 0;
/**
 * Polls until `fn` returns a truthy value, which it returns, or the time runs out (bounded by
 * wall-clock time). A throw from `fn` counts as "not yet"; the last one is in the timeout's
 * message, with `what` when given. The one polling helper of the tests.
 */
export async function eventually<T>(fn: () => Promise<T | Falsy> | T | Falsy, timeoutMs = 10_000, stepMs = 50, what?: string): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v as T;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`${what ?? 'condition'} not met within ${timeoutMs} ms${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

export async function postJson(url: string, body: unknown): Promise<{ status: number; text: string; json: any; headers: Headers }> {
  const res = await fetch(url, { method: 'POST', body: typeof body === 'string' ? body : JSON.stringify(body), headers: { 'content-type': 'application/json' } });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, text, json, headers: res.headers };
}

export async function getJson(url: string): Promise<{ status: number; text: string; json: any; headers: Headers }> {
  const res = await fetch(url);
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, text, json, headers: res.headers };
}

export { writeFile };
