// The logical backup of one database into a target, as a run of the workflow kit.
import { proxyActivities, workflowInfo } from '@temporalio/workflow';
import { cleanupActivity, toolActivity } from '../runs/activity-options.ts';
import type { Activities } from '../../activities/index.ts';
import { backupObjectKey, backupProgressRange, type BackupState, type BackupWorkflowInput } from './contracts.ts';
import { cancelBackupSignal, getBackupStatusQuery } from './messages.ts';
import { backupManifest, type StoredBackup } from './manifest.ts';
import { failureType } from '../runs/failures.ts';
import { discardStoredBackup } from './discard.ts';
import { newRunState, runJob } from '../runs/run-job.ts';

// Quick checks and small writes: a few retries for a flaky connection, never for a refused request.
const { validateBackup, writeBackupManifest, applyRetention } = proxyActivities<Activities>({
  startToCloseTimeout: '30 minutes',
  retry: { initialInterval: '2 seconds', maximumInterval: '30 seconds', maximumAttempts: 5 },
});
// The dump and upload: heartbeating, so a dead worker is noticed within 20 s and the backup taken
// again; on cancel the workflow waits until the tools are dead and the upload aborted.
const { streamBackupToTarget } = proxyActivities<Activities>(toolActivity);
const { discardBackup, removeBackupScratch } = proxyActivities<Activities>(cleanupActivity);

/**
 * Backs up one database into a target: validate, dump and stream it compressed into the store,
 * write the manifest that makes the object a backup, apply the retention policy, and always clean
 * up. A failed or cancelled backup leaves nothing in the target.
 */
export async function backupDatabase(input: BackupWorkflowInput): Promise<BackupState> {
  const { source, target, format, compression, threads, retention, scheduleId } = input;
  // A Temporal Schedule starts every run with the same arguments: each run is then its own backup.
  const backupId = input.backupId || workflowInfo().runId;
  const started = new Date();
  const keyAt = (suffix?: string): string => backupObjectKey(source.database, format, compression, started, suffix);
  let key = keyAt();
  let keyIsOurs = false;
  const stream = async (to: string): Promise<StoredBackup> => {
    key = to;
    keyIsOurs = true;
    return streamBackupToTarget({ backupId, source, target, key, format, compression, threads }).catch((error: unknown) => {
      if (failureType(error) === 'BackupKeyTaken') keyIsOurs = false; // another backup's object: not ours to remove
      throw error;
    });
  };
  return runJob<BackupState>({
    state: newRunState<BackupState>(backupId, { target, key, size: null, sha256: null, retention: null }),
    statusQuery: getBackupStatusQuery,
    cancelSignal: cancelBackupSignal,
    failureType: 'BackupFailed',
    callbackUrl: input.callbackUrl,
    authorize: { workflow: 'backupDatabase', requestedBy: input.requestedBy, source: input.source, target: input.target },
    webhookPayload: (base, s) => ({ ...base, target, key: s.key, size: s.size, sha256: s.sha256 }),
    applyRetention: retention ? () => applyRetention({ target, source, scheduleId, retention, keep: key }) : undefined,
    firstPhase: 'validating',
    phaseStart: (phase) => (phase === 'dumping' || phase === 'streaming' ? 1 : phase === 'writing-manifest' ? 97 : undefined),
    progressRange(phase, state) {
      if (phase !== 'dumping' && phase !== 'streaming') return undefined;
      // mydumper's upload starts inside the same activity: its first report moves the phase on.
      if (phase === 'streaming' && state.phase === 'dumping') state.phase = 'streaming';
      return phase === state.phase ? backupProgressRange(format, phase) : undefined;
    },

    async work(run) {
      await validateBackup({ source, target });
      run.enter(format === 'mydumper' ? 'dumping' : 'streaming');
      const stored = await stream(key).catch((error: unknown) => {
        if (failureType(error) !== 'BackupKeyTaken') throw error;
        // Another backup took this second's name (the same database name on another connection on
        // the same cron, or a second backup within the second): this one gets its id beside the time.
        run.state.key = keyAt(backupId.replace(/-/g, '').slice(0, 8));
        return stream(run.state.key);
      });
      Object.assign(run.state, { size: stored.size, sha256: stored.sha256 });
      run.enter('writing-manifest');
      await writeBackupManifest({ manifest: backupManifest(backupId, input, key, stored, started) });
    },

    async cleanup(outcome, { state }) {
      if (outcome !== 'succeeded' && keyIsOurs)
        await discardStoredBackup(state, outcome, key, () => discardBackup({ target, key, backupId }));
      if (format === 'mydumper') await removeBackupScratch({ backupId });
    },
  });
}
