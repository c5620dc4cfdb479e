import { randomUUID } from 'node:crypto';
import {
  ScheduleAlreadyRunning,
  ScheduleOverlapPolicy,
  WorkflowExecutionAlreadyStartedError,
  WorkflowFailedError,
  WorkflowIdConflictPolicy,
  WorkflowIdReusePolicy,
} from '@temporalio/client';
import type { AuthenticatedUser } from '../../control/tokens.ts';
import type { RunRecord } from '../../control/runs.ts';
import { copyWorkflowId, isFinalStatus } from '../../workflows/copy/contracts.ts';
import { findDestinationProblem, sameDatabase } from '../../shared/copy-rules.ts';
import type { DryRunRow, PullState, PullWorkflowInput } from '../../workflows/pull/contracts.ts';
import type { DryRunPullInput, StartPullInput } from './schemas.ts';
import { runSearchAttributes } from '../../shared/temporal.ts';
import type { PullProfile } from '../../config/pull-profiles.ts';
import type { cleanupPullWorkspaces, sanitizedPull, sanitizedPullDryRun } from '../../workflows/pull/sanitized-pull.ts';
import { checkCallbackUrl } from '../callback-url.ts';
import type { ApiDeps } from '../deps.ts';
import { ApiError } from '../errors.ts';

/** A pull as the API shows it: the seed's backfill:status columns and the live state. */
export interface PullView extends Omit<PullState, 'mode'> {
  mode: 'full' | 'delta' | null;
  full: boolean;
  requestedTables: string[] | null;
  source: string;
  destination: string;
  durationSeconds: number | null;
  createdAt: string;
}

const KIND = 'pull';
/** The hourly orphan sweep's schedule id: one per task queue (the workers that know the profiles). */
export const pullCleanupScheduleId = (taskQueue: string): string => `pull-workspace-cleanup:${taskQueue}`;

/** Starting, reading, listing, cancelling and dry-running sanitized pulls, for tRPC and the CLI. */
export class PullService {
  #scheduleEnsured: Promise<void> | null = null;
  constructor(private readonly deps: ApiDeps) {}

  private profile(name: string): PullProfile {
    const profile = Object.hasOwn(this.deps.config.pulls, name) ? this.deps.config.pulls[name] : undefined;
    if (!profile) throw new ApiError('BAD_REQUEST', `no pull profile named "${name}" in the config`, 'profile');
    return profile;
  }

  /** The checks any pull must pass before it starts: the destination may be written, and is not the source. */
  private checkDestination(name: string, profile: PullProfile): void {
    const problem = findDestinationProblem(this.deps.config, profile.destination);
    if (problem)
      throw new ApiError(problem.kind === 'forbidden' ? 'FORBIDDEN' : 'BAD_REQUEST', `profile "${name}": ${problem.message}`, 'profile');
    if (sameDatabase(this.deps.config, profile.source, profile.destination)) {
      throw new ApiError('BAD_REQUEST', `profile "${name}": the destination is the source database itself`, 'profile');
    }
  }

  /** Starts a pull, or returns the one this user started with the same idempotency key. */
  async start(user: AuthenticatedUser, input: StartPullInput): Promise<{ id: string; status: PullState['status']; created: boolean }> {
    const profile = this.profile(input.profile);
    this.checkDestination(input.profile, profile);
    const callbackUrl = input.callbackUrl ?? profile.callbackUrl ?? null;
    if (callbackUrl) await checkCallbackUrl(callbackUrl, this.deps.config.webhooks.allowPrivateNetworks, 'callbackUrl');
    await this.ensureCleanupSchedule();

    // A pull writes its destination like a copy: one run per destination, whichever kind.
    const workflowId = copyWorkflowId(profile.destination);
    const { record, created } = await this.deps.runs.claim({
      id: randomUUID(),
      kind: KIND,
      workflowId,
      createdByUserId: user.id,
      idempotencyKey: input.idempotencyKey ?? null,
      callbackUrl,
      request: input,
    });
    if (!created) return { id: record.id, status: (await this.view(record)).status, created: false };
    const workflowInput: PullWorkflowInput = {
      pullId: record.id,
      profile: input.profile,
      full: input.full,
      tables: input.tables ?? null,
      callbackUrl,
      requestedBy: user.name,
    };
    try {
      const handle = await this.deps.temporal.workflow.start<typeof sanitizedPull>('sanitizedPull', {
        taskQueue: this.deps.config.taskQueue,
        workflowId,
        args: [workflowInput],
        workflowIdConflictPolicy: WorkflowIdConflictPolicy.FAIL,
        workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
        memo: { state: queuedState(record.id, input.profile) },
        typedSearchAttributes: runSearchAttributes({
          kind: KIND,
          source: `${profile.source.connection}/${profile.source.database}`,
          destination: `${profile.destination.connection}/${profile.destination.database}`,
          requestedBy: user.name,
        }),
      });
      await this.deps.runs.attachRunId(record.id, handle.firstExecutionRunId);
    } catch (error) {
      await this.deps.runs.remove(record.id);
      if (error instanceof WorkflowExecutionAlreadyStartedError) {
        throw new ApiError(
          'CONFLICT',
          `a copy, restore or pull into ${profile.destination.connection}/${profile.destination.database} is already running; wait for it or cancel it`,
          'profile',
        );
      }
      throw error;
    }
    return { id: record.id, status: 'queued', created: true };
  }

