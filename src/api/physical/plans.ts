// Physical backup plans: a full on one cron and incrementals on another, as two Temporal Schedules
// that share one plan id (the manifests' scheduleId), so retention sees the plan's whole chain.
import { runNeeds } from '../../control/run-needs.ts';
import {
  ScheduleAlreadyRunning,
  ScheduleNotFoundError,
  ScheduleOverlapPolicy,
  type ScheduleOptionsStartWorkflowAction,
} from '@temporalio/client';
import { parseCronExpression } from '../backup/cron.ts';
import type { AuthenticatedUser } from '../../control/tokens.ts';
import type { CreatePhysicalPlanInput } from './schemas.ts';
import {
  physicalBackupWorkflowId,
  type PhysicalBackupState,
  type PhysicalBackupWorkflowInput,
  type PhysicalKind,
} from '../../workflows/physical/contracts.ts';
import { runSearchAttributes } from '../../shared/temporal.ts';
import type { ApiDeps } from '../deps.ts';
import { ApiError } from '../errors.ts';

type PhysicalBackupWorkflow = (input: PhysicalBackupWorkflowInput) => Promise<PhysicalBackupState>;

const PLAN_KIND = 'physical-plan';

/** The plan's id (its backups' scheduleId); each of its two schedules adds `:full` or `:incremental`. */
export const physicalPlanIdFor = (userId: number, name: string): string => `${PLAN_KIND}:${userId}:${name}`;
const scheduleIdOf = (planId: string, kind: PhysicalKind): string => `${planId}:${kind === 'physical-full' ? 'full' : 'incremental'}`;

export interface PhysicalPlanView {
  name: string;
  planId: string;
  connection: string;
  target: string;
  schedules: Array<{ kind: PhysicalKind; scheduleId: string; paused: boolean; nextRuns: string[]; recentRuns: string[] }>;
}

export class PhysicalPlanService {
  constructor(private readonly deps: ApiDeps) {}

  async create(user: AuthenticatedUser, input: CreatePhysicalPlanInput): Promise<PhysicalPlanView> {
    if (!Object.hasOwn(this.deps.config.connections, input.connection))
      throw new ApiError('BAD_REQUEST', `no connection named "${input.connection}"`, 'connection');
    if (!Object.hasOwn(this.deps.config.targets, input.target))
      throw new ApiError('BAD_REQUEST', `no target named "${input.target}"`, 'target');
    await this.deps.access.require(
      user,
      runNeeds({ workflow: 'physicalBackup', connection: input.connection, target: input.target }),
      'physical-plan.create',
    );
    const planId = physicalPlanIdFor(user.id, input.name);
    const created: string[] = [];
    try {
      for (const [kind, cron] of [
        ['physical-full', input.fullCron],
        ['physical-incremental', input.incrementalCron],
      ] as const) {
        const timing = parseCronExpression(cron);
        const scheduleId = scheduleIdOf(planId, kind);
        await this.deps.temporal.schedule.create({
          scheduleId,
          spec:
            timing.kind === 'cron'
              ? { cronExpressions: [timing.expression], timezone: input.timezone }
              : { intervals: [{ every: timing.everyMs }], timezone: input.timezone },
          action: this.action(user.name, planId, kind, input),
          // A run that would overlap the plan's previous one is skipped: one physical backup of a server at a time.
          policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 day' },
          memo: { dbferryPlan: { ownerId: user.id, name: input.name, connection: input.connection, target: input.target } },
          typedSearchAttributes: runSearchAttributes({
            kind: PLAN_KIND,
            source: input.connection,
            destination: input.target,
            requestedBy: user.name,
          }),
          state: { paused: input.paused },
        });
        created.push(scheduleId);
      }
    } catch (error) {
      await Promise.allSettled(created.map((id) => this.deps.temporal.schedule.getHandle(id).delete()));
      if (error instanceof ScheduleAlreadyRunning)
        throw new ApiError('CONFLICT', `you already have a physical plan named "${input.name}"`, 'name');
      if (error instanceof TypeError) throw new ApiError('BAD_REQUEST', `refused by Temporal: ${error.message}`, 'cron');
      throw error;
    }
    return this.get(user, input.name);
  }

  async get(user: AuthenticatedUser, name: string): Promise<PhysicalPlanView> {
    const planId = physicalPlanIdFor(user.id, name);
    const schedules: PhysicalPlanView['schedules'] = [];
    let memo: { connection?: string; target?: string } = {};
    for (const kind of ['physical-full', 'physical-incremental'] as const) {
      try {
        const description = await this.deps.temporal.schedule.getHandle(scheduleIdOf(planId, kind)).describe();
        const owner = description.memo?.dbferryPlan as { ownerId?: number; connection?: string; target?: string } | undefined;
        if (owner?.ownerId !== user.id) continue;
        memo = owner;
        schedules.push({
          kind,
          scheduleId: description.scheduleId,
          paused: description.state.paused,
          nextRuns: description.info.nextActionTimes.slice(0, 3).map((d) => d.toISOString()),
          recentRuns: description.info.recentActions.map((a) => a.action.workflow.workflowId),
        });
      } catch (error) {
        if (!(error instanceof ScheduleNotFoundError)) throw error;
      }
    }
    if (schedules.length === 0) throw new ApiError('NOT_FOUND', `no physical plan named "${name}"`, 'name');
    return { name, planId, connection: memo.connection ?? '', target: memo.target ?? '', schedules };
  }

  /** Runs one of the plan's schedules now (the full or the incremental). */
  async trigger(user: AuthenticatedUser, name: string, kind: PhysicalKind): Promise<void> {
    const plan = await this.get(user, name);
    const schedule = plan.schedules.find((s) => s.kind === kind);
    if (!schedule) throw new ApiError('NOT_FOUND', `physical plan "${name}" has no ${kind} schedule`, 'kind');
    await this.deps.temporal.schedule.getHandle(schedule.scheduleId).trigger(ScheduleOverlapPolicy.SKIP);
  }

  /** Deletes both schedules; the backups the plan took stay (retention runs only after a plan's own backups). */
  async delete(user: AuthenticatedUser, name: string): Promise<void> {
    const plan = await this.get(user, name);
    await Promise.all(plan.schedules.map((s) => this.deps.temporal.schedule.getHandle(s.scheduleId).delete()));
  }

  private action(
    ownerName: string,
    planId: string,
    kind: PhysicalKind,
    input: CreatePhysicalPlanInput,
  ): ScheduleOptionsStartWorkflowAction<PhysicalBackupWorkflow> {
    const args: PhysicalBackupWorkflowInput = {
      backupId: '',
      connection: input.connection,
      target: input.target,
      kind,
      compression: input.compression,
      threads: input.threads,
      parentId: null,
      requestedBy: ownerName,
      callbackUrl: null,
      scheduleId: planId,
      retention: input.retention,
    };
    return {
      type: 'startWorkflow',
      workflowType: 'physicalBackup',
      taskQueue: this.deps.config.taskQueue,
      workflowId: physicalBackupWorkflowId(input.connection),
      args: [args],
      typedSearchAttributes: runSearchAttributes({
        kind: 'physical-backup',
        source: input.connection,
        destination: input.target,
        requestedBy: ownerName,
      }),
    };
  }
}
