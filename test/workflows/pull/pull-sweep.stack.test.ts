// The orphan sweep never drops the workspace of a running pull: a pull held up (a write lock on a
// source table) while the sweep runs with a max age of 0 minutes keeps its workspace and succeeds,
// while a workspace no running pull owns is dropped. The pulls run on a private mariadbd, so the
// sweep (which visits only the profiles' servers) cannot touch anyone else's workspaces.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import type { RowDataPacket } from 'mysql2/promise';
import type { cleanupPullWorkspaces } from '../../../src/workflows/pull/pull-workspaces.ts';
import { workspaceName } from '../../../src/workflows/pull/contracts.ts';
import { startTestStack, type TestStack } from '../../harness/stack.ts';
import { startTlsServer, type TlsServer } from '../../harness/tls-server.ts';
import { addProfile, waitForPull, waitForPullPhase } from '../../harness/pull-fixtures.ts';

describe('the orphan sweep and running pulls', () => {
  let server: TlsServer;
  let stack: TestStack;

  const sql = async <T = RowDataPacket>(statement: string, params: unknown[] = []): Promise<T[]> => {
    const conn = await server.root();
    try {
      return (await conn.query(statement, params))[0] as T[];
    } finally {
      await conn.end();
    }
  };
  const schemaExists = async (name: string) =>
    (await sql('SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?', [name])).length > 0;
  const tablesLike = async (db: string, prefix: string) =>
    (
      await sql<{ t: string }>('SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND LEFT(TABLE_NAME, ?) = ?', [
        db,
        prefix.length,
        prefix,
      ])
    ).map((r) => r.t);
  const sweep = (maxAgeMinutes: number, dryRun: boolean) =>
    stack.temporal.workflow.execute<typeof cleanupPullWorkspaces>('cleanupPullWorkspaces', {
      taskQueue: stack.config.taskQueue,
      workflowId: `pull-cleanup:test-${randomUUID()}`,
      args: [{ maxAgeMinutes, dryRun }],
    });

  beforeAll(async () => {
    server = await startTlsServer();
    stack = await startTestStack({ extraConnections: { private: { socket: server.socket, user: 'root', allowWrite: true } } });
    // users references accounts, so a workspace gets its copy of accounts first, then waits for users (locked below).
    for (const db of ['shop', 'tables_shop']) {
      await sql(`CREATE DATABASE ${db} CHARACTER SET utf8mb4;
        CREATE TABLE ${db}.accounts (id INT PRIMARY KEY, title VARCHAR(50)) ENGINE=InnoDB;
        CREATE TABLE ${db}.users (id INT PRIMARY KEY, account_id INT NOT NULL, email VARCHAR(100), name VARCHAR(50),
          CONSTRAINT fk_users_account FOREIGN KEY (account_id) REFERENCES accounts (id)) ENGINE=InnoDB;
        INSERT INTO ${db}.accounts VALUES (1, 'Acme'), (2, 'Initech');
        INSERT INTO ${db}.users VALUES (1, 1, 'a@x.org', 'Ann'), (2, 1, 'b@x.org', 'Ben'), (3, 2, 'c@x.org', 'Cy');`);
    }
    const profile = {
      sanitize: { accounts: { title: { type: 'text' } }, users: { email: { type: 'email' }, name: { type: 'name' } } },
      threads: 2,
    };
    addProfile(stack, 'swept', {
      ...profile,
      source: { connection: 'private', database: 'shop' },
      destination: { connection: 'private', database: 'shop_pulled' },
    });
    addProfile(stack, 'swept-tables', {
      ...profile,
      source: { connection: 'private', database: 'tables_shop' },
      destination: { connection: 'private', database: 'tables_shop_pulled' },
      workspaceStrategy: 'tables',
    });
  });
  afterAll(async () => {
    await stack?.stop();
    await server?.stop();
  });

  it.each([
    ['a workspace database', 'swept', 'shop'],
    ['prefixed tables', 'swept-tables', 'tables_shop'],
  ])('keeps %s of a pull held up past the max age, drops an orphan beside it, and the pull succeeds', async (_kind, profile, db) => {
    // An orphan: a workspace two hours old whose pull is long gone.
    const orphan = workspaceName(Date.now() / 1000 - 7200, randomUUID().replace(/-/g, ''));
    await sql(`CREATE DATABASE \`${orphan}\``);
    const locker = await server.root();
    try {
      await locker.query(`LOCK TABLES \`${db}\`.users WRITE`);
      const { id } = await stack.alice.client.pulls.start.mutate({ profile, full: true });
      const running = await waitForPullPhase(stack.alice.client, id, 'copying');
      const workspace = running.workspace!;
      const [inDatabase, name] = workspace.endsWith('_*') ? workspace.slice(0, -2).split('.') : [null, workspace];
      const exists = () => (inDatabase ? tablesLike(inDatabase, `${name}_`).then((t) => t.length > 0) : schemaExists(name!));
      // The pull is held in createTempDatabase: its copy of accounts is made, users' waits for the lock.
      for (let i = 0; i < 150 && !(await exists()); i++) await new Promise((r) => setTimeout(r, 100));
      expect(await exists()).toBe(true);
      if (!inDatabase) expect(name).toContain(id.replace(/-/g, '')); // the whole pull id

      // Every workspace is older than 0 minutes: only the running pull's must be spared.
      const listed = await sweep(0, true);
      expect(listed.map((w) => w.workspace)).toContain(orphan);
      expect(listed.map((w) => w.workspace)).not.toContain(name);
      const swept = await sweep(0, false);
      expect(swept.map((w) => w.workspace)).toContain(orphan);
      expect(swept.map((w) => w.workspace)).not.toContain(name);
      expect(await schemaExists(orphan)).toBe(false);
      expect(await exists()).toBe(true);

      await locker.query('UNLOCK TABLES');
      const view = await waitForPull(stack.alice.client, id);
      expect(view.lastError).toBeNull();
      expect(view.status).toBe('succeeded');
      expect(view.rows).toBe(5);
      expect(await exists()).toBe(false); // the pull dropped its own workspace
    } finally {
      await locker.query('UNLOCK TABLES').catch(() => undefined);
      await locker.end();
      await sql(`DROP DATABASE IF EXISTS \`${orphan}\``);
    }
  });
});
