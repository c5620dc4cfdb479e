// A physical backup of a server (one piece of a chain), as a run of the workflow kit.
import { proxyActivities, workflowInfo } from '@temporalio/workflow';
import { catalogActivity, cleanupActivity, toolActivity } from '../runs/activity-options.ts';
import type { Activities } from '../../activities/index.ts';
import { backupTimestamp } from '../backup/contracts.ts';
import { cancelPhysicalBackupSignal, getPhysicalBackupStatusQuery } from './messages.ts';
import { physicalObjectKey, type PhysicalBackupState, type PhysicalBackupWorkflowInput } from './contracts.ts';
import { physicalManifest } from './manifest.ts';
import { failureType } from '../runs/failures.ts';
import { discardStoredBackup } from '../backup/discard.ts';
import { newRunState, runJob, type Range } from '../runs/run-job.ts';

const { validatePhysicalBackup, writePhysicalManifest, applyPhysicalRetention } = proxyActivities<Activities>(catalogActivity);
// The tool streams for as long as the datadir takes; heartbeats every second, killed on cancel.
const { streamPhysicalBackup } = proxyActivities<Activities>(toolActivity);
const { discardPhysicalBackup, removePhysicalScratch } = proxyActivities<Activities>(cleanupActivity);

/** Progress budget: pre-flight 0–2, the streamed backup 2–97, manifest and retention after. */
const STREAMING: Range = [2, 97];

/**
 * A physical backup of a server (full, or incremental on the newest piece of its chain): pre-flight
 * checks, stream the tool's xbstream compressed into the target, write the manifest with the LSNs
 * that tie the chain together, apply chain-aware retention, and always clean up. Its workflow id is
 * the connection: one physical backup per server at a time.
 */
export async function physicalBackup(input: PhysicalBackupWorkflowInput): Promise<PhysicalBackupState> {
  const backupId = input.backupId || workflowInfo().runId;
  const started = new Date();
  const key = physicalObjectKey(input.connection, input.kind, backupId, backupTimestamp(started), input.compression);
  const { connection, target, kind, compression, threads, retention, scheduleId } = input;
  let keyIsOurs = false;
  return runJob<PhysicalBackupState>({
    state: newRunState<PhysicalBackupState>(backupId, {
      kind,
      target,
      key,
      size: null,
      sha256: null,
      chainId: null,
      parentId: null,
      fromLsn: null,
      toLsn: null,
      retention: null,
    }),
    statusQuery: getPhysicalBackupStatusQuery,
    cancelSignal: cancelPhysicalBackupSignal,
    failureType: 'BackupFailed',
    toolErrorAfterCancelWasAlwaysCancel: true,
    callbackUrl: input.callbackUrl,
    authorize: { workflow: 'physicalBackup', requestedBy: input.requestedBy, connection: input.connection, target: input.target },
    webhookPayload: ({ id, status, ...times }, s) => ({
      id,
      status,
      kind,
      ...times,
      target,
      key: s.key,
      size: s.size,
      sha256: s.sha256,
      chain_id: s.chainId,
      parent_id: s.parentId,
    }),
    applyRetention: retention ? () => applyPhysicalRetention({ target, connection, scheduleId, retention, keep: key }) : undefined,
    firstPhase: 'validating',
    phaseStart: (phase) => (phase === 'streaming' ? STREAMING[0] : phase === 'writing-manifest' ? 97 : undefined),
    progressRange: (phase, state) => (phase === 'streaming' && state.phase === 'streaming' ? STREAMING : undefined),

    async work({ state, enter }) {
      const checked = await validatePhysicalBackup({ connection, target, kind, parentId: input.parentId });
      state.parentId = checked.parent?.id ?? null;
      state.chainId = checked.parent?.chainId ?? backupId;

      enter('streaming');
      keyIsOurs = true;
      const { flavor, datadir, fileCount } = checked;
      const incrementalLsn = checked.parent?.toLsn ?? null;
      const stored = await streamPhysicalBackup({
        backupId,
        connection,
        target,
        key,
        kind,
        compression,
        threads,
        flavor,
        datadir,
        fileCount,
        incrementalLsn,
      }).catch((error: unknown) => {
        if (failureType(error) === 'BackupKeyTaken') keyIsOurs = false;
        throw error;
      });
      Object.assign(state, { size: stored.size, sha256: stored.sha256, fromLsn: stored.fromLsn, toLsn: stored.toLsn });

      enter('writing-manifest');
      await writePhysicalManifest({ manifest: physicalManifest(state, input, key, stored, started) });
    },

    async cleanup(outcome, { state }) {
      if (outcome !== 'succeeded' && keyIsOurs)
        await discardStoredBackup(state, outcome, key, () => discardPhysicalBackup({ target, key, backupId }));
      await removePhysicalScratch({ backupId });
    },
  });
}
