// Who may call what, on the real stack: roles × every route (tRPC and REST) × no, wrong, revoked,
// expired, disabled and scoped tokens; per-connection and per-target permissions checked in the API
// (403 naming the field, nothing started) and again in the worker; ownership; the audit log.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WorkflowFailedError } from '@temporalio/client';
import { randomUUID } from 'node:crypto';
import { appRouter } from '../../../src/api/router.ts';
import { restRoutes } from '../../../src/api/routes.ts';
import { procedureScope, refuseScope, type Principal, type Scope } from '../../../src/control/policy.ts';
import { createDbferryClient } from '../../../src/client.ts';
import { createBulkDatabase } from '../../harness/bulk.ts';
import { databaseExists, dropDatabases, uniqueDbName } from '../../harness/mysql.ts';
import { EVERYTHING, GUARDED_PASSWORD, startTestStack, waitForCopy, type TestStack } from '../../harness/stack.ts';

interface Caller {
  label: string;
  token: string | null;
  /** The principal the API should see, or null when the token must be refused with 401. */
  principal: Principal | null;
}

const procedures = Object.entries(
  (appRouter as unknown as { _def: { procedures: Record<string, { _def: { type: string } }> } })._def.procedures,
)
  .map(([path, p]) => ({ path, type: p._def.type as 'query' | 'mutation' | 'subscription' }))
  .filter((p) => p.type !== 'subscription');

const ZERO_ID = '00000000-0000-4000-8000-000000000000';
const restCases = restRoutes
  .filter((r) => !r.public)
  .map((r) => ({
    route: r,
    path: r.path
      .replace('{source+}', 'local/x')
      .replace('{connection}', 'local')
      .replace(/\{[a-z]+\}/g, ZERO_ID),
  }));