  /** The seed's --dry-run: the worker plans the pull against the source and counts rows; nothing is written. */
  async dryRun(user: AuthenticatedUser, input: DryRunPullInput): Promise<DryRunRow[]> {
    const profile = this.profile(input.profile);
    this.checkDestination(input.profile, profile);
    try {
      return await this.deps.temporal.workflow.execute<typeof sanitizedPullDryRun>('sanitizedPullDryRun', {
        taskQueue: this.deps.config.taskQueue,
        workflowId: `pull-dry-run:${randomUUID()}`,
        args: [{ profile: input.profile, full: input.full, tables: input.tables ?? null }],
        workflowExecutionTimeout: '10 minutes',
        typedSearchAttributes: runSearchAttributes({
          kind: 'pull-dry-run',
          source: `${profile.source.connection}/${profile.source.database}`,
          destination: `${profile.destination.connection}/${profile.destination.database}`,
          requestedBy: user.name,
        }),
      });
    } catch (error) {
      if (error instanceof WorkflowFailedError) throw new ApiError('BAD_REQUEST', rootMessage(error), 'profile');
      throw error;
    }
  }

  /** Drops workspaces older than maxAgeMinutes now (the hourly schedule does the same). */
  async cleanup(_user: AuthenticatedUser, input: { maxAgeMinutes: number; dryRun: boolean }) {
    return this.deps.temporal.workflow.execute<typeof cleanupPullWorkspaces>('cleanupPullWorkspaces', {
      taskQueue: this.deps.config.taskQueue,
      workflowId: `pull-cleanup:${randomUUID()}`,
      args: [input],
      workflowExecutionTimeout: '30 minutes',
    });
  }

  async get(user: AuthenticatedUser, id: string): Promise<PullView> {
    const record = await this.deps.runs.getOwned(id, user.id, KIND);
    if (!record) throw new ApiError('NOT_FOUND', `no pull with id ${id}`);
    return this.view(record);
  }

  /** The seed's backfill:status: the caller's latest pulls, newest first. */
  async list(user: AuthenticatedUser, limit: number, before?: string): Promise<PullView[]> {
    const records = await this.deps.runs.listOwned(user.id, KIND, limit, before);
    return Promise.all(records.map((r) => this.view(r)));
  }

  async cancel(user: AuthenticatedUser, id: string): Promise<PullView> {
    const view = await this.get(user, id);
    if (!isFinalStatus(view.status)) {
      const record = (await this.deps.runs.get(id))!;
      await this.deps.temporal.workflow.getHandle(record.workflowId, record.runId ?? undefined).cancel();
    }
    return this.get(user, id);
  }

  /** Creates the hourly orphan sweep once (seed 002: cleanup is scheduled automatically). */
  ensureCleanupSchedule(): Promise<void> {
    this.#scheduleEnsured ??= this.deps.temporal.schedule
      .create({
        scheduleId: pullCleanupScheduleId(this.deps.config.taskQueue),
        spec: { intervals: [{ every: '1 hour' }] },
        action: {
          type: 'startWorkflow',
          workflowType: 'cleanupPullWorkspaces',
          taskQueue: this.deps.config.taskQueue,
          workflowId: `pull-cleanup:scheduled:${this.deps.config.taskQueue}`,
          args: [{ maxAgeMinutes: 60 }],
        },
        policies: { overlap: ScheduleOverlapPolicy.SKIP },
      })
      .then(
        () => undefined,
        (error: unknown) => {
          if (error instanceof ScheduleAlreadyRunning) return;
          this.#scheduleEnsured = null;
          throw error;
        },
      );
    return this.#scheduleEnsured;
  }

  private async view(record: RunRecord): Promise<PullView> {
    const request = record.request as StartPullInput;
    const profile = Object.hasOwn(this.deps.config.pulls, request.profile) ? this.deps.config.pulls[request.profile] : undefined;
    let state = queuedState(record.id, request.profile);
    if (record.runId) {
      const description = await this.deps.temporal.workflow.getHandle(record.workflowId, record.runId).describe();
      state = (description.memo?.state as PullState | undefined) ?? state;
      const closed = description.status.name;
      if (!isFinalStatus(state.status) && closed !== 'RUNNING') {
        state = {
          ...state,
          status: closed === 'CANCELLED' ? 'cancelled' : 'failed',
          lastError: state.lastError ?? `workflow ${closed.toLowerCase()}`,
          finishedAt: description.closeTime?.toISOString() ?? state.finishedAt,
        };
      }
    }
    const duration =
      state.startedAt && state.finishedAt ? Math.round((Date.parse(state.finishedAt) - Date.parse(state.startedAt)) / 1000) : null;
    return {
      ...state,
      full: request.full ?? false,
      requestedTables: request.tables ?? null,
      source: profile ? `${profile.source.connection}/${profile.source.database}` : '?',
      destination: profile ? `${profile.destination.connection}/${profile.destination.database}` : '?',
      durationSeconds: duration,
      createdAt: record.createdAt,
    };
  }
}

/** The activity's own words at the root of a failed workflow. */
function rootMessage(error: Error): string {
  let current: unknown = error;
  let message = error.message;
  while (current instanceof Error) {
    if (current.message) message = current.message;
    current = (current as { cause?: unknown }).cause;
  }
  return message;
}

// One service per API process (tRPC, REST and the start-up schedule share it), built on its deps.
const services = new WeakMap<ApiDeps, PullService>();
export function pullServiceFor(deps: ApiDeps): PullService {
  let service = services.get(deps);
  if (!service) services.set(deps, (service = new PullService(deps)));
  return service;
}

function queuedState(id: string, profile: string): PullState {
  return {
    id,
    profile,
    status: 'queued',
    phase: 'queued',
    progress: 0,
    mode: null,
    startedAt: null,
    finishedAt: null,
    lastError: null,
    updatedAt: null,
    workspace: null,
    tables: [],
    rows: 0,
  };
}
