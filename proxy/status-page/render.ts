// The status page as one self-contained HTML document: inline CSS, inline SVG charts, no
// script and no external request (the admin port is often on a host without internet).
// It refreshes itself every 10 s with <meta http-equiv="refresh">.
import type { AccuracyRow, DriftVersionRow, PredictionStoreRow, RolloutRow, Series, ShadowRow, SloRow, AlertRow, StatusModel } from './types.ts';

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
export const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => ESCAPES[c]!);

/** Budget as a percentage with one decimal ("87.3%"); "–" without data. */
export function formatPercent(ratio: number | null): string {
  return ratio === null || !Number.isFinite(ratio) ? '–' : `${(ratio * 100).toFixed(1)}%`;
}

/** Burn rate with two decimals ("14.40×"); "–" without data. */
export function formatBurn(rate: number | null): string {
  return rate === null || !Number.isFinite(rate) ? '–' : `${rate.toFixed(2)}×`;
}

export function formatNumber(n: number): string {
  return Math.abs(n) >= 0.01 || n === 0 ? n.toFixed(3) : n.toExponential(2);
}

const CHART_W = 220;
const CHART_H = 44;

/** A sparkline of one series over the last hour, with an optional horizontal reference line. */
export function sparkline(s: Series, now: number, spanMs: number, reference?: number): string {
  const values = s.points.map((p) => p[1]);
  const max = Math.max(...values, reference ?? 0, 1e-9);
  const min = Math.min(...values, 0);
  const x = (t: number) => (((t - (now - spanMs)) / spanMs) * CHART_W).toFixed(1);
  const y = (v: number) => (CHART_H - 2 - ((v - min) / (max - min || 1)) * (CHART_H - 4)).toFixed(1);
  const line = s.points.map(([t, v]) => `${x(t)},${y(v)}`).join(' ');
  const ref = reference === undefined ? '' : `<line x1="0" x2="${CHART_W}" y1="${y(reference)}" y2="${y(reference)}" class="ref"/>`;
  const last = s.points[s.points.length - 1]!;
  return `<figure class="chart"><svg viewBox="0 0 ${CHART_W} ${CHART_H}" width="${CHART_W}" height="${CHART_H}" role="img" aria-label="${esc(s.label)}">${ref}<polyline points="${line}"/>${s.points.length === 1 ? `<circle cx="${x(last[0])}" cy="${y(last[1])}" r="2"/>` : ''}</svg><figcaption>${esc(s.label)}</figcaption></figure>`;
}

const badge = (text: string, kind: string) => `<span class="badge ${esc(kind)}">${esc(text)}</span>`;

function verdictKind(v: string): string {
  return v === 'pass' || v === 'no_drift' || v === 'Succeeded' ? 'ok' : v === 'fail' || v === 'drift' || v === 'RolledBack' || v === 'Failed' || v === 'Blocked' ? 'bad' : 'warn';
}

function sloTable(rows: readonly SloRow[]): string {
  if (!rows.length) return '<p class="empty">No SLOs configured.</p>';
  const windows = [...new Set(rows.flatMap((r) => r.burnRates.map((b) => b.window)))];
  const head = `<tr><th>SLO</th><th>model</th><th>version</th><th>objective</th><th>budget left</th>${windows.map((w) => `<th>burn ${esc(w)}</th>`).join('')}<th>alerts</th><th>verdict</th></tr>`;
  const body = rows
    .map((r) => {
      const key = `data-slo="${esc(r.slo)}" data-model="${esc(r.model)}" data-version="${esc(r.version)}"`;
      const budgetClass = r.budgetRemaining === null ? '' : r.budgetRemaining <= 0 ? 'bad' : r.budgetRemaining < 0.25 ? 'warn' : 'ok';
      const cells = windows
        .map((w) => {
          const b = r.burnRates.find((x) => x.window === w)?.burnRate ?? null;
          return `<td class="num" data-field="burn" data-window="${esc(w)}" ${key}>${formatBurn(b)}</td>`;
        })
        .join('');
      const bar = r.budgetRemaining === null ? '' : `<span class="bar"><span style="width:${Math.max(0, Math.min(100, r.budgetRemaining * 100)).toFixed(1)}%"></span></span>`;
      return `<tr><td>${esc(r.slo)}</td><td>${esc(r.model)}</td><td>${esc(r.version)}</td><td class="num">${formatPercent(r.objective).replace('.0%', '%')}</td><td class="num ${budgetClass}" data-field="budget" ${key}>${formatPercent(r.budgetRemaining)}${bar}</td>${cells}<td>${r.firing.length ? r.firing.map((f) => badge(f, 'bad')).join(' ') : '<span class="muted">none</span>'}</td><td title="${esc(r.reason)}">${badge(r.verdict, verdictKind(r.verdict))}</td></tr>`;
    })
    .join('');
  return `<table>${head}${body}</table>`;
}

