// Which versions on disk should be served (TF Serving's ServableVersionPolicy,
// tensorflow_serving/config/file_system_storage_path_source.proto): latest N (default 1),
// all, or a specific list.

export type VersionPolicy =
  | { kind: 'latest'; numVersions: number }
  | { kind: 'all' }
  | { kind: 'specific'; versions: number[] };

export const DEFAULT_POLICY: VersionPolicy = { kind: 'latest', numVersions: 1 };

/** The aspired versions: the subset of `onDisk` the policy wants loaded. */
export function aspiredVersions(policy: VersionPolicy, onDisk: readonly number[]): number[] {
  const sorted = [...onDisk].sort((a, b) => b - a);
  switch (policy.kind) {
    case 'latest':
      return sorted.slice(0, Math.max(1, policy.numVersions));
    case 'all':
      return sorted;
    case 'specific':
      return sorted.filter((v) => policy.versions.includes(v));
  }
}
