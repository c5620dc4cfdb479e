import { ApplicationFailure, CancellationScope, isCancellation, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import { cleanupActivity, toolActivity } from '../runs/activity-options.ts';
import type { Activities } from '../../activities/index.ts';
import type { StreamBackupOutput } from '../../activities/backup/backup-activities.ts';
import {
  backupObjectKey,
  backupProgressRange,
  type BackupManifest,
  type BackupState,
  type BackupStatus,
  type BackupWorkflowInput,
} from './contracts.ts';
import { backupProgressSignal, cancelBackupSignal, getBackupStatusQuery } from './messages.ts';
import { describeFailure, failureType } from '../runs/failures.ts';
import { sendWebhook } from '../runs/notify.ts';
import { trackRunState } from '../runs/run-state.ts';

// Quick checks and small writes: a few retries for a flaky connection, never for a refused request.
const { validateBackup, writeBackupManifest, applyRetention } = proxyActivities<Activities>({
  startToCloseTimeout: '30 minutes',
  retry: { initialInterval: '2 seconds', maximumInterval: '30 seconds', maximumAttempts: 5 },
});
// The dump and upload: long, heartbeating every second, so a dead worker is noticed within 20 s and
// the backup taken again. On cancel the workflow waits until the tools are dead and the upload aborted.
const { streamBackupToTarget } = proxyActivities<Activities>(toolActivity);
const { discardBackup, removeBackupScratch } = proxyActivities<Activities>(cleanupActivity);

/**
 * Backs up one database into a target: validate, dump and stream it compressed into the store,
 * write the manifest that makes the object a backup, apply the retention policy, and always clean
 * up. A failed or cancelled backup leaves nothing in the target.
 */
export async function backupDatabase(input: BackupWorkflowInput): Promise<BackupState> {
  // A Temporal Schedule starts every run with the same arguments: each run is then its own backup.
  const backupId = input.backupId || workflowInfo().runId;
  const state: BackupState = {
    id: backupId,
    status: 'queued',
    phase: 'queued',
    progress: 0,
    startedAt: null,
    finishedAt: null,
    lastError: null,
    updatedAt: null,
    target: input.target,
    key: null,
    size: null,
    sha256: null,
    retention: null,
  };
  const { setPhase, advance } = trackRunState(state);
  const notify = (status: BackupStatus): Promise<void> =>
    sendWebhook(input.callbackUrl, backupId, status, {
      id: backupId,
      status,
      started_at: state.startedAt,
      finished_at: state.finishedAt,
      error: state.lastError,
      target: input.target,
      key: state.key,
      size: state.size,
      sha256: state.sha256,
    });

  const work = new CancellationScope();
  setHandler(getBackupStatusQuery, () => state);
  setHandler(cancelBackupSignal, () => work.cancel());
  setHandler(backupProgressSignal, ({ phase, fraction }) => {
    if (phase !== 'dumping' && phase !== 'streaming') return;
    // mydumper's upload starts inside the same activity: its first report moves the phase on.
    if (phase === 'streaming' && state.phase === 'dumping') state.phase = 'streaming';
    if (state.phase !== phase) return; // a late report from a finished phase
    advance(backupProgressRange(input.format, phase), fraction);
  });

  const started = new Date();
  let key = backupObjectKey(input.source.database, input.format, input.compression, started);
  let stored: StreamBackupOutput | null = null;
  let keyIsOurs = false;
  let outcome: BackupStatus = 'failed';
  let cancellation: unknown = null;
  try {
    await work.run(async () => {
      state.status = 'running';
      state.startedAt = started.toISOString();
      state.key = key;
      setPhase('validating');
      await notify('running');
      await validateBackup({ source: input.source, target: input.target });

      const [first] = backupProgressRange(input.format, 'dumping');
      setPhase(input.format === 'mydumper' ? 'dumping' : 'streaming', first);
      const streamTo = async (to: string): Promise<StreamBackupOutput> => {
        keyIsOurs = true;
        try {
          return await streamBackupToTarget({
            backupId,
            source: input.source,
            target: input.target,
            key: to,
            format: input.format,
            compression: input.compression,
            threads: input.threads,
          });
        } catch (error) {
          if (failureType(error) === 'BackupKeyTaken') keyIsOurs = false; // another backup's object: not ours to remove
          throw error;
        }
      };
      try {
        stored = await streamTo(key);
      } catch (error) {
        if (failureType(error) !== 'BackupKeyTaken') throw error;
        // Another backup took this second's name: a database of the same name on another connection
        // on the same cron, or a second backup started within the second. This one gets its id beside the time.
        key = backupObjectKey(input.source.database, input.format, input.compression, started, backupId.replace(/-/g, '').slice(0, 8));
        state.key = key;
        stored = await streamTo(key);
      }
      state.size = stored.size;
      state.sha256 = stored.sha256;

      setPhase('writing-manifest', 97);
      const finished = new Date();
      const manifest: BackupManifest = {
        manifestVersion: 1,
        id: backupId,
        kind: 'logical',
        source: input.source,
        target: input.target,
        key,
        format: input.format,
        compression: input.compression,
        size: stored.size,
        sha256: stored.sha256,
        startedAt: started.toISOString(),
        finishedAt: finished.toISOString(),
        durationMs: finished.getTime() - started.getTime(),
        tool: stored.tool,
        server: stored.server,
        tables: stored.tables,
        scheduleId: input.scheduleId,
        database: stored.database,
      };
      await writeBackupManifest({ manifest });
    });
    outcome = 'succeeded';
  } catch (error) {
    outcome = isCancellation(error) ? 'cancelled' : 'failed';
    if (isCancellation(error)) cancellation = error;
    state.lastError = isCancellation(error) ? 'cancelled by request' : describeFailure(error);
  }

  // Cleanup and retention run whatever happened and cannot be cancelled; the final status is shown
  // only once they are done, so a caller who sees `cancelled` or `failed` knows nothing is left behind.
  await CancellationScope.nonCancellable(async () => {
    if (outcome === 'succeeded' && input.retention) {
      setPhase('applying-retention');
      try {
        const { deleted } = await applyRetention({
          target: input.target,
          source: input.source,
          scheduleId: input.scheduleId,
          retention: input.retention,
          keep: key,
        });
        state.retention = { deleted, error: null };
      } catch (error) {
        // The backup stands; the next successful one applies the policy again.
        state.retention = { deleted: [], error: describeFailure(error) };
      }
    }
    setPhase('cleaning-up');
    if (outcome !== 'succeeded' && keyIsOurs) {
      try {
        await discardBackup({ target: input.target, key, backupId });
      } catch (error) {
        // Said in the final state rather than leaving the run stuck in cleanup.
        state.lastError = `${state.lastError ?? outcome}; and removing ${key} from the target failed: ${describeFailure(error)}`;
      }
      state.size = state.sha256 = null;
    }
    if (input.format === 'mydumper') await removeBackupScratch({ backupId });
    state.status = outcome;
    if (outcome === 'succeeded') state.progress = 100;
    state.finishedAt = new Date().toISOString();
    setPhase('done');
    await notify(state.status);
  });
  if (cancellation) throw cancellation;
  if (outcome === 'failed') throw ApplicationFailure.nonRetryable(state.lastError ?? 'backup failed', 'BackupFailed');
  return state;
}
