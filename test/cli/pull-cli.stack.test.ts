import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { dropDatabases, uniqueDbName } from '../harness/mysql.ts';
import { startTestStack, type TestStack } from '../harness/stack.ts';
import { workspaceName } from '../../src/workflows/pull/contracts.ts';
import { addProfile, createPeopleDatabase, peopleRules, PULL_SECRET_ENV, query } from '../harness/pull-fixtures.ts';

const run = promisify(execFile);

describe('dbferry pull, pulls and cleanup', () => {
  let stack: TestStack;
  let env: NodeJS.ProcessEnv;
  const source = uniqueDbName('pcli_src');
  const destination = uniqueDbName('pcli_dst');
  const profile = () => ({
    source: { connection: 'local', database: source },
    destination: { connection: 'local', database: destination },
    secretEnv: PULL_SECRET_ENV,
    sanitize: peopleRules,
    excludeTables: ['audit_log'],
  });

  beforeAll(async () => {
    stack = await startTestStack();
    await createPeopleDatabase(source);
    addProfile(stack, 'app', profile());
    const file = JSON.parse(await readFile(stack.configPath, 'utf8')) as Record<string, unknown>;
    await writeFile(stack.configPath, JSON.stringify({ ...file, pulls: { app: profile() } }, null, 2));
    env = { ...process.env, DBFERRY_CONFIG: stack.configPath, DBFERRY_URL: stack.api.url, DBFERRY_TOKEN: stack.alice.token };
  });
  afterAll(async () => {
    await dropDatabases(source, destination);
    await stack?.stop();
  });

  const dbferry = (args: string[], extra: NodeJS.ProcessEnv = {}) =>
    run(process.execPath, ['bin/dbferry.js', ...args], { env: { ...env, ...extra } }).then(
      (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
      (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
    );

  it('prints the dry-run table and changes nothing', async () => {
    const { code, stdout } = await dbferry(['pull', 'app', '--dry-run']);
    expect(code).toBe(0);
    expect(stdout).toContain('| Table     | Rows | Mode     | Sanitized | Limited | Timestamps | Excluded |');
    expect(stdout).toMatch(/\| users\s+\| 6\s+\| full\s+\| ✓\s+\|\s+\| ✓\s+\|\s+\|/);
    expect(stdout).toMatch(/\| audit_log\s+\| -\s+\| excluded \|/);
    expect(await query('SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?', [destination])).toEqual([]);
  });

  it('pulls with --follow, then lists the history the way backfill:status does', async () => {
    const pull = await dbferry(['pull', 'app', '--full', '--tables', 'users,customers', '--follow']);
    expect(pull.stderr).toBe('');
    expect(pull.code).toBe(0);
    expect(pull.stdout).toMatch(/^pull [0-9a-f-]{36} queued\n/);
    expect(pull.stdout).toMatch(/succeeded done 100%\n10 rows in 2 tables \(full\)\n$/);
    const list = await dbferry(['pulls']);
    expect(list.stdout).toMatch(/\| [0-9a-f-]{36} \| app\s+\| FULL \| succeeded \| 10\s+\| 2 tables \|/);
    expect(list.stdout).toContain('Last successful pull:');
  });

  it('exits 1 with the reason for a failed pull, and 2 for bad usage', async () => {
    const failed = await dbferry(['pull', 'app', '--tables', 'nope', '--follow']);
    expect(failed.code).toBe(1);
    expect(failed.stdout).toContain('error: tables: no table "nope"');
    const usage = await dbferry(['pull']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/usage: dbferry pull PROFILE/);
    const hostile = await dbferry(['pull', 'app', '--tables', 'users`;DROP']);
    expect(hostile.code).toBe(1);
    expect(hostile.stderr).toMatch(/tables\.0: may contain only letters, digits, _ and \$/);
  });

  it('cleanup lists old workspaces, and drops them only with --force', async () => {
    const old = workspaceName(Math.floor(Date.now() / 1000) - 3 * 3600, 'clitest');
    await query(`CREATE DATABASE \`${old}\``);
    try {
      const dry = await dbferry(['cleanup', '--max-age', '60'], { DBFERRY_TOKEN: stack.admin.token });
      expect(dry.code).toBe(0);
      expect(dry.stdout).toContain(`local: ${old} (`);
      expect(dry.stdout).toContain('Nothing dropped: pass --force');
      expect(await query('SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?', [old])).toHaveLength(1);
      const forced = await dbferry(['cleanup', '--max-age', '60', '--force'], { DBFERRY_TOKEN: stack.admin.token });
      expect(forced.stdout).toMatch(/Dropped \d+ workspace\(s\)/);
      expect(await query('SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?', [old])).toEqual([]);
    } finally {
      await dropDatabases(old);
    }
  });
});
