// A deterministic generator of fraud-model traffic: the reference file
// (examples/data/fraud-reference.jsonl) the example drift baseline is built from, and the
// traffic the drift tests and benchmark send — with optional shifts, to make drift on purpose.
//
//   node --import tsx examples/data/fraud-reference.ts           # rewrites the .jsonl
//   node --import tsx examples/data/fraud-reference.ts --check   # exits 1 if it is stale
//
// Marginals are chosen to look like card transactions (the fraud model standardizes each
// input with the mean/std in examples/models.ts, and these roughly match them):
//   amount            log-normal, mean ≈ 80, sd ≈ 120 (positive, long right tail)
//   account_age_days  log-normal, mean ≈ 700, sd ≈ 500, whole days
//   tx_last_hour      Poisson(1.5)
//   distance_km       log-normal, mean ≈ 15, sd ≈ 40
//   merchant_risk     Beta(2, 8): mean 0.2, in 0..1
//   hour_of_day       0..23, fewer transactions at night
//   device_age_days   log-normal, mean ≈ 300, sd ≈ 250, whole days
//   failed_logins     Poisson(0.3)
// Outputs are computed with the fraud model's own weights (read from its graph spec):
// fraud_probability = probabilities[:, 1], label = argmax.
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { fraud } from '../models.ts';
import { seededRandom } from '../../drift/random.ts';

export interface FraudRow {
  amount: number;
  account_age_days: number;
  tx_last_hour: number;
  distance_km: number;
  merchant_risk: number;
  hour_of_day: number;
  device_age_days: number;
  failed_logins: number;
}

export const FRAUD_INPUTS = ['amount', 'account_age_days', 'tx_last_hour', 'distance_km', 'merchant_risk', 'hour_of_day', 'device_age_days', 'failed_logins'] as const;

/** Multiplicative / additive changes to apply to the generated traffic. */
export interface FraudShift {
  /** Multiply amount (e.g. 3 = prices tripled). */
  amountScale?: number;
  /** Add to the log of distance (spread of the tail). */
  distanceLogSigmaScale?: number;
  /** Replace the hour-of-day profile with a flat one (a bot running round the clock). */
  flatHours?: boolean;
}

/** Log-normal parameters (μ, σ) for a given mean and sd: σ² = ln(1 + sd²/mean²), μ = ln(mean) − σ²/2. */
function logNormal(mean: number, sd: number): { mu: number; sigma: number } {
  const s2 = Math.log(1 + (sd * sd) / (mean * mean));
  return { mu: Math.log(mean) - s2 / 2, sigma: Math.sqrt(s2) };
}
const AMOUNT = logNormal(80, 120);
const ACCOUNT_AGE = logNormal(700, 500);
const DISTANCE = logNormal(15, 40);
const DEVICE_AGE = logNormal(300, 250);
/** Relative transaction volume per hour of day (night trough, evening peak). */
const HOUR_WEIGHTS = [2, 1, 1, 1, 1, 2, 3, 5, 6, 7, 7, 8, 9, 8, 8, 8, 8, 9, 10, 10, 9, 7, 5, 3];

export function fraudRows(n: number, seed: number, shift: FraudShift = {}): FraudRow[] {
  const random = seededRandom(seed);
  const normal = () => {
    // Box-Muller; 1 − u keeps the log away from 0.
    const u = 1 - random();
    const v = random();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  };
  const poisson = (lambda: number) => {
    // Knuth's method; fine for small λ.
    const limit = Math.exp(-lambda);
    let k = 0;
    let p = random();
    while (p > limit) {
      k++;
      p *= random();
    }
    return k;
  };
  const beta28 = () => {
    // Beta(2, 8) is the 2nd smallest of 9 uniforms.
    const u = Array.from({ length: 9 }, random).sort((a, b) => a - b);
    return u[1]!;
  };
  const hourTotal = HOUR_WEIGHTS.reduce((a, b) => a + b, 0);
  const hour = () => {
    if (shift.flatHours) return Math.floor(random() * 24);
    let r = random() * hourTotal;
    for (let h = 0; h < 24; h++) {
      r -= HOUR_WEIGHTS[h]!;
      if (r < 0) return h;
    }
    return 23;
  };
  const rows: FraudRow[] = [];
  for (let i = 0; i < n; i++) {
    rows.push({
      amount: round(Math.exp(AMOUNT.mu + AMOUNT.sigma * normal()) * (shift.amountScale ?? 1), 2),
      account_age_days: Math.floor(Math.exp(ACCOUNT_AGE.mu + ACCOUNT_AGE.sigma * normal())),
      tx_last_hour: poisson(1.5),
      distance_km: round(Math.exp(DISTANCE.mu + DISTANCE.sigma * (shift.distanceLogSigmaScale ?? 1) * normal()), 1),
      merchant_risk: round(beta28(), 3),
      hour_of_day: hour(),
      device_age_days: Math.floor(Math.exp(DEVICE_AGE.mu + DEVICE_AGE.sigma * normal())),
      failed_logins: poisson(0.3),
    });
  }
  return rows;
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** The fraud model's outputs for rows, computed from its graph spec (same weights as model.onnx). */
export function fraudPredict(rows: readonly FraudRow[], version: 1 | 2 = 1): { probabilities: [number, number][]; label: number[] } {
  const spec = fraud(version);
  const init = (name: string) => Array.from(spec.initializers!.find((i) => i.name === name)!.values);
  const mean = init('mean');
  const std = init('std');
  const w = init('W'); // [8, 2]: column 1 holds the fraud weights
  const bias = init('B')[1]!;
  const probabilities: [number, number][] = [];
  const label: number[] = [];
  for (const row of rows) {
    let z = bias;
    FRAUD_INPUTS.forEach((name, k) => {
      z += (w[2 * k + 1]! * (row[name] - mean[k]!)) / std[k]!;
    });
    const p = 1 / (1 + Math.exp(-z));
    probabilities.push([1 - p, p]);
    label.push(z > 0 ? 1 : 0);
  }
  return { probabilities, label };
}

/** Reference rows as written to the .jsonl: inputs plus the model's outputs. */
export function fraudReferenceLines(n = REFERENCE_ROWS, seed = REFERENCE_SEED): string {
  const rows = fraudRows(n, seed);
  const { probabilities, label } = fraudPredict(rows);
  return rows.map((r, i) => JSON.stringify({ ...r, fraud_probability: round(probabilities[i]![1], 6), label: label[i] })).join('\n') + '\n';
}

/** 5000 rows: enough for stable decile edges (each decile ± ~0.4 percentile points). */
export const REFERENCE_ROWS = 5000;
export const REFERENCE_SEED = 20261125;
export const REFERENCE_FILE = fileURLToPath(new URL('./fraud-reference.jsonl', import.meta.url));

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const text = fraudReferenceLines();
  if (process.argv.includes('--check')) {
    const current = await readFile(REFERENCE_FILE, 'utf8').catch(() => '');
    if (current !== text) {
      console.error('stale: examples/data/fraud-reference.jsonl (run: node --import tsx examples/data/fraud-reference.ts)');
      process.exitCode = 1;
    }
  } else {
    await writeFile(REFERENCE_FILE, text);
    console.log(`wrote ${REFERENCE_FILE} (${REFERENCE_ROWS} rows)`);
  }
}
