// The restore of one logical backup into a database, as a run of the workflow kit.
import { proxyActivities } from '@temporalio/workflow';
import { catalogActivity, cleanupActivity, toolActivity } from '../runs/activity-options.ts';
import type { Activities } from '../../activities/index.ts';
import { restorePhaseRange, type RestoreState, type RestoreWorkflowInput } from './contracts.ts';
import { cancelRestoreSignal, getRestoreStatusQuery } from './messages.ts';
import { dumpThenLoad } from '../runs/dump-then-load.ts';
import { newRunState, runJob, startOfRange, withinCurrentPhase } from '../runs/run-job.ts';

// Reading the manifest and the catalogue: a few retries for a flaky connection, never for a refused request.
const { validateRestore, verifyCopy, recreateSchemaObjectsFromDump } = proxyActivities<Activities>(catalogActivity);
// Download, checksum and load: long, heartbeating; on cancel the workflow waits until the tools are dead.
const { verifyBackupChecksum, loadSqlBackup, extractBackup, loadDump } = proxyActivities<Activities>(toolActivity);
const { removeDumpDirectory, dropCopyDestination } = proxyActivities<Activities>(cleanupActivity);

/**
 * Restores a backup into a database: validate (manifest, destination guards), verify the stored
 * object's sha256 before anything is written, load it, recreate schema objects, verify the row
 * counts, and always clean up. A failed or cancelled restore drops what it created. Its workflow id
 * is the destination's copy lock, so a copy and a restore into one database exclude each other.
 */
export async function restoreBackup(input: RestoreWorkflowInput): Promise<RestoreState> {
  const { destination, restoreId } = input;
  let existingDestination: { charset: string; collation: string } | null = null;
  let destinationTouched = false;
  return runJob<RestoreState>({
    state: newRunState<RestoreState>(restoreId, { backupId: null, tables: [] }),
    statusQuery: getRestoreStatusQuery,
    cancelSignal: cancelRestoreSignal,
    failureType: 'RestoreFailed',
    callbackUrl: input.callbackUrl,
    authorize: {
      workflow: 'restoreBackup',
      requestedBy: input.requestedBy,
      target: input.target,
      key: input.key,
      destination: input.destination,
    },
    webhookPayload: (base, s) => ({ ...base, backup_id: s.backupId, target: input.target, key: input.key }),
    firstPhase: 'validating',
    phaseStart: startOfRange(restorePhaseRange),
    progressRange: withinCurrentPhase({
      'verifying-checksum': restorePhaseRange['verifying-checksum'],
      loading: restorePhaseRange.loading,
    }),

    async work(run) {
      const { manifest, ...validated } = await validateRestore(input);
      existingDestination = validated.existingDestination;
      run.state.backupId = manifest.id;
      const stored = {
        target: input.target,
        key: input.key,
        sha256: manifest.sha256,
        size: manifest.size,
        compression: manifest.compression,
      };
      run.enter('verifying-checksum');
      await verifyBackupChecksum(stored);

      run.enter('loading');
      destinationTouched = true;
      // An empty destination that already existed keeps its character set, as copies do.
      const database = existingDestination ?? manifest.database ?? { charset: 'utf8mb4', collation: 'utf8mb4_general_ci' };
      const dropDestinationFirst = existingDestination === null;
      if (manifest.format === 'mysqldump') {
        // The dump carries routines, triggers and events with their own sql_mode: nothing to put right.
        await loadSqlBackup({ ...stored, destination, dropDestinationFirst, database });
      } else {
        const { dumpDir } = await dumpThenLoad(
          () => extractBackup({ ...stored, restoreId }),
          (extracted) =>
            loadDump({
              copyId: restoreId,
              sourceDatabase: manifest.source.database,
              destination,
              threads: input.threads,
              dumpDir: extracted.dumpDir,
              dropDestinationFirst,
              charset: database.charset,
              collation: database.collation,
            }),
        );
        await recreateSchemaObjectsFromDump({ destination, dumpDir });
      }
      run.enter('verifying');
      run.state.tables = await verifyCopy({ destination, expected: manifest.tables });
    },

    async cleanup(outcome) {
      if (outcome !== 'succeeded' && destinationTouched) await dropCopyDestination({ destination, restoreEmpty: existingDestination });
      await removeDumpDirectory({ copyId: restoreId });
    },
  });
}
