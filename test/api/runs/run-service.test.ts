// The run service with an in-memory run store and a fake Temporal client: the claim, the lock and
// its 409, idempotent replays, the memo state of closed runs, and cancel.
import { describe, expect, it, vi } from 'vitest';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import type { RunRecord } from '../../../src/control/runs.ts';
import type { ApiDeps } from '../../../src/api/deps.ts';
import { ApiError } from '../../../src/api/errors.ts';
import { destinationLock, physicalServerLock } from '../../../src/api/runs/locks.ts';
import { RunService, type RunKind, type RunStateBase } from '../../../src/api/runs/run-service.ts';

const alice = { id: 1, name: 'alice', role: 'operator' as const };
const bob = { id: 2, name: 'bob', role: 'operator' as const };
type State = RunStateBase & { progress: number };
const kind: RunKind<State, State & { createdAt: string }> = {
  kind: 'copy',
  noun: 'copy',
  queued: (r) => ({ id: r.id, status: 'queued', lastError: null, finishedAt: null, progress: 0 }),
  view: (r, state) => ({ ...state, createdAt: r.createdAt }),
};

/** Deps with an in-memory runs table and a Temporal client whose executions a test describes. */
function fakeDeps(
  execution: { status: { name: string }; closeTime?: Date; memo?: Record<string, unknown> } = { status: { name: 'RUNNING' } },
) {
  const records = new Map<string, RunRecord>();
  const cancel = vi.fn(async () => undefined);
  const start = vi.fn(async (_type: string, _options: Record<string, unknown>) => ({ firstExecutionRunId: 'run-1' }));
  const count = vi.fn(async () => ({ count: 0 }));
  const runs = {
    async claim(run: Omit<RunRecord, 'runId' | 'createdAt'>) {
      const taken = [...records.values()].find(
        (r) =>
          run.idempotencyKey && r.createdByUserId === run.createdByUserId && r.kind === run.kind && r.idempotencyKey === run.idempotencyKey,
      );
      if (taken) return { record: taken, created: false };
      const record = { ...run, runId: null, createdAt: '2026-01-01T00:00:00.000Z', request: JSON.parse(JSON.stringify(run.request)) };
      records.set(run.id, record);
      return { record, created: true };
    },
    attachRunId: async (id: string, runId: string) => void (records.get(id)!.runId = runId),
    remove: async (id: string) => void records.delete(id),
    get: async (id: string) => records.get(id) ?? null,
    getOwned: async (id: string, userId: number, k: string) => {
      const r = records.get(id);
      return r && r.createdByUserId === userId && r.kind === k ? r : null;
    },
    listOwned: async (userId: number) => [...records.values()].filter((r) => r.createdByUserId === userId),
  };
  const temporal = {
    workflow: { start, count, getHandle: () => ({ describe: async () => execution, cancel }) },
  };
  const access = { require: async () => undefined, record: async () => undefined };
  const deps = { config: { taskQueue: 'q' }, runs, temporal, access } as unknown as ApiDeps;
  return { deps, records, start, cancel, count };
}

const request = (database = 'b', idempotencyKey?: string) => ({ destination: { connection: 'local', database }, idempotencyKey });
const startRun = (service: RunService<State, State>, user = alice, req = request(), lock = destinationLock(req.destination)) =>
  service.start(user, {
    workflowType: 'copyDatabase',
    needs: [],
    lock,
    request: req,
    callbackUrl: null,
    args: (id: string) => [{ copyId: id }],
    attributes: { source: 'local/a', destination: 'local/b' },
  });

