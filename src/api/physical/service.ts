// Physical backups and chain restores through the API: start, read, list and cancel, each run
// visible only to the user who started it (the control schema's runs, like copies and restores).
import { randomUUID } from 'node:crypto';
import { WorkflowExecutionAlreadyStartedError, WorkflowIdConflictPolicy, WorkflowIdReusePolicy } from '@temporalio/client';
import type { AuthenticatedUser } from '../../control/tokens.ts';
import type { RunRecord } from '../../control/runs.ts';
import { findDestinationProblem } from '../../shared/copy-rules.ts';
import type { TriggerPhysicalBackupInput, StartChainRestoreInput } from './schemas.ts';
import {
  physicalBackupWorkflowId,
  restoreChainWorkflowId,
  type ChainDelivery,
  type PhysicalBackupState,
  type PhysicalBackupWorkflowInput,
  type RestoreChainState,
  type RestoreChainWorkflowInput,
} from '../../workflows/physical/contracts.ts';
import { runSearchAttributes } from '../../shared/temporal.ts';
import { checkCallbackUrl } from '../callback-url.ts';
import type { ApiDeps } from '../deps.ts';
import { ApiError } from '../errors.ts';
import { PhysicalPlanService } from './plans.ts';

export const PHYSICAL_BACKUP_KIND = 'physical-backup';
export const CHAIN_RESTORE_KIND = 'restore-chain';

type PhysicalBackupWorkflow = (input: PhysicalBackupWorkflowInput) => Promise<PhysicalBackupState>;
type RestoreChainWorkflow = (input: RestoreChainWorkflowInput) => Promise<RestoreChainState>;

export interface PhysicalBackupView extends PhysicalBackupState {
  connection: string;
  createdAt: string;
}
export interface ChainRestoreView extends RestoreChainState {
  kind: 'chain';
  request: StartChainRestoreInput;
  createdAt: string;
}

const isFinal = (s: string) => s === 'succeeded' || s === 'failed' || s === 'cancelled';

function deliveryOf(input: StartChainRestoreInput): ChainDelivery {
  const { folder, database, destination, recreateDestination } = input.to;
  // The schema lets through exactly one of the two shapes.
  return folder !== undefined
    ? { kind: 'folder', path: folder }
    : { kind: 'database', database: database!, destination: destination!, recreateDestination: recreateDestination ?? false };
}

export class PhysicalService {
  /** Backup plans: fulls on one cron, incrementals on another. */
  readonly plans: PhysicalPlanService;
  constructor(private readonly deps: ApiDeps) {
    this.plans = new PhysicalPlanService(deps);
  }

  /** Starts a physical backup of a server; one per server at a time (409 while one runs). */
  async trigger(
    user: AuthenticatedUser,
    input: TriggerPhysicalBackupInput,
  ): Promise<{ id: string; status: PhysicalBackupState['status']; created: boolean }> {
    if (!Object.hasOwn(this.deps.config.connections, input.connection))
      throw new ApiError('BAD_REQUEST', `no connection named "${input.connection}"`, 'connection');
    if (!Object.hasOwn(this.deps.config.targets, input.target))
      throw new ApiError('BAD_REQUEST', `no target named "${input.target}"`, 'target');
    if (input.callbackUrl) await checkCallbackUrl(input.callbackUrl, this.deps.config.webhooks.allowPrivateNetworks, 'callbackUrl');
    const workflowId = physicalBackupWorkflowId(input.connection);
    const { record, created } = await this.deps.runs.claim({
      id: randomUUID(),
      kind: PHYSICAL_BACKUP_KIND,
      workflowId,
      createdByUserId: user.id,
      idempotencyKey: input.idempotencyKey ?? null,
      callbackUrl: input.callbackUrl ?? null,
      request: input,
    });
    if (!created) return { id: record.id, status: (await this.backupView(record)).status, created: false };
    const workflowInput: PhysicalBackupWorkflowInput = {
      backupId: record.id,
      connection: input.connection,
      target: input.target,
      kind: input.kind,
      compression: input.compression,
      threads: input.threads,
      parentId: input.parentId ?? null,
      requestedBy: user.name,
      callbackUrl: input.callbackUrl ?? null,
      scheduleId: null,
      retention: null,
    };
    await this.start(
      record,
      'physicalBackup',
      workflowId,
      [workflowInput],
      { kind: PHYSICAL_BACKUP_KIND, source: input.connection, destination: input.target, requestedBy: user.name },
      `a physical backup of ${input.connection} is already running; wait for it to finish`,
      'connection',
    );
    return { id: record.id, status: 'queued', created: true };
  }