function driftTable(rows: readonly DriftVersionRow[]): string {
  if (!rows.length) return '<p class="empty">Drift detection is not configured or has no data yet.</p>';
  return rows
    .map((v) => {
      const feats = v.features
        .map((f) => {
          const key = `data-model="${esc(v.model)}" data-version="${esc(v.version)}" data-feature="${esc(f.feature)}"`;
          const kind = f.drifted === null ? 'warn' : f.drifted ? 'bad' : 'ok';
          return `<tr><td>${esc(f.feature)}</td><td>${esc(f.method)}</td><td class="num" data-field="drift-score" ${key}>${formatNumber(f.score)}</td><td class="num">${formatNumber(f.threshold)}</td><td>${badge(f.drifted === null ? 'n/a' : f.drifted ? 'drift' : 'ok', kind)}</td></tr>`;
        })
        .join('');
      return `<h3>${esc(v.model)} v${esc(v.version)} ${badge(v.verdict, verdictKind(v.verdict))}</h3><p class="reason">${esc(v.reason)}</p>${feats ? `<table><tr><th>feature</th><th>method</th><th>score</th><th>threshold</th><th></th></tr>${feats}</table>` : ''}`;
    })
    .join('');
}

function rolloutTable(rows: readonly RolloutRow[]): string {
  if (!rows.length) return '<p class="empty">No rollouts.</p>';
  return rows
    .map((r) => {
      const hist = r.history
        .slice(-5)
        .reverse()
        .map((h) => `<li>${esc(h.endedAt)}: ${badge(h.phase, verdictKind(h.phase))} canary ${esc(h.canary ?? '–')} / stable ${esc(h.stable ?? '–')}, ${esc(h.reason)}</li>`)
        .join('');
      return `<div class="rollout"><h3>${esc(r.model)} ${badge(r.phase, verdictKind(r.phase))}</h3><p>canary <b>${esc(r.canary ?? '–')}</b> at <b class="num" data-field="weight" data-model="${esc(r.model)}">${r.weight}%</b>, stable <b>${esc(r.stable ?? '–')}</b></p><p class="reason">${esc(r.reason)}</p>${hist ? `<ul class="history">${hist}</ul>` : ''}</div>`;
    })
    .join('');
}

function shadowTable(rows: readonly ShadowRow[]): string {
  if (!rows.length) return '<p class="empty">No rollout is in a shadow step.</p>';
  return `<table><tr><th>model</th><th>candidate</th><th>mirrored</th><th>compared</th><th>agreement</th><th>most different</th><th>candidate errors</th><th>dropped</th></tr>${rows
    .map((r) => {
      const key = `data-model="${esc(r.model)}" data-version="${esc(r.candidate)}"`;
      const kind = r.agreement === null ? '' : r.agreement >= 0.99 ? 'ok' : 'bad';
      return `<tr><td>${esc(r.model)}</td><td>${esc(r.candidate)}</td><td class="num">${formatPercent(r.share)}</td><td class="num" data-field="shadow-pairs" ${key}>${r.pairs} (${r.rows} rows)</td><td class="num ${kind}" data-field="shadow-agreement" ${key}>${formatPercent(r.agreement)}</td><td>${esc(r.worst ?? '–')}</td><td class="num">${r.candidateErrors}</td><td class="num">${r.dropped}</td></tr>`;
    })
    .join('')}</table>`;
}

function predictionStoreLine(s: PredictionStoreRow | null | undefined): string {
  if (!s) return '';
  const e = s.evictions;
  return `<p data-field="prediction-store">Prediction store: <span data-field="store-entries">${s.entries}</span> of ${s.maxEntries} predictions held; evicted ${e.ttl} expired, ${e.capacity} for capacity, ${e.conflict} for a repeated request id. Feedback: ${s.feedbackBatches} batches, ${s.labelledRows} labelled rows, <span data-field="unmatched">${s.unmatched}</span> unmatched ids.</p>`;
}

function accuracyTable(rows: readonly AccuracyRow[]): string {
  if (!rows.length) return '<p class="empty">No labels yet (or no <code>truth:</code> section).</p>';
  return `<table><tr><th>model</th><th>version</th><th>labelled</th><th>labelled share</th><th>accuracy</th><th>MAE</th><th>RMSE</th><th>label delay</th></tr>${rows
    .map((r) => {
      const key = `data-model="${esc(r.model)}" data-version="${esc(r.version)}"`;
      const num = (x: number | null) => (x === null ? '–' : formatNumber(x));
      return `<tr><td>${esc(r.model)}</td><td>${esc(r.version)}</td><td class="num">${r.labelled}</td><td class="num">${formatPercent(r.labelledShare)}</td><td class="num" data-field="accuracy" ${key}>${formatPercent(r.accuracy)}</td><td class="num">${num(r.mae)}</td><td class="num">${num(r.rmse)}</td><td class="num">${r.labelDelaySeconds === null ? '–' : `${r.labelDelaySeconds.toFixed(1)} s`}</td></tr>`;
    })
    .join('')}</table>`;
}

