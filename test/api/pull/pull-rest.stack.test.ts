import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { ScheduleNotFoundError } from '@temporalio/client';
import { startApi } from '../../../src/api/server.ts';
import { pullCleanupScheduleId } from '../../../src/api/pull/service.ts';
import { dropDatabases, uniqueDbName } from '../../harness/mysql.ts';
import { startTestStack, type TestStack } from '../../harness/stack.ts';
import { addProfile, createPeopleDatabase, peopleRules, PULL_SECRET_ENV, query } from '../../harness/pull-fixtures.ts';

describe('pulls over REST, and the cleanup schedule at API start', () => {
  let stack: TestStack;
  const source = uniqueDbName('prest_src');
  const destination = uniqueDbName('prest_dst');
  const scheduleIds: string[] = [];

  beforeAll(async () => {
    stack = await startTestStack();
    await createPeopleDatabase(source);
    const profile = {
      source: { connection: 'local', database: source },
      destination: { connection: 'local', database: destination },
      secretEnv: PULL_SECRET_ENV,
      sanitize: peopleRules,
      excludeTables: ['audit_log'],
    };
    addProfile(stack, 'app', profile);
    addProfile(stack, 'readonly-dest', { ...profile, destination: { connection: 'readonly', database: `${destination}_ro` } });
  });
  afterAll(async () => {
    for (const id of scheduleIds)
      await stack.temporal.schedule
        .getHandle(id)
        .delete()
        .catch(() => undefined);
    await dropDatabases(source, destination);
    await stack?.stop();
  });

  const post = (path: string, body: unknown, token: string | null = stack.alice.token, headers: Record<string, string> = {}) =>
    stack.http(path, { method: 'POST', token, body: JSON.stringify(body), headers });
  const json = async (res: Response) => (await res.json()) as Record<string, unknown>;

  it('creates the hourly sweep when the API starts with pulls configured, and not without', async () => {
    // The stack's API started before any profile existed and no pull has started: no schedule.
    const idle = pullCleanupScheduleId(stack.config.taskQueue);
    scheduleIds.push(idle);
    await expect(stack.temporal.schedule.getHandle(idle).describe()).rejects.toBeInstanceOf(ScheduleNotFoundError);

    const taskQueue = `dbferry-test-sched-${randomBytes(4).toString('hex')}`;
    const id = pullCleanupScheduleId(taskQueue);
    scheduleIds.push(id);
    const api = await startApi({ ...stack.config, taskQueue }, stack.env, { host: '127.0.0.1', port: 0 });
    try {
      const schedule = await stack.temporal.schedule.getHandle(id).describe();
      expect(schedule.action).toMatchObject({
        type: 'startWorkflow',
        workflowType: 'cleanupPullWorkspaces',
        taskQueue,
        args: [{ maxAgeMinutes: 60 }],
      });
      expect(schedule.spec.intervals?.[0]?.every).toBe(3_600_000);
      // A second start (a restart, another replica) finds it there and is fine with that.
      const again = await startApi({ ...stack.config, taskQueue }, stack.env, { host: '127.0.0.1', port: 0 });
      await again.close();
    } finally {
      await api.close();
    }
  });

  it('refuses unauthenticated calls and bad requests, naming the field', async () => {
    expect((await post('/api/v1/pulls', { profile: 'app' }, null)).status).toBe(401);
    expect((await stack.http('/api/v1/pulls')).status).toBe(401);
    const cases: Array<[unknown, string]> = [
      [{}, 'profile'],
      [{ profile: 'nope' }, 'profile'],
      [{ profile: 'app', tables: ['users`; DROP TABLE x'] }, 'tables.0'],
      [{ profile: 'app', full: 'yes' }, 'full'],
      [{ profile: 'app', callback_url: 'not a url' }, 'callback_url'],
    ];
    for (const [body, field] of cases) {
      const res = await post('/api/v1/pulls', body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      const error = await json(res);
      expect(error.field, JSON.stringify(body)).toBe(field);
      expect(String(error.message)).toMatch(new RegExp(`^${field.replace('.', '\\.')}: `));
    }
    expect((await post('/api/v1/pulls', { profile: 'app', surprise: 1 })).status).toBe(400);
    const key = await post('/api/v1/pulls', { profile: 'app' }, stack.alice.token, { 'idempotency-key': 'has space' });
    expect(key.status).toBe(400);
    expect((await json(key)).field).toBe('Idempotency-Key');
    const limit = await stack.http('/api/v1/pulls?limit=0', { token: stack.alice.token });
    expect(limit.status).toBe(400);
    expect((await json(limit)).field).toBe('limit');
    const readonly = await post('/api/v1/pulls', { profile: 'readonly-dest' });
    expect(readonly.status).toBe(403);
    expect((await json(readonly)).field).toBe('profile');
    expect((await stack.http('/api/v1/pulls/not-a-uuid', { token: stack.alice.token })).status).toBe(404);
    expect((await stack.http('/api/v1/pulls/00000000-0000-4000-8000-000000000000', { token: stack.alice.token })).status).toBe(404);
    expect(await query('SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?', [destination])).toEqual([]);
  });

  it("answers a dry run with the seed's table and creates nothing", async () => {
    const res = await post('/api/v1/pulls', { profile: 'app', dryRun: true });
    expect(res.status).toBe(200);
    const body = await json(res);
    expect(body.profile).toBe('app');
    expect(body.data).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          table: 'users',
          rows: 6,
          mode: 'full',
          sanitized: true,
          limited: false,
          timestamps: true,
          excluded: false,
        }),
        expect.objectContaining({ table: 'audit_log', mode: 'excluded', excluded: true }),
      ]),
    );
    expect(await query('SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?', [destination])).toEqual([]);
  });

  it('starts, replays, refuses a second run into the destination, shows, lists and cancels', async () => {
    const headers = { 'idempotency-key': `rest-pull-${randomBytes(4).toString('hex')}` };
    const started = await post('/api/v1/pulls', { profile: 'app', full: true, tables: ['users', 'customers'] }, stack.alice.token, headers);
    expect(started.status).toBe(202);
    const { id, status } = (await started.json()) as { id: string; status: string };
    expect(status).toBe('queued');
    expect(started.headers.get('location')).toBe(`/api/v1/pulls/${id}`);
    const replay = await post('/api/v1/pulls', { profile: 'app', full: true, tables: ['users', 'customers'] }, stack.alice.token, headers);
    expect(replay.status).toBe(200);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect((await json(replay)).id).toBe(id);
    const second = await post('/api/v1/pulls', { profile: 'app' });
    expect(second.status).toBe(409);

    expect((await stack.http(`/api/v1/pulls/${id}`, { token: stack.bob.token })).status).toBe(404);
    expect((await post(`/api/v1/pulls/${id}/cancel`, {}, stack.bob.token)).status).toBe(404);

    let view: Record<string, unknown> = {};
    for (const deadline = Date.now() + 120_000; Date.now() < deadline;) {
      view = await json(await stack.http(`/api/v1/pulls/${id}`, { token: stack.alice.token }));
      if (['succeeded', 'failed', 'cancelled'].includes(String(view.status))) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(view).toMatchObject({
      id,
      profile: 'app',
      status: 'succeeded',
      phase: 'done',
      progress: 100,
      mode: 'full',
      full: true,
      requested_tables: ['users', 'customers'],
      destination: `local/${destination}`,
      rows: 10,
      last_error: null,
    });
    expect(view.tables).toEqual(expect.arrayContaining([{ table: 'users', mode: 'full', rows: 6, sanitized: true, limited: false }]));
    expect(typeof view.duration).toBe('number');
    const emails = await query<{ email: string | null }>(`SELECT email FROM \`${destination}\`.users ORDER BY id`);
    expect(emails.map((r) => r.email)).not.toContain('alice@gmail.com');

    const list = await json(await stack.http('/api/v1/pulls?limit=5', { token: stack.alice.token }));
    expect((list.data as Array<{ id: string }>).map((p) => p.id)).toContain(id);
    expect((await json(await stack.http('/api/v1/pulls', { token: stack.bob.token }))).data as unknown[]).toEqual([]);

    const cancelled = await post(`/api/v1/pulls/${id}/cancel`, {});
    expect(cancelled.status).toBe(202);
    expect((await json(cancelled)).status).toBe('succeeded');
  });

  it('is in the OpenAPI document', async () => {
    const doc = (await (await stack.http('/api/openapi.json')).json()) as { paths: Record<string, Record<string, unknown>> };
    expect(Object.keys(doc.paths['/api/v1/pulls']!)).toEqual(['post', 'get']);
    expect(doc.paths['/api/v1/pulls/{id}']!.get).toBeDefined();
    expect(doc.paths['/api/v1/pulls/{id}/cancel']!.post).toBeDefined();
  });
});
