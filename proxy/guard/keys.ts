// API keys: stored as digests, compared as digests. A presented key is hashed with SHA-256
// and looked up by its digest (a lookup on a digest tells a timing observer nothing about
// the key); scrypt-stored keys are checked once per distinct presented key (asynchronously,
// off the event loop) and the answer cached by the key's SHA-256, so a hot key costs one hash.
import { createHash, scrypt, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ConfigError } from '../../common/index.ts';
import type { Issue } from '../../common/index.ts';
import type { ApiKeySpec } from './config.ts';

export interface KeyIdentity {
  name: string;
  groups: readonly string[];
}

const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');

// Bounds the scrypt answer cache: a client guessing keys cannot grow it without end.
const SCRYPT_CACHE_MAX = 1024;

export class ApiKeys {
  readonly #byDigest = new Map<string, KeyIdentity>();
  readonly #scrypt: Array<{ id: KeyIdentity; salt: Buffer; hash: Buffer }> = [];
  /** sha256(presented key) → identity or null (checked, no match). */
  readonly #scryptSeen = new Map<string, KeyIdentity | null>();

  /** Reads `file` and `env` keys now; throws ConfigError naming every key that cannot be read. */
  constructor(specs: readonly ApiKeySpec[], env: Record<string, string | undefined>, path = 'proxy.auth.apiKeys') {
    const problems: Issue[] = [];
    specs.forEach((s, i) => {
      const id: KeyIdentity = Object.freeze({ name: s.name, groups: Object.freeze([...s.groups]) });
      const src = s.source;
      if (src.kind === 'sha256') this.#byDigest.set(src.hex, id);
      else if (src.kind === 'scrypt') this.#scrypt.push({ id, salt: Buffer.from(src.salt, 'base64'), hash: Buffer.from(src.hash, 'base64') });
      else {
        let key: string | undefined;
        if (src.kind === 'env') {
          key = env[src.name]?.trim();
          if (!key) problems.push({ severity: 'error', path: `${path}[${i}].env`, message: `the environment variable ${src.name} is not set or empty` });
        } else {
          try {
            key = readFileSync(src.path, 'utf8').trim();
            if (!key) problems.push({ severity: 'error', path: `${path}[${i}].file`, message: `${src.path} is empty` });
          } catch (e) {
            problems.push({ severity: 'error', path: `${path}[${i}].file`, message: `cannot read ${src.path} (${(e as NodeJS.ErrnoException).code ?? String(e)})` });
          }
        }
        if (key) this.#byDigest.set(sha256(key), id);
      }
    });
    if (problems.length > 0) throw new ConfigError('proxy.auth', problems);
  }

  /** The identity of a presented key, or undefined. A promise only for scrypt keys not seen before. */
  verify(key: string): KeyIdentity | undefined | Promise<KeyIdentity | undefined> {
    const digest = sha256(key);
    const hit = this.#byDigest.get(digest);
    if (hit || this.#scrypt.length === 0) return hit;
    const seen = this.#scryptSeen.get(digest);
    if (seen !== undefined) return seen ?? undefined;
    return this.#checkScrypt(key).then((id) => {
      if (this.#scryptSeen.size >= SCRYPT_CACHE_MAX) this.#scryptSeen.delete(this.#scryptSeen.keys().next().value!);
      this.#scryptSeen.set(digest, id ?? null);
      return id;
    });
  }

  async #checkScrypt(key: string): Promise<KeyIdentity | undefined> {
    for (const k of this.#scrypt) {
      const got = await new Promise<Buffer>((resolve, reject) => scrypt(key, k.salt, k.hash.length, (err, buf) => (err ? reject(err) : resolve(buf))));
      if (timingSafeEqual(got, k.hash)) return k.id;
    }
    return undefined;
  }
}

/** `scrypt:<salt>:<hash>` for a key (what the README tells operators to store). */
export function scryptKeyHash(key: string, salt: Buffer): Promise<string> {
  return new Promise((resolve, reject) =>
    scrypt(key, salt, 32, (err, buf) => (err ? reject(err) : resolve(`scrypt:${salt.toString('base64')}:${buf.toString('base64')}`))),
  );
}

/** `sha256:<hex>` for a key. */
export const sha256KeyHash = (key: string): string => `sha256:${sha256(key)}`;
