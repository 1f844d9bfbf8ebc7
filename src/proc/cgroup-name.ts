import { basename, dirname, isAbsolute, normalize } from 'node:path';

// Where a task's cgroup lives: <the launcher's cgroup>/taskwatch/<registry key>-<task id>. The
// name is derived, so a path read back from the registry (which a task could rewrite) is only
// trusted if it ends in the task's own name.

export const CGROUP_PARENT = 'taskwatch';

export const cgroupLeaf = (registryKey: string, id: number): string => `${registryKey}-${id}`;

export function cgroupNameOk(path: string, registryKey: string, id: number): boolean {
  return isAbsolute(path) && normalize(path) === path && basename(path) === cgroupLeaf(registryKey, id) && basename(dirname(path)) === CGROUP_PARENT;
}
