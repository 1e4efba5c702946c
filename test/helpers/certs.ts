// Certificates made in the test: a throwaway CA that issues server and client certificates
// (node-forge signs; keys come from node:crypto, which is faster than forge's pure-JS RSA).
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request as httpsRequestRaw } from 'node:https';
import forge from 'node-forge';

export interface Issued {
  cert: string;
  key: string;
  /** Serial number, upper-case hex as node's X509Certificate#serialNumber and TLSSocket#getPeerCertificate give it. */
  serial: string;
}

export interface IssueOptions {
  /** Common name; default 'localhost'. */
  cn?: string;
  /** DNS names and IPs in subjectAltName; default localhost and 127.0.0.1. */
  dns?: string[];
  ips?: string[];
  /** Validity; default from an hour ago for a day. */
  notBefore?: Date;
  notAfter?: Date;
  /** A client certificate (extendedKeyUsage clientAuth) instead of a server one. */
  client?: boolean;
}

function newKeys(): { privateKey: forge.pki.rsa.PrivateKey; publicKey: forge.pki.rsa.PublicKey; keyPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
  });
  return { privateKey: forge.pki.privateKeyFromPem(privateKey), publicKey: forge.pki.publicKeyFromPem(publicKey), keyPem: privateKey };
}

function serialHex(): string {
  // Positive (top bit clear), no leading zero byte.
  const b = randomBytes(8);
  b[0] = (b[0]! & 0x7f) | 0x10;
  return b.toString('hex').toUpperCase();
}

export class TestCa {
  readonly cert: string;
  readonly #key: forge.pki.rsa.PrivateKey;
  readonly #subject: forge.pki.CertificateField[];

  private constructor(cert: string, key: forge.pki.rsa.PrivateKey, subject: forge.pki.CertificateField[]) {
    this.cert = cert;
    this.#key = key;
    this.#subject = subject;
  }

  static create(name = 'modelgate test CA'): TestCa {
    const { privateKey, publicKey } = newKeys();
    const c = forge.pki.createCertificate();
    c.publicKey = publicKey;
    c.serialNumber = serialHex();
    c.validity.notBefore = new Date(Date.now() - 3600_000);
    c.validity.notAfter = new Date(Date.now() + 10 * 86400_000);
    const subject = [{ name: 'commonName', value: name }];
    c.setSubject(subject);
    c.setIssuer(subject);
    c.setExtensions([
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
      { name: 'subjectKeyIdentifier' },
    ]);
    c.sign(privateKey, forge.md.sha256.create());
    return new TestCa(forge.pki.certificateToPem(c), privateKey, subject);
  }

