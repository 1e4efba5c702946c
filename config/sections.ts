// The sections of modelgate.yaml. Each area validates its own section next to its code;
// this file only lists them. To add a section, add ONE line to SECTIONS:
//   section('proxy', readProxyConfig),
// Its validator receives the raw value (undefined when the section is absent), the path
// to report problems at, and the Issues collector, and returns the section's frozen model.
import type { Issues } from '../common/index.ts';
import { closest } from '../common/suggest.ts';
import { validateSlos } from '../slo/config.ts';
import { validateNotify } from '../slo/notify/config.ts';
import { readProxyConfig } from '../proxy/config.ts';
import { validateDriftSection } from '../drift/config.ts';
import { validateTruthSection } from '../truth/config.ts';
import { validateCapture } from '../shadow/config.ts';
import { validateRollouts } from '../rollout/config.ts';
import { validateSloSource } from '../slo/source-config.ts';
import { checkDriftSlis } from '../slo/drift-check.ts';
import { validateLeader, warnEveryReplicaActs } from '../app/leader-config.ts';

export interface Section<K extends string = string, T = unknown> {
  key: K;
  validate(raw: unknown, path: string, issues: Issues): T;
}

const section = <K extends string, T>(key: K, validate: (raw: unknown, path: string, issues: Issues) => T): Section<K, T> => ({ key, validate });

export const SECTIONS = [
  section('slos', validateSlos),
  section('notify', validateNotify),
  section('proxy', readProxyConfig),
  section('drift', validateDriftSection),
  section('truth', validateTruthSection),
  section('capture', validateCapture),
  section('rollouts', validateRollouts),
  section('sloSource', validateSloSource),
  section('leader', validateLeader),
] as const;

/** The validated value of every section, by key (typed from SECTIONS). */
export type SectionValues = { readonly [S in (typeof SECTIONS)[number] as S['key']]: ReturnType<S['validate']> };

/** Checks that span sections, run after every section validated. */
export const CROSS_CHECKS: ReadonlyArray<(config: SectionValues, issues: Issues) => void> = [
  function driftSlosHaveDriftWindows(config, issues) {
    checkDriftSlis(config.slos, config.drift, issues);
  },
  warnEveryReplicaActs,
  function sloNotifyTargetsExist(config, issues) {
    const names = config.notify.map((t) => t.name);
    config.slos.forEach((slo, i) => {
      slo.notify.forEach((n, j) => {
        if (names.includes(n)) return;
        const near = closest(n, names);
        issues.error(
          `slos[${i}].notify[${j}]`,
          `no notification target named "${n}" in notify:${near ? `; did you mean "${near}"?` : names.length ? ` (targets: ${names.join(', ')})` : '; add one under the top-level notify: list'}`,
        );
      });
    });
  },
];
