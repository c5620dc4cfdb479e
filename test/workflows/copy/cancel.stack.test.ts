// Cancelling a copy through the API, the cancel signal or Temporal stops the tools and drops what it created.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { cancelCopySignal } from '../../../src/workflows/copy/messages.ts';
import { createBulkDatabase } from '../../harness/bulk.ts';
import { dropDatabases, rootConnection, uniqueDbName } from '../../harness/mysql.ts';
import { processCommandLines } from '../../harness/processes.ts';
import { startTestStack, waitForCopy, waitForPhase, type TestStack } from '../../harness/stack.ts';

async function schemaExists(name: string): Promise<boolean> {
  const conn = await rootConnection();
  try {
    const [rows] = await conn.query('SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?', [name]);
    return (rows as unknown[]).length > 0;
  } finally {
    await conn.end();
  }
}

describe('cancelling a copy', () => {
  let stack: TestStack;
  const source = uniqueDbName('cancel_src');

  beforeAll(async () => {
    stack = await startTestStack();
    await createBulkDatabase(source, 1_500_000);
  });
  afterAll(async () => {
    await dropDatabases(source);
    await stack?.stop();
  });

  const ways: Array<[string, (id: string) => Promise<void>]> = [
    ['copies.cancel', async (id) => void (await stack.alice.client.copies.cancel.mutate({ id }))],
    [
      'a Temporal cancel (as from the Web UI or CLI)',
      async (id) => {
        const run = (await stack.api.deps.runs.get(id))!;
        await stack.temporal.workflow.getHandle(run.workflowId, run.runId!).cancel();
      },
    ],
    [
      'the cancelCopy signal',
      async (id) => {
        const run = (await stack.api.deps.runs.get(id))!;
        await stack.temporal.workflow.getHandle(run.workflowId, run.runId!).signal(cancelCopySignal, 'test');
      },
    ],
  ];

  it.each(ways)('stops the load within seconds through %s, drops the destination and the dump directory', async (_way, cancel) => {
    const destination = uniqueDbName('cancel_dst');
    try {
      const { id } = await stack.alice.client.copies.start.mutate({
        source: { connection: 'local', database: source },
        destination: { connection: 'local', database: destination },
        threads: 2,
      });
      await waitForPhase(stack.alice.client, id, 'loading');
      await new Promise((r) => setTimeout(r, 500));
      expect(await processCommandLines(/^myloader\0/)).not.toEqual([]);
      const cancelledAt = Date.now();
      await cancel(id);
      const view = await waitForCopy(stack.alice.client, id, 30_000);
      expect(view.status).toBe('cancelled');
      expect(Date.now() - cancelledAt).toBeLessThan(15_000);
      expect(view.finishedAt).not.toBeNull();
      expect(existsSync(join(stack.config.workDir, `copy-${id}`))).toBe(false);
      expect(await schemaExists(destination)).toBe(false);
      expect((await processCommandLines(/^my(loader|dumper)\0/)).filter((c) => c.includes(id))).toEqual([]);
      expect(await processCommandLines(new RegExp(`copy-${id}`))).toEqual([]);
    } finally {
      await dropDatabases(destination);
    }
  });

  it('leaves a destination that existed (empty) before the copy in place, still empty', async () => {
    const destination = uniqueDbName('cancel_keep');
    const conn = await rootConnection();
    await conn.query(`CREATE DATABASE \`${destination}\` CHARACTER SET latin1`);
    await conn.end();
    try {
      const { id } = await stack.alice.client.copies.start.mutate({
        source: { connection: 'local', database: source },
        destination: { connection: 'local', database: destination },
      });
      await waitForPhase(stack.alice.client, id, 'loading');
      await stack.alice.client.copies.cancel.mutate({ id });
      expect((await waitForCopy(stack.alice.client, id, 30_000)).status).toBe('cancelled');
      const check = await rootConnection();
      const [tables] = await check.query('SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?', [destination]);
      const [schema] = await check.query('SELECT DEFAULT_CHARACTER_SET_NAME AS cs FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?', [
        destination,
      ]);
      await check.end();
      expect(tables).toEqual([]);
      expect(schema).toEqual([{ cs: 'latin1' }]);
    } finally {
      await dropDatabases(destination);
    }
  });
});
