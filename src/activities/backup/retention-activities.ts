// Retention of logical backups: delete what the policy lets go, objects first and manifests last.
import { selectBackupsToDelete } from '../catalog/retention.ts';
import { manifestKeyFor, type RetentionPolicy } from '../../workflows/backup/contracts.ts';
import type { DatabaseRef } from '../../workflows/copy/contracts.ts';
import { listManifests } from '../catalog/manifests.ts';
import { storageActivityFailure } from '../storage/streams.ts';
import type { ActivityDeps } from '../deps.ts';

export interface ApplyRetentionInput {
  target: string;
  source: DatabaseRef;
  /** Retention applies to the backups of this schedule (null: on-demand backups of the source). */
  scheduleId: string | null;
  retention: RetentionPolicy;
  /** The backup just written: never deleted, whatever the policy says. */
  keep: string;
}

export function createRetentionActivities(deps: Pick<ActivityDeps, 'stores'>) {
  return {
    /**
     * Deletes the backups of this source (and schedule) that the policy no longer keeps, each with
     * its manifest. Only backups with a valid manifest are considered: what cannot be read is left alone.
     */
    async applyRetention({ target, source, scheduleId, retention, keep }: ApplyRetentionInput): Promise<{ deleted: string[] }> {
      try {
        const store = deps.stores.get(target);
        const { manifests } = await listManifests(store, `${source.database}/`);
        const mine = manifests.filter(
          (m) => m.source.connection === source.connection && m.source.database === source.database && m.scheduleId === scheduleId,
        );
        const doomed = selectBackupsToDelete(mine, retention, new Date()).filter((m) => m.key !== keep);
        // Objects first, manifests last: a run interrupted in between leaves manifests that the retry
        // lists again and finishes deleting. The other order would orphan objects no listing finds.
        await store.delete(doomed.map((m) => m.key));
        await store.delete(doomed.map((m) => manifestKeyFor(m.key)));
        return { deleted: doomed.map((m) => m.key) };
      } catch (error) {
        throw storageActivityFailure(error);
      }
    },
  };
}
