// The one run life-cycle of the API, for every job: claim the request (idempotency), start its
// workflow under its lock (409 while another run holds it; 422 for a key reused for another request), read its memo state, cancel it.
import { randomUUID } from 'node:crypto';
import {
  WorkflowExecutionAlreadyStartedError,
  WorkflowIdConflictPolicy,
  WorkflowIdReusePolicy,
  type Workflow,
  type WorkflowStartOptions,
} from '@temporalio/client';
import type { AuthenticatedUser } from '../../control/tokens.ts';
import type { RunRecord } from '../../control/runs.ts';
import { isFinalStatus, type CopyStatus } from '../../workflows/copy/contracts.ts';
import { runSearchAttributes } from '../../shared/temporal.ts';
import type { ApiDeps } from '../deps.ts';
import { ApiError } from '../errors.ts';
import { lockConflict, type RunLock } from './locks.ts';
import type { Need } from '../../control/policy.ts';
import { claimWithinCaps, type RunSource } from './caps.ts';

export type RunStatus = CopyStatus;

/** What every run's memo `state` has, whatever the job. */
export interface RunStateBase {
  id: string;
  status: RunStatus;
  lastError: string | null;
  finishedAt: string | null;
}

/** One kind of run: its name in the control schema and in messages, its state before the workflow writes one, its view. */
export interface RunKind<S extends RunStateBase, V> {
  kind: string;
  noun: string;
  queued(record: RunRecord): S;
  view(record: RunRecord, state: S): V;
}

/** How to start one run of a kind. */
export interface StartRun<W extends Workflow> {
  workflowType: string;
  lock: RunLock;
  /** The parsed request: stored for the views, compared when its idempotency key comes back. */
  request: { idempotencyKey?: string | null | undefined };
  callbackUrl: string | null;
  /** The workflow's arguments, given the new run's id. */
  args(id: string): Parameters<W>;
  /** The Web UI's source and destination attributes (kind and requested-by are the run's). */
  attributes: { source: string; destination: string };
  /** Memo entries beside `state`. */
  memo?: Record<string, unknown>;
  /** The permissions the run needs (src/control/run-needs.ts); checked before anything is claimed or started. */
  needs: readonly Need[];
  /** The connection the run reads from and the threads it opens there, for the run caps (none: only the per-user cap). */
  source?: RunSource;
}

export interface StartedRun {
  id: string;
  status: RunStatus;
  /** False when the idempotency key named an earlier run, which is returned instead. */
  created: boolean;
}

/** The facts of a Temporal execution that say how it ended. */
export interface ExecutionEnd {
  status: { name: string };
  closeTime?: Date | undefined;
}

/** A state as it is, or, for a run that closed without writing a final one (terminated, timed out), failed or cancelled. */
export function settleState<S extends RunStateBase>(state: S, execution: ExecutionEnd): S {
  const closed = execution.status.name;
  if (isFinalStatus(state.status) || closed === 'RUNNING') return state;
  return {
    ...state,
    status: closed === 'CANCELLED' ? 'cancelled' : 'failed',
    lastError: state.lastError ?? `workflow ${closed.toLowerCase()}`,
    finishedAt: state.finishedAt ?? execution.closeTime?.toISOString() ?? null,
  };
}

/** The same request, whatever the key order, with absent and null optional fields alike. */
const canonical = (value: unknown): unknown =>
  Array.isArray(value)
    ? value.map(canonical)
    : value && typeof value === 'object'
      ? Object.fromEntries(
          Object.entries(value)
            .filter(([, v]) => v !== undefined && v !== null)
            .sort(([a], [b]) => (a < b ? -1 : 1))
            .map(([k, v]) => [k, canonical(v)]),
        )
      : value;
const sameRequest = (a: unknown, b: unknown): boolean => JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));

/** Starting, reading, listing and cancelling the runs of one kind; only their creator sees them. */
export class RunService<S extends RunStateBase, V> {
  constructor(
    private readonly deps: ApiDeps,
    private readonly runKind: RunKind<S, V>,
  ) {}

