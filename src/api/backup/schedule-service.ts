// Backup schedules as Temporal Schedules: create, read, list, change, pause, run now and delete, owner only.
import { runNeeds } from '../../control/run-needs.ts';
import {
  ScheduleAlreadyRunning,
  ScheduleNotFoundError,
  ScheduleOverlapPolicy,
  type ScheduleDescription,
  type ScheduleOptionsStartWorkflowAction,
  type ScheduleSpec,
} from '@temporalio/client';
import { parseCronExpression } from './cron.ts';
import type { AuthenticatedUser } from '../../control/tokens.ts';
import { backupWorkflowId, type BackupWorkflowInput } from '../../workflows/backup/contracts.ts';
import type { CreateScheduleInput, UpdateScheduleInput } from './schemas.ts';
import { runSearchAttributes, searchAttributes } from '../../shared/temporal.ts';
import type { BackupDatabaseWorkflow } from './workflow-types.ts';
import { checkBackupRequest } from './checks.ts';
import type { ApiDeps } from '../deps.ts';
import { ApiError } from '../errors.ts';
import { toScheduleView, type ScheduleView } from './schedule-view.ts';

export type { ScheduleView } from './schedule-view.ts';

const SCHEDULE_KIND = 'backup-schedule';
const BACKUP_KIND = 'backup';

/** A schedule's Temporal id: its owner's user id and its name, so names only clash within one user. */
export const scheduleIdFor = (userId: number, name: string): string => `${SCHEDULE_KIND}:${userId}:${name}`;

/** The owner's user id and the name in a schedule id made by scheduleIdFor, or null. */
export function parseScheduleId(scheduleId: string): { userId: number; name: string } | null {
  const match = /^backup-schedule:(\d{1,10}):([A-Za-z0-9][A-Za-z0-9_-]{0,63})$/.exec(scheduleId);
  return match ? { userId: Number(match[1]), name: match[2]! } : null;
}

/** The schedule's memo (fixed at creation): who owns it. */
export interface ScheduleOwnerMemo {
  ownerId: number;
  ownerName: string;
  name: string;
}

type Settings = Omit<CreateScheduleInput, 'name' | 'paused'>;

/** The Temporal spec: a five-field cron line or an interval, in the schedule's time zone. */
function specFor(cron: string, timezone: string): ScheduleSpec {
  const timing = parseCronExpression(cron);
  return timing.kind === 'cron' ? { cronExpressions: [timing.expression], timezone } : { intervals: [{ every: timing.everyMs }], timezone };
}

/** Creating, reading, changing and running backup schedules (Temporal Schedules), owner only. */
export class ScheduleService {
  constructor(private readonly deps: ApiDeps) {}

  async create(user: AuthenticatedUser, input: CreateScheduleInput): Promise<ScheduleView> {
    await this.check(input);
    await this.deps.access.require(
      user,
      runNeeds({ workflow: 'backupDatabase', source: input.source, target: input.target }),
      'schedule.create',
    );
    const scheduleId = scheduleIdFor(user.id, input.name);
    const memo: ScheduleOwnerMemo = { ownerId: user.id, ownerName: user.name, name: input.name };
    try {
      await this.deps.temporal.schedule.create({
        scheduleId,
        spec: specFor(input.cron, input.timezone),
        action: this.action(user.name, scheduleId, input),
        policies: { overlap: overlapPolicy(input.overlap), catchupWindow: '1 day' },
        memo: { dbferry: memo },
        typedSearchAttributes: this.scheduleAttributes(user.name, input),
        state: { paused: input.paused, note: input.paused ? `created paused by ${user.name}` : undefined },
      });
    } catch (error) {
      if (error instanceof ScheduleAlreadyRunning)
        throw new ApiError('CONFLICT', `you already have a schedule named "${input.name}"`, 'name');
      throw refusedSpec(error);
    }
    return this.get(user, input.name);
  }

  async get(user: AuthenticatedUser, name: string): Promise<ScheduleView> {
    return toScheduleView(await this.describeOwned(user, name));
  }

