// Every physical backup and chain restore activity, registered by one line in index.ts.
import type { ActivityDeps } from '../deps.ts';
import { createPhysicalBackupActivities } from './backup.ts';
import { createPhysicalRestoreActivities } from './restore-chain.ts';

export function createPhysicalActivities(deps: ActivityDeps) {
  return {
    ...createPhysicalBackupActivities(deps),
    ...createPhysicalRestoreActivities(deps),
  };
}
