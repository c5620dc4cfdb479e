// Two connections to one server whose host strings differ (`127.0.0.1:3306` and the socket): the API
// knows them for one server by its identity, so the control schema cannot be written through the
// alias, and two copies into one database through the two connections exclude each other (409).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseExists, dropDatabases, rootConnection, uniqueDbName } from '../harness/mysql.ts';
import { startTestStack, waitForCopy, type TestStack } from '../harness/stack.ts';

/** The local server's socket, as the server itself reports it. */
async function serverSocket(): Promise<string> {
  const conn = await rootConnection();
  try {
    const [rows] = (await conn.query('SELECT @@socket AS s')) as unknown as [Array<{ s: string }>];
    return rows[0]!.s;
  } finally {
    await conn.end();
  }
}

/** Runs recorded in the stack's control schema (a refused start leaves none). */
async function runCount(stack: TestStack): Promise<number> {
  const conn = await rootConnection();
  try {
    const [rows] = (await conn.query(`SELECT COUNT(*) AS n FROM \`${stack.config.control.database}\`.runs`)) as unknown as [
      Array<{ n: string }>,
    ];
    return Number(rows[0]!.n);
  } finally {
    await conn.end();
  }
}

describe('one server through two connections', () => {
  let stack: TestStack;
  const source = uniqueDbName('ident_src');
  const destination = uniqueDbName('ident_dst');

  beforeAll(async () => {
    // `alias` reaches the server `local` (127.0.0.1:3306, the control schema's connection) reaches, through its socket.
    stack = await startTestStack({ extraConnections: { alias: { socket: await serverSocket(), user: 'root', allowWrite: true } } });
    const conn = await rootConnection();
    try {
      await conn.query(
        `CREATE DATABASE \`${source}\`; CREATE TABLE \`${source}\`.t (id INT PRIMARY KEY); INSERT INTO \`${source}\`.t VALUES (1), (2)`,
      );
    } finally {
      await conn.end();
    }
  });
  afterAll(async () => {
    await dropDatabases(source, destination);
    await stack?.stop();
  });

  const startCopy = (destinationConnection: string, database: string) =>
    stack.http('/api/db-copies', {
      method: 'POST',
      token: stack.alice.token,
      body: JSON.stringify({
        source: { connection: 'local', database: source },
        destination: { connection: destinationConnection, database },
      }),
    });

  it('refuses to copy into the control schema through the alias (403), and nothing runs', async () => {
    const control = stack.config.control.database;
    const before = await runCount(stack);
    const res = await startCopy('alias', control);
    expect(res.status).toBe(403);
    const body = (await res.json()) as { message: string; field: string };
    expect(body.field).toBe('destination.database');
    expect(body.message).toMatch(/control schema .*reaches the control schema's server/);
    // Also spelled in another case, and as a source.
    expect((await startCopy('alias', control.toUpperCase())).status).toBe(403);
    const asSource = await stack.http('/api/db-copies', {
      method: 'POST',
      token: stack.alice.token,
      body: JSON.stringify({
        source: { connection: 'alias', database: control },
        destination: { connection: 'local', database: destination },
      }),
    });
    expect(asSource.status).toBe(403);
    expect(await runCount(stack)).toBe(before);
    expect(await databaseExists(destination)).toBe(false);
  });

  it('refuses a copy into the database its own source is, through the alias', async () => {
    const res = await stack.http('/api/db-copies', {
      method: 'POST',
      token: stack.alice.token,
      body: JSON.stringify({ source: { connection: 'local', database: source }, destination: { connection: 'alias', database: source } }),
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { message: string }).message).toMatch(/same database/);
  });

  it('lets two copies into one database through the two connections conflict (409), then run one after the other', async () => {
    // A write lock on the source holds the first copy in its dump, so it is surely still running.
    const locker = await rootConnection();
    try {
      await locker.query(`LOCK TABLES \`${source}\`.t WRITE`);
      const first = await startCopy('local', destination);
      expect(first.status).toBe(201);
      const { id } = (await first.json()) as { id: string };
      const second = await startCopy('alias', destination);
      expect(second.status).toBe(409);
      expect(((await second.json()) as { message: string }).message).toMatch(/already running/);
      // The lock id is the server's identity, not a connection's name.
      const record = (await stack.api.deps.runs.get(id))!;
      expect(record.workflowId).toMatch(new RegExp(`^copy:.+/${destination}$`));
      expect(record.workflowId).not.toContain('copy:local/');
      await locker.query('UNLOCK TABLES');
      expect((await waitForCopy(stack.alice.client, id)).status).toBe('succeeded');
    } finally {
      await locker.query('UNLOCK TABLES').catch(() => undefined);
      await locker.end();
    }
    // Once the first has finished, the alias may write the database (it exists now: recreate it).
    const again = await stack.http('/api/db-copies', {
      method: 'POST',
      token: stack.alice.token,
      body: JSON.stringify({
        source: { connection: 'local', database: source },
        destination: { connection: 'alias', database: destination },
        recreateDestination: true,
      }),
    });
    expect(again.status).toBe(201);
    expect((await waitForCopy(stack.alice.client, ((await again.json()) as { id: string }).id)).status).toBe('succeeded');
  });
});
