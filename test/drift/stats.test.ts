// The drift statistics against values computed by SciPy/NumPy. The values and the script
// that produced them are in test/drift/fixtures/ (make_reference_values.py).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  chiSquareSurvival,
  kolmogorovSurvival,
  ksTwoSample,
  chiSquareTwoSample,
  jensenShannonDistance,
  psi,
  wassersteinDistance,
  normedWasserstein,
} from '../../drift/stats/index.ts';

interface Fixture {
  chi2_sf: { x: number; df: number; sf: number }[];
  kolmogorov_sf: { lambda: number; sf: number }[];
  ks_2samp: { name: string; a: number[]; b: number[]; statistic: number; pExact: number; pAsymp: number }[];
  chi2_contingency: { name: string; reference: number[]; current: number[]; statistic: number; pValue: number; df: number }[];
  jensenshannon: { name: string; reference: number[]; current: number[]; distance: number }[];
  psi: { name: string; reference: number[]; current: number[]; psi: number }[];
  wasserstein: { name: string; a: number[]; b: number[]; distance: number; normed: number }[];
}
const fixture = JSON.parse(readFileSync(new URL('./fixtures/reference-values.json', import.meta.url), 'utf8')) as Fixture;

/** |actual − expected| within `rel` of expected, or within `abs` for values near 0. */
function close(actual: number, expected: number, rel: number, abs = 1e-12, what = ''): void {
  const ok = Math.abs(actual - expected) <= Math.max(abs, rel * Math.abs(expected));
  assert.ok(ok, `${what}: got ${actual}, SciPy ${expected}`);
}

test('the chi-square survival function matches scipy.stats.chi2.sf', () => {
  for (const c of fixture.chi2_sf) close(chiSquareSurvival(c.x, c.df), c.sf, 1e-10, 1e-300, `chi2.sf(${c.x}, ${c.df})`);
});

test('the Kolmogorov survival function matches scipy.special.kolmogorov', () => {
  for (const c of fixture.kolmogorov_sf) close(kolmogorovSurvival(c.lambda), c.sf, 1e-9, 1e-14, `kolmogorov(${c.lambda})`);
});

test('the two-sample KS statistic and exact p-value match scipy ks_2samp(method="exact")', () => {
  for (const c of fixture.ks_2samp) {
    const r = ksTwoSample(c.a, c.b, { exactMaxCells: Infinity });
    close(r.statistic, c.statistic, 1e-12, 1e-12, `${c.name} D`);
    // The exact walk computes 1 − P(inside), so tiny p-values are good to ~1e-12 absolute.
    close(r.pValue, c.pExact, 1e-7, 1e-11, `${c.name} p`);
    assert.equal(r.pMethod, 'exact');
  }
});

test('the asymptotic KS p-value is within 20% of the exact one wherever it decides at alpha 0.05', () => {
  // Stephens' correction (ours) and scipy's kstwo-based 'asymp' differ slightly from each
  // other; what matters is that both land on the same side of any usual alpha.
  for (const c of fixture.ks_2samp.filter((k) => k.a.length * k.b.length >= 1000)) {
    const r = ksTwoSample(c.a, c.b, { exactMaxCells: 0 });
    assert.equal(r.pMethod, 'asymptotic');
    close(r.pValue, c.pExact, 0.2, 1e-9, `${c.name} asymptotic p`);
    assert.equal(r.pValue < 0.05, c.pExact < 0.05, c.name);
  }
});

test('the chi-square homogeneity test matches scipy chi2_contingency(correction=False)', () => {
  for (const c of fixture.chi2_contingency) {
    const r = chiSquareTwoSample(c.reference, c.current);
    close(r.statistic, c.statistic, 1e-10, 1e-12, `${c.name} statistic`);
    close(r.pValue, c.pValue, 1e-8, 1e-300, `${c.name} p`);
    assert.equal(r.df, c.df, `${c.name} df`);
  }
});

test('the Jensen-Shannon distance matches scipy.spatial.distance.jensenshannon', () => {
  for (const c of fixture.jensenshannon) close(jensenShannonDistance(c.reference, c.current), c.distance, 1e-10, 1e-7, c.name);
});

test('PSI over decile bins matches the NumPy computation, empty bins at 1e-4', () => {
  for (const c of fixture.psi) close(psi(c.reference, c.current), c.psi, 1e-10, 1e-12, c.name);
});

test('the Wasserstein distance matches scipy.stats.wasserstein_distance, and its normed form Evidently\'s', () => {
  for (const c of fixture.wasserstein) {
    close(wassersteinDistance(c.a, c.b), c.distance, 1e-10, 1e-12, `${c.name} W1`);
    close(normedWasserstein(c.a, c.b), c.normed, 1e-10, 1e-12, `${c.name} normed`);
  }
});

test('statistics of an empty sample are NaN, not a false verdict', () => {
  assert.ok(Number.isNaN(psi([], [1, 2])));
  assert.ok(Number.isNaN(jensenShannonDistance([0, 0], [1, 2])));
  assert.ok(Number.isNaN(ksTwoSample([], [1, 2]).pValue));
  assert.ok(Number.isNaN(normedWasserstein([1], [])));
  assert.ok(Number.isNaN(chiSquareTwoSample([3, 4], [0, 0]).pValue));
});

test('a single shared category gives chi-square p = 1 (nothing to compare)', () => {
  assert.deepEqual(chiSquareTwoSample([10], [5]), { statistic: 0, pValue: 1, df: 0 });
});
