// The deterministic pull secret never appears in a statement's text: with the general log on (to a
// table) during a real sanitized pull, through both ways keys reach a session (the copy's fused
// SELECT and the UPDATE of tables whose sanitized column is a key), no logged statement holds it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dropDatabases, rootConnection, uniqueDbName } from '../../harness/mysql.ts';
import { startTestStack, type TestStack } from '../../harness/stack.ts';
import { addProfile, createPeopleDatabase, peopleRules, PULL_SECRET_ENV, query, waitForPull } from '../../harness/pull-fixtures.ts';

describe('the pull secret and the general log', () => {
  let stack: TestStack;
  const source = uniqueDbName('pull_log_src');
  const destination = uniqueDbName('pull_log_dst');
  let saved: { general_log: number; log_output: string } | null = null;
  const secret = process.env[PULL_SECRET_ENV]!;

  beforeAll(async () => {
    stack = await startTestStack();
    await createPeopleDatabase(source);
    // A table whose deterministic rule is on its primary key: sanitized by UPDATE after the copy, not in its SELECT.
    await query(`CREATE TABLE \`${source}\`.accounts (email VARCHAR(191) PRIMARY KEY, plan VARCHAR(10)) ENGINE=InnoDB`);
    await query(`INSERT INTO \`${source}\`.accounts VALUES ('alice@gmail.com', 'pro'), ('zed@other.org', 'free')`);
    addProfile(stack, 'logged', {
      source: { connection: 'local', database: source },
      destination: { connection: 'local', database: destination },
      secretEnv: PULL_SECRET_ENV,
      sanitize: { ...peopleRules, accounts: { email: { type: 'email', deterministic: true } } },
      excludeTables: ['audit_log'],
    });
  });
  afterAll(async () => {
    if (saved) await restoreGeneralLog();
    await dropDatabases(source, destination);
    await stack?.stop();
  });

  async function restoreGeneralLog(): Promise<void> {
    const conn = await rootConnection();
    try {
      await conn.query(`SET GLOBAL general_log = ${saved!.general_log ? 1 : 0}, log_output = ?`, [saved!.log_output]);
      saved = null;
    } finally {
      await conn.end();
    }
  }

  it('keeps the secret out of every statement the server logs, while the keys still work', async () => {
    const conn = await rootConnection();
    let since: string;
    try {
      const [[settings]] = (await conn.query(
        'SELECT @@general_log AS general_log, @@log_output AS log_output, NOW(6) AS since',
      )) as unknown as [{ general_log: number; log_output: string; since: string }[]];
      saved = { general_log: Number(settings!.general_log), log_output: settings!.log_output };
      since = settings!.since;
      await conn.query("SET GLOBAL log_output = 'TABLE', general_log = 1");
    } finally {
      await conn.end();
    }
    let view;
    try {
      const started = await stack.alice.client.pulls.start.mutate({ profile: 'logged', full: true });
      view = await waitForPull(stack.alice.client, started.id);
    } finally {
      // Off before reading the log, so the reading query (holding the secret as a parameter) is not logged itself.
      await restoreGeneralLog();
    }
    expect(view.lastError).toBeNull();
    expect(view.status).toBe('succeeded');

    const logged = await query<{ command_type: string; argument: string }>(
      'SELECT command_type, CONVERT(argument USING utf8mb4) AS argument FROM mysql.general_log WHERE event_time >= ?',
      [since],
    );
    // The log did record the pull's sessions, the keys' statements among them (both paths).
    expect(logged.some((l) => l.argument.includes(`\`${source}\``))).toBe(true);
    for (const form of [
      secret,
      Buffer.from(secret).toString('hex'),
      Buffer.from(secret).toString('hex').toUpperCase(),
      Buffer.from(secret).toString('base64'),
    ]) {
      expect(logged.filter((l) => l.argument.includes(form))).toEqual([]);
    }
    const keyStatements = logged.filter((l) => l.argument.includes('@dbferry_pull_key = CAST(AES_DECRYPT('));
    expect(keyStatements.length).toBeGreaterThanOrEqual(2);
    // The wrapping key was cleared from every session that used it.
    expect(logged.filter((l) => l.argument.includes('SET @dbferry_key_wrap = NULL')).length).toBe(keyStatements.length);

    // The keys did their work: deterministic fakes agree between the fused copy (customers) and the UPDATE (accounts).
    const pulled = await query<{ c: string; a: string }>(
      `SELECT c.email AS c, a.email AS a FROM \`${destination}\`.customers c JOIN \`${destination}\`.accounts a ON a.email = c.email WHERE c.id = 13`,
    );
    expect(pulled).toHaveLength(1);
    expect(pulled[0]!.c).toMatch(/^user_[0-9a-f]+@example\.test$/);
  });
});
