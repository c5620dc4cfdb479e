// Chain restores that are cancelled or lose their worker end clean, or resume at the step they were in.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { chainScratch } from '../../../src/activities/physical/restore-chain.ts';
import { killOrphanedTool as killOrphan } from '../../../src/activities/tools/tools.ts';
import { stopServerByPidFile } from '../../../src/activities/physical/temp-server.ts';
import type { WorkflowHandle } from '@temporalio/client';
import { cancelRestoreChainSignal, getRestoreChainStatusQuery } from '../../../src/workflows/physical/messages.ts';
import type { PhysicalBackupState, RestoreChainState } from '../../../src/workflows/physical/contracts.ts';
import { createBulkDatabase } from '../../harness/bulk.ts';
import { dropDatabases, rootConnection, uniqueDbName } from '../../harness/mysql.ts';
import { leftoversIn, startPhysicalBackup, startRestoreChain, tableChecksums } from '../../harness/physical.ts';
import { processCommandLines } from '../../harness/processes.ts';
import { startTestStack, type TestStack, spawnWorkerProcess } from '../../harness/stack.ts';

/** Polls the restore until the named step runs. */
async function waitForStep(handle: WorkflowHandle, prefix: string, timeoutMs = 120_000): Promise<RestoreChainState> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const state = await handle.query(getRestoreChainStatusQuery).catch(() => null);
    if (state?.steps.some((s) => s.name.startsWith(prefix) && s.status === 'running')) return state;
    if (state && ['succeeded', 'failed', 'cancelled'].includes(state.status))
      throw new Error(`restore ended ${state.status} before step ${prefix}: ${state.lastError}`);
    if (Date.now() > deadline) throw new Error(`restore never reached step ${prefix}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function settle<S>(handle: WorkflowHandle): Promise<S> {
  await handle.result().catch(() => undefined);
  return (await handle.describe()).memo?.state as S;
}

async function scheduledActivities(handle: WorkflowHandle): Promise<string[]> {
  const { events } = await handle.fetchHistory();
  return (events ?? []).map((e) => e.activityTaskScheduledEventAttributes?.activityType?.name ?? '').filter(Boolean);
}

async function schemaExists(name: string): Promise<boolean> {
  const conn = await rootConnection();
  try {
    const [rows] = await conn.query('SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?', [name]);
    return (rows as unknown[]).length > 0;
  } finally {
    await conn.end();
  }
}

describe('chain restores that are cancelled or lose their worker', () => {
  let stack: TestStack;
  const workers: ChildProcess[] = [];
  const source = uniqueDbName('physk_src');
  const cancelled = uniqueDbName('physk_cnl');
  const resumed = uniqueDbName('physk_res');
  const moved = uniqueDbName('physk_mov');
  let lastId: string;
  let expected: Record<string, string>;

  beforeAll(async () => {
    stack = await startTestStack({ worker: false });
    workers.push(await spawnWorkerProcess(stack));
    await createBulkDatabase(source, 400_000);
    const full = await settle<PhysicalBackupState>(await startPhysicalBackup(stack, { kind: 'physical-full', target: 'files' }));
    expect(full.status).toBe('succeeded');
    const conn = await rootConnection(source);
    try {
      await conn.query("UPDATE parents SET name = CONCAT(name, '-x') WHERE id % 3 = 0; DELETE FROM children WHERE id % 13 = 0");
      const incremental = await settle<PhysicalBackupState>(
        await startPhysicalBackup(stack, { kind: 'physical-incremental', target: 'files' }),
      );
      expect(incremental.status).toBe('succeeded');
      lastId = incremental.id;
      expected = await tableChecksums(conn, source);
    } finally {
      await conn.end();
    }
  });
  afterAll(async () => {
    for (const w of workers) w.kill('SIGKILL');
    await dropDatabases(source, cancelled, resumed, moved);
    await stack?.stop();
  });

  it('cancelled while its temporary server runs: ends cancelled with no scratch directory, no server and no destination left', async () => {
    const restoreId = randomUUID();
    const handle = await startRestoreChain(stack, {
      restoreId,
      target: 'files',
      backupId: lastId,
      deliver: {
        kind: 'database',
        database: source,
        destination: { connection: 'local', database: cancelled },
        recreateDestination: false,
      },
    });
    await waitForStep(handle, 'deliver');
    // The temporary server is up (the cancel must stop it).
    for (let i = 0; i < 300 && (await processCommandLines(new RegExp(`mariadbd.*chain-${restoreId}`))).length === 0; i++)
      await new Promise((r) => setTimeout(r, 100));
    expect(await processCommandLines(new RegExp(`mariadbd.*chain-${restoreId}`))).toHaveLength(1);
    await handle.signal(cancelRestoreChainSignal);
    const state = await settle<RestoreChainState>(handle);
    expect(state.status).toBe('cancelled');
    expect(await leftoversIn(stack.config.workDir)).toEqual([]);
    expect(await processCommandLines(new RegExp(`chain-${restoreId}|copy-${restoreId}`))).toEqual([]);
    expect(await schemaExists(cancelled)).toBe(false);
  });

  it('cancelled while applying the chain: ends cancelled with nothing left in workDir', async () => {
    const restoreId = randomUUID();
    const handle = await startRestoreChain(stack, {
      restoreId,
      target: 'files',
      backupId: lastId,
      deliver: {
        kind: 'database',
        database: source,
        destination: { connection: 'local', database: cancelled },
        recreateDestination: false,
      },
    });
    await waitForStep(handle, 'prepare:');
    await handle.cancel();
    const state = await settle<RestoreChainState>(handle);
    expect({ status: state.status, lastError: state.lastError }).toEqual({ status: 'cancelled', lastError: 'cancelled by request' });
    expect(await leftoversIn(stack.config.workDir)).toEqual([]);
    expect(await processCommandLines(new RegExp(`chain-${restoreId}`))).toEqual([]);
  });

  it('survives a killed worker: a new worker resumes at the step that was running and the database matches the source', async () => {
    const restoreId = randomUUID();
    const handle = await startRestoreChain(stack, {
      restoreId,
      target: 'files',
      backupId: lastId,
      deliver: { kind: 'database', database: source, destination: { connection: 'local', database: resumed }, recreateDestination: false },
    });
    const before = await waitForStep(handle, 'deliver');
    expect(
      before.steps
        .filter((s) => s.name.startsWith('download:') || s.name.startsWith('prepare:') || s.name.startsWith('apply:'))
        .every((s) => s.status === 'done'),
    ).toBe(true);
    workers.at(-1)!.kill('SIGKILL');
    await new Promise((r) => setTimeout(r, 1000));
    workers.push(await spawnWorkerProcess(stack));

    const state = await settle<RestoreChainState>(handle);
    if (state.status !== 'succeeded') {
      const { events } = await handle.fetchHistory();
      console.log(
        JSON.stringify(
          (events ?? [])
            .filter(
              (e) =>
                e.activityTaskScheduledEventAttributes ||
                e.activityTaskStartedEventAttributes ||
                e.activityTaskTimedOutEventAttributes ||
                e.activityTaskFailedEventAttributes,
            )
            .map((e) => ({
              t: e.eventTime,
              s: e.activityTaskScheduledEventAttributes?.activityType?.name,
              a: e.activityTaskStartedEventAttributes?.attempt,
              f: e.activityTaskFailedEventAttributes?.failure?.message,
              to: e.activityTaskTimedOutEventAttributes?.failure?.message,
            })),
        ),
      );
    }
    expect(state.lastError).toBeNull();
    expect(state.status).toBe('succeeded');
    const conn = await rootConnection();
    try {
      expect(await tableChecksums(conn, resumed)).toEqual(expected);
    } finally {
      await conn.end();
    }
    // Resumed, not restarted: every completed step was scheduled once; only the interrupted one ran again.
    const scheduled = await scheduledActivities(handle);
    expect(scheduled.filter((a) => a === 'fetchChainPiece')).toHaveLength(2);
    expect(scheduled.filter((a) => a === 'prepareChainBase')).toHaveLength(1);
    expect(scheduled.filter((a) => a === 'applyChainIncrement')).toHaveLength(1);
    expect(await leftoversIn(stack.config.workDir)).toEqual([]);
    expect(await processCommandLines(new RegExp(`chain-${restoreId}|copy-${restoreId}`))).toEqual([]);
  });

  it('resumed on a worker without the scratch directory (another host): fetches and prepares the chain again there, and succeeds', async () => {
    const restoreId = randomUUID();
    const handle = await startRestoreChain(stack, {
      restoreId,
      target: 'files',
      backupId: lastId,
      deliver: { kind: 'database', database: source, destination: { connection: 'local', database: moved }, recreateDestination: false },
    });
    await waitForStep(handle, 'deliver');
    workers.at(-1)!.kill('SIGKILL');
    // What the dead host had is gone with it: its temporary server and its scratch directory.
    const scratch = chainScratch(stack.config.workDir, restoreId);
    for (let i = 0; i < 100 && !(await stopServerByPidFile(join(scratch.run, 'mysqld.pid'))); i++)
      await new Promise((r) => setTimeout(r, 100));
    await killOrphan(`${scratch.root}.mydumper.pid`, /mydumper/);
    await rm(scratch.root, { recursive: true, force: true });
    await rm(join(stack.config.workDir, `copy-${restoreId}`), { recursive: true, force: true });
    workers.push(await spawnWorkerProcess(stack));

    const state = await settle<RestoreChainState>(handle);
    expect(state.lastError).toBeNull();
    expect(state.status).toBe('succeeded');
    const conn = await rootConnection();
    try {
      expect(await tableChecksums(conn, moved)).toEqual(expected);
    } finally {
      await conn.end();
    }
    const scheduled = await scheduledActivities(handle);
    expect(scheduled.filter((a) => a === 'fetchChainPiece')).toHaveLength(4);
    expect(scheduled.filter((a) => a === 'prepareChainBase')).toHaveLength(2);
    expect(await leftoversIn(stack.config.workDir)).toEqual([]);
    expect(await processCommandLines(new RegExp(`chain-${restoreId}|copy-${restoreId}`))).toEqual([]);
  });
});
