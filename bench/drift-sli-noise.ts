// How often a clean drift window reads as drifted, by rows per window (run by hand):
//   node --import tsx bench/drift-sli-noise.ts [windows]
// Every window is fresh traffic drawn like the reference (examples/data/fraud-reference.ts
// `fraudRows`, a new seed per window) judged by the example config's drift: section against
// the committed fraud/1 baseline. Each drifted window is a bad event of a drift SLI, so this
// is the budget a healthy model version spends on noise. Not a timing: counts only.
// minSamples is lowered to the window's row count where it is above it, so windows smaller
// than the default minSamples are judged (and show why the default is what it is).
import { ManualClock } from '../common/index.ts';
import { loadConfig } from '../config/index.ts';
import { DriftRecorder, loadBaselines } from '../drift/index.ts';
import { fraudRows } from '../examples/data/fraud-reference.ts';
import { tfServingRowBodies } from '../test/drift/helpers.ts';

const WINDOWS = Number(process.argv[2] ?? 200);
const SIZES = [200, 250, 300, 400, 500, 2000];

const config = loadConfig('examples/modelgate.yaml');
const { profiles } = await loadBaselines(config.drift.baselineDir);
console.log(`| rows per window | clean windows judged drifted | share |`);
console.log(`|---:|---:|---:|`);
for (const rows of SIZES) {
  const clock = new ManualClock(0);
  const drift = new DriftRecorder({ ...config.drift, minSamples: Math.min(rows, config.drift.minSamples) }, { clock, baselines: profiles });
  let drifted = 0;
  let conclusive = 0;
  drift.onWindowClosed((w) => {
    if (w.drifted !== null) conclusive++;
    if (w.drifted === true) drifted++;
  });
  for (let k = 0; k < WINDOWS; k++) {
    const batch = fraudRows(rows, 10_000 + k);
    for (let i = 0; i < batch.length; i += 10) {
      drift.offer({ model: 'fraud', version: '1', api: 'predict', protocol: 'rest', ...tfServingRowBodies(batch.slice(i, i + 10)), contentType: 'application/json' });
    }
    await drift.flush();
    clock.advance(config.drift.window);
    drift.evaluate();
  }
  console.log(`| ${rows} | ${drifted} of ${conclusive} | ${((100 * drifted) / Math.max(1, conclusive)).toFixed(1)}% |`);
}
