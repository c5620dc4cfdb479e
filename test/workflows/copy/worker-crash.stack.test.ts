// A copy whose worker is killed mid-run is finished by a new worker, with nothing orphaned.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createBulkDatabase } from '../../harness/bulk.ts';
import { expectSameDatabase } from '../../harness/compare.ts';
import { dropDatabases, uniqueDbName } from '../../harness/mysql.ts';
import { processCommandLines } from '../../harness/processes.ts';
import { startTestStack, waitForCopy, waitForPhase, type TestStack, spawnWorkerProcess } from '../../harness/stack.ts';

describe('a worker killed in the middle of a copy', () => {
  let stack: TestStack;
  const workers: ChildProcess[] = [];
  const source = uniqueDbName('crash_src');
  const destination = uniqueDbName('crash_dst');

  beforeAll(async () => {
    stack = await startTestStack({ worker: false });
    await createBulkDatabase(source, 1_500_000);
  });
  afterAll(async () => {
    for (const w of workers) w.kill('SIGKILL');
    await dropDatabases(source, destination);
    await stack?.stop();
  });

  it('is picked up by a new worker: the copy ends succeeded with identical data, never stuck, nothing orphaned', async () => {
    workers.push(await spawnWorkerProcess(stack));
    const { id } = await stack.alice.client.copies.start.mutate({
      source: { connection: 'local', database: source },
      destination: { connection: 'local', database: destination },
      threads: 2,
    });
    const before = await waitForPhase(stack.alice.client, id, 'loading', 90_000);
    workers[0]!.kill('SIGKILL');
    await new Promise((r) => setTimeout(r, 1000));
    workers.push(await spawnWorkerProcess(stack));

    const progress: number[] = [before.progress];
    const deadline = Date.now() + 150_000;
    let view = before;
    while (!['succeeded', 'failed', 'cancelled'].includes(view.status)) {
      expect(Date.now()).toBeLessThan(deadline);
      await new Promise((r) => setTimeout(r, 500));
      view = await stack.alice.client.copies.get.query({ id });
      progress.push(view.progress);
    }
    expect(view.lastError).toBeNull();
    expect(view.status).toBe('succeeded');
    progress.forEach((p, i) => i > 0 && expect(p).toBeGreaterThanOrEqual(progress[i - 1]!));
    await expectSameDatabase(source, destination);
    expect(existsSync(join(stack.config.workDir, `copy-${id}`))).toBe(false);
    expect(await processCommandLines(new RegExp(`copy-${id}`))).toEqual([]);
    const final = await waitForCopy(stack.alice.client, id);
    expect(final.tables.find((t) => t.table === 'children')).toEqual({
      table: 'children',
      sourceRows: 1_500_000,
      destinationRows: 1_500_000,
    });
  });
});