  issue(o: IssueOptions = {}): Issued {
    const { privateKey, publicKey, keyPem } = newKeys();
    const c = forge.pki.createCertificate();
    c.publicKey = publicKey;
    const serial = serialHex();
    c.serialNumber = serial;
    c.validity.notBefore = o.notBefore ?? new Date(Date.now() - 3600_000);
    c.validity.notAfter = o.notAfter ?? new Date(Date.now() + 86400_000);
    c.setSubject([{ name: 'commonName', value: o.cn ?? 'localhost' }]);
    c.setIssuer(this.#subject);
    const altNames = [
      ...(o.dns ?? ['localhost']).map((value) => ({ type: 2, value })),
      ...(o.ips ?? ['127.0.0.1']).map((ip) => ({ type: 7, ip })),
    ];
    c.setExtensions([
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', serverAuth: !o.client, clientAuth: !!o.client },
      ...(o.client ? [] : [{ name: 'subjectAltName', altNames }]),
    ]);
    c.sign(this.#key, forge.md.sha256.create());
    return { cert: forge.pki.certificateToPem(c), key: keyPem, serial };
  }
}

/** A folder of TLS files in the temp dir, replaced the way cert-manager does (write aside, rename over). */
export class TlsDir {
  private constructor(readonly root: string) {}

  static async create(): Promise<TlsDir> {
    return new TlsDir(await mkdtemp(join(tmpdir(), 'modelgate-tls-')));
  }

  path(name: string): string {
    return join(this.root, name);
  }

  /** Writes `name` atomically (temporary file, then rename). */
  async put(name: string, pem: string): Promise<string> {
    const tmp = join(this.root, `.${name}.${randomBytes(4).toString('hex')}`);
    await writeFile(tmp, pem);
    await rename(tmp, join(this.root, name));
    return join(this.root, name);
  }

  /** Writes a certificate and its key as tls.crt / tls.key (or the names given). */
  async putPair(pair: Issued, cert = 'tls.crt', key = 'tls.key'): Promise<{ cert: string; key: string }> {
    return { cert: await this.put(cert, pair.cert), key: await this.put(key, pair.key) };
  }

  async remove(): Promise<void> {
    await rm(this.root, { recursive: true, force: true });
  }
}

export interface HttpsAnswer {
  status: number;
  body: string;
  /** Serial of the certificate the server presented. */
  serial: string;
}

/** One HTTPS request to 127.0.0.1 (a new connection unless an agent is given), trusting `ca`. */
export function httpsRequest(
  url: string,
  o: { ca: string; method?: string; body?: string; cert?: string; key?: string; agent?: import('node:https').Agent; headers?: Record<string, string> },
): Promise<HttpsAnswer> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const req = httpsRequestRaw(
      {
        host: u.hostname, port: u.port, path: `${u.pathname}${u.search}`, method: o.method ?? (o.body === undefined ? 'GET' : 'POST'),
        ca: o.ca, servername: 'localhost', agent: o.agent ?? false, headers: { ...(o.body !== undefined ? { 'content-type': 'application/json' } : {}), ...o.headers },
        ...(o.cert ? { cert: o.cert, key: o.key } : {}),
      },
      (res) => {
        const serial = (res.socket as import('node:tls').TLSSocket).getPeerCertificate().serialNumber;
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), serial }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(o.body);
  });
}

/**
 * Keeps HTTPS clients sending to `url` (new connections, and `keptAlive` clients on one
 * keep-alive agent) while `swap` replaces the certificate, until a new connection presents
 * `next` and load has kept flowing after it. Returns how many requests failed and succeeded.
 */
export async function rotateUnderLoad(
  o: { url: string; ca: string; body: string; next: Issued; newConnections: number; keptAlive: number; swap: () => Promise<unknown> },
  eventually: (fn: () => boolean, timeoutMs: number, stepMs: number, what: string) => Promise<unknown>,
): Promise<{ ok: number; failures: number }> {
  const { Agent } = await import('node:https');
  const keepAlive = new Agent({ keepAlive: true, maxSockets: 2 });
  let failures = 0;
  let ok = 0;
  let sawNew = false;
  let stop = false;
  const client = async (agent: import('node:https').Agent | undefined) => {
    while (!stop) {
      try {
        const r = await httpsRequest(o.url, { ca: o.ca, body: o.body, ...(agent ? { agent } : {}) });
        if (r.status === 200) ok++;
        else failures++;
        if (!agent && r.serial === o.next.serial) sawNew = true;
      } catch {
        failures++;
      }
    }
  };
  const load = [...Array.from({ length: o.newConnections }, () => client(undefined)), ...Array.from({ length: o.keptAlive }, () => client(keepAlive))];
  try {
    await eventually(() => ok > 20, 10_000, 20, 'load is flowing');
    await o.swap();
    await eventually(() => sawNew, 15_000, 20, 'a new connection sees the new serial');
    const after = ok;
    await eventually(() => ok > after + 20, 10_000, 20, 'load keeps flowing after the swap');
  } finally {
    stop = true;
    await Promise.all(load);
    keepAlive.destroy();
  }
  return { ok, failures };
}