  /** The caller's schedules by name. Temporal lists schedules eventually: a new one may take a moment to appear. */
  async list(user: AuthenticatedUser): Promise<ScheduleView[]> {
    // User names are checked before they go into the query; the owner check below is what counts.
    const byName = /^[A-Za-z0-9_.@-]{1,64}$/.test(user.name) ? ` AND ${searchAttributes.requestedBy.name} = '${user.name}'` : '';
    const prefix = `${SCHEDULE_KIND}:${user.id}:`;
    const ids: string[] = [];
    for await (const summary of this.deps.temporal.schedule.list({
      query: `${searchAttributes.kind.name} = '${SCHEDULE_KIND}'${byName}`,
    })) {
      if (summary.scheduleId.startsWith(prefix) && ownerOf(summary.memo)?.ownerId === user.id) ids.push(summary.scheduleId);
    }
    const views = await Promise.all(
      ids.map(async (id) => {
        try {
          return toScheduleView(await this.describeOwned(user, parseScheduleId(id)!.name));
        } catch (error) {
          if (error instanceof ApiError && error.code === 'NOT_FOUND') return null; // deleted since it was listed
          throw error;
        }
      }),
    );
    return views.filter((v): v is ScheduleView => v !== null).sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Changes what was given; the rest stays. The source cannot change: create another schedule. */
  async update(user: AuthenticatedUser, input: UpdateScheduleInput): Promise<ScheduleView> {
    const current = toScheduleView(await this.describeOwned(user, input.name));
    const next: Settings = {
      source: current.source,
      target: input.target ?? current.target,
      format: input.format ?? current.format,
      compression: input.compression ?? current.compression,
      threads: input.threads ?? current.threads,
      retention: input.retention !== undefined ? input.retention : current.retention,
      cron: input.cron ?? current.cron,
      timezone: input.timezone ?? current.timezone,
      overlap: input.overlap ?? current.overlap,
      callbackUrl: input.callbackUrl !== undefined ? input.callbackUrl : current.callbackUrl,
    };
    await this.check(next);
    await this.deps.access.require(
      user,
      runNeeds({ workflow: 'backupDatabase', source: next.source, target: next.target }),
      'schedule.update',
    );
    const handle = this.deps.temporal.schedule.getHandle(current.scheduleId);
    try {
      await handle.update((previous) => {
        if (ownerOf(previous.memo)?.ownerId !== user.id) throw new ApiError('NOT_FOUND', `no schedule named "${input.name}"`, 'name');
        return {
          spec: specFor(next.cron, next.timezone),
          action: this.action(user.name, current.scheduleId, next),
          policies: { ...previous.policies, overlap: overlapPolicy(next.overlap) },
          typedSearchAttributes: this.scheduleAttributes(user.name, next),
          state: { paused: previous.state.paused, note: previous.state.note, remainingActions: previous.state.remainingActions },
        };
      });
    } catch (error) {
      if (error instanceof ScheduleNotFoundError) throw new ApiError('NOT_FOUND', `no schedule named "${input.name}"`, 'name');
      throw refusedSpec(error);
    }
    return this.get(user, input.name);
  }

  async pause(user: AuthenticatedUser, name: string, note?: string): Promise<ScheduleView> {
    const { scheduleId } = await this.describeOwned(user, name);
    await this.deps.temporal.schedule.getHandle(scheduleId).pause(note ?? `paused by ${user.name}`);
    return this.get(user, name);
  }

  async resume(user: AuthenticatedUser, name: string, note?: string): Promise<ScheduleView> {
    const { scheduleId } = await this.describeOwned(user, name);
    await this.deps.temporal.schedule.getHandle(scheduleId).unpause(note ?? `resumed by ${user.name}`);
    return this.get(user, name);
  }

  /**
   * Runs the schedule's backup now, paused or not. Under the schedule's overlap policy: with `skip`,
   * nothing starts while this schedule's previous backup still runs.
   */
  async trigger(user: AuthenticatedUser, name: string): Promise<ScheduleView> {
    const { scheduleId } = await this.describeOwned(user, name);
    await this.deps.temporal.schedule.getHandle(scheduleId).trigger();
    return this.get(user, name);
  }

  /** Deletes the schedule; its backups stay in the target, and a running backup finishes. */
  async delete(user: AuthenticatedUser, name: string): Promise<{ name: string; deleted: true }> {
    const { scheduleId } = await this.describeOwned(user, name);
    try {
      await this.deps.temporal.schedule.getHandle(scheduleId).delete();
    } catch (error) {
      if (!(error instanceof ScheduleNotFoundError)) throw error;
    }
    return { name, deleted: true };
  }

  /** The schedule if this user owns it; anything else is NOT_FOUND, as if it did not exist. */
  private async describeOwned(user: AuthenticatedUser, name: string): Promise<ScheduleDescription> {
    try {
      const description = await this.deps.temporal.schedule.getHandle(scheduleIdFor(user.id, name)).describe();
      if (ownerOf(description.memo)?.ownerId === user.id) return description;
    } catch (error) {
      if (!(error instanceof ScheduleNotFoundError)) throw error;
    }
    throw new ApiError('NOT_FOUND', `no schedule named "${name}"`, 'name');
  }

  private check(settings: Settings): Promise<void> {
    return checkBackupRequest(this.deps.config, settings);
  }

  /**
   * Starts backupDatabase with an empty backupId: a schedule cannot make up an id per run, so the
   * workflow takes its own run id. Temporal appends the scheduled time to the workflow id.
   */
  private action(ownerName: string, scheduleId: string, settings: Settings): ScheduleOptionsStartWorkflowAction<BackupDatabaseWorkflow> {
    const input: BackupWorkflowInput = {
      backupId: '',
      source: settings.source,
      target: settings.target,
      format: settings.format,
      compression: settings.compression,
      threads: settings.threads,
      requestedBy: ownerName,
      callbackUrl: settings.callbackUrl ?? null,
      scheduleId,
      retention: settings.retention,
    };
    return {
      type: 'startWorkflow',
      workflowType: 'backupDatabase',
      taskQueue: this.deps.config.taskQueue,
      workflowId: backupWorkflowId(settings.source),
      args: [input],
      // The cron text as written: Temporal keeps only its compiled form. (The schedule memo cannot change.)
      memo: { dbferrySchedule: { cron: settings.cron } },
      typedSearchAttributes: runSearchAttributes({
        kind: BACKUP_KIND,
        source: `${settings.source.connection}/${settings.source.database}`,
        destination: settings.target,
        requestedBy: ownerName,
      }),
    };
  }

  private scheduleAttributes(ownerName: string, settings: Settings) {
    return runSearchAttributes({
      kind: SCHEDULE_KIND,
      source: `${settings.source.connection}/${settings.source.database}`,
      destination: settings.target,
      requestedBy: ownerName,
    });
  }
}

/** The owner memo of a schedule dbferry created, or null for anything else. */
export function ownerOf(memo: Record<string, unknown> | undefined): ScheduleOwnerMemo | null {
  const m = memo?.dbferry as Partial<ScheduleOwnerMemo> | undefined;
  return m && typeof m.ownerId === 'number' && typeof m.name === 'string' ? (m as ScheduleOwnerMemo) : null;
}

const overlapPolicy = (overlap: 'skip' | 'bufferOne') =>
  overlap === 'skip' ? ScheduleOverlapPolicy.SKIP : ScheduleOverlapPolicy.BUFFER_ONE;

/** Temporal's own refusal of a spec (INVALID_ARGUMENT arrives as TypeError) as a 400 naming the field. */
function refusedSpec(error: unknown): unknown {
  if (error instanceof TypeError) {
    return new ApiError('BAD_REQUEST', `refused by Temporal: ${error.message}`, /time ?zone/i.test(error.message) ? 'timezone' : 'cron');
  }
  return error;
}
