// Delta pulls, dry runs, history and the guards in front of a pull.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TRPCClientError } from '@trpc/client';
import { dropDatabases, uniqueDbName } from '../../harness/mysql.ts';
import { startTestStack, type TestStack } from '../../harness/stack.ts';
import {
  addProfile,
  createPeopleDatabase,
  peopleRules,
  PULL_SECRET_ENV,
  query,
  waitForPull,
  workspaces,
} from '../../harness/pull-fixtures.ts';

const refusal = async (promise: Promise<unknown>): Promise<{ message: string; status: number | undefined }> => {
  try {
    await promise;
  } catch (error) {
    if (error instanceof TRPCClientError)
      return { message: error.message, status: (error.data as { httpStatus?: number } | undefined)?.httpStatus };
    throw error;
  }
  throw new Error('expected a refusal');
};

describe('delta pulls, dry runs, history and guards', () => {
  let stack: TestStack;
  const source = uniqueDbName('delta_src');
  const destination = uniqueDbName('delta_dst');
  const untouched = uniqueDbName('delta_never');

  beforeAll(async () => {
    stack = await startTestStack();
    await createPeopleDatabase(source);
    const profile = {
      source: { connection: 'local', database: source },
      destination: { connection: 'local', database: destination },
      secretEnv: PULL_SECRET_ENV,
      sanitize: peopleRules,
      excludeTables: ['audit_log'],
      limits: { customers: { maxRows: 2, orderBy: 'id' } },
    };
    addProfile(stack, 'delta', profile);
    addProfile(stack, 'readonly-dest', { ...profile, destination: { connection: 'readonly', database: untouched } });
    addProfile(stack, 'bad-column', {
      ...profile,
      destination: { connection: 'local', database: untouched },
      sanitize: { ...peopleRules, users: { ...peopleRules.users, nope: { type: 'email' } } },
    });
  });
  afterAll(async () => {
    await dropDatabases(source, destination, untouched);
    await stack?.stop();
  });

  it('dry-runs the seed table, touching nothing', async () => {
    const rows = await stack.alice.client.pulls.dryRun.query({ profile: 'delta' });
    expect(rows).toEqual([
      { table: 'users', rows: 6, mode: 'full', sanitized: true, limited: false, timestamps: true, excluded: false },
      { table: 'customers', rows: 2, mode: 'full', sanitized: true, limited: true, timestamps: true, excluded: false },
      { table: 'audit_log', rows: 0, mode: 'excluded', sanitized: false, limited: false, timestamps: false, excluded: true },
    ]);
    expect(await query('SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?', [destination])).toEqual([]);
    expect(await stack.alice.client.pulls.list.query()).toEqual([]);
  });

  it('pulls only rows created or updated since the last pull, upserting them', async () => {
    const first = await stack.alice.client.pulls.start.mutate({ profile: 'delta' });
    const full = await waitForPull(stack.alice.client, first.id);
    expect(full.status).toBe('succeeded');
    expect(full.mode).toBe('full');
    // A local edit to a row that does not change at the source must survive the delta.
    await query(`UPDATE \`${destination}\`.users SET bio = 'LOCAL EDIT' WHERE id = 3`);
    await new Promise((r) => setTimeout(r, 1100));
    await query(
      `INSERT INTO \`${source}\`.users (id, email, name, created_at, updated_at) VALUES (7, 'new@gmail.com', 'New Person', NOW(), NOW())`,
    );
    await query(`UPDATE \`${source}\`.users SET name = 'Renamed Person', updated_at = NOW() WHERE id = 1`);
    const before = await query<{ id: number; name: string }>(`SELECT id, name FROM \`${destination}\`.users WHERE id = 1`);

    const second = await stack.alice.client.pulls.start.mutate({ profile: 'delta' });
    const delta = await waitForPull(stack.alice.client, second.id);
    expect(delta.lastError).toBeNull();
    expect(delta.mode).toBe('delta');
    expect(delta.tables.find((t) => t.table === 'users')).toMatchObject({ mode: 'delta', rows: 2 });
    const users = await query<{ id: number; name: string; bio: string | null; email: string | null }>(
      `SELECT id, name, bio, email FROM \`${destination}\`.users ORDER BY id`,
    );
    expect(users.map((u) => u.id)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(users.find((u) => u.id === 3)!.bio).toBe('LOCAL EDIT');
    expect(users.find((u) => u.id === 1)!.name).not.toBe(before[0]!.name); // re-pulled, re-sanitized
    expect(users.find((u) => u.id === 1)!.name).not.toBe('Renamed Person');
    expect(users.find((u) => u.id === 7)!.email).toMatch(/@example\.test$/);
    expect(await workspaces()).not.toContain(delta.workspace);

    // --full truncates and pulls everything again.
    const third = await stack.alice.client.pulls.start.mutate({ profile: 'delta', full: true });
    const again = await waitForPull(stack.alice.client, third.id);
    expect(again.mode).toBe('full');
    expect((await query<{ bio: string }>(`SELECT bio FROM \`${destination}\`.users WHERE id = 3`))[0]!.bio).toBe('');

    // History, newest first, with the seed's columns.
    const history = await stack.alice.client.pulls.list.query();
    expect(history.map((h) => [h.id, h.mode, h.status])).toEqual([
      [third.id, 'full', 'succeeded'],
      [second.id, 'delta', 'succeeded'],
      [first.id, 'full', 'succeeded'],
    ]);
    expect(history[1]).toMatchObject({
      rows: delta.rows,
      tables: delta.tables,
      durationSeconds: expect.any(Number),
      startedAt: expect.any(String),
    });
    expect(await stack.bob.client.pulls.list.query()).toEqual([]);
    expect((await refusal(stack.bob.client.pulls.get.query({ id: first.id }))).status).toBe(404);
  });

  it('refuses a destination without allowWrite, an unknown profile and hostile names before anything runs', async () => {
    expect(await refusal(stack.alice.client.pulls.start.mutate({ profile: 'readonly-dest' }))).toMatchObject({
      status: 403,
      message: expect.stringMatching(/does not allow writes/),
    });
    expect(await refusal(stack.alice.client.pulls.start.mutate({ profile: 'nope' }))).toMatchObject({
      status: 400,
      message: 'profile: no pull profile named "nope" in the config',
    });
    expect(await refusal(stack.alice.client.pulls.start.mutate({ profile: 'x`; DROP DATABASE y' }))).toMatchObject({
      status: 400,
      message: expect.stringMatching(/^profile: /),
    });
    expect(await refusal(stack.alice.client.pulls.start.mutate({ profile: 'delta', tables: ['users', 'a` OR 1=1 --'] }))).toMatchObject({
      status: 400,
      message: expect.stringMatching(/^tables\.1: may contain only/),
    });
    expect(await refusal(stack.alice.client.pulls.dryRun.query({ profile: 'delta', tables: ['missing_table'] }))).toMatchObject({
      status: 400,
      message: expect.stringMatching(/tables: no table "missing_table"/),
    });

    const { id } = await stack.alice.client.pulls.start.mutate({ profile: 'bad-column' });
    const view = await waitForPull(stack.alice.client, id);
    expect(view.status).toBe('failed');
    expect(view.lastError).toBe(`sanitize.users.nope: no column "nope" in table "users" of the source database`);
    expect(view.workspace).toBeNull();
    expect(await query('SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?', [untouched])).toEqual([]);
  });

  it('holds the destination lock against a concurrent pull or copy', async () => {
    const first = await stack.alice.client.pulls.start.mutate({ profile: 'delta', full: true });
    const second = await refusal(stack.alice.client.pulls.start.mutate({ profile: 'delta' }));
    expect(second.status).toBe(409);
    const copy = await refusal(
      stack.alice.client.copies.start.mutate({
        source: { connection: 'local', database: source },
        destination: { connection: 'local', database: destination },
      }),
    );
    expect(copy.status).toBe(409);
    expect((await waitForPull(stack.alice.client, first.id)).status).toBe('succeeded');
  });
});
