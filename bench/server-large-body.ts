// What one (or a few) of the largest REST bodies the server accepts costs everyone else:
// the longest event-loop block (seen from outside as the slowest /v2/health/live probe while
// the large request runs) and the server's RSS before, at its peak and after.
//
//   node --import tsx bench/server-large-body.ts [--body_bytes 8388608] [--concurrent 1]
//        [--model half_plus_two] [--max_body_bytes N] [--settle_ms 5000] [--extra_flags "..."]
//
// The server is `modelgate serve` on examples/models.yaml in a child process, so the load
// generator and the probe do not share its event loop. The body is TF Serving row format,
// numbers written like a client writes float32s ("0.48215634,"), sized to --body_bytes.
// RSS comes from /proc/<pid>/status (VmRSS, sampled every 10 ms; VmHWM for the peak).
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Agent, request } from 'undici';
import { helpText, parseArgs, type FlagSpec } from '../cli/args.ts';

const FLAGS: FlagSpec[] = [
  { name: 'body_bytes', type: 'number', default: 8 * 1024 * 1024, help: 'size of each large request body' },
  { name: 'concurrent', type: 'number', default: 1, help: 'large requests sent at once' },
  { name: 'model', type: 'string', default: 'half_plus_two', help: 'half_plus_two (a 1-D list of numbers) or mlp (rows of 256)' },
  { name: 'max_body_bytes', type: 'number', help: 'the server\'s --max_body_bytes (default: the server\'s default)' },
  { name: 'settle_ms', type: 'number', default: 5000, help: 'how long after the last answer RSS is read again' },
  { name: 'extra_flags', type: 'string', default: '', help: 'more `modelgate serve` flags, space-separated' },
  { name: 'help', type: 'boolean', help: 'show this help' },
];

const ROOT = join(fileURLToPath(new URL('.', import.meta.url)), '..');

function rssMiB(pid: number): { rss: number; hwm: number } {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(s)?.[1] ?? 0);
  return { rss: kb('VmRSS') / 1024, hwm: kb('VmHWM') / 1024 };
}

function makeBody(model: string, bytes: number): string {
  const num = () => (0.1 + Math.random() * 0.8).toFixed(8); // "0.48215634", 10 characters
  if (model === 'mlp') {
    const row = `[${Array.from({ length: 256 }, num).join(',')}]`;
    const rows = Math.max(1, Math.floor((bytes - 20) / (row.length + 1)));
    return `{"instances":[${new Array(rows).fill(row).join(',')}]}`;
  }
  const n = Math.max(1, Math.floor((bytes - 20) / 11));
  return `{"instances":[${Array.from({ length: n }, num).join(',')}]}`;
}

async function main(): Promise<void> {
  const { flags } = parseArgs(process.argv.slice(2), FLAGS);
  if (flags.help) {
    console.log(helpText('usage: node --import tsx bench/server-large-body.ts [flags]', FLAGS));
    return;
  }
  const args = [join(ROOT, 'bin', 'modelgate.js'), 'serve', '--model_config_file', join(ROOT, 'examples', 'models.yaml'), '--rest_api_port', '0', '--port', '-1', '--host', '127.0.0.1'];
  if (flags.max_body_bytes !== undefined) args.push('--max_body_bytes', String(flags.max_body_bytes));
  if (flags.extra_flags) args.push(...String(flags.extra_flags).split(' ').filter(Boolean));
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`server did not start: ${out}`)), 30_000);
      child.stdout.on('data', () => {
        const m = /REST listening on (http:\/\/[\d.:]+)/.exec(out);
        if (m) {
          clearTimeout(t);
          resolve(m[1]!);
        }
      });
    });
    const body = makeBody(String(flags.model), Number(flags.body_bytes));
    const pid = child.pid!;
    const probeAgent = new Agent({ connections: 1 });
    const bigAgent = new Agent({ connections: Number(flags.concurrent), bodyTimeout: 0, headersTimeout: 0 });
    // Warm up both paths with small requests.
    for (let i = 0; i < 20; i++) {
      await (await request(`${url}/v2/health/live`, { dispatcher: probeAgent })).body.text();
      await (await request(`${url}/v1/models/${flags.model}:predict`, { method: 'POST', body: makeBody(String(flags.model), 3000), dispatcher: bigAgent })).body.text();
    }
    await new Promise((r) => setTimeout(r, 500));
    const before = rssMiB(pid);
    let peak = before.rss;
    const sampler = setInterval(() => (peak = Math.max(peak, rssMiB(pid).rss)), 10);
    let probing = true;
    let worstProbeMs = 0;
    const probe = (async () => {
      while (probing) {
        const t0 = performance.now();
        await (await request(`${url}/v2/health/live`, { dispatcher: probeAgent })).body.text();
        worstProbeMs = Math.max(worstProbeMs, performance.now() - t0);
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    const t0 = performance.now();
    const results = await Promise.all(
      Array.from({ length: Number(flags.concurrent) }, async () => {
        const s = performance.now();
        const r = await request(`${url}/v1/models/${flags.model}:predict`, { method: 'POST', body, headers: { 'content-type': 'application/json' }, dispatcher: bigAgent });
        const text = await r.body.text();
        return { status: r.statusCode, ms: performance.now() - s, bytes: text.length, error: r.statusCode === 200 ? '' : text.slice(0, 120) };
      }),
    );
    const wall = performance.now() - t0;
    probing = false;
    await probe;
    const atEnd = rssMiB(pid);
    await new Promise((r) => setTimeout(r, Number(flags.settle_ms)));
    const settled = rssMiB(pid);
    clearInterval(sampler);
    await probeAgent.close();
    await bigAgent.close();
    console.log(JSON.stringify({
      model: flags.model,
      body_bytes: Buffer.byteLength(body),
      concurrent: Number(flags.concurrent),
      statuses: results.map((r) => r.status),
      errors: results.map((r) => r.error).filter(Boolean),
      answer_ms: results.map((r) => Math.round(r.ms)),
      wall_ms: Math.round(wall),
      worst_probe_ms: Math.round(worstProbeMs),
      rss_before_mib: Math.round(before.rss),
      rss_peak_mib: Math.round(Math.max(peak, atEnd.hwm > before.hwm ? atEnd.hwm : peak)),
      rss_at_end_mib: Math.round(atEnd.rss),
      rss_after_settle_mib: Math.round(settled.rss),
    }));
  } finally {
    child.kill('SIGTERM');
  }
}

await main();
