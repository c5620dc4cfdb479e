// Every physical backup and chain restore activity, registered by one line in index.ts.
import { createPhysicalBackupActivities } from './backup.ts';
import { createPhysicalRestoreActivities } from './restore-chain.ts';
import type { ActivityDeps } from '../deps.ts';

/** What physical backups and chain restores use of the worker's clients. */
export type PhysicalDeps = Pick<ActivityDeps, 'config' | 'pools' | 'stores'>;

export function createPhysicalActivities(deps: PhysicalDeps) {
  return {
    ...createPhysicalBackupActivities(deps),
    ...createPhysicalRestoreActivities(deps),
  };
}
