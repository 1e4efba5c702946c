export { regularizedGammaQ, chiSquareSurvival, kolmogorovSurvival } from './special.ts';
export { ksTwoSample, ksStatisticSorted, ksExactSurvival, ksAsymptoticSurvival, KS_EXACT_MAX_CELLS } from './ks.ts';
export type { KsResult } from './ks.ts';
export { chiSquareTwoSample } from './chi-square.ts';
export type { ChiSquareResult } from './chi-square.ts';
export { psi, PSI_EMPTY_BIN_SHARE } from './psi.ts';
export { jensenShannonDistance } from './jensen-shannon.ts';
export { wassersteinDistance, normedWasserstein, WASSERSTEIN_MIN_NORM } from './wasserstein.ts';