describe('the authorization matrix', () => {
  let stack: TestStack;
  const callers: Caller[] = [];
  const source = uniqueDbName('acl_src');
  const created: string[] = [source];
  let olgaToken = '';
  let veraToken = '';

  beforeAll(async () => {
    stack = await startTestStack({
      // The matrix makes hundreds of calls without a valid token from one address: above the default rate limit's burst.
      extraConfig: { api: { host: '127.0.0.1', port: 0, rateLimit: { perMinute: 100_000, burst: 10_000 } } },
      extraUsers: {
        // Reads `readonly` only: no write anywhere, no target.
        olga: { role: 'operator', connections: { readonly: ['read'] } },
        vera: { role: 'viewer', connections: { '*': ['read'] }, targets: { '*': ['restore'] } },
        dora: EVERYTHING,
      },
    });
    await createBulkDatabase(source, 2_000);
    const { tokens, users } = stack.api.deps;
    olgaToken = (await tokens.create('olga')).token;
    veraToken = (await tokens.create('vera')).token;
    const scoped = await tokens.create('alice', { name: 'scoped', scopes: ['copies:read'] });
    const revoked = await tokens.create('alice', { name: 'revoked' });
    await tokens.revoke(revoked.id);
    const expired = await tokens.create('alice', { name: 'expired', expiresAt: new Date(Date.now() - 1000) });
    const dora = await tokens.create('dora');
    await users.setDisabled('dora', true);
    const role = (name: string, r: Principal['role'], scopes: string[] | null = null): Principal => ({ id: 0, name, role: r, scopes });
    callers.push(
      { label: 'no token', token: null, principal: null },
      { label: 'wrong token', token: `${stack.alice.token.slice(0, -3)}abc`, principal: null },
      { label: 'revoked token', token: revoked.token, principal: null },
      { label: 'expired token', token: expired.token, principal: null },
      { label: "disabled user's token", token: dora.token, principal: null },
      { label: 'admin', token: stack.admin.token, principal: role('admin', 'admin') },
      { label: 'operator', token: stack.alice.token, principal: role('alice', 'operator') },
      { label: 'viewer', token: veraToken, principal: role('vera', 'viewer') },
      { label: 'copies:read token', token: scoped.token, principal: role('alice', 'operator', ['copies:read']) },
    );
  });
  afterAll(async () => {
    await dropDatabases(...created);
    await stack?.stop();
  });

  /** 401 for a refused token, 403 for what the role or scopes refuse, anything else (a 400 for the dummy input) otherwise. */
  const expected = (caller: Caller, scope: Scope | null, path?: string): 401 | 403 | 'allowed' => {
    if (!caller.principal) return 401;
    return scope && refuseScope(caller.principal, scope, path) ? 403 : 'allowed';
  };

  it('answers every tRPC procedure as the role and the token allow', async () => {
    expect(procedures.length).toBeGreaterThan(40);
    const wrong: string[] = [];
    for (const caller of callers) {
      for (const { path, type } of procedures) {
        const headers: Record<string, string> = caller.token ? { authorization: `Bearer ${caller.token}` } : {};
        // A string is never a valid input: an allowed call is answered 400 and nothing runs.
        const res =
          type === 'query'
            ? await fetch(`${stack.api.url}/trpc/${path}?input=${encodeURIComponent('"matrix"')}`, { headers })
            : await fetch(`${stack.api.url}/trpc/${path}`, {
                method: 'POST',
                headers: { ...headers, 'content-type': 'application/json' },
                body: '"matrix"',
              });
        const want = expected(caller, procedureScope(path, type), path);
        const ok = want === 'allowed' ? res.status !== 401 && res.status !== 403 && res.status < 500 : res.status === want;
        if (!ok) wrong.push(`${caller.label} ${path}: ${res.status}, expected ${want}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('answers every REST route as the role and the token allow', async () => {
    const wrong: string[] = [];
    for (const caller of callers) {
      for (const { route, path } of restCases) {
        expect(route.scope, `${route.method} ${route.path} declares its scope`).toBeDefined();
        const res = await stack.http(path, {
          method: route.method,
          token: caller.token,
          ...(route.method === 'POST' ? { body: '"matrix"', headers: { 'content-type': 'application/json' } } : {}),
        });
        const want = expected(caller, route.scope ?? null);
        const ok = want === 'allowed' ? res.status !== 401 && res.status !== 403 && res.status < 500 : res.status === want;
        if (!ok) wrong.push(`${caller.label} ${route.method} ${route.path}: ${res.status}, expected ${want}`);
        if (res.status === 403) expect(((await res.json()) as { message: string }).message).toMatch(/admins|viewer|scopes/);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('refuses what a permission does not cover with 403 naming the field, starting nothing and creating nothing', async () => {
    const olga = createDbferryClient({ url: stack.api.url, token: olgaToken });
    const dst = uniqueDbName('acl_refused');
    created.push(dst);
    const cases: Array<{ call: () => Promise<unknown>; field: string; message: RegExp }> = [
      {
        call: () =>
          olga.copies.start.mutate({
            source: { connection: 'readonly', database: source },
            destination: { connection: 'local', database: dst },
          }),
        field: 'destination.connection',
        message: /olga may not write to connection "local"/,
      },
      {
        call: () =>
          olga.copies.start.mutate({
            source: { connection: 'local', database: source },
            destination: { connection: 'local', database: dst },
          }),
        field: 'source.connection',
        message: /olga may not read from connection "local"/,
      },
      {
        call: () => olga.backups.trigger.mutate({ source: { connection: 'readonly', database: source }, target: 's3' }),
        field: 'target',
        message: /olga may not back up to target "s3"/,
      },
      {
        call: () =>
          olga.schedules.create.mutate({
            name: 'nightly',
            source: { connection: 'readonly', database: source },
            target: 'files',
            cron: '0 3 * * *',
          }),
        field: 'target',
        message: /back up to target "files"/,
      },
      {
        call: () => olga.backups.trigger.mutate({ kind: 'physical-full', connection: 'readonly', target: 's3' }),
        field: 'connection',
        message: /physical backups of connection "readonly"/,
      },
    ];
    for (const c of cases) {
      const error = await c.call().then(
        () => null,
        (e: unknown) => e as { data?: { code: string }; message: string },
      );
      expect(error?.data?.code, c.field).toBe('FORBIDDEN');
      expect(error?.message).toMatch(new RegExp(`^${c.field.replace('.', '\\.')}: `));
      expect(error?.message).toMatch(c.message);
    }
    // Over REST too, with the field in the body.
    const rest = await stack.http('/api/db-copies', {
      method: 'POST',
      token: olgaToken,
      body: JSON.stringify({ source: { connection: 'readonly', database: source }, destination: { connection: 'local', database: dst } }),
    });
    expect(rest.status).toBe(403);
    expect(await rest.json()).toMatchObject({ field: 'destination.connection' });
    const viewer = await stack.http('/api/db-copies', {
      method: 'POST',
      token: veraToken,
      body: JSON.stringify({ source: { connection: 'local', database: source }, destination: { connection: 'local', database: dst } }),
    });
    expect(viewer.status).toBe(403);

    expect(await databaseExists(dst)).toBe(false);
    const started = [];
    for await (const w of stack.temporal.workflow.list({ query: `DbferryRequestedBy IN ('olga', 'vera')` })) started.push(w.workflowId);
    expect(started).toEqual([]);
  });

  it('lets an admin grant and revoke, and the permission takes effect at once; config-file rows cannot be revoked through the API', async () => {
    const olga = createDbferryClient({ url: stack.api.url, token: olgaToken });
    const dst = uniqueDbName('acl_granted');
    created.push(dst);
    const start = () =>
      olga.copies.start.mutate({
        source: { connection: 'readonly', database: source },
        destination: { connection: 'local', database: dst },
      });
    await expect(start()).rejects.toMatchObject({ data: { code: 'FORBIDDEN' } });
    await expect(stack.alice.client.access.grant.mutate({ user: 'olga', connection: 'local', actions: ['write'] })).rejects.toMatchObject({
      data: { code: 'FORBIDDEN' },
    });
    const held = await stack.admin.client.access.grant.mutate({ user: 'olga', connection: 'local', actions: ['write'] });
    expect(held).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ kind: 'connection', name: 'local', action: 'write', origin: 'api', grantedBy: 'admin' }),
        expect.objectContaining({ kind: 'connection', name: 'readonly', action: 'read', origin: 'config' }),
      ]),
    );
    const { id } = await start();
    expect((await waitForCopy(olga, id)).status).toBe('succeeded');

    await stack.admin.client.access.revoke.mutate({ user: 'olga', connection: 'local', actions: ['write'] });
    await expect(start()).rejects.toMatchObject({ data: { code: 'FORBIDDEN' } });
    await expect(
      stack.admin.client.access.revoke.mutate({ user: 'olga', connection: 'readonly', actions: ['read'] }),
    ).rejects.toMatchObject({ data: { code: 'CONFLICT' }, message: expect.stringMatching(/config file \(access\.users\.olga\)/) });
    await expect(stack.admin.client.access.grant.mutate({ user: 'olga', connection: 'nope', actions: ['write'] })).rejects.toMatchObject({
      data: { code: 'BAD_REQUEST' },
      message: expect.stringMatching(/^connection: no connection named "nope"/),
    });
    await expect(stack.admin.client.access.grant.mutate({ user: 'olga', target: 's3', actions: ['write'] as never })).rejects.toMatchObject(
      { data: { code: 'BAD_REQUEST' }, message: expect.stringMatching(/actions\.0/) },
    );
  });

  it('hides a run from everyone but its creator, admins included (404)', async () => {
    const dst = uniqueDbName('acl_owned');
    created.push(dst);
    const { id } = await stack.alice.client.copies.start.mutate({
      source: { connection: 'local', database: source },
      destination: { connection: 'local', database: dst },
    });
    for (const other of [stack.bob.client, stack.admin.client, createDbferryClient({ url: stack.api.url, token: veraToken })]) {
      await expect(other.copies.get.query({ id })).rejects.toMatchObject({ data: { code: 'NOT_FOUND' } });
    }
    expect((await waitForCopy(stack.alice.client, id)).status).toBe('succeeded');
  });

  it('checks again in the worker: a run started straight on Temporal for a user without the permission fails before it touches anything', async () => {
    for (const requestedBy of ['olga', 'ghost', 'dora']) {
      const dst = uniqueDbName('acl_direct');
      created.push(dst);
      const handle = await stack.temporal.workflow.start('copyDatabase', {
        taskQueue: stack.config.taskQueue,
        workflowId: `acl-direct-${randomUUID()}`,
        args: [
          {
            copyId: randomUUID(),
            source: { connection: 'readonly', database: source },
            destination: { connection: 'local', database: dst },
            threads: 1,
            recreateDestination: false,
            callbackUrl: null,
            requestedBy,
          },
        ],
      });
      const failure = await handle.result().then(
        () => null,
        (e: unknown) => e,
      );
      expect(failure).toBeInstanceOf(WorkflowFailedError);
      expect(String((failure as WorkflowFailedError).cause?.message)).toMatch(
        requestedBy === 'ghost'
          ? /no user named "ghost"/
          : requestedBy === 'dora'
            ? /disabled/
            : /olga may not write to connection "local"/,
      );
      expect(await databaseExists(dst)).toBe(false);
      const history = await handle.fetchHistory();
      const activities = (history.events ?? []).flatMap((e) =>
        e.activityTaskScheduledEventAttributes?.activityType?.name ? [e.activityTaskScheduledEventAttributes.activityType.name] : [],
      );
      // Nothing but the check itself and the cleanup of what it never made.
      expect(activities[0]).toBe('authorizeRun');
      expect(activities.filter((a) => !['authorizeRun', 'removeDumpDirectory', 'deliverWebhook'].includes(a))).toEqual([]);
    }
  });

  it('manages tokens through access.tokens: scoped, expiring, last used kept, revoked at once', async () => {
    const created = await stack.admin.client.access.tokens.create.mutate({
      user: 'bob',
      name: 'ci',
      scopes: ['copies:*'],
      expiresInDays: 30,
    });
    expect(created.token).toMatch(/^dbf_\d+_/);
    expect(Date.parse(created.expiresAt!) - Date.now()).toBeGreaterThan(29 * 86_400_000);
    const ci = createDbferryClient({ url: stack.api.url, token: created.token });
    expect(Array.isArray(await ci.copies.list.query())).toBe(true);
    await expect(ci.backups.list.query({})).rejects.toMatchObject({ data: { code: 'FORBIDDEN' } });
    const listed = (await stack.admin.client.access.tokens.list.query({ user: 'bob' })).find((t) => t.id === created.id);
    expect(listed).toMatchObject({ name: 'ci', scopes: ['copies:*'], revokedAt: null });
    expect(listed?.lastUsedAt).not.toBeNull();
    expect(JSON.stringify(listed)).not.toContain(created.token.replace(/^dbf_\d+_/, ''));
    await stack.admin.client.access.tokens.revoke.mutate({ id: created.id });
    await expect(ci.copies.list.query()).rejects.toMatchObject({ data: { code: 'UNAUTHORIZED' } });
    await expect(stack.admin.client.access.tokens.revoke.mutate({ id: created.id })).rejects.toMatchObject({ data: { code: 'NOT_FOUND' } });
    await expect(stack.admin.client.access.tokens.create.mutate({ user: 'bob', scopes: ['copies:admin'] })).rejects.toMatchObject({
      data: { code: 'BAD_REQUEST' },
      message: expect.stringMatching(/^scopes: unknown scope "copies:admin"/),
    });
    await expect(stack.admin.client.access.tokens.create.mutate({ user: 'nobody' })).rejects.toMatchObject({ data: { code: 'NOT_FOUND' } });
  });

  it('keeps at least one admin, and disables users (their tokens answer 401)', async () => {
    // Two admins (admin, and the harness's test user): one can go, the last one cannot.
    await stack.admin.client.access.users.disable.mutate({ name: 'test' });
    await expect(stack.admin.client.access.users.disable.mutate({ name: 'admin' })).rejects.toMatchObject({ data: { code: 'CONFLICT' } });
    await expect(stack.admin.client.access.users.setRole.mutate({ name: 'admin', role: 'operator' })).rejects.toMatchObject({
      data: { code: 'CONFLICT' },
    });
    await stack.admin.client.access.users.enable.mutate({ name: 'test' });
    await stack.admin.client.access.users.create.mutate({ name: 'temp-op', role: 'operator' });
    const token = (await stack.admin.client.access.tokens.create.mutate({ user: 'temp-op' })).token;
    const temp = createDbferryClient({ url: stack.api.url, token });
    expect(Array.isArray(await temp.copies.list.query())).toBe(true);
    await stack.admin.client.access.users.disable.mutate({ name: 'temp-op' });
    await expect(temp.copies.list.query()).rejects.toMatchObject({ data: { code: 'UNAUTHORIZED' } });
    const users = await stack.admin.client.access.users.list.query();
    expect(users.find((u) => u.name === 'temp-op')).toMatchObject({ role: 'operator', disabledAt: expect.any(String) });
  });

  it('keeps an audit trail admins read: starts, refusals, grants and token changes, never a secret', async () => {
    await expect(stack.alice.client.audit.list.query()).rejects.toMatchObject({ data: { code: 'FORBIDDEN' } });
    const entries = await stack.admin.client.audit.list.query({ limit: 500 });
    const has = (action: string, actor?: string, outcome = 'ok') =>
      entries.some((e) => e.action === action && e.outcome === outcome && (!actor || e.actor === actor));
    expect(has('copy.start', 'alice')).toBe(true);
    expect(entries.find((e) => e.action === 'copy.start' && e.actor === 'alice')?.runId).toMatch(/^[0-9a-f-]{36}$/);
    expect(has('copy.start', 'olga', 'refused')).toBe(true);
    expect(has('backup.start', 'olga', 'refused')).toBe(true);
    expect(has('permission.grant', 'admin')).toBe(true);
    expect(has('permission.revoke', 'admin')).toBe(true);
    expect(has('token.create', 'admin')).toBe(true);
    expect(has('token.revoke', 'admin')).toBe(true);
    expect(has('user.disable', 'admin')).toBe(true);
    const text = JSON.stringify(entries);
    for (const secret of [stack.alice.token, stack.admin.token, olgaToken, GUARDED_PASSWORD])
      expect(text).not.toContain(secret.replace(/^dbf_\d+_/, ''));
    const [rows] = await stack.api.deps.controlPool.query(`SELECT * FROM \`${stack.config.control.database}\`.audit_log`);
    expect(JSON.stringify(rows)).not.toContain(stack.alice.token.replace(/^dbf_\d+_/, ''));
    const page = await stack.admin.client.audit.list.query({ limit: 2, actor: 'admin' });
    expect(page).toHaveLength(2);
    const next = await stack.admin.client.audit.list.query({ limit: 2, actor: 'admin', before: page[1]!.id });
    expect(next[0]!.id).toBeLessThan(page[1]!.id);
  });

  it('never backs up a system schema or the control schema, not even for an admin', async () => {
    for (const database of ['mysql', 'MYSQL', stack.config.control.database]) {
      await expect(
        stack.admin.client.backups.trigger.mutate({ source: { connection: 'local', database }, target: 's3' }),
      ).rejects.toMatchObject({
        data: { code: 'FORBIDDEN' },
        message: expect.stringMatching(/^source\.database: .* is (a system schema|dbferry's control schema)/),
      });
    }
    const started = [];
    for await (const w of stack.temporal.workflow.list({ query: `DbferryRequestedBy = 'admin' AND WorkflowType = 'backupDatabase'` }))
      started.push(w);
    expect(started).toEqual([]);
  });

  it('keeps pulls.cleanup for admins', async () => {
    await expect(stack.alice.client.pulls.cleanup.mutate({ maxAgeMinutes: 1, dryRun: true })).rejects.toMatchObject({
      data: { code: 'FORBIDDEN' },
      message: expect.stringMatching(/pulls\.cleanup is for admins/),
    });
  });
});
