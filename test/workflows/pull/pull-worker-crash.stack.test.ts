// A pull whose worker is killed mid-run is finished by another worker, with no workspace left.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createBulkDatabase } from '../../harness/bulk.ts';
import { dropDatabases, uniqueDbName } from '../../harness/mysql.ts';
import { startTestStack, type TestStack, spawnWorkerProcess } from '../../harness/stack.ts';
import { addProfile, query, waitForPull, waitForPullPhase, workspaces } from '../../harness/pull-fixtures.ts';

describe('a worker killed in the middle of a pull', () => {
  let stack: TestStack;
  const workers: ChildProcess[] = [];
  const source = uniqueDbName('pcrash_src');
  const destination = uniqueDbName('pcrash_dst');

  beforeAll(async () => {
    stack = await startTestStack({ worker: false });
    await createBulkDatabase(source, 1_500_000);
    const profile = {
      source: { connection: 'local', database: source },
      destination: { connection: 'local', database: destination },
      sanitize: { parents: { name: { type: 'name' } } },
      threads: 2,
    };
    addProfile(stack, 'crash', profile);
    // Worker processes read the profile from the config file.
    const file = JSON.parse(await readFile(stack.configPath, 'utf8')) as Record<string, unknown>;
    await writeFile(stack.configPath, JSON.stringify({ ...file, pulls: { crash: profile } }, null, 2));
  });
  afterAll(async () => {
    for (const w of workers) w.kill('SIGKILL');
    await dropDatabases(source, destination);
    await stack?.stop();
  });

  it('is finished by another worker: the pull succeeds with every row, and no workspace is left', async () => {
    workers.push(await spawnWorkerProcess(stack));
    const { id } = await stack.alice.client.pulls.start.mutate({ profile: 'crash', full: true });
    const before = await waitForPullPhase(stack.alice.client, id, 'copying', 90_000);
    await new Promise((r) => setTimeout(r, 1500));
    workers[0]!.kill('SIGKILL');
    await new Promise((r) => setTimeout(r, 1000));
    workers.push(await spawnWorkerProcess(stack));

    const view = await waitForPull(stack.alice.client, id, 170_000);
    expect(view.lastError).toBeNull();
    expect(view.status).toBe('succeeded');
    expect(view.workspace).toBe(before.workspace);
    expect(view.tables.find((t) => t.table === 'children')).toMatchObject({ rows: 1_500_000 });
    const [count] = await query<{ n: number }>(`SELECT COUNT(*) AS n FROM \`${destination}\`.children`);
    expect(Number(count!.n)).toBe(1_500_000);
    const [renamed] = await query<{ n: number }>(
      `SELECT COUNT(*) AS n FROM \`${destination}\`.parents p JOIN \`${source}\`.parents s USING (id) WHERE p.name = s.name`,
    );
    expect(Number(renamed!.n)).toBe(0);
    expect(await workspaces()).not.toContain(before.workspace);
    expect(existsSync(join(stack.config.workDir, `pull-${id}`))).toBe(false);
  });
});