  async getBackup(user: AuthenticatedUser, id: string): Promise<PhysicalBackupView> {
    const record = await this.deps.runs.getOwned(id, user.id, PHYSICAL_BACKUP_KIND);
    if (!record) throw new ApiError('NOT_FOUND', `no backup with id ${id}`, 'id');
    return this.backupView(record);
  }

  async cancelBackup(user: AuthenticatedUser, id: string): Promise<PhysicalBackupView> {
    const view = await this.getBackup(user, id);
    if (!isFinal(view.status)) await this.cancelRun(id);
    return this.getBackup(user, id);
  }

  /** Checks the destination, then starts restoreChain (a database delivery takes the destination's copy lock). */
  async startChain(
    user: AuthenticatedUser,
    input: StartChainRestoreInput,
  ): Promise<{ id: string; status: RestoreChainState['status']; created: boolean }> {
    if (!Object.hasOwn(this.deps.config.targets, input.target))
      throw new ApiError('BAD_REQUEST', `no target named "${input.target}"`, 'target');
    const deliver = deliveryOf(input);
    if (deliver.kind === 'database') {
      const problem = findDestinationProblem(this.deps.config, deliver.destination);
      if (problem) throw new ApiError(problem.kind === 'forbidden' ? 'FORBIDDEN' : 'BAD_REQUEST', problem.message, `to.${problem.field}`);
    }
    if (input.callbackUrl) await checkCallbackUrl(input.callbackUrl, this.deps.config.webhooks.allowPrivateNetworks, 'callbackUrl');
    const workflowId = restoreChainWorkflowId(deliver);
    const { record, created } = await this.deps.runs.claim({
      id: randomUUID(),
      kind: CHAIN_RESTORE_KIND,
      workflowId,
      createdByUserId: user.id,
      idempotencyKey: input.idempotencyKey ?? null,
      callbackUrl: input.callbackUrl ?? null,
      request: input,
    });
    if (!created) return { id: record.id, status: (await this.chainView(record)).status, created: false };
    const workflowInput: RestoreChainWorkflowInput = {
      restoreId: record.id,
      target: input.target,
      backupId: input.chain.backupId ?? null,
      before: input.chain.before ?? null,
      connection: input.chain.connection ?? null,
      deliver,
      threads: input.threads,
      requestedBy: user.name,
      callbackUrl: input.callbackUrl ?? null,
    };
    const destination =
      deliver.kind === 'folder' ? `folder:${deliver.path}` : `${deliver.destination.connection}/${deliver.destination.database}`;
    await this.start(
      record,
      'restoreChain',
      workflowId,
      [workflowInput],
      { kind: CHAIN_RESTORE_KIND, source: input.target, destination, requestedBy: user.name },
      `a copy or restore into ${destination} is already running; wait for it or cancel it`,
      'to',
    );
    return { id: record.id, status: 'queued', created: true };
  }

  /** The chain restore, or null when `id` is not one of this user's chain restores. */
  async findChain(user: AuthenticatedUser, id: string): Promise<ChainRestoreView | null> {
    const record = await this.deps.runs.getOwned(id, user.id, CHAIN_RESTORE_KIND);
    return record ? this.chainView(record) : null;
  }

  async listChains(user: AuthenticatedUser, limit: number): Promise<ChainRestoreView[]> {
    return Promise.all((await this.deps.runs.listOwned(user.id, CHAIN_RESTORE_KIND, limit)).map((r) => this.chainView(r)));
  }

