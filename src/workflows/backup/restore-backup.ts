import { ApplicationFailure, CancellationScope, isCancellation, log, proxyActivities, setHandler } from '@temporalio/workflow';
import { catalogActivity, cleanupActivity, toolActivity } from '../runs/activity-options.ts';
import type { Activities } from '../../activities/index.ts';
import { restorePhaseRange, type BackupStatus, type RestoreState, type RestoreWorkflowInput } from './contracts.ts';
import { cancelRestoreSignal, getRestoreStatusQuery, restoreProgressSignal } from './messages.ts';
import { describeFailure, failureType } from '../runs/failures.ts';
import { sendWebhook } from '../runs/notify.ts';
import { trackRunState } from '../runs/run-state.ts';

// Reading the manifest and the catalogue: a few retries for a flaky connection, never for a refused request.
const { validateRestore, verifyCopy, recreateSchemaObjectsFromDump } = proxyActivities<Activities>(catalogActivity);
// Download, checksum and load: long, heartbeating every second; on cancel the workflow waits until
// the tools are dead before it drops what they wrote.
const { verifyBackupChecksum, loadSqlBackup, extractBackup, loadDump } = proxyActivities<Activities>(toolActivity);
const { removeDumpDirectory, dropCopyDestination } = proxyActivities<Activities>(cleanupActivity);

/**
 * Restores a backup into a database: validate (manifest, destination guards), verify the stored
 * object's sha256 before anything is written, load it, recreate schema objects, verify the row
 * counts, and always clean up. A failed or cancelled restore drops what it created. Its workflow id
 * is the destination's copy lock, so a copy and a restore into one database exclude each other.
 */
export async function restoreBackup(input: RestoreWorkflowInput): Promise<RestoreState> {
  const state: RestoreState = {
    id: input.restoreId,
    status: 'queued',
    phase: 'queued',
    progress: 0,
    startedAt: null,
    finishedAt: null,
    lastError: null,
    updatedAt: null,
    backupId: null,
    tables: [],
  };
  const { setPhase, advance } = trackRunState(state);
  const notify = (status: BackupStatus): Promise<void> =>
    sendWebhook(input.callbackUrl, input.restoreId, status, {
      id: input.restoreId,
      status,
      started_at: state.startedAt,
      finished_at: state.finishedAt,
      error: state.lastError,
      backup_id: state.backupId,
      target: input.target,
      key: input.key,
    });

  const work = new CancellationScope();
  setHandler(getRestoreStatusQuery, () => state);
  setHandler(cancelRestoreSignal, () => work.cancel());
  setHandler(restoreProgressSignal, ({ phase, fraction }) => {
    if (phase !== state.phase || (phase !== 'verifying-checksum' && phase !== 'loading')) return;
    advance(restorePhaseRange[phase], fraction);
  });

  const { destination } = input;
  let existingDestination: { charset: string; collation: string } | null = null;
  let destinationTouched = false;
  let outcome: BackupStatus = 'failed';
  let cancellation: unknown = null;
  try {
    await work.run(async () => {
      state.status = 'running';
      state.startedAt = new Date().toISOString();
      setPhase('validating');
      await notify('running');
      const validated = await validateRestore(input);
      const { manifest } = validated;
      existingDestination = validated.existingDestination;
      state.backupId = manifest.id;

      const stored = {
        target: input.target,
        key: input.key,
        sha256: manifest.sha256,
        size: manifest.size,
        compression: manifest.compression,
      };
      setPhase('verifying-checksum', restorePhaseRange['verifying-checksum'][0]);
      await verifyBackupChecksum(stored);

      setPhase('loading', restorePhaseRange.loading[0]);
      destinationTouched = true;
      // An empty destination that already existed keeps its character set, as copies do.
      const database = existingDestination ?? manifest.database ?? { charset: 'utf8mb4', collation: 'utf8mb4_general_ci' };
      const dropDestinationFirst = existingDestination === null;
      if (manifest.format === 'mysqldump') {
        // The dump carries routines, triggers and events with their own sql_mode: nothing to put right.
        await loadSqlBackup({ ...stored, destination, dropDestinationFirst, database });
      } else {
        let { dumpDir } = await extractBackup({ ...stored, restoreId: input.restoreId });
        const load = () =>
          loadDump({
            copyId: input.restoreId,
            sourceDatabase: manifest.source.database,
            destination,
            threads: input.threads,
            dumpDir,
            dropDestinationFirst,
            charset: database.charset,
            collation: database.collation,
            reportTo: 'restore',
          });
        try {
          await load();
        } catch (error) {
          // The extracted dump lived on a worker that is gone: extract again wherever we are now.
          if (failureType(error) !== 'DumpMissing') throw error;
          log.warn('extracted backup missing on this worker; extracting again', { restoreId: input.restoreId });
          ({ dumpDir } = await extractBackup({ ...stored, restoreId: input.restoreId }));
          await load();
        }
        await recreateSchemaObjectsFromDump({ destination, dumpDir });
      }

      setPhase('verifying', restorePhaseRange.verifying[0]);
      state.tables = await verifyCopy({ destination, expected: manifest.tables });
    });
    outcome = 'succeeded';
  } catch (error) {
    outcome = isCancellation(error) ? 'cancelled' : 'failed';
    if (isCancellation(error)) cancellation = error;
    state.lastError = isCancellation(error) ? 'cancelled by request' : describeFailure(error);
  }

  await CancellationScope.nonCancellable(async () => {
    setPhase('cleaning-up');
    if (outcome !== 'succeeded' && destinationTouched) await dropCopyDestination({ destination, restoreEmpty: existingDestination });
    await removeDumpDirectory({ copyId: input.restoreId });
    state.status = outcome;
    if (outcome === 'succeeded') state.progress = 100;
    state.finishedAt = new Date().toISOString();
    setPhase('done');
    await notify(state.status);
  });
  if (cancellation) throw cancellation;
  if (outcome === 'failed') throw ApplicationFailure.nonRetryable(state.lastError ?? 'restore failed', 'RestoreFailed');
  return state;
}
