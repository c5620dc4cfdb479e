import { randomUUID } from 'node:crypto';
import { WorkflowExecutionAlreadyStartedError, WorkflowIdConflictPolicy, WorkflowIdReusePolicy } from '@temporalio/client';
import type { AuthenticatedUser } from '../../control/tokens.ts';
import type { RunRecord } from '../../control/runs.ts';
import type { RestoreState, RestoreWorkflowInput } from '../../workflows/backup/contracts.ts';
import type { StartRestoreInput } from './schemas.ts';
import { copyWorkflowId, type DatabaseRef } from '../../workflows/copy/contracts.ts';
import { findDestinationProblem } from '../../shared/copy-rules.ts';
import { runSearchAttributes } from '../../shared/temporal.ts';
import type { BackupService } from './service.ts';
import { checkCallbackUrl } from '../callback-url.ts';
import type { ApiDeps } from '../deps.ts';
import { ApiError } from '../errors.ts';
import type { RestoreBackupWorkflow } from './workflow-types.ts';

/** A restore as the API shows it: the workflow's state plus what was asked for. */
export interface RestoreView extends RestoreState {
  backupId: string;
  destination: DatabaseRef;
  createdAt: string;
}

const KIND = 'restore';
const isFinal = (s: RestoreState['status']) => s === 'succeeded' || s === 'failed' || s === 'cancelled';

/** Starting, reading and cancelling restores of logical backups; only the creator sees a restore. */
export class RestoreService {
  constructor(
    private readonly deps: ApiDeps,
    private readonly backups: BackupService,
  ) {}

  /** Checks the destination and the backup, then starts restoreBackup under the destination's lock. */
  async start(
    user: AuthenticatedUser,
    input: StartRestoreInput,
  ): Promise<{ id: string; status: RestoreState['status']; created: boolean }> {
    const problem = findDestinationProblem(this.deps.config, input.destination);
    if (problem) throw new ApiError(problem.kind === 'forbidden' ? 'FORBIDDEN' : 'BAD_REQUEST', problem.message, problem.field);
    const backup = await this.backups.get(user, input.backupId).catch((error: unknown) => {
      throw error instanceof ApiError ? new ApiError(error.code, `no backup with id ${input.backupId}`, 'backupId') : error;
    });
    if (backup.status !== 'succeeded' || !backup.available || !backup.key) {
      throw new ApiError(
        'CONFLICT',
        `backup ${input.backupId} is ${backup.available ? backup.status : 'no longer in its target'}; only an existing, succeeded backup can be restored`,
        'backupId',
      );
    }
    if (input.callbackUrl) await checkCallbackUrl(input.callbackUrl, this.deps.config.webhooks.allowPrivateNetworks, 'callbackUrl');

    // The same workflow id as a copy into the destination: copies and restores lock each other out.
    const workflowId = copyWorkflowId(input.destination);
    const { record, created } = await this.deps.runs.claim({
      id: randomUUID(),
      kind: KIND,
      workflowId,
      createdByUserId: user.id,
      idempotencyKey: input.idempotencyKey ?? null,
      callbackUrl: input.callbackUrl ?? null,
      request: input,
    });
    if (!created) return { id: record.id, status: (await this.view(record)).status, created: false };
    const workflowInput: RestoreWorkflowInput = {
      restoreId: record.id,
      target: backup.target,
      key: backup.key,
      destination: input.destination,
      recreateDestination: input.recreateDestination,
      threads: input.threads,
      requestedBy: user.name,
      callbackUrl: input.callbackUrl ?? null,
    };
    try {
      const handle = await this.deps.temporal.workflow.start<RestoreBackupWorkflow>('restoreBackup', {
        taskQueue: this.deps.config.taskQueue,
        workflowId,
        args: [workflowInput],
        workflowIdConflictPolicy: WorkflowIdConflictPolicy.FAIL,
        workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
        memo: { state: queuedState(record.id, backup.id) },
        typedSearchAttributes: runSearchAttributes({
          kind: KIND,
          source: `${backup.source.connection}/${backup.source.database}`,
          destination: `${input.destination.connection}/${input.destination.database}`,
          requestedBy: user.name,
        }),
      });
      await this.deps.runs.attachRunId(record.id, handle.firstExecutionRunId);
    } catch (error) {
      await this.deps.runs.remove(record.id);
      if (error instanceof WorkflowExecutionAlreadyStartedError) {
        throw new ApiError(
          'CONFLICT',
          `a copy or restore into ${input.destination.connection}/${input.destination.database} is already running; wait for it or cancel it`,
          'destination',
        );
      }
      throw error;
    }
    return { id: record.id, status: 'queued', created: true };
  }

  async get(user: AuthenticatedUser, id: string): Promise<RestoreView> {
    const record = await this.deps.runs.getOwned(id, user.id, KIND);
    if (!record) throw new ApiError('NOT_FOUND', `no restore with id ${id}`, 'id');
    return this.view(record);
  }

  async list(user: AuthenticatedUser, limit: number): Promise<RestoreView[]> {
    return Promise.all((await this.deps.runs.listOwned(user.id, KIND, limit)).map((r) => this.view(r)));
  }

  /** Requests cancellation; the workflow kills the load and drops (or empties) what it created. */
  async cancel(user: AuthenticatedUser, id: string): Promise<RestoreView> {
    const view = await this.get(user, id);
    if (!isFinal(view.status)) {
      const record = (await this.deps.runs.get(id))!;
      await this.deps.temporal.workflow.getHandle(record.workflowId, record.runId ?? undefined).cancel();
    }
    return this.get(user, id);
  }

  private async view(record: RunRecord): Promise<RestoreView> {
    const request = record.request as StartRestoreInput;
    let state = queuedState(record.id, request.backupId);
    if (record.runId) {
      const description = await this.deps.temporal.workflow.getHandle(record.workflowId, record.runId).describe();
      state = { ...state, ...(description.memo?.state as Partial<RestoreState> | undefined) };
      const closed = description.status.name;
      if (!isFinal(state.status) && closed !== 'RUNNING') {
        state = {
          ...state,
          status: closed === 'CANCELLED' ? 'cancelled' : 'failed',
          lastError: state.lastError ?? `workflow ${closed.toLowerCase()}`,
          finishedAt: state.finishedAt ?? description.closeTime?.toISOString() ?? null,
        };
      }
    }
    return { ...state, backupId: request.backupId, destination: request.destination, createdAt: record.createdAt };
  }
}

function queuedState(id: string, backupId: string): RestoreState {
  return {
    id,
    status: 'queued',
    phase: 'queued',
    progress: 0,
    startedAt: null,
    finishedAt: null,
    lastError: null,
    updatedAt: null,
    backupId,
    tables: [],
  };
}
