// How a backup looks in the backup log (seed 001's backup_logs), built from one of two sources:
// its manifest in the target (a backup that exists) or its Temporal execution (one that is
// running, failed or was cancelled).
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import type { WorkflowExecutionInfo } from '@temporalio/client';
import type {
  BackupCompression,
  BackupFormat,
  BackupManifest,
  BackupPhase,
  BackupState,
  BackupStatus,
} from '../../workflows/backup/contracts.ts';
import type { DatabaseRef } from '../../workflows/copy/contracts.ts';
import { searchAttributes } from '../../shared/temporal.ts';
import { parseScheduleId } from './schedule-service.ts';
import { settleState } from '../runs/run-service.ts';

export interface BackupView {
  id: string;
  status: BackupStatus;
  phase: BackupPhase | null;
  progress: number;
  source: DatabaseRef;
  target: string;
  format: BackupFormat | null;
  compression: BackupCompression | null;
  /** The object key inside the target (seed 001's file_path). */
  key: string | null;
  size: number | null;
  sha256: string | null;
  startedAt: string | null;
  finishedAt: string | null;
  durationMs: number | null;
  error: string | null;
  trigger: 'manual' | 'schedule';
  /** The schedule's name when a schedule started it. */
  schedule: string | null;
  /** True when the backup object and its manifest are in the target (false once retention deleted them). */
  available: boolean;
  /** Rows per table (from the manifest); only `backups.get` fills it. */
  tables?: Array<{ table: string; rows: number }>;
  /** What retention deleted after this backup, when the run reported it; only `backups.get` fills it. */
  retention?: BackupState['retention'];
}

/** What the API records in a backup run's memo besides the workflow's own `state`. */
export interface BackupRequestMemo {
  format: BackupFormat;
  compression: BackupCompression;
}

const scheduledById = defineSearchAttributeKey('TemporalScheduledById', SearchAttributeType.KEYWORD);

/** A backup that exists: everything comes from its manifest. */
export function viewFromManifest(m: BackupManifest, targetName: string): BackupView {
  const schedule = m.scheduleId ? parseScheduleId(m.scheduleId) : null;
  return {
    id: m.id,
    status: 'succeeded',
    phase: 'done',
    progress: 100,
    source: m.source,
    target: targetName,
    format: m.format,
    compression: m.compression,
    key: m.key,
    size: m.size,
    sha256: m.sha256,
    startedAt: m.startedAt,
    finishedAt: m.finishedAt,
    durationMs: m.durationMs,
    error: null,
    trigger: m.scheduleId ? 'schedule' : 'manual',
    schedule: schedule?.name ?? m.scheduleId,
    available: true,
  };
}

/** The facts of one Temporal execution a view needs, from a list entry or a describe. */
export type BackupExecution = Pick<
  WorkflowExecutionInfo,
  'workflowId' | 'runId' | 'status' | 'startTime' | 'closeTime' | 'memo' | 'typedSearchAttributes'
>;

/** The schedule id that started this execution, or null for an on-demand backup. */
export function scheduleIdOf(execution: BackupExecution): string | null {
  return execution.typedSearchAttributes.get(scheduledById) ?? null;
}

/** The backup id of an execution: the id its state reports, else its run id (what a scheduled run uses). */
export function backupIdOf(execution: BackupExecution): string {
  const state = execution.memo?.state as Partial<BackupState> | undefined;
  return state?.id || execution.runId;
}

/** A backup as its run reports it; a run ended from outside (terminated, timed out) counts as failed. */
export function viewFromExecution(e: BackupExecution): BackupView {
  const state = (e.memo?.state ?? {}) as Partial<BackupState>;
  const request = (e.memo?.request ?? {}) as Partial<BackupRequestMemo>;
  const [connection = '', database = ''] = (e.typedSearchAttributes.get(searchAttributes.source) ?? '/').split('/');
  const scheduleId = scheduleIdOf(e);
  const { status, lastError, finishedAt } = settleState(
    {
      id: backupIdOf(e),
      status: state.status ?? (e.status.name === 'RUNNING' ? 'queued' : 'failed'),
      lastError: state.lastError ?? null,
      finishedAt: state.finishedAt ?? null,
    },
    e,
  );
  const startedAt = state.startedAt ?? e.startTime.toISOString();
  return {
    id: backupIdOf(e),
    status,
    phase: state.phase ?? 'queued',
    progress: status === 'succeeded' ? 100 : (state.progress ?? 0),
    source: { connection, database },
    target: state.target ?? e.typedSearchAttributes.get(searchAttributes.destination) ?? '',
    format: request.format ?? null,
    compression: request.compression ?? null,
    key: state.key ?? null,
    size: state.size ?? null,
    sha256: state.sha256 ?? null,
    startedAt,
    finishedAt,
    durationMs: finishedAt ? Math.max(0, Date.parse(finishedAt) - Date.parse(startedAt)) : null,
    error: lastError,
    trigger: scheduleId ? 'schedule' : 'manual',
    schedule: scheduleId ? (parseScheduleId(scheduleId)?.name ?? scheduleId) : null,
    available: false,
    ...(state.retention !== undefined ? { retention: state.retention } : {}),
  };
}

/** Newest first by start time, ties by id (descending): the backup log's one order. */
export function logOrder(a: BackupView, b: BackupView): number {
  return Date.parse(b.startedAt ?? '') - Date.parse(a.startedAt ?? '') || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);
}

/** An opaque page cursor: the start time and id of the last item shown. */
export const encodeCursor = (v: BackupView): string => Buffer.from(JSON.stringify([v.startedAt, v.id])).toString('base64url');

/** The position a cursor names, or null when it is not one of ours. */
export function decodeCursor(cursor: string): BackupView | null {
  try {
    const [startedAt, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown[];
    if (typeof startedAt !== 'string' || typeof id !== 'string') return null;
    return { startedAt, id } as BackupView;
  } catch {
    return null;
  }
}