  /** Starts a run, or returns the one this user started with the same idempotency key and request. */
  async start<W extends Workflow>(user: AuthenticatedUser, run: StartRun<W>): Promise<StartedRun> {
    const { kind } = this.runKind;
    await this.deps.access.require(user, run.needs, `${kind}.start`);
    // The claim is the run's reservation: made under the run caps' lock, refused (429) over a cap.
    const { record, created } = await claimWithinCaps(this.deps, user, run.source ?? null, (db) =>
      this.deps.runs.claim(
        {
          id: randomUUID(),
          kind,
          workflowId: run.lock.workflowId,
          createdByUserId: user.id,
          idempotencyKey: run.request.idempotencyKey ?? null,
          callbackUrl: run.callbackUrl,
          request: run.request,
        },
        db,
      ),
    );
    if (!created) {
      if (!sameRequest(record.request, run.request)) {
        throw new ApiError(
          'UNPROCESSABLE_CONTENT',
          `was used for another ${this.runKind.noun} request (${record.id}); use a new key`,
          'idempotencyKey',
        );
      }
      return { id: record.id, status: (await this.state(record)).status, created: false };
    }
    try {
      if (await run.lock.isHeldElsewhere?.(this.deps.temporal)) throw lockConflict(run.lock);
      const options: WorkflowStartOptions = {
        taskQueue: this.deps.config.taskQueue,
        workflowId: run.lock.workflowId,
        args: run.args(record.id),
        // The lock: a second run with this workflow id is refused while one is open.
        workflowIdConflictPolicy: WorkflowIdConflictPolicy.FAIL,
        workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
        memo: { state: this.runKind.queued(record), ...run.memo },
        typedSearchAttributes: runSearchAttributes({ kind, ...run.attributes, requestedBy: user.name }),
      };
      // `args` is Parameters<W>, which TypeScript cannot match to the conditional type of a generic W.
      const handle = await this.deps.temporal.workflow.start<W>(run.workflowType, options as WorkflowStartOptions<W>);
      await this.deps.runs.attachRunId(record.id, handle.firstExecutionRunId);
    } catch (error) {
      await this.deps.runs.remove(record.id);
      throw error instanceof WorkflowExecutionAlreadyStartedError ? lockConflict(run.lock) : error;
    }
    await this.deps.access.record({
      actor: user.name,
      actorUserId: user.id,
      action: `${kind}.start`,
      resource: `${run.attributes.source} -> ${run.attributes.destination}`,
      runId: record.id,
      detail: { workflowId: run.lock.workflowId, tokenId: user.tokenId ?? null },
    });
    return { id: record.id, status: 'queued', created: true };
  }

  /** The run if this user started it; anyone else gets NOT_FOUND, as if it did not exist. */
  async get(user: AuthenticatedUser, id: string): Promise<V> {
    const view = await this.find(user, id);
    if (!view) throw new ApiError('NOT_FOUND', `no ${this.runKind.noun} with id ${id}`, 'id');
    return view;
  }

  /** The run, or null when `id` is not one of this user's runs of this kind. */
  async find(user: AuthenticatedUser, id: string): Promise<V | null> {
    const record = await this.deps.runs.getOwned(id, user.id, this.runKind.kind);
    return record ? this.view(record) : null;
  }

  /** This user's runs, newest first. */
  async list(user: AuthenticatedUser, limit: number, before?: string): Promise<V[]> {
    const records = await this.deps.runs.listOwned(user.id, this.runKind.kind, limit, before);
    return Promise.all(records.map((r) => this.view(r)));
  }

  /** Asks a running run to stop (its workflow cleans up and ends `cancelled`); a finished one is returned as it is. */
  async cancel(user: AuthenticatedUser, id: string): Promise<V> {
    const record = await this.deps.runs.getOwned(id, user.id, this.runKind.kind);
    if (!record) throw new ApiError('NOT_FOUND', `no ${this.runKind.noun} with id ${id}`, 'id');
    if (record.runId && !isFinalStatus((await this.state(record)).status)) {
      await this.deps.temporal.workflow.getHandle(record.workflowId, record.runId).cancel();
      await this.deps.access.record({
        actor: user.name,
        actorUserId: user.id,
        action: `${this.runKind.kind}.cancel`,
        resource: record.workflowId,
        runId: id,
      });
    }
    return this.get(user, id);
  }

  /** The state the workflow keeps in its memo, settled for a run that closed without a final one. */
  async state(record: RunRecord): Promise<S> {
    const queued = this.runKind.queued(record);
    if (!record.runId) return queued;
    const description = await this.deps.temporal.workflow.getHandle(record.workflowId, record.runId).describe();
    return settleState({ ...queued, ...(description.memo?.state as Partial<S> | undefined) }, description);
  }

  private async view(record: RunRecord): Promise<V> {
    return this.runKind.view(record, await this.state(record));
  }
}