  async cancelChain(user: AuthenticatedUser, id: string): Promise<ChainRestoreView | null> {
    const view = await this.findChain(user, id);
    if (!view) return null;
    if (!isFinal(view.status)) await this.cancelRun(id);
    return this.findChain(user, id);
  }

  private async start(
    record: RunRecord,
    type: 'physicalBackup' | 'restoreChain',
    workflowId: string,
    args: [PhysicalBackupWorkflowInput] | [RestoreChainWorkflowInput],
    attributes: { kind: string; source: string; destination: string; requestedBy: string },
    conflict: string,
    field: string,
  ): Promise<void> {
    try {
      const handle =
        type === 'physicalBackup'
          ? await this.deps.temporal.workflow.start<PhysicalBackupWorkflow>(type, {
              ...this.startOptions(workflowId, attributes),
              args: args as [PhysicalBackupWorkflowInput],
            })
          : await this.deps.temporal.workflow.start<RestoreChainWorkflow>(type, {
              ...this.startOptions(workflowId, attributes),
              args: args as [RestoreChainWorkflowInput],
            });
      await this.deps.runs.attachRunId(record.id, handle.firstExecutionRunId);
    } catch (error) {
      await this.deps.runs.remove(record.id);
      if (error instanceof WorkflowExecutionAlreadyStartedError) throw new ApiError('CONFLICT', conflict, field);
      throw error;
    }
  }

  private startOptions(workflowId: string, attributes: { kind: string; source: string; destination: string; requestedBy: string }) {
    return {
      taskQueue: this.deps.config.taskQueue,
      workflowId,
      workflowIdConflictPolicy: WorkflowIdConflictPolicy.FAIL,
      workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
      typedSearchAttributes: runSearchAttributes(attributes),
    };
  }

  private async cancelRun(id: string): Promise<void> {
    const record = (await this.deps.runs.get(id))!;
    await this.deps.temporal.workflow.getHandle(record.workflowId, record.runId ?? undefined).cancel();
  }

  /** The memo's state, with a closed workflow that never published a final status shown as failed or cancelled. */
  private async memoState<S extends { status: string; lastError: string | null; finishedAt: string | null }>(
    record: RunRecord,
    queued: S,
  ): Promise<S> {
    if (!record.runId) return queued;
    const description = await this.deps.temporal.workflow.getHandle(record.workflowId, record.runId).describe();
    let state = { ...queued, ...(description.memo?.state as Partial<S> | undefined) };
    const closed = description.status.name;
    if (!isFinal(state.status) && closed !== 'RUNNING') {
      state = {
        ...state,
        status: closed === 'CANCELLED' ? 'cancelled' : 'failed',
        lastError: state.lastError ?? `workflow ${closed.toLowerCase()}`,
        finishedAt: state.finishedAt ?? description.closeTime?.toISOString() ?? null,
      };
    }
    return state;
  }

  private async backupView(record: RunRecord): Promise<PhysicalBackupView> {
    const request = record.request as TriggerPhysicalBackupInput;
    const queued: PhysicalBackupState = {
      id: record.id,
      kind: request.kind,
      status: 'queued',
      phase: 'queued',
      progress: 0,
      startedAt: null,
      finishedAt: null,
      lastError: null,
      updatedAt: null,
      target: request.target,
      key: null,
      size: null,
      sha256: null,
      chainId: null,
      parentId: null,
      fromLsn: null,
      toLsn: null,
      retention: null,
    };
    return { ...(await this.memoState(record, queued)), connection: request.connection, createdAt: record.createdAt };
  }

  private async chainView(record: RunRecord): Promise<ChainRestoreView> {
    const queued: RestoreChainState = {
      id: record.id,
      status: 'queued',
      phase: 'queued',
      progress: 0,
      startedAt: null,
      finishedAt: null,
      lastError: null,
      updatedAt: null,
      chain: [],
      steps: [],
      deliveredTo: null,
      tables: [],
    };
    return {
      ...(await this.memoState(record, queued)),
      kind: 'chain',
      request: record.request as StartChainRestoreInput,
      createdAt: record.createdAt,
    };
  }
}
