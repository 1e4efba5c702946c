// TLS from files, reloaded when the files change. cert-manager and similar tools rotate a
// certificate by replacing its files (or swapping the `..data` symlink of a mounted Secret);
// a listener built with a ReloadableTls picks the new pair up without a restart: the
// folders are watched (fs.watch) and, because fs.watch misses events on some file systems
// (network mounts, some container overlays), the files are also read on a timer. A changed
// set is checked by building a secure context from it; only a set that builds (certificate
// and key parse and match, the CA parses) is handed to `server.setSecureContext(...)`, so
// connections already open keep theirs and new handshakes get the new certificate. A set
// that does not build (a half-written pair, a key of another certificate) leaves the old
// context serving and is reported once through `onError`; the next change is tried again.
import { X509Certificate } from 'node:crypto';
import { readFileSync, watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { createSecureContext, type SecureContextOptions } from 'node:tls';

/** A listener's TLS files (PEM). With `clientCa`, clients must present a certificate it signed (mTLS). */
export interface TlsFiles {
  cert: string;
  key: string;
  clientCa?: string;
}

/** What a client (the proxy towards an upstream) trusts and presents. */
export interface ClientTlsFiles {
  /** CA bundle the server's certificate must chain to; absent: the system's roots. */
  ca?: string;
  /** Client certificate and key, for an upstream that requires mTLS (both or neither). */
  cert?: string;
  key?: string;
  /** Name checked against the server's certificate (and sent as SNI); default: the URL's host. */
  serverName?: string;
}

/** The part of a TLS server (node:https, node:http2 secure, node:tls) a reload needs. */
export interface SecureContextTarget {
  setSecureContext(options: SecureContextOptions): void;
}

export interface ReloadableTlsOptions {
  /** Also re-read the files this often, ms (fs.watch misses events on some file systems); default 10 s. */
  pollMs?: number;
  /** A watch event is acted on after this quiet time, ms, so a pair written file by file is read once; default 100 ms. */
  settleMs?: number;
  /** A changed set was loaded and handed to the servers. */
  onReload?: (serial: string) => void;
  /** A changed set did not load; the previous one keeps serving. */
  onError?: (err: Error) => void;
}

interface LoadedSet {
  /** The files' bytes, joined: a change in any of them is a new set. */
  fingerprint: string;
  options: SecureContextOptions;
  serial: string;
}

const DEFAULT_POLL_MS = 10_000;
const DEFAULT_SETTLE_MS = 100;

/**
 * Server TLS from files, kept current. `serverOptions()` gives what to pass when creating
 * the server (`requestCert`/`rejectUnauthorized` when a client CA is set); `attach(server)`
 * registers a server to receive new contexts.
 */
export class ReloadableTls {
  readonly files: TlsFiles;
  #current: LoadedSet;
  #lastFailed: string | undefined;
  readonly #targets = new Set<SecureContextTarget>();
  readonly #watchers: FSWatcher[] = [];
  #poll: NodeJS.Timeout | undefined;
  #settle: NodeJS.Timeout | undefined;
  #reloading: Promise<boolean> | undefined;
  #again = false;
  #closed = false;
  readonly #opts: ReloadableTlsOptions;
  /** Sets loaded after the first, and changed sets that did not load. */
  readonly stats = { reloads: 0, failures: 0 };

  private constructor(files: TlsFiles, first: LoadedSet, opts: ReloadableTlsOptions) {
    this.files = files;
    this.#current = first;
    this.#opts = opts;
  }

  /** Reads and checks the files (throws with the file named when they do not load), then watches them. */
  static async open(files: TlsFiles, opts: ReloadableTlsOptions = {}): Promise<ReloadableTls> {
    const first = await loadSet(files);
    const t = new ReloadableTls(files, first, opts);
    t.#watch();
    return t;
  }

  /** Options for `https.createServer` / `http2.createSecureServer`. */
  serverOptions(): SecureContextOptions & { requestCert: boolean; rejectUnauthorized: boolean } {
    const mtls = this.files.clientCa !== undefined;
    return { ...this.#current.options, requestCert: mtls, rejectUnauthorized: mtls };
  }

  /** Serial number (hex) of the certificate served now. */
  get serial(): string {
    return this.#current.serial;
  }

  attach(server: SecureContextTarget): void {
    this.#targets.add(server);
  }

  detach(server: SecureContextTarget): void {
    this.#targets.delete(server);
  }

  /** Reads the files now; true when a new set was loaded. Concurrent calls share one read. */
  reload(): Promise<boolean> {
    if (this.#reloading) {
      this.#again = true;
      return this.#reloading;
    }
    this.#reloading = this.#reloadOnce().finally(() => {
      this.#reloading = undefined;
      if (this.#again && !this.#closed) {
        this.#again = false;
        void this.reload();
      }
    });
    return this.#reloading;
  }

  close(): void {
    this.#closed = true;
    for (const w of this.#watchers.splice(0)) w.close();
    clearInterval(this.#poll);
    clearTimeout(this.#settle);
    this.#targets.clear();
  }

  async #reloadOnce(): Promise<boolean> {
    let fingerprint: string;
    try {
      fingerprint = await readFingerprint(this.files);
    } catch (e) {
      // A file missing for a moment (a rename in progress): keep serving, try at the next event.
      return this.#fail(`unreadable:${(e as Error).message}`, e as Error);
    }
    if (fingerprint === this.#current.fingerprint || this.#closed) return false;
    if (fingerprint === this.#lastFailed) return false;
    let next: LoadedSet;
    try {
      next = await loadSet(this.files);
    } catch (e) {
      return this.#fail(fingerprint, e as Error);
    }
    if (next.fingerprint !== fingerprint) this.#again = true; // changed while reading: look once more
    this.#current = next;
    this.#lastFailed = undefined;
    for (const t of this.#targets) t.setSecureContext(next.options);
    this.stats.reloads++;
    this.#opts.onReload?.(next.serial);
    return true;
  }

  #fail(fingerprint: string, err: Error): false {
    if (fingerprint !== this.#lastFailed) {
      this.#lastFailed = fingerprint;
      this.stats.failures++;
      this.#opts.onError?.(err);
    }
    return false;
  }

  #watch(): void {
    const dirs = new Set([this.files.cert, this.files.key, ...(this.files.clientCa ? [this.files.clientCa] : [])].map((f) => dirname(f)));
    const settleMs = this.#opts.settleMs ?? DEFAULT_SETTLE_MS;
    const onEvent = () => {
      clearTimeout(this.#settle);
      this.#settle = setTimeout(() => void this.reload(), settleMs);
      this.#settle.unref();
    };
    for (const dir of dirs) {
      try {
        const w = watch(dir, { persistent: false }, onEvent);
        w.on('error', () => w.close()); // the folder went away: the timer still reads the files
        this.#watchers.push(w);
      } catch {
        // fs.watch is not available here: the timer alone reloads.
      }
    }
    this.#poll = setInterval(() => void this.reload(), this.#opts.pollMs ?? DEFAULT_POLL_MS);
    this.#poll.unref();
  }
}

async function readFingerprint(files: TlsFiles): Promise<string> {
  const parts = await Promise.all([files.cert, files.key, files.clientCa].map((f) => (f === undefined ? '' : readFile(f, 'latin1'))));
  return parts.join('\0');
}

async function loadSet(files: TlsFiles): Promise<LoadedSet> {
  // Read together, reported in order: with several files missing, the certificate is named first.
  const read = await Promise.allSettled([
    readPem(files.cert, 'certificate'),
    readPem(files.key, 'key'),
    files.clientCa === undefined ? Promise.resolve(undefined) : readPem(files.clientCa, 'client CA'),
  ]);
  for (const r of read) if (r.status === 'rejected') throw r.reason;
  const [cert, key, ca] = read.map((r) => (r as PromiseFulfilledResult<Buffer | undefined>).value) as [Buffer, Buffer, Buffer | undefined];
  const options: SecureContextOptions = { cert, key, ...(ca ? { ca } : {}) };
  try {
    // Throws on a certificate or key that does not parse, and on a key of another certificate.
    createSecureContext(options);
  } catch (e) {
    throw new Error(`TLS files ${files.cert} and ${files.key}${files.clientCa ? ` (client CA ${files.clientCa})` : ''} do not load: ${(e as Error).message}`, { cause: e });
  }
  const fingerprint = [cert, key, ca ?? ''].map((b) => b.toString('latin1')).join('\0');
  return { fingerprint, options, serial: serialOf(cert) };
}

async function readPem(path: string, what: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (e) {
    throw new Error(`cannot read the TLS ${what} file ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e });
  }
}

function serialOf(certPem: Buffer): string {
  try {
    return new X509Certificate(certPem).serialNumber;
  } catch {
    return '';
  }
}

/** A client's TLS material as node:tls / undici `connect` options take it. */
export interface ClientTls {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  servername?: string;
}

/** Reads a client's TLS files once, at start (the proxy's upstream connections), for node:tls / undici `connect` options. */
export function readClientTls(files: ClientTlsFiles): ClientTls {
  const out: ClientTls = {};
  if (files.ca !== undefined) out.ca = readPemSync(files.ca, 'CA');
  if (files.cert !== undefined) out.cert = readPemSync(files.cert, 'client certificate');
  if (files.key !== undefined) out.key = readPemSync(files.key, 'client key');
  if (out.cert && out.key) {
    try {
      createSecureContext({ cert: out.cert, key: out.key, ...(out.ca ? { ca: out.ca } : {}) });
    } catch (e) {
      throw new Error(`upstream TLS files ${files.cert} and ${files.key} do not load: ${(e as Error).message}`, { cause: e });
    }
  }
  if (files.serverName !== undefined) out.servername = files.serverName;
  return out;
}

function readPemSync(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new Error(`cannot read the TLS ${what} file ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e });
  }
}
