// The top-level `notify:` section: named notification targets that SLOs refer to.
//
//   notify:
//     - name: oncall
//       webhook: http://127.0.0.1:9099/alerts      # Alertmanager webhook payload (version "4")
//     - name: alertmanager
//       alertmanager: http://alertmanager:9093     # POST /api/v2/alerts
//       timeout: 5s
import { Issues, checkKeys, isRecord, join, readDuration, readString } from '../../common/index.ts';

export type NotifyKind = 'webhook' | 'alertmanager';

export interface NotifyTarget {
  name: string;
  kind: NotifyKind;
  /** Webhook: the URL posted to. Alertmanager: its base URL (`/api/v2/alerts` is appended). */
  url: string;
  timeoutMs: number;
}

/** Alertmanager's own webhook client default is 10s; 5s keeps a stuck receiver from piling up retries. */
export const DEFAULT_NOTIFY_TIMEOUT_MS = 5000;
const KEYS = ['name', 'webhook', 'alertmanager', 'timeout'];

export function validateNotify(raw: unknown, path: string, issues: Issues): NotifyTarget[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) {
    issues.error(path, 'must be a list of targets, e.g. - { name: oncall, webhook: http://host/hook }');
    return [];
  }
  const out: NotifyTarget[] = [];
  const names = new Set<string>();
  raw.forEach((t, i) => {
    const p = join(path, i);
    if (!isRecord(t)) {
      issues.error(p, 'must be a mapping { name, webhook | alertmanager }');
      return;
    }
    checkKeys(t, KEYS, p, issues);
    const name = readString(t, 'name', p, issues, { required: true });
    if (name !== undefined) {
      if (names.has(name)) issues.error(join(p, 'name'), `"${name}" is already used by another target`);
      names.add(name);
    }
    const webhook = readString(t, 'webhook', p, issues);
    const am = readString(t, 'alertmanager', p, issues);
    if ((webhook === undefined) === (am === undefined)) {
      issues.error(p, 'needs exactly one of webhook: <url> (Alertmanager webhook payload) or alertmanager: <base url> (POST /api/v2/alerts)');
      return;
    }
    const kind: NotifyKind = webhook !== undefined ? 'webhook' : 'alertmanager';
    const url = (webhook ?? am)!;
    if (!isHttpUrl(url)) {
      issues.error(join(p, kind), `must be an http:// or https:// URL, got ${JSON.stringify(url)}`);
      return;
    }
    const timeoutMs = readDuration(t, 'timeout', p, issues, { default: DEFAULT_NOTIFY_TIMEOUT_MS });
    if (name !== undefined) out.push({ name, kind, url, timeoutMs });
  });
  return out;
}

function isHttpUrl(s: string): boolean {
  try {
    const u = new URL(s);
    return u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    return false;
  }
}