describe('the run service', () => {
  it('claims the run, then starts its workflow under the lock with a queued memo state', async () => {
    const { deps, records, start } = fakeDeps();
    const started = await startRun(new RunService(deps, kind));
    expect(started).toEqual({ id: expect.any(String), status: 'queued', created: true });
    const [, options] = start.mock.calls[0]!;
    expect(options).toMatchObject({
      taskQueue: 'q',
      workflowId: 'copy:local/b',
      args: [{ copyId: started.id }],
      workflowIdConflictPolicy: 'FAIL',
      memo: { state: { id: started.id, status: 'queued' } },
    });
    expect(records.get(started.id)!.runId).toBe('run-1');
  });

  it('answers a held lock with one 409 naming the field, and forgets the claim', async () => {
    const { deps, records, start } = fakeDeps();
    start.mockRejectedValueOnce(new WorkflowExecutionAlreadyStartedError('running', 'copy:local/b', 'copyDatabase'));
    const refused = await startRun(new RunService(deps, kind)).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ApiError);
    expect(refused).toMatchObject({
      code: 'CONFLICT',
      field: 'destination',
      message: 'destination: a copy, restore or pull into local/b is already running; wait for it to finish or cancel it',
    });
    expect(records.size).toBe(0);
  });

  it('asks the lock about runs its workflow id cannot see, before starting anything', async () => {
    const { deps, records, start } = fakeDeps();
    const lock = { ...physicalServerLock('local'), isHeldElsewhere: async () => true };
    await expect(startRun(new RunService(deps, kind), alice, request(), lock)).rejects.toMatchObject({
      code: 'CONFLICT',
      message: 'connection: a physical backup of local is already running; wait for it to finish or cancel it',
    });
    expect(start).not.toHaveBeenCalled();
    expect(records.size).toBe(0);
  });

  it('replays an idempotency key with the same request, whatever its key order or absent fields', async () => {
    const { deps, start } = fakeDeps();
    const service = new RunService(deps, kind);
    const first = await startRun(service, alice, request('b', 'k-1'));
    const again = await startRun(service, alice, {
      idempotencyKey: 'k-1',
      destination: { database: 'b', connection: 'local' },
      extra: null,
    } as never);
    expect(again).toEqual({ id: first.id, status: 'queued', created: false });
    expect(start).toHaveBeenCalledTimes(1);
    // Another user's key is their own.
    expect((await startRun(service, bob, request('c', 'k-1'))).created).toBe(true);
  });

  it('refuses an idempotency key reused for another request with 422', async () => {
    const { deps } = fakeDeps();
    const service = new RunService(deps, kind);
    await startRun(service, alice, request('b', 'k-2'));
    await expect(startRun(service, alice, request('other', 'k-2'))).rejects.toMatchObject({
      code: 'UNPROCESSABLE_CONTENT',
      field: 'idempotencyKey',
    });
  });

  it('shows a run closed from outside without a final state as failed, with when and why', async () => {
    const closeTime = new Date('2026-02-03T04:05:06Z');
    const { deps } = fakeDeps({ status: { name: 'TERMINATED' }, closeTime, memo: { state: { status: 'running', progress: 40 } } });
    const service = new RunService(deps, kind);
    const { id } = await startRun(service);
    expect(await service.get(alice, id)).toMatchObject({
      status: 'failed',
      progress: 40,
      lastError: 'workflow terminated',
      finishedAt: closeTime.toISOString(),
    });
  });

  it('cancels a running run of its creator, leaves a finished one alone, and hides runs from everyone else', async () => {
    const running = fakeDeps();
    const service = new RunService(running.deps, kind);
    const { id } = await startRun(service);
    await expect(service.get(bob, id)).rejects.toMatchObject({ code: 'NOT_FOUND', field: 'id' });
    await expect(service.cancel(bob, id)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(running.cancel).not.toHaveBeenCalled();
    await service.cancel(alice, id);
    expect(running.cancel).toHaveBeenCalledTimes(1);

    const done = fakeDeps({ status: { name: 'COMPLETED' }, memo: { state: { status: 'succeeded', progress: 100 } } });
    const finished = new RunService(done.deps, kind);
    const second = await startRun(finished);
    expect(await finished.cancel(alice, second.id)).toMatchObject({ status: 'succeeded' });
    expect(done.cancel).not.toHaveBeenCalled();
    expect((await finished.list(alice, 10)).map((v) => v.id)).toEqual([second.id]);
  });
});
