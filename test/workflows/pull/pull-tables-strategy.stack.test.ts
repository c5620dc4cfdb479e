// The pull's tables strategy (prefixed tables in the source database) gives the same result as a workspace database.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { createConnection } from 'mysql2/promise';
import { connectionSchema } from '../../../src/config/schema.ts';
import { workspaceName } from '../../../src/workflows/pull/contracts.ts';
import { createBulkDatabase } from '../../harness/bulk.ts';
import { dropDatabases, rootConnection, uniqueDbName } from '../../harness/mysql.ts';
import { startTestStack, type TestStack } from '../../harness/stack.ts';
import {
  addProfile,
  checksums,
  createPeopleDatabase,
  PULL_SECRET_ENV,
  peopleRules,
  query,
  waitForPull,
  waitForPullPhase,
} from '../../harness/pull-fixtures.ts';

// Seed 002's `tables` strategy: the workspace is prefixed tables in the source database, for a
// user that may not create databases. Here that user really may not: it has rights on the source
// database only, and everything (copy, sanitize, gate, dump, drop) must work through it.

const USER = `dbferry_t_tbl_${randomBytes(3).toString('hex')}`;
const PASSWORD = `pw-${randomBytes(10).toString('hex')}`;
const HOSTS = ['127.0.0.1', 'localhost'];
const LONG = 'a_table_name_long_enough_to_need_hashing';

/** Tables of `db` carrying a workspace prefix. */
const prefixedTables = async (db: string): Promise<string[]> =>
  (
    await query<{ t: string }>(
      "SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME LIKE '\\_dbferry\\_tmp\\_%'",
      [db],
    )
  ).map((r) => r.t);
const foreignKeys = async (db: string): Promise<string[]> =>
  (
    await query<{ k: string }>(
      'SELECT CONCAT(TABLE_NAME, ".", CONSTRAINT_NAME, "->", REFERENCED_TABLE_NAME) AS k FROM information_schema.REFERENTIAL_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = ? ORDER BY 1',
      [db],
    )
  ).map((r) => r.k);

