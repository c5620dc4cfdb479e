import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { createHardSchema } from '../harness/hard-schema.ts';
import { expectSameDatabase } from '../harness/compare.ts';
import { dropDatabases, uniqueDbName } from '../harness/mysql.ts';
import { EVERYTHING, startTestStack, type TestStack } from '../harness/stack.ts';

const run = promisify(execFile);

describe('the dbferry CLI', () => {
  let stack: TestStack;
  let env: NodeJS.ProcessEnv;
  const source = uniqueDbName('cli_src');
  const destination = uniqueDbName('cli_dst');

  beforeAll(async () => {
    stack = await startTestStack({ extraUsers: { carol: EVERYTHING, dave: EVERYTHING, erin: EVERYTHING } });
    await createHardSchema(source, { rows: 30 });
    env = { ...process.env, DBFERRY_CONFIG: stack.configPath, DBFERRY_URL: stack.api.url };
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

  it('creates a token whose last line works against the API, storing only its hash', async () => {
    const { code, stdout } = await dbferry(['token', 'create', '--user', 'carol']);
    expect(code).toBe(0);
    const token = stdout.trim().split('\n').at(-1)!;
    expect(token).toMatch(/^dbf_\d+_[A-Za-z0-9_-]{43}$/);
    expect((await stack.http('/api/db-copies', { token })).status).toBe(200);
    const [rows] = await stack.api.deps.controlPool.query(`SELECT token_hash FROM \`${stack.config.control.database}\`.api_tokens`);
    expect(JSON.stringify(rows)).not.toContain(token.split('_').at(-1));
  });

  it('copies with --follow, printing plain progress lines off a terminal, then shows the status as JSON', async () => {
    const token = (await dbferry(['token', 'create', '--user', 'dave'])).stdout.trim().split('\n').at(-1)!;
    const copy = await dbferry(
      ['copy', '--from', `local/${source}`, '--to', `local/${destination}`, '--threads', '2', '--recreate', '--follow'],
      { DBFERRY_TOKEN: token },
    );
    expect(copy.stderr).toBe('');
    expect(copy.code).toBe(0);
    const lines = copy.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^copy [0-9a-f-]{36} queued$/);
    expect(lines.at(-1)).toMatch(/ succeeded done 100%$/);
    expect(copy.stdout).not.toContain('\r');
    await expectSameDatabase(source, destination);

    const id = lines[0]!.split(' ')[1]!;
    const status = await dbferry(['status', id, '--json'], { DBFERRY_TOKEN: token });
    expect(JSON.parse(status.stdout)).toMatchObject({ id, status: 'succeeded', progress: 100, destDb: destination });
  });

  it('exits 1 with the failure reason for a failed copy, and 2 with a clear message for bad usage', async () => {
    const token = (await dbferry(['token', 'create', '--user', 'erin'])).stdout.trim().split('\n').at(-1)!;
    const failed = await dbferry(['copy', '--from', 'local/t_no_such_db_cli', '--to', `local/${uniqueDbName('cli_never')}`, '--follow'], {
      DBFERRY_TOKEN: token,
    });
    expect(failed.code).toBe(1);
    expect(failed.stdout).toContain('error: source database "t_no_such_db_cli" does not exist');

    const usage = await dbferry(['copy', '--from', 'nodatabase', '--to', 'local/x'], { DBFERRY_TOKEN: token });
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('--from must be CONNECTION/DATABASE');

    const hostile = await dbferry(['copy', '--from', 'local/a`b', '--to', 'local/x'], { DBFERRY_TOKEN: token });
    expect(hostile.code).toBe(1);
    expect(hostile.stderr).toContain('source.database: ');

    const noToken = await dbferry(['status', '00000000-0000-0000-0000-000000000000'], { DBFERRY_TOKEN: '' });
    expect(noToken.code).toBe(2);
    expect(noToken.stderr).toContain('DBFERRY_TOKEN is not set');
  });
});
