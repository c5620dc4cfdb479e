// The access verbs of the CLI against the real control schema and API: users, scoped and expiring
// tokens, revocation, grants, and the audit log.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { startTestStack, type TestStack } from '../harness/stack.ts';

const run = promisify(execFile);

describe('dbferry user, token, access and audit', () => {
  let stack: TestStack;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    stack = await startTestStack({ worker: false });
    env = { ...process.env, DBFERRY_CONFIG: stack.configPath, DBFERRY_URL: stack.api.url };
  });
  afterAll(async () => {
    await stack?.stop();
  });

  const dbferry = (args: string[], extra: NodeJS.ProcessEnv = {}) =>
    run(process.execPath, ['bin/dbferry.js', ...args], { env: { ...env, ...extra } }).then(
      (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
      (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
    );
  const lastLine = (text: string) => text.trim().split('\n').at(-1)!;

  it('creates users with a role, refuses a token for a missing user and bad flags (exit 2), and lists users', async () => {
    expect((await dbferry(['user', 'create', 'root-cli', '--role', 'admin'])).code).toBe(0);
    expect(await dbferry(['user', 'create', 'root-cli'])).toMatchObject({ code: 2, stderr: expect.stringMatching(/already exists/) });
    expect(await dbferry(['user', 'create', 'x', '--role', 'god'])).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/--role must be one of/),
    });
    expect(await dbferry(['token', 'create', '--user', 'ghost'])).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/no user named "ghost"/),
    });
    expect(await dbferry(['token', 'create', '--user', 'root-cli', '--scopes', 'copies:admin'])).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/--scopes: unknown scope "copies:admin"/),
    });
    expect(await dbferry(['token', 'create', '--user', 'root-cli', '--expires-in', '3 weeks'])).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/--expires-in must be a duration/),
    });
    const users = JSON.parse((await dbferry(['user', 'list', '--json'])).stdout) as Array<{ name: string; role: string }>;
    expect(users).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'root-cli', role: 'admin' })]));
  });

  it('makes scoped, expiring tokens that work until revoked, shows when each was last used, and never prints a hash', async () => {
    const admin = lastLine(
      (await dbferry(['token', 'create', '--user', 'root-cli', '--name', 'ops laptop', '--expires-in', '30d'])).stdout,
    );
    expect((await stack.http('/api/db-copies', { token: admin })).status).toBe(200);
    const reader = lastLine((await dbferry(['token', 'create', '--user', 'root-cli', '--scopes', 'copies:read'])).stdout);
    expect((await stack.http('/api/db-copies', { token: reader })).status).toBe(200);
    expect((await stack.http('/api/v1/backups', { token: reader })).status).toBe(403);

    const tokens = JSON.parse((await dbferry(['token', 'list', '--user', 'root-cli', '--json'])).stdout) as Array<{
      id: number;
      name: string;
      scopes: string[] | null;
      expiresAt: string | null;
      lastUsedAt: string | null;
    }>;
    const laptop = tokens.find((t) => t.name === 'ops laptop')!;
    expect(Date.parse(laptop.expiresAt!) - Date.now()).toBeGreaterThan(29 * 86_400_000);
    expect(laptop.lastUsedAt).not.toBeNull();
    expect(tokens.find((t) => t.scopes?.join() === 'copies:read')).toBeDefined();
    const table = (await dbferry(['token', 'list'])).stdout;
    expect(table).toMatch(/ID\s+USER\s+NAME\s+SCOPES/);
    expect(table).not.toContain(admin.replace(/^dbf_\d+_/, ''));

    const revoke = await dbferry(['token', 'revoke', String(laptop.id)]);
    expect(revoke).toMatchObject({ code: 0, stdout: expect.stringMatching(/Revoked token/) });
    expect((await stack.http('/api/db-copies', { token: admin })).status).toBe(401);
    expect((await dbferry(['token', 'revoke', String(laptop.id)])).code).toBe(2);
  });

  it('grants and revokes through the API with an admin token, refuses an operator, and shows the audit trail', async () => {
    const admin = lastLine((await dbferry(['token', 'create', '--user', 'root-cli'])).stdout);
    expect((await dbferry(['user', 'create', 'dana'])).code).toBe(0);
    const grant = await dbferry(['access', 'grant', '--user', 'dana', '--connection', 'local', '--actions', 'read,write', '--json'], {
      DBFERRY_TOKEN: admin,
    });
    expect(grant.code).toBe(0);
    expect(JSON.parse(grant.stdout)).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ user: 'dana', kind: 'connection', name: 'local', action: 'write', grantedBy: 'root-cli' }),
      ]),
    );
    const list = await dbferry(['access', 'list', '--user', 'dana'], { DBFERRY_TOKEN: admin });
    expect(list.stdout).toMatch(/dana\s+connection\s+local\s+read/);
    expect(
      (await dbferry(['access', 'revoke', '--user', 'dana', '--connection', 'local', '--actions', 'write'], { DBFERRY_TOKEN: admin })).code,
    ).toBe(0);
    const refused = await dbferry(['access', 'list'], { DBFERRY_TOKEN: stack.alice.token });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/for admins/);

    const audit = await dbferry(['audit', '--json', '--limit', '100'], { DBFERRY_TOKEN: admin });
    const entries = JSON.parse(audit.stdout) as Array<{ actor: string; action: string; resource: string }>;
    expect(entries).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ actor: expect.stringMatching(/^cli:/), action: 'user.create', resource: 'user dana' }),
        expect.objectContaining({ actor: expect.stringMatching(/^cli:/), action: 'token.revoke' }),
        expect.objectContaining({ actor: 'root-cli', action: 'permission.grant', resource: 'user dana' }),
        expect.objectContaining({ actor: 'root-cli', action: 'permission.revoke', resource: 'user dana' }),
      ]),
    );
    expect(audit.stdout).not.toContain(admin.replace(/^dbf_\d+_/, ''));
    expect((await dbferry(['audit'], { DBFERRY_TOKEN: admin })).stdout).toMatch(/AT\s+ACTOR\s+ACTION/);
  });

  it('disables a user (its tokens answer 401) and keeps the last admin', async () => {
    const token = lastLine((await dbferry(['token', 'create', '--user', 'dana'])).stdout);
    expect((await stack.http('/api/db-copies', { token })).status).toBe(200);
    expect((await dbferry(['user', 'disable', 'dana'])).code).toBe(0);
    expect((await stack.http('/api/db-copies', { token })).status).toBe(401);
    expect((await dbferry(['user', 'enable', 'dana'])).code).toBe(0);
    expect((await stack.http('/api/db-copies', { token })).status).toBe(200);
  });
});
