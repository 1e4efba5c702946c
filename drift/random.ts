// Drift's seeded numbers: reservoirs and baseline samples must be reproducible (the
// committed example baseline rebuilds byte for byte). The generators live in common/.
import { fnv1a, seededRandom } from '../common/random.ts';

export { seededRandom };

/** A stable 32-bit seed from a string, so each model/version/feature reservoir gets its own stream. */
export const seedOf: (text: string) => number = fnv1a;
