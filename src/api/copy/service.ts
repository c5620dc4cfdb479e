import { randomUUID } from 'node:crypto';
import { WorkflowExecutionAlreadyStartedError, WorkflowIdConflictPolicy, WorkflowIdReusePolicy } from '@temporalio/client';
import type { AuthenticatedUser } from '../../control/tokens.ts';
import type { RunRecord } from '../../control/runs.ts';
import {
  copyWorkflowId,
  isFinalStatus,
  type CopyState,
  type CopyStatus,
  type CopyWorkflowInput,
  type TableCount,
} from '../../workflows/copy/contracts.ts';
import type { StartCopyInput } from './schemas.ts';
import { findCopyRequestProblem } from '../../shared/copy-rules.ts';
import { runSearchAttributes } from '../../shared/temporal.ts';
import type { copyDatabase } from '../../workflows/copy/copy-database.ts';
import { checkCallbackUrl } from '../callback-url.ts';
import type { ApiDeps } from '../deps.ts';
import { ApiError } from '../errors.ts';

/** A copy as the API shows it: the seed's fields plus phase and per-table counts. */
export interface CopyView {
  id: string;
  status: CopyStatus;
  phase: CopyState['phase'];
  progress: number;
  sourceConnection: string;
  sourceDb: string;
  destConnection: string;
  destDb: string;
  callbackUrl: string | null;
  startedAt: string | null;
  finishedAt: string | null;
  lastError: string | null;
  createdByUserId: number;
  createdAt: string;
  updatedAt: string;
  tables: TableCount[];
}

const KIND = 'copy';

/** Starting, reading, listing and cancelling copies: the logic behind both tRPC and REST. */
export class CopyService {
  constructor(private readonly deps: ApiDeps) {}

  /** Starts a copy, or returns the one this user already started with the same idempotency key. */
  async start(user: AuthenticatedUser, input: StartCopyInput): Promise<{ id: string; status: CopyStatus; created: boolean }> {
    const problem = findCopyRequestProblem(this.deps.config, input);
    if (problem) throw new ApiError(problem.kind === 'forbidden' ? 'FORBIDDEN' : 'BAD_REQUEST', problem.message, problem.field);
    if (input.callbackUrl) await checkCallbackUrl(input.callbackUrl, this.deps.config.webhooks.allowPrivateNetworks);

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

    const workflowInput: CopyWorkflowInput = {
      copyId: record.id,
      source: input.source,
      destination: input.destination,
      threads: input.threads,
      recreateDestination: input.recreateDestination,
      callbackUrl: input.callbackUrl ?? null,
      requestedBy: user.name,
    };
    try {
      const handle = await this.deps.temporal.workflow.start<typeof copyDatabase>('copyDatabase', {
        taskQueue: this.deps.config.taskQueue,
        workflowId,
        args: [workflowInput],
        // The destination is the lock: a second copy into it is refused while one runs.
        workflowIdConflictPolicy: WorkflowIdConflictPolicy.FAIL,
        workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
        memo: { state: queuedState(record.id) },
        typedSearchAttributes: runSearchAttributes({
          kind: KIND,
          source: `${input.source.connection}/${input.source.database}`,
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
          `a copy into ${input.destination.connection}/${input.destination.database} is already running; wait for it or cancel it`,
          'destination',
        );
      }
      throw error;
    }
    return { id: record.id, status: 'queued', created: true };
  }

  /** The copy if this user created it; anyone else gets NOT_FOUND, as if it did not exist. */
  async get(user: AuthenticatedUser, id: string): Promise<CopyView> {
    const record = await this.deps.runs.getOwned(id, user.id, KIND);
    if (!record) throw new ApiError('NOT_FOUND', `no copy with id ${id}`);
    return this.view(record);
  }

  async list(user: AuthenticatedUser, limit: number, before?: string): Promise<CopyView[]> {
    const records = await this.deps.runs.listOwned(user.id, KIND, limit, before);
    return Promise.all(records.map((r) => this.view(r)));
  }

  /** Requests cancellation; the workflow kills the tools, drops what it created and ends `cancelled`. */
  async cancel(user: AuthenticatedUser, id: string): Promise<CopyView> {
    const view = await this.get(user, id);
    if (!isFinalStatus(view.status)) {
      const record = (await this.deps.runs.get(id))!;
      await this.deps.temporal.workflow.getHandle(record.workflowId, record.runId ?? undefined).cancel();
    }
    return this.get(user, id);
  }

  private async view(record: RunRecord): Promise<CopyView> {
    const request = record.request as StartCopyInput;
    let state = queuedState(record.id);
    if (record.runId) {
      const description = await this.deps.temporal.workflow.getHandle(record.workflowId, record.runId).describe();
      state = (description.memo?.state as CopyState | undefined) ?? state;
      const closed = description.status.name;
      // Terminated or timed out from outside: the workflow never wrote its final state.
      if (!isFinalStatus(state.status) && closed !== 'RUNNING') {
        state = {
          ...state,
          status: closed === 'CANCELLED' ? 'cancelled' : 'failed',
          lastError: state.lastError ?? `workflow ${closed.toLowerCase()}`,
          finishedAt: description.closeTime?.toISOString() ?? state.finishedAt,
        };
      }
    }
    return {
      id: record.id,
      status: state.status,
      phase: state.phase,
      progress: state.progress,
      sourceConnection: request.source.connection,
      sourceDb: request.source.database,
      destConnection: request.destination.connection,
      destDb: request.destination.database,
      callbackUrl: record.callbackUrl,
      startedAt: state.startedAt,
      finishedAt: state.finishedAt,
      lastError: state.lastError,
      createdByUserId: record.createdByUserId,
      createdAt: record.createdAt,
      updatedAt: state.updatedAt ?? record.createdAt,
      tables: state.tables,
    };
  }
}

function queuedState(id: string): CopyState {
  return {
    id,
    status: 'queued',
    phase: 'queued',
    progress: 0,
    startedAt: null,
    finishedAt: null,
    lastError: null,
    updatedAt: null,
    tables: [],
  };
}
