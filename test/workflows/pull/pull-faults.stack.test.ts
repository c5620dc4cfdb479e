// Pulls that are cancelled, stall past their deadline or are orphaned leave no workspace behind.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { cancelPullSignal } from '../../../src/workflows/pull/messages.ts';
import { workspaceName } from '../../../src/workflows/pull/contracts.ts';
import { pullCleanupScheduleId } from '../../../src/api/pull/service.ts';
import { createBulkDatabase } from '../../harness/bulk.ts';
import { dropDatabases, rootConnection, uniqueDbName } from '../../harness/mysql.ts';
import { processCommandLines } from '../../harness/processes.ts';
import { startTestStack, type TestStack } from '../../harness/stack.ts';
import { addProfile, query, waitForPull, waitForPullPhase, workspaces } from '../../harness/pull-fixtures.ts';

const schemaExists = async (name: string): Promise<boolean> =>
  (await query('SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?', [name])).length > 0;

describe('a pull that is cancelled, stalls or is orphaned', () => {
  let stack: TestStack;
  const source = uniqueDbName('pfault_src');
  const destination = uniqueDbName('pfault_dst');

  beforeAll(async () => {
    stack = await startTestStack();
    await createBulkDatabase(source, 1_500_000);
    const profile = {
      source: { connection: 'local', database: source },
      destination: { connection: 'local', database: destination },
      sanitize: { parents: { name: { type: 'name' } } },
      threads: 2,
    };
    addProfile(stack, 'bulk', profile);
    addProfile(stack, 'bulk-deadline', { ...profile, deadlineMinutes: 1 });
  });
  afterAll(async () => {
    await dropDatabases(source, destination);
    await stack?.stop();
  });

  const ways: Array<[string, string, (id: string) => Promise<void>]> = [
    ['pulls.cancel while copying into the workspace', 'copying', async (id) => void (await stack.alice.client.pulls.cancel.mutate({ id }))],
    [
      'the cancelPull signal while myloader runs',
      'loading',
      async (id) => {
        const run = (await stack.api.deps.runs.get(id))!;
        await stack.temporal.workflow.getHandle(run.workflowId, run.runId!).signal(cancelPullSignal, 'test');
      },
    ],
  ];

  it.each(ways)('stops through %s and leaves no workspace, dump or tool behind', async (_way, phase, cancel) => {
    const { id } = await stack.alice.client.pulls.start.mutate({ profile: 'bulk', full: true });
    const running = await waitForPullPhase(stack.alice.client, id, phase);
    expect(running.workspace).not.toBeNull();
    await new Promise((r) => setTimeout(r, 500));
    const cancelledAt = Date.now();
    await cancel(id);
    const view = await waitForPull(stack.alice.client, id, 60_000);
    expect(view.status).toBe('cancelled');
    expect(Date.now() - cancelledAt).toBeLessThan(20_000);
    expect(await schemaExists(running.workspace!)).toBe(false);
    expect(existsSync(join(stack.config.workDir, `pull-${id}`))).toBe(false);
    expect(await processCommandLines(new RegExp(`pull-${id}`))).toEqual([]);
    // The workspace's statements were killed, not left running on the server.
    const busy = await query<{ n: number }>(
      'SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE INFO LIKE ? AND ID <> CONNECTION_ID()',
      [`%${running.workspace}%`],
    );
    expect(Number(busy[0]!.n)).toBe(0);
    await dropDatabases(destination);
  });

  it('drops the workspace when the pull stalls past its deadline', async () => {
    // A session holding a write lock on the source stalls the copy into the workspace.
    const locker = await rootConnection();
    try {
      await locker.query(`LOCK TABLES \`${source}\`.children WRITE`);
      const { id } = await stack.alice.client.pulls.start.mutate({ profile: 'bulk-deadline', full: true });
      const running = await waitForPullPhase(stack.alice.client, id, 'copying');
      // Past the deadline the pull gives up on its own; the lock is released only then, so the
      // server's other users (a mariabackup elsewhere waits for it too) are not held up longer.
      await waitForPullPhase(stack.alice.client, id, 'cleaning-up', 120_000).catch(() => undefined);
      await locker.query('UNLOCK TABLES');
      const view = await waitForPull(stack.alice.client, id, 60_000);
      expect(view.status).toBe('failed');
      expect(view.lastError).toMatch(/did not finish within 1 minutes/);
      expect(await schemaExists(running.workspace!)).toBe(false);
    } finally {
      await locker.query('UNLOCK TABLES').catch(() => undefined);
      await locker.end();
    }
  });

  it('sweeps workspaces older than max-age, by the time in their names, and has an hourly schedule for it', async () => {
    const now = Math.floor(Date.now() / 1000);
    const old = workspaceName(now - 2 * 3600, 'sweepold');
    const recent = workspaceName(now - 60, 'sweepnew');
    await query(`CREATE DATABASE \`${old}\`; CREATE DATABASE \`${recent}\``);
    try {
      const dry = await stack.admin.client.pulls.cleanup.mutate({ maxAgeMinutes: 60, dryRun: true });
      expect(dry).toContainEqual({ connection: 'local', workspace: old, ageMinutes: expect.any(Number) });
      expect(await schemaExists(old)).toBe(true);
      const swept = await stack.admin.client.pulls.cleanup.mutate({ maxAgeMinutes: 60 });
      expect(swept.map((s) => s.workspace)).toContain(old);
      expect(swept.map((s) => s.workspace)).not.toContain(recent);
      expect(await schemaExists(old)).toBe(false);
      expect(await schemaExists(recent)).toBe(true);
      expect(await workspaces()).toContain(recent);
    } finally {
      await dropDatabases(old, recent);
    }
    const schedule = await stack.temporal.schedule.getHandle(pullCleanupScheduleId(stack.config.taskQueue)).describe();
    expect(schedule.spec.intervals?.[0]?.every).toBe(3_600_000);
    expect(schedule.action).toMatchObject({ type: 'startWorkflow', workflowType: 'cleanupPullWorkspaces', args: [{ maxAgeMinutes: 60 }] });
    await stack.temporal.schedule.getHandle(pullCleanupScheduleId(stack.config.taskQueue)).delete();
  });
});
