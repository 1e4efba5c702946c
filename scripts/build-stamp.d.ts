// Types of build-stamp.js (plain JavaScript: bin/modelgate.js loads it before anything is compiled).
export const STAMP_FILE: string;
export const BUILD_TSCONFIG: string;
export function sourceFiles(root: string): string[];
export function isSource(rel: string): boolean;
export function fingerprint(root: string, files: readonly string[]): Record<string, string>;
export function buildIsCurrent(root: string, distDir: string): boolean;