describe('a sanitized pull with the tables strategy (prefixed tables in the source database)', () => {
  let stack: TestStack;
  const source = uniqueDbName('ptbl_src');
  const destination = uniqueDbName('ptbl_dst');
  const bulk = uniqueDbName('ptbl_bulk');
  const bulkDestination = uniqueDbName('ptbl_bulkdst');
  const dbDestination = uniqueDbName('ptbl_dbdst');

  beforeAll(async () => {
    stack = await startTestStack();
    await createPeopleDatabase(source);
    await query(
      `CREATE TABLE \`${source}\`.\`${LONG}\` (id INT PRIMARY KEY, user_id INT NULL, CONSTRAINT fk_long_user FOREIGN KEY (user_id) REFERENCES \`${source}\`.users (id)) ENGINE=InnoDB`,
    );
    await query(`INSERT INTO \`${source}\`.\`${LONG}\` VALUES (1, 1), (2, 5), (3, NULL)`);
    await createBulkDatabase(bulk, 400_000);
    const root = await rootConnection();
    try {
      for (const host of HOSTS) {
        await root.query(`CREATE USER '${USER}'@'${host}' IDENTIFIED BY '${PASSWORD}'`);
        for (const db of [source, bulk]) await root.query(`GRANT ALL PRIVILEGES ON \`${db}\`.* TO '${USER}'@'${host}'`);
      }
    } finally {
      await root.end();
    }
    process.env.DBFERRY_T_TBL_PASSWORD = PASSWORD;
    stack.config.connections.appuser = connectionSchema.parse({
      host: '127.0.0.1',
      port: 3306,
      user: USER,
      passwordEnv: 'DBFERRY_T_TBL_PASSWORD',
    });
    addProfile(stack, 'tables', {
      source: { connection: 'appuser', database: source },
      destination: { connection: 'local', database: destination },
      workspaceStrategy: 'tables',
      secretEnv: PULL_SECRET_ENV,
      sanitize: peopleRules,
      limits: { users: { maxRows: 2, orderBy: 'id', direction: 'asc' } },
      threads: 2,
    });
    addProfile(stack, 'database', {
      source: { connection: 'local', database: source },
      destination: { connection: 'local', database: dbDestination },
      secretEnv: PULL_SECRET_ENV,
      sanitize: peopleRules,
      limits: { users: { maxRows: 2, orderBy: 'id', direction: 'asc' } },
      threads: 2,
    });
    addProfile(stack, 'tables-bulk', {
      source: { connection: 'appuser', database: bulk },
      destination: { connection: 'local', database: bulkDestination },
      workspaceStrategy: 'tables',
      sanitize: { parents: { name: { type: 'name' } } },
      threads: 2,
    });
  });
  afterAll(async () => {
    await dropDatabases(source, destination, bulk, bulkDestination, dbDestination);
    const root = await rootConnection();
    try {
      for (const host of HOSTS) await root.query(`DROP USER IF EXISTS '${USER}'@'${host}'`);
    } finally {
      await root.end();
    }
    await stack?.stop();
  });

  it('works for a user that may not create databases, loads original names with their foreign keys, and leaves the source as it was', async () => {
    const user = await createConnection({ host: '127.0.0.1', port: 3306, user: USER, password: PASSWORD });
    await expect(user.query('CREATE DATABASE `dbferry_t_tbl_denied`')).rejects.toThrow(/denied/i);
    await user.end();
    const before = await checksums(source);

    const { id } = await stack.alice.client.pulls.start.mutate({ profile: 'tables', full: true });
    // pulls.progress streams each change (SSE) until the final status.
    const seen: Array<{ phase: string; progress: number }> = [];
    await new Promise<void>((resolve, reject) => {
      const sub = stack.alice.client.pulls.progress.subscribe(
        { id },
        {
          onData: (v) => {
            seen.push({ phase: v.phase, progress: v.progress });
            if (['succeeded', 'failed', 'cancelled'].includes(v.status)) {
              sub.unsubscribe();
              resolve();
            }
          },
          onError: reject,
        },
      );
    });
    expect(seen.at(-1)).toEqual({ phase: 'done', progress: 100 });
    expect(seen.length).toBeGreaterThan(2);
    seen.forEach((v, i) => expect(v.progress).toBeGreaterThanOrEqual(i ? seen[i - 1]!.progress : 0));
    const view = await waitForPull(stack.alice.client, id);
    expect(view.lastError).toBeNull();
    expect(view.status).toBe('succeeded');
    expect(view.workspace).toMatch(new RegExp(`^${source}\\._dbferry_tmp_\\d+_[0-9a-f]{8}_\\*$`));

    // Nothing of the workspace is left, and every source table is as it was.
    expect(await prefixedTables(source)).toEqual([]);
    expect(await checksums(source)).toEqual(before);

    // The destination holds the original names (the long one too) with the source's DDL, FKs included.
    const tables = (
      await query<{ t: string }>('SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? ORDER BY 1', [destination])
    ).map((r) => r.t);
    expect(tables.sort()).toEqual([LONG, 'audit_log', 'customers', 'users'].sort());
    expect(await foreignKeys(destination)).toEqual(await foreignKeys(source));

    // The subset: users 1 and 2 by the limit, plus the parents and referenced users the kept rows need.
    const users = await query<{ id: number; email: string | null; name: string; login: string }>(
      `SELECT id, email, name, login FROM \`${destination}\`.users ORDER BY id`,
    );
    const customers = await query<{ id: number; email: string; user_id: number | null }>(
      `SELECT id, email, user_id FROM \`${destination}\`.customers ORDER BY id`,
    );
    expect(users.map((u) => u.id)).toEqual([1, 2, 5, 6]);
    const orphans = await query<{ n: number }>(
      `SELECT COUNT(*) AS n FROM \`${destination}\`.\`${LONG}\` l LEFT JOIN \`${destination}\`.users u ON u.id = l.user_id WHERE l.user_id IS NOT NULL AND u.id IS NULL`,
    );
    expect(Number(orphans[0]!.n)).toBe(0);
    // Sanitized, excluded patterns kept, deterministic across tables (alice in users and customers).
    expect(users.find((u) => u.id === 1)!.email).toMatch(/^user_[0-9a-f]{20}@example\.test$/);
    expect(users.find((u) => u.id === 2)!.email).toBe('bob@ourcompany.com');
    expect(users.map((u) => u.login)).toEqual(['user', 'user', 'user', 'user']);
    expect(customers.find((c) => c.id === 10)!.email).toBe(users.find((u) => u.id === 1)!.email);
    const all = JSON.stringify([users, customers]);
    for (const original of ['alice@gmail.com', 'Alice Liddell', 'frank@mail.net', 'Eve Moneypenny']) expect(all).not.toContain(original);
  });

  it('gives both strategies the same result: the source DDL (InnoDB, FKs) whatever engine the workspace used, direct tables byte for byte', async () => {
    const { id } = await stack.alice.client.pulls.start.mutate({ profile: 'database', full: true });
    const view = await waitForPull(stack.alice.client, id);
    expect(view.lastError).toBeNull();
    expect(view.status).toBe('succeeded');
    const engines = await query<{ e: string }>('SELECT DISTINCT ENGINE AS e FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?', [
      dbDestination,
    ]);
    expect(engines).toEqual([{ e: 'InnoDB' }]);
    expect(await foreignKeys(dbDestination)).toEqual(await foreignKeys(source));
    // audit_log has no rules, no limit and references nothing limited: dumped straight from the source.
    expect((await checksums(dbDestination)).audit_log).toBe((await checksums(source)).audit_log);
    for (const table of ['users', 'customers', LONG, 'audit_log']) {
      const [a, b] = await Promise.all([destination, dbDestination].map((db) => query(`SELECT * FROM \`${db}\`.\`${table}\` ORDER BY id`)));
      // Random (non-deterministic) rules differ between runs; everything else is equal.
      const strip = (rows: unknown[]) =>
        JSON.stringify(rows, (k, v: unknown) => (['name', 'phone', 'bio', 'address'].includes(k) ? typeof v : v));
      expect(strip(b!)).toBe(strip(a!));
    }
  });

  it('pulls changed rows only into the destination on a delta, as REPLACE', async () => {
    await query(`UPDATE \`${source}\`.customers SET email = 'zed@changed.org', updated_at = NOW() + INTERVAL 1 MINUTE WHERE id = 13`);
    await query(
      `INSERT INTO \`${source}\`.customers VALUES (14, 'new@other.org', 1, NOW() + INTERVAL 1 MINUTE, NOW() + INTERVAL 1 MINUTE)`,
    );
    await query(`UPDATE \`${destination}\`.customers SET email = 'marker@local.test' WHERE id = 11`);
    const { id } = await stack.alice.client.pulls.start.mutate({ profile: 'tables', tables: ['customers'] });
    const view = await waitForPull(stack.alice.client, id);
    expect(view.lastError).toBeNull();
    expect(view.mode).toBe('delta');
    expect(view.tables).toEqual([expect.objectContaining({ table: 'customers', mode: 'delta', rows: 2 })]);
    const rows = await query<{ id: number; email: string }>(`SELECT id, email FROM \`${destination}\`.customers ORDER BY id`);
    expect(rows.map((r) => r.id)).toEqual([10, 11, 12, 13, 14]);
    // An unchanged row is left alone (the local edit survives); the changed ones arrive sanitized.
    expect(rows.find((r) => r.id === 11)!.email).toBe('marker@local.test');
    expect(rows.find((r) => r.id === 13)!.email).toMatch(/@example\.test$/);
    expect(await prefixedTables(source)).toEqual([]);
  });

  it('drops its prefixed tables when cancelled mid-copy', async () => {
    const before = await checksums(bulk);
    const { id } = await stack.alice.client.pulls.start.mutate({ profile: 'tables-bulk', full: true });
    await waitForPullPhase(stack.alice.client, id, 'copying');
    await new Promise((r) => setTimeout(r, 300));
    expect((await prefixedTables(bulk)).length).toBeGreaterThan(0);
    await stack.alice.client.pulls.cancel.mutate({ id });
    const view = await waitForPull(stack.alice.client, id, 60_000);
    expect(view.status).toBe('cancelled');
    expect(await prefixedTables(bulk)).toEqual([]);
    expect(await checksums(bulk)).toEqual(before);
  });

  it('sweeps old prefixed tables by the time in their names and touches nothing else', async () => {
    const now = Math.floor(Date.now() / 1000);
    const old = workspaceName(now - 2 * 3600, 'a1b2c3d4');
    const recent = workspaceName(now - 60, 'e5f6a7b8');
    const lookalikes = ['_dbferry_tmp_notatime_t_users', `${old}users`, '_dbferry_tmp_x'];
    const before = await checksums(source);
    for (const t of [`${old}_t_users`, `${old}_b_sanitized`, `${recent}_t_users`, ...lookalikes]) {
      await query(`CREATE TABLE \`${source}\`.\`${t}\` (id INT PRIMARY KEY)`);
    }
    try {
      const swept = await stack.admin.client.pulls.cleanup.mutate({ maxAgeMinutes: 60 });
      expect(swept).toContainEqual({ connection: expect.any(String), workspace: old, ageMinutes: expect.any(Number), inDatabase: source });
      expect((await prefixedTables(source)).sort()).toEqual([`${recent}_t_users`, ...lookalikes].sort());
      // Every other table of the source is still there, unchanged.
      const after = await checksums(source);
      for (const [table, sum] of Object.entries(before)) expect(after[table]).toBe(sum);
    } finally {
      for (const t of [`${recent}_t_users`, ...lookalikes]) await query(`DROP TABLE IF EXISTS \`${source}\`.\`${t}\``);
    }
  });
});
