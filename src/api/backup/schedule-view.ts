// How a backup schedule looks through the API, read back from Temporal's description of it.
import type { ScheduleDescription } from '@temporalio/client';
import type { BackupCompression, BackupFormat, BackupWorkflowInput, RetentionPolicy } from '../../workflows/backup/contracts.ts';
import type { DatabaseRef } from '../../workflows/copy/contracts.ts';

export interface ScheduleView {
  name: string;
  scheduleId: string;
  source: DatabaseRef;
  target: string;
  format: BackupFormat;
  compression: BackupCompression;
  threads: number;
  retention: RetentionPolicy | null;
  cron: string;
  timezone: string;
  overlap: 'skip' | 'bufferOne';
  callbackUrl: string | null;
  paused: boolean;
  note: string | null;
  createdAt: string;
  updatedAt: string | null;
  /** The next (up to 5) times it fires, ISO UTC. */
  nextRuns: string[];
  /** The latest runs it started (oldest first), with the workflow to look them up by. */
  recentRuns: Array<{ scheduledAt: string; startedAt: string; workflowId: string; runId: string }>;
  /** Backups currently running from this schedule. */
  running: number;
  actionsTaken: number;
  skippedOverlap: number;
}

/** Builds the view; the schedule's settings live in its action's input and memo. */
export function toScheduleView(d: ScheduleDescription): ScheduleView {
  const owner = d.memo?.dbferry as { name?: string } | undefined;
  const action = d.action as { args?: unknown[]; memo?: Record<string, unknown> };
  const input = (action.args?.[0] ?? {}) as Partial<BackupWorkflowInput>;
  const cron = (action.memo?.dbferrySchedule as { cron?: string } | undefined)?.cron ?? '';
  return {
    name: owner?.name ?? d.scheduleId,
    scheduleId: d.scheduleId,
    source: input.source ?? { connection: '', database: '' },
    target: input.target ?? '',
    format: input.format ?? 'mysqldump',
    compression: input.compression ?? 'gzip',
    threads: input.threads ?? 4,
    retention: input.retention ?? null,
    cron,
    timezone: d.spec.timezone ?? 'UTC',
    overlap: d.policies.overlap === 'BUFFER_ONE' ? 'bufferOne' : 'skip',
    callbackUrl: input.callbackUrl ?? null,
    paused: d.state.paused,
    note: d.state.note || null,
    createdAt: d.info.createdAt.toISOString(),
    updatedAt: d.info.lastUpdatedAt?.toISOString() ?? null,
    nextRuns: d.info.nextActionTimes.slice(0, 5).map((t) => t.toISOString()),
    recentRuns: d.info.recentActions.map((a) => ({
      scheduledAt: a.scheduledAt.toISOString(),
      startedAt: a.takenAt.toISOString(),
      workflowId: a.action.workflow.workflowId,
      runId: a.action.workflow.firstExecutionRunId,
    })),
    running: d.info.runningActions.length,
    actionsTaken: d.info.numActionsTaken,
    skippedOverlap: d.info.numActionsSkippedOverlap,
  };
}
