// The workflow kit's life-cycle, through copyDatabase on the real dev server with scripted activities.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApplicationFailure, Context } from '@temporalio/activity';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import type { CopyState, CopyWorkflowInput } from '../../../src/workflows/copy/contracts.ts';
import { cancelCopySignal, getCopyStatusQuery } from '../../../src/workflows/copy/messages.ts';
import { runProgressSignal } from '../../../src/workflows/runs/messages.ts';
import type { WebhookDelivery } from '../../../src/workflows/runs/webhook-delivery.ts';
import { eventually, memoState, signalled, startMockedWorker, untilCancelled, type MockedWorker } from './mocked-worker.ts';

const dump = { dumpDir: '/dump', charset: 'utf8mb4', collation: 'utf8mb4_general_ci', tables: [{ table: 't', rows: 2 }] };
const names = [
  'validateCopy',
  'dumpDatabase',
  'loadDump',
  'recreateSchemaObjects',
  'verifyCopy',
  'removeDumpDirectory',
  'dropCopyDestination',
  'deliverWebhook',
];
const defaults = {
  validateCopy: async () => ({ existingDestination: null }),
  dumpDatabase: async () => dump,
  verifyCopy: async () => [{ table: 't', sourceRows: 2, destinationRows: 2 }],
};
const happyPath = ['validateCopy', 'dumpDatabase', 'loadDump', 'recreateSchemaObjects', 'verifyCopy', 'removeDumpDirectory'];

const input = (callbackUrl: string | null = null): CopyWorkflowInput => ({
  copyId: `copy-${Math.random().toString(36).slice(2)}`,
  source: { connection: 'local', database: 'src' },
  destination: { connection: 'local', database: 'dst' },
  threads: 1,
  recreateDestination: false,
  callbackUrl,
  requestedBy: 'test',
});

/** Waits for the run to close; returns how Temporal closed it and the state the API would read. */
async function settle(handle: WorkflowHandle) {
  const error = await handle.result().then(
    () => null,
    (e: unknown) => e,
  );
  const { status } = await handle.describe();
  return { error, closed: status.name, state: await memoState<CopyState>(handle) };
}

const failureTypeOf = (error: unknown): string | null | undefined =>
  error instanceof WorkflowFailedError && error.cause instanceof ApplicationFailure ? error.cause.type : undefined;

