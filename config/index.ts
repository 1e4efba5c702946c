export { loadConfig, checkConfig, parseConfig, API_VERSION } from './loader.ts';
export type { Config, CheckResult, SourceFormat } from './loader.ts';
export { SECTIONS, CROSS_CHECKS } from './sections.ts';
export type { Section, SectionValues } from './sections.ts';
export { closest, editDistance, suggestion } from '../common/suggest.ts';
export { lineOf, pathSegments } from './positions.ts';
