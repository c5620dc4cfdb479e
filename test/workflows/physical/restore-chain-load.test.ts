// The chain restore's delivery into a database, on the real dev server with scripted activities:
// the dump from the temporary server and the load are steps with their own ranges.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { RestoreChainState, RestoreChainWorkflowInput } from '../../../src/workflows/physical/contracts.ts';
import { getRestoreChainStatusQuery } from '../../../src/workflows/physical/messages.ts';
import { runProgressSignal } from '../../../src/workflows/runs/messages.ts';
import { eventually, memoState, startMockedWorker, type MockedWorker } from '../runs/mocked-worker.ts';

const piece = (id: string, size: number) => ({
  id,
  key: `${id}.xbstream.zst`,
  sha256: '0'.repeat(64),
  size,
  streamBytes: size,
  compression: 'zstd',
  tool: 'mariabackup',
  fromLsn: '0',
  toLsn: '1',
});
const names = [
  'resolveRestoreChain',
  'fetchChainPiece',
  'prepareChainBase',
  'applyChainIncrement',
  'deliverChainToFolder',
  'deliverFromTempServer',
  'loadDump',
  'recreateSchemaObjectsFromDump',
  'verifyCopy',
  'removeChainScratch',
  'removeDumpDirectory',
  'dropCopyDestination',
];
const tables = [{ table: 't', rows: 3 }];
const defaults = {
  resolveRestoreChain: async () => ({ pieces: [piece('full', 300), piece('incr', 100)], existingDestination: null }),
  deliverFromTempServer: async () => ({ dumpDir: '/dump', tables, charset: 'utf8mb4', collation: 'utf8mb4_general_ci' }),
  verifyCopy: async () => [{ table: 't', sourceRows: 3, destinationRows: 3 }],
};
const intoDatabase = (): RestoreChainWorkflowInput => ({
  restoreId: `chain-${Math.random().toString(36).slice(2)}`,
  target: 's3',
  backupId: 'incr',
  before: null,
  connection: null,
  deliver: { kind: 'database', database: 'src', destination: { connection: 'local', database: 'dst' }, recreateDestination: false },
  threads: 1,
  requestedBy: 'test',
  callbackUrl: null,
});

describe('a chain restore into a database (scripted activities)', () => {
  let w: MockedWorker;
  beforeAll(async () => {
    w = await startMockedWorker(names, defaults);
  });
  afterAll(async () => {
    await w?.stop();
  });

  it('makes the load a step of its own, whose progress (legacy restoreProgress or runProgress) moves the bar', async () => {
    const seen: Array<{ progress: number; running: string[] }> = [];
    const report = async (signal: string | typeof runProgressSignal, fraction: number, progress: number) => {
      const { workflowId, runId } = Context.current().info.workflowExecution!;
      const handle = w.client.workflow.getHandle(workflowId, runId);
      // What dumper.ts's loadDump sends: phase `loading`, whatever job called it.
      await handle.signal(signal as typeof runProgressSignal, { phase: 'loading', fraction });
      const state = await eventually(async () => {
        const s = await handle.query(getRestoreChainStatusQuery);
        return s.progress === progress ? s : undefined;
      });
      seen.push({ progress: state.progress, running: state.steps.filter((s) => s.status === 'running').map((s) => s.name) });
    };
    w.script({
      loadDump: async () => {
        await report('restoreProgress', 0.5, 91);
        await report(runProgressSignal, 1, 95);
      },
    });
    const handle = await w.start('restoreChain', intoDatabase());
    await handle.result();
    const state = await memoState<RestoreChainState>(handle);
    expect(state.status).toBe('succeeded');
    expect(state.steps.map((s) => s.name)).toEqual([
      'download:full',
      'download:incr',
      'prepare:full',
      'apply:incr',
      'deliver',
      'load',
      'verify',
    ]);
    expect(state.steps.every((s) => s.status === 'done')).toBe(true);
    expect(seen).toEqual([
      { progress: 91, running: ['load'] },
      { progress: 95, running: ['load'] },
    ]);
    expect(state.progress).toBe(100);
    expect(state.deliveredTo).toBe('local/dst');
    expect(w.calls).toEqual([
      'resolveRestoreChain',
      'fetchChainPiece',
      'fetchChainPiece',
      'prepareChainBase',
      'applyChainIncrement',
      'deliverFromTempServer',
      'loadDump',
      'recreateSchemaObjectsFromDump',
      'verifyCopy',
      'removeChainScratch',
      'removeDumpDirectory',
    ]);
  });

  it('ignores a load report while no load step runs (a late one from before the dump was taken again)', async () => {
    let loads = 0;
    const after: Array<[number, number]> = [];
    w.script({
      deliverFromTempServer: async () => {
        const { workflowId, runId } = Context.current().info.workflowExecution!;
        const handle = w.client.workflow.getHandle(workflowId, runId);
        const before = await handle.query(getRestoreChainStatusQuery);
        await handle.signal(runProgressSignal, { phase: 'loading', fraction: 1 });
        // Signals are handled in order: once this query answers, the report has been placed (or not).
        after.push([before.progress, (await handle.query(getRestoreChainStatusQuery)).progress]);
        return defaults.deliverFromTempServer();
      },
      loadDump: async () => {
        if (loads++ === 0) throw ApplicationFailure.nonRetryable('the dump is not on this worker', 'DumpMissing');
      },
    });
    const handle = await w.start('restoreChain', intoDatabase());
    await handle.result();
    const state = await memoState<RestoreChainState>(handle);
    expect(state.status).toBe('succeeded');
    expect(state.steps.every((s) => s.status === 'done')).toBe(true);
    // No step named by the report was running, the second time neither: the load that failed is pending again.
    expect(after).toEqual([
      [80, 80],
      [87, 87],
    ]);
    expect(w.calls.filter((c) => c === 'deliverFromTempServer' || c === 'loadDump')).toEqual([
      'deliverFromTempServer',
      'loadDump',
      'deliverFromTempServer',
      'loadDump',
    ]);
  });
});
