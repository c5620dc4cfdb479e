import {
  ApplicationFailure,
  CancellationScope,
  CancelledFailure,
  isCancellation,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import { catalogActivity, cleanupActivity, toolActivity } from '../runs/activity-options.ts';
import type { Activities } from '../../activities/index.ts';
import type { StreamPhysicalBackupOutput } from '../../activities/physical/backup.ts';
import { backupTimestamp, type BackupStatus } from '../backup/contracts.ts';
import { cancelPhysicalBackupSignal, getPhysicalBackupStatusQuery, physicalProgressSignal } from './messages.ts';
import { physicalObjectKey, type PhysicalBackupManifest, type PhysicalBackupState, type PhysicalBackupWorkflowInput } from './contracts.ts';
import { describeFailure, failureType } from '../runs/failures.ts';
import { sendWebhook } from '../runs/notify.ts';
import { trackRunState } from '../runs/run-state.ts';

const { validatePhysicalBackup, writePhysicalManifest, applyPhysicalRetention } = proxyActivities<Activities>(catalogActivity);
// The tool streams for as long as the datadir takes; heartbeats every second, killed on cancel.
const { streamPhysicalBackup } = proxyActivities<Activities>(toolActivity);
const { discardPhysicalBackup, removePhysicalScratch } = proxyActivities<Activities>(cleanupActivity);

/** Progress budget: pre-flight 0–2, the streamed backup 2–97, manifest and retention after. */
const STREAMING: [number, number] = [2, 97];

/**
 * A physical backup of a server (full, or incremental on the newest piece of its chain): pre-flight
 * checks, stream the tool's xbstream compressed into the target, write the manifest with the LSNs
 * that tie the chain together, apply chain-aware retention, and always clean up. Its workflow id is
 * the connection: one physical backup per server at a time.
 */
export async function physicalBackup(input: PhysicalBackupWorkflowInput): Promise<PhysicalBackupState> {
  const backupId = input.backupId || workflowInfo().runId;
  const state: PhysicalBackupState = {
    id: backupId,
    kind: input.kind,
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
    chainId: null,
    parentId: null,
    fromLsn: null,
    toLsn: null,
    retention: null,
  };
  const { setPhase, advance } = trackRunState(state);
  const notify = (status: BackupStatus): Promise<void> =>
    sendWebhook(input.callbackUrl, backupId, status, {
      id: backupId,
      status,
      kind: input.kind,
      started_at: state.startedAt,
      finished_at: state.finishedAt,
      error: state.lastError,
      target: input.target,
      key: state.key,
      size: state.size,
      sha256: state.sha256,
      chain_id: state.chainId,
      parent_id: state.parentId,
    });

  const work = new CancellationScope();
  setHandler(getPhysicalBackupStatusQuery, () => state);
  setHandler(cancelPhysicalBackupSignal, () => work.cancel());
  setHandler(physicalProgressSignal, ({ phase, fraction }) => {
    if (phase === 'streaming' && state.phase === 'streaming') advance(STREAMING, fraction);
  });

  const started = new Date();
  const key = physicalObjectKey(input.connection, input.kind, backupId, backupTimestamp(started), input.compression);
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
      const checked = await validatePhysicalBackup({
        connection: input.connection,
        target: input.target,
        kind: input.kind,
        parentId: input.parentId,
      });
      state.parentId = checked.parent?.id ?? null;
      state.chainId = checked.parent?.chainId ?? backupId;

      setPhase('streaming', STREAMING[0]);
      keyIsOurs = true;
      let stored: StreamPhysicalBackupOutput;
      try {
        stored = await streamPhysicalBackup({
          backupId,
          connection: input.connection,
          target: input.target,
          key,
          kind: input.kind,
          compression: input.compression,
          threads: input.threads,
          flavor: checked.flavor,
          datadir: checked.datadir,
          fileCount: checked.fileCount,
          incrementalLsn: checked.parent?.toLsn ?? null,
        });
      } catch (error) {
        if (failureType(error) === 'BackupKeyTaken') keyIsOurs = false;
        throw error;
      }
      Object.assign(state, { size: stored.size, sha256: stored.sha256, fromLsn: stored.fromLsn, toLsn: stored.toLsn });

      setPhase('writing-manifest', 97);
      const finished = new Date();
      const manifest: PhysicalBackupManifest = {
        manifestVersion: 1,
        id: backupId,
        kind: input.kind,
        source: { connection: input.connection },
        target: input.target,
        key,
        format: 'xbstream',
        compression: input.compression,
        size: stored.size,
        sha256: stored.sha256,
        streamBytes: stored.streamBytes,
        startedAt: started.toISOString(),
        finishedAt: finished.toISOString(),
        durationMs: finished.getTime() - started.getTime(),
        tool: stored.tool,
        server: stored.server,
        chainId: state.chainId,
        parentId: state.parentId,
        fromLsn: stored.fromLsn,
        toLsn: stored.toLsn,
        binlog: stored.binlog,
        scheduleId: input.scheduleId,
      };
      await writePhysicalManifest({ manifest });
    });
    outcome = 'succeeded';
  } catch (error) {
    // A step that a cancel interrupted may report how its tool died (EPIPE) rather than the cancel.
    const cancelled = isCancellation(error) || work.consideredCancelled;
    outcome = cancelled ? 'cancelled' : 'failed';
    if (cancelled) cancellation = isCancellation(error) ? error : new CancelledFailure('cancelled by request');
    state.lastError = cancelled ? 'cancelled by request' : describeFailure(error);
  }

  await CancellationScope.nonCancellable(async () => {
    if (outcome === 'succeeded' && input.retention) {
      setPhase('applying-retention');
      try {
        const { deleted } = await applyPhysicalRetention({
          target: input.target,
          connection: input.connection,
          scheduleId: input.scheduleId,
          retention: input.retention,
          keep: key,
        });
        state.retention = { deleted, error: null };
      } catch (error) {
        state.retention = { deleted: [], error: describeFailure(error) };
      }
    }
    setPhase('cleaning-up');
    if (outcome !== 'succeeded' && keyIsOurs) {
      try {
        await discardPhysicalBackup({ target: input.target, key, backupId });
      } catch (error) {
        state.lastError = `${state.lastError ?? outcome}; and removing ${key} from the target failed: ${describeFailure(error)}`;
      }
      state.size = state.sha256 = null;
    }
    await removePhysicalScratch({ backupId });
    state.status = outcome;
    if (outcome === 'succeeded') state.progress = 100;
    state.finishedAt = new Date().toISOString();
    setPhase('done');
    await notify(state.status);
  });
  if (cancellation) throw cancellation;
  if (outcome === 'failed') throw ApplicationFailure.nonRetryable(state.lastError ?? 'physical backup failed', 'BackupFailed');
  return state;
}