function alertList(rows: readonly AlertRow[]): string {
  if (!rows.length) return '<p class="empty">No alerts since start.</p>';
  return `<table><tr><th>status</th><th>severity</th><th>SLO</th><th>model</th><th>version</th><th>since</th><th>until</th></tr>${rows
    .map((a) => `<tr data-alert="${esc(a.status)}"><td>${badge(a.status, a.status === 'firing' ? 'bad' : 'ok')}</td><td>${esc(a.severity)}</td><td>${esc(a.slo)}</td><td>${esc(a.model)}</td><td>${esc(a.version)}</td><td>${esc(a.startsAt)}</td><td>${esc(a.endsAt ?? '')}</td></tr>`)
    .join('')}</table>`;
}

function charts(title: string, series: readonly Series[], now: number, spanMs: number, reference?: number): string {
  if (!series.length) return '';
  return `<h3>${esc(title)}</h3><div class="charts">${series.map((s) => sparkline(s, now, spanMs, reference)).join('')}</div>`;
}

const CSS = `
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;background:#f6f7f9;color:#1d232b}
header{background:#1d232b;color:#fff;padding:12px 24px;display:flex;justify-content:space-between;align-items:baseline}
header h1{font-size:18px;margin:0}main{padding:8px 24px 24px}
section{background:#fff;border:1px solid #dde1e6;border-radius:6px;padding:8px 16px 12px;margin:12px 0}
h2{font-size:16px;margin:4px 0 8px}h3{font-size:14px;margin:10px 0 4px}
table{border-collapse:collapse;width:100%}th,td{padding:4px 8px;border-bottom:1px solid #eef0f3;text-align:left}
th{font-weight:600;color:#59636e;font-size:12px}.num{text-align:right;font-variant-numeric:tabular-nums}
.badge{display:inline-block;padding:0 6px;border-radius:8px;font-size:12px;font-weight:600}
.badge.ok{background:#dcf5e3;color:#116329}.badge.bad{background:#ffe0e0;color:#a40e26}.badge.warn{background:#fff1c2;color:#7a5200}
td.ok{color:#116329}td.bad{color:#a40e26;font-weight:600}td.warn{color:#7a5200}
.bar{display:block;height:4px;background:#eef0f3;border-radius:2px;margin-top:2px}.bar span{display:block;height:4px;background:#2da44e;border-radius:2px}
.muted,.empty,.reason{color:#59636e}.reason{margin:0 0 4px;font-size:12px}
.charts{display:flex;flex-wrap:wrap;gap:8px}.chart{margin:0;border:1px solid #eef0f3;border-radius:4px;padding:4px}
.chart svg{display:block}.chart polyline{fill:none;stroke:#0969da;stroke-width:1.5}.chart circle{fill:#0969da}.chart .ref{stroke:#cf222e;stroke-dasharray:3 3}
.chart figcaption{font-size:11px;color:#59636e}.grid{display:grid;grid-template-columns:1fr 1fr;gap:0 12px}
ul.history{margin:0;padding-left:18px;font-size:12px}.errors{color:#a40e26}
`;

export function renderStatusPage(m: StatusModel & { errors?: string[] }, spanMs: number): string {
  const now = Date.parse(m.generatedAt);
  const firing = m.slos.filter((s) => s.firing.length).length;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta http-equiv="refresh" content="10"><title>modelgate status${firing ? ` (${firing} burning)` : ''}</title><style>${CSS}</style></head>
<body><header><h1>modelgate status</h1><span data-field="generated-at">${esc(m.generatedAt)}</span></header><main>
${m.errors?.length ? `<section class="errors"><h2>Sources that failed</h2><ul>${m.errors.map((e) => `<li>${esc(e)}</li>`).join('')}</ul></section>` : ''}
<section id="slos"><h2>SLOs: error budget and burn rates</h2>${sloTable(m.slos)}
${charts('Worst burn rate, last hour (dashed: 1×, on budget)', m.charts.burnRate, now, spanMs, 1)}${charts('Budget remaining, last hour', m.charts.budget, now, spanMs)}</section>
<div class="grid"><section id="rollouts"><h2>Rollouts</h2>${rolloutTable(m.rollouts)}${charts('Canary weight, last hour', m.charts.weight, now, spanMs)}</section>
<section id="alerts"><h2>Recent alerts</h2>${alertList(m.alerts)}</section></div>
<div class="grid"><section id="shadow"><h2>Shadow traffic</h2>${shadowTable(m.shadow ?? [])}</section>
<section id="accuracy"><h2>Accuracy on labelled predictions</h2>${accuracyTable(m.accuracy ?? [])}${predictionStoreLine(m.predictionStore)}</section></div>
<section id="drift"><h2>Drift per feature</h2>${driftTable(m.drift)}</section>
</main></body></html>
`;
}
