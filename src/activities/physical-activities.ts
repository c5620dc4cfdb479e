// Every physical backup and chain restore activity, registered by one line in index.ts.
import type { ActivityDeps } from './deps.ts';
import { createPhysicalBackupActivities } from './physical.ts';
import { createPhysicalRestoreActivities } from './physical-restore.ts';

export function createPhysicalActivities(deps: ActivityDeps) {
  return {
    ...createPhysicalBackupActivities(deps),
    ...createPhysicalRestoreActivities(deps),
  };
}