describe('the workflow kit (copyDatabase, scripted activities)', () => {
  let w: MockedWorker;
  beforeAll(async () => {
    w = await startMockedWorker(names, defaults);
  });
  afterAll(async () => {
    await w?.stop();
  });

  it('runs queued → running → succeeded, with timestamps, progress 100 and cleanup last', async () => {
    w.script();
    const handle = await w.start('copyDatabase', input());
    const { error, closed, state } = await settle(handle);
    expect(error).toBeNull();
    expect(closed).toBe('COMPLETED');
    expect(state).toMatchObject({ status: 'succeeded', phase: 'done', progress: 100, lastError: null, tables: [{ table: 't' }] });
    expect(Date.parse(state.startedAt!)).toBeLessThanOrEqual(Date.parse(state.finishedAt!));
    expect(w.calls).toEqual(happyPath);
    expect(await handle.result()).toMatchObject({ status: 'succeeded' });
  });

  it('fails with CopyFailed and the activity’s own words, after dropping what it created', async () => {
    w.script({ loadDump: async () => Promise.reject(ApplicationFailure.nonRetryable('myloader: table t is corrupt', 'LoadFailed')) });
    const { error, closed, state } = await settle(await w.start('copyDatabase', input()));
    expect(closed).toBe('FAILED');
    expect(failureTypeOf(error)).toBe('CopyFailed');
    expect(state).toMatchObject({ status: 'failed', phase: 'done', lastError: 'myloader: table t is corrupt' });
    expect(state.progress).toBeLessThan(100);
    expect(w.calls).toEqual(['validateCopy', 'dumpDatabase', 'loadDump', 'dropCopyDestination', 'removeDumpDirectory']);
  });

  const cancels: Array<[string, (h: WorkflowHandle) => Promise<void>, string]> = [
    ['the cancel signal', (h) => h.signal(cancelCopySignal, 'test'), 'FAILED'],
    ['a Temporal cancel', (h) => h.cancel().then(() => undefined), 'CANCELLED'],
  ];
  for (const [way, cancel, closedAs] of cancels) {
    for (const death of ['cancel', 'epipe'] as const) {
      it(`ends cancelled through ${way} when the tool ${death === 'epipe' ? 'dies of EPIPE' : 'reports the cancel'}, final status only after cleanup`, async () => {
        const loading = signalled();
        const seenDuringCleanup: Array<Pick<CopyState, 'status' | 'phase'>> = [];
        const run: { handle?: WorkflowHandle } = {};
        w.script({
          loadDump: untilCancelled(death, loading.resolve),
          removeDumpDirectory: async () => {
            const { status, phase } = await memoState<CopyState>(run.handle!);
            seenDuringCleanup.push({ status, phase });
          },
        });
        const handle = (run.handle = await w.start('copyDatabase', input()));
        await loading.promise;
        await cancel(handle);
        const { error, closed, state } = await settle(handle);
        expect(closed).toBe(closedAs);
        expect(error).not.toBeNull();
        expect(failureTypeOf(error)).toBeUndefined(); // the cancellation itself, not CopyFailed
        expect(state).toMatchObject({ status: 'cancelled', phase: 'done', lastError: 'cancelled by request' });
        expect(w.calls).toEqual(['validateCopy', 'dumpDatabase', 'loadDump', 'dropCopyDestination', 'removeDumpDirectory']);
        expect(seenDuringCleanup).toEqual([{ status: 'running', phase: 'cleaning-up' }]);
      });
    }
  }

  it('ends failed, saying what was left behind, when its cleanup fails', async () => {
    w.script({
      removeDumpDirectory: async () => Promise.reject(ApplicationFailure.nonRetryable('rm: /dump: device is read-only', 'CleanupFailed')),
    });
    const { error, closed, state } = await settle(await w.start('copyDatabase', input()));
    expect(closed).toBe('FAILED');
    expect(failureTypeOf(error)).toBe('CopyFailed');
    expect(state.status).toBe('failed');
    expect(state.phase).toBe('done');
    expect(state.lastError).toBe('cleaning up failed: rm: /dump: device is read-only');
  });

  it('dumps again on this worker when the dump is missing (DumpMissing), then loads', async () => {
    let loads = 0;
    w.script({
      loadDump: async () => {
        if (loads++ === 0) throw ApplicationFailure.nonRetryable('dump directory /dump is not on this worker', 'DumpMissing');
      },
    });
    const { closed, state } = await settle(await w.start('copyDatabase', input()));
    expect(closed).toBe('COMPLETED');
    expect(state.status).toBe('succeeded');
    expect(w.calls).toEqual([
      'validateCopy',
      'dumpDatabase',
      'loadDump',
      'dumpDatabase',
      'loadDump',
      'recreateSchemaObjects',
      'verifyCopy',
      'removeDumpDirectory',
    ]);
  });

  it('places runProgress and the legacy copyProgress alike inside the current phase’s range, never backwards', async () => {
    const seen: number[] = [];
    const send = async (signal: string | typeof runProgressSignal, phase: string, fraction: number, until: (p: number) => boolean) => {
      const { workflowId, runId } = Context.current().info.workflowExecution!;
      const handle = w.client.workflow.getHandle(workflowId, runId);
      await handle.signal(signal as typeof runProgressSignal, { phase, fraction });
      seen.push(await eventually(async () => ((p) => (until(p) ? p : undefined))((await handle.query(getCopyStatusQuery)).progress)));
    };
    w.script({
      dumpDatabase: async () => {
        await send(runProgressSignal, 'dumping', 0.5, (p) => p === 23);
        await send('copyProgress', 'dumping', 1, (p) => p === 45);
        return dump;
      },
      loadDump: async () => {
        await send('copyProgress', 'dumping', 1, (p) => p === 45); // a late report of the finished phase: ignored
        await send(runProgressSignal, 'loading', 0.5, (p) => p === 70);
        await send(runProgressSignal, 'loading', 0.1, (p) => p === 70); // backwards: ignored
      },
    });
    const { state } = await settle(await w.start('copyDatabase', input()));
    expect(seen).toEqual([23, 45, 45, 70, 70]);
    expect(state.progress).toBe(100);
  });

  it('sends the running and the final webhook, the final one after cleanup, with the same payload fields as ever', async () => {
    const deliveries: WebhookDelivery[] = [];
    w.script({ deliverWebhook: async (delivery: WebhookDelivery) => void deliveries.push(delivery) });
    const copy = input('http://127.0.0.1:9/hook');
    const handle = await w.start('copyDatabase', copy);
    const { state } = await settle(handle);
    await eventually(async () => (deliveries.length === 2 ? true : undefined));
    expect(deliveries.map((d) => [d.deliveryId, d.event])).toEqual([
      [`${copy.copyId}:running`, 'running'],
      [`${copy.copyId}:succeeded`, 'succeeded'],
    ]);
    expect(Object.keys(deliveries[1]!.payload)).toEqual(['id', 'status', 'started_at', 'finished_at', 'error']);
    expect(deliveries[1]!.payload).toEqual({
      id: copy.copyId,
      status: 'succeeded',
      started_at: state.startedAt,
      finished_at: state.finishedAt,
      error: null,
    });
    expect(w.calls.indexOf('removeDumpDirectory')).toBeLessThan(w.calls.lastIndexOf('deliverWebhook'));
  });
});
