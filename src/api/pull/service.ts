// Starting, reading, listing, cancelling and dry-running sanitized pulls, and their hourly orphan sweep.
import { EnsuredSchedule } from '../runs/sweep-schedule.ts';
import { runNeeds } from '../../control/run-needs.ts';
import { randomUUID } from 'node:crypto';
import { WorkflowFailedError } from '@temporalio/client';
import type { AuthenticatedUser } from '../../control/tokens.ts';
import type { RunRecord } from '../../control/runs.ts';
import type { DbferryConfig } from '../../config/schema.ts';
import { findDestinationProblem, findSameServerProblem, sameDatabase, type RequestProblem } from '../../shared/copy-rules.ts';
import type { DryRunRow, PullState } from '../../workflows/pull/contracts.ts';
import type { DryRunPullInput, StartPullInput } from './schemas.ts';
import { runSearchAttributes } from '../../shared/temporal.ts';
import type { PullProfile } from '../../config/pull-profiles.ts';
import type { sanitizedPull } from '../../workflows/pull/sanitized-pull.ts';
import type { cleanupPullWorkspaces, sanitizedPullDryRun } from '../../workflows/pull/pull-workspaces.ts';
import { checkCallbackUrl } from '../callback-url.ts';
import type { ApiDeps } from '../deps.ts';
import { ApiError } from '../errors.ts';
import { serverDestinationLock } from '../runs/locks.ts';
import { RunService, type StartedRun } from '../runs/run-service.ts';

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

/** The hourly orphan sweep's schedule id: one per task queue (the workers that know the profiles). */
export const pullCleanupScheduleId = (taskQueue: string): string => `pull-workspace-cleanup:${taskQueue}`;

export class PullService {
  #schedule: EnsuredSchedule | null = null;
  readonly #runs: RunService<PullState, PullView>;
  constructor(private readonly deps: ApiDeps) {
    this.#runs = new RunService(deps, {
      kind: 'pull',
      noun: 'pull',
      queued: (record) => queuedState(record.id, (record.request as StartPullInput).profile),
      view: (record, state) => pullView(deps.config, record, state),
    });
  }

  private profile(name: string): PullProfile {
    const profile = Object.hasOwn(this.deps.config.pulls, name) ? this.deps.config.pulls[name] : undefined;
    if (!profile) throw new ApiError('BAD_REQUEST', `no pull profile named "${name}" in the config`, 'profile');
    return profile;
  }

  /**
   * The checks any pull must pass before it starts: the destination may be written, is not the
   * source, and neither is the control schema through any connection to its server.
   */
  private async checkDestination(name: string, profile: PullProfile): Promise<void> {
    const refuse = (problem: RequestProblem): ApiError =>
      new ApiError(problem.kind === 'forbidden' ? 'FORBIDDEN' : 'BAD_REQUEST', `profile "${name}": ${problem.message}`, 'profile');
    const problem = findDestinationProblem(this.deps.config, profile.destination);
    if (problem) throw refuse(problem);
    if (sameDatabase(this.deps.config, profile.source, profile.destination)) {
      throw new ApiError('BAD_REQUEST', `profile "${name}": the destination is the source database itself`, 'profile');
    }
    const servers = this.deps.servers;
    const serverProblem = await findSameServerProblem(this.deps.config, (a, b) => servers.same(a, b), profile);
    if (serverProblem) throw refuse(serverProblem);
  }

  /** Starts a pull, or returns the one this user started with the same idempotency key. */
  async start(user: AuthenticatedUser, input: StartPullInput): Promise<StartedRun> {
    const profile = this.profile(input.profile);
    await this.checkDestination(input.profile, profile);
    const callbackUrl = input.callbackUrl ?? profile.callbackUrl ?? null;
    if (callbackUrl) await checkCallbackUrl(callbackUrl, this.deps.config.webhooks.allowPrivateNetworks, 'callbackUrl');
    await this.ensureCleanupSchedule();

    // A pull writes its destination like a copy: one run per destination, whichever kind.
    return this.#runs.start<typeof sanitizedPull>(user, {
      workflowType: 'sanitizedPull',
      needs: runNeeds({ workflow: 'sanitizedPull', source: profile.source.connection, destination: profile.destination.connection }),
      lock: await serverDestinationLock(this.deps.servers, profile.destination, 'profile'),
      request: input,
      callbackUrl,
      args: (pullId) => [
        { pullId, profile: input.profile, full: input.full, tables: input.tables ?? null, callbackUrl, requestedBy: user.name },
      ],
      attributes: {
        source: `${profile.source.connection}/${profile.source.database}`,
        destination: `${profile.destination.connection}/${profile.destination.database}`,
      },
      // The profile's threads: mydumper and the workspace sessions on the source's server.
      source: { connection: profile.source.connection, threads: profile.threads, field: 'profile', threadsField: 'profile' },
    });
  }

  /** The seed's --dry-run: the worker plans the pull against the source and counts rows; nothing is written. */
  async dryRun(user: AuthenticatedUser, input: DryRunPullInput): Promise<DryRunRow[]> {
    const profile = this.profile(input.profile);
    await this.checkDestination(input.profile, profile);
    await this.deps.access.require(
      user,
      runNeeds({ workflow: 'sanitizedPull', source: profile.source.connection, destination: profile.destination.connection }),
      'pull.dry-run',
    );
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
  async cleanup(user: AuthenticatedUser, input: { maxAgeMinutes: number; dryRun: boolean }) {
    // Dropping workspaces is for admins (the router refuses others too; this holds for any caller).
    if (user.role !== 'admin') throw new ApiError('FORBIDDEN', `pulls.cleanup is for admins; ${user.name} is not one`);
    await this.deps.access.record({
      actor: user.name,
      actorUserId: user.id,
      action: 'pull.cleanup',
      resource: 'pull workspaces',
      detail: input,
    });
    return this.deps.temporal.workflow.execute<typeof cleanupPullWorkspaces>('cleanupPullWorkspaces', {
      taskQueue: this.deps.config.taskQueue,
      workflowId: `pull-cleanup:${randomUUID()}`,
      args: [input],
      workflowExecutionTimeout: '30 minutes',
    });
  }

  get(user: AuthenticatedUser, id: string): Promise<PullView> {
    return this.#runs.get(user, id);
  }

  /** The seed's backfill:status: the caller's latest pulls, newest first. */
  list(user: AuthenticatedUser, limit: number, before?: string): Promise<PullView[]> {
    return this.#runs.list(user, limit, before);
  }

  cancel(user: AuthenticatedUser, id: string): Promise<PullView> {
    return this.#runs.cancel(user, id);
  }

  /** Creates the hourly orphan sweep once (seed 002: cleanup is scheduled automatically). */
  ensureCleanupSchedule(): Promise<void> {
    const { taskQueue } = this.deps.config;
    this.#schedule ??= new EnsuredSchedule(this.deps.temporal, {
      scheduleId: pullCleanupScheduleId(taskQueue),
      every: '1 hour',
      workflowType: 'cleanupPullWorkspaces',
      workflowId: `pull-cleanup:scheduled:${taskQueue}`,
      taskQueue,
      args: [{ maxAgeMinutes: 60 }],
    });
    return this.#schedule.ensure();
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

/** A pull's view: its state, what was asked for, and where the profile reads and writes. */
function pullView(config: DbferryConfig, record: RunRecord, state: PullState): PullView {
  const request = record.request as StartPullInput;
  const profile = Object.hasOwn(config.pulls, request.profile) ? config.pulls[request.profile] : undefined;
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
