import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TRPCClientError } from '@trpc/client';
import { createDbferryClient, type DbferryClient } from '../../../src/client.ts';
import type { CreateScheduleInput } from '../../../src/api/backup/schemas.ts';
import { manifestKeyFor } from '../../../src/workflows/backup/contracts.ts';
import { keysUnder } from '../../harness/backups.ts';
import { createHardSchema } from '../../harness/hard-schema.ts';
import { dropDatabases, uniqueDbName } from '../../harness/mysql.ts';
import { startTestStack, type TestStack } from '../../harness/stack.ts';

type CreateRequest = Parameters<DbferryClient['schedules']['create']['mutate']>[0];

/** The tRPC error a call ends with (it must end with one). */
async function refusal(call: Promise<unknown>): Promise<TRPCClientError<never>> {
  const error = await call.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TRPCClientError);
  return error as TRPCClientError<never>;
}

/** Polls `fn` until `check` holds (Temporal lists schedules eventually, not at once). */
async function eventually<T>(fn: () => Promise<T>, check: (value: T) => boolean, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (check(value)) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms: ${JSON.stringify(value).slice(0, 500)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe('backup schedules (Temporal Schedules) through the API', () => {
  let stack: TestStack;
  const source = uniqueDbName('sched_src');
  const request = (over: Partial<CreateScheduleInput> = {}): CreateRequest => ({
    name: `nightly-${Math.random().toString(36).slice(2, 8)}`,
    source: { connection: 'local', database: source },
    target: 'files',
    cron: '0 2 * * *',
    paused: true,
    ...over,
  });

  beforeAll(async () => {
    stack = await startTestStack();
    await createHardSchema(source, { rows: 20 });
  });
  afterAll(async () => {
    await dropDatabases(source);
    await stack?.stop();
  });

  it('answers 401 without a valid token', async () => {
    expect((await fetch(`${stack.api.url}/trpc/schedules.list`)).status).toBe(401);
    const anonymous = createDbferryClient({ url: stack.api.url, token: 'dbf_1_nope' });
    await expect(anonymous.schedules.list.query()).rejects.toMatchObject({ data: { code: 'UNAUTHORIZED', httpStatus: 401 } });
    await expect(anonymous.schedules.create.mutate(request())).rejects.toMatchObject({ data: { code: 'UNAUTHORIZED' } });
  });

  const invalid: Array<[string, Partial<CreateScheduleInput> & Record<string, unknown>, RegExp]> = [
    ['a minute out of range', { cron: '61 * * * *' }, /^cron: minute \(1st field\): 61 is out of range 0-59$/],
    ['too few cron fields', { cron: '0 2 * *' }, /^cron: must have 5 fields/],
    ['a Quartz nth weekday', { cron: '0 2 * * 1#2' }, /^cron: day-of-week \(5th field\): "1#2": L, W, # and \? are not supported$/],
    ['a cron that never fires', { cron: '0 0 31 2 *' }, /^cron: never fires/],
    ['day-of-month with day-of-week', { cron: '0 2 1 * MON' }, /^cron: give day-of-month or day-of-week, not both/],
    ['an empty cron', { cron: '' }, /^cron: must not be empty$/],
    ['an unknown time zone', { timezone: 'Mars/Olympus_Mons' }, /^timezone: unknown time zone "Mars\/Olympus_Mons"/],
    ['a wrongly cased time zone', { timezone: 'europe/berlin' }, /^timezone: .*did you mean "Europe\/Berlin"/],
    ['an unknown target', { target: 'nowhere' }, /^target: no target named "nowhere" \(configured: s3, files\)$/],
    ['a ../ target', { target: '../files' }, /^target: may contain only letters, digits, _ and -$/],
    ['an absolute target', { target: '/etc/passwd' }, /^target: may contain only letters, digits, _ and -$/],
    ['a 1000-character target', { target: 'x'.repeat(1000) }, /^target: must be at most 64 characters$/],
    ['a ../ name', { name: '../../etc' }, /^name: may contain only letters, digits/],
    ['an absolute name', { name: '/etc/cron.d' }, /^name: may contain only letters, digits/],
    ['a 1000-character name', { name: 'n'.repeat(1000) }, /^name: must be at most 64 characters$/],
    [
      'a hostile database',
      { source: { connection: 'local', database: '../x`; DROP' } },
      /^source\.database: may contain only letters, digits, _ and \$$/,
    ],
    ['an unknown connection', { source: { connection: 'nowhere', database: 'x' } }, /^source\.connection: no connection named "nowhere"$/],
    ['a zero keepLast', { retention: { keepLast: 0 } }, /^retention\.keepLast: must be at least 1/],
    ['an empty retention policy', { retention: {} }, /^retention: give at least one of keepLast/],
    ['an unknown format', { format: 'tar' as never }, /^format: /],
    ['an unknown overlap policy', { overlap: 'allowAll' as never }, /^overlap: /],
    ['an unknown field', { shell: 'rm -rf /' }, /^shell: is not a known field/],
  ];
  it.each(invalid)('refuses %s with 400 naming the field, creating nothing', async (_label, over, message) => {
    const error = await refusal(stack.alice.client.schedules.create.mutate({ ...request(), ...over } as CreateRequest));
    expect(error.data).toMatchObject({ code: 'BAD_REQUEST', httpStatus: 400 });
    expect(error.message).toMatch(message);
  });

  it('refuses bad input on the raw HTTP route with 400 too', async () => {
    const res = await stack.http('/trpc/schedules.create', {
      method: 'POST',
      token: stack.alice.token,
      body: JSON.stringify({ ...request(), cron: '99 * * * *' }),
    });
    expect(res.status).toBe(400);
    expect(JSON.stringify(await res.json())).toContain('cron: minute (1st field): 99 is out of range 0-59');
  });

  it('creates, lists, pauses, resumes, updates and deletes a schedule in Temporal', async () => {
    const client = stack.alice.client;
    const created = await client.schedules.create.mutate(
      request({
        name: 'round-trip',
        cron: '30 1 * * MON-FRI',
        timezone: 'Europe/Berlin',
        retention: { keepLast: 3, keepDaily: 7 },
        paused: false,
      }),
    );
    expect(created).toMatchObject({
      name: 'round-trip',
      source: { connection: 'local', database: source },
      target: 'files',
      format: 'mysqldump',
      compression: 'gzip',
      cron: '30 1 * * MON-FRI',
      timezone: 'Europe/Berlin',
      overlap: 'skip',
      paused: false,
      retention: { keepLast: 3, keepDaily: 7 },
    });
    // 01:30 in Berlin is 23:30 or 00:30 UTC, on weekdays only.
    expect(created.nextRuns.length).toBeGreaterThan(0);
    for (const next of created.nextRuns) {
      const local = new Intl.DateTimeFormat('en-GB', {
        timeZone: 'Europe/Berlin',
        weekday: 'short',
        hour: '2-digit',
        minute: '2-digit',
      }).format(new Date(next));
      expect(local).toMatch(/^(Mon|Tue|Wed|Thu|Fri) 01:30$/);
    }
    const description = await stack.temporal.schedule.getHandle(created.scheduleId).describe();
    expect(description.policies.overlap).toBe('SKIP');
    expect(description.action).toMatchObject({
      workflowType: 'backupDatabase',
      taskQueue: stack.config.taskQueue,
      workflowId: `backup:local/${source}`,
    });
    expect((description.action as { args: unknown[] }).args[0]).toMatchObject({
      backupId: '',
      scheduleId: created.scheduleId,
      target: 'files',
      requestedBy: 'alice',
    });

    await eventually(
      () => client.schedules.list.query(),
      (list) => list.some((s) => s.name === 'round-trip'),
    );
    expect(await client.schedules.pause.mutate({ name: 'round-trip', note: 'maintenance' })).toMatchObject({
      paused: true,
      note: 'maintenance',
    });
    expect((await client.schedules.get.query({ name: 'round-trip' })).paused).toBe(true);
    expect((await client.schedules.resume.mutate({ name: 'round-trip' })).paused).toBe(false);

    const updated = await client.schedules.update.mutate({
      name: 'round-trip',
      cron: '@daily',
      timezone: 'UTC',
      compression: 'zstd',
      retention: null,
    });
    expect(updated).toMatchObject({
      cron: '@daily',
      timezone: 'UTC',
      compression: 'zstd',
      retention: null,
      format: 'mysqldump',
      target: 'files',
    });
    expect(updated.nextRuns.every((t) => t.endsWith('T00:00:00.000Z'))).toBe(true);
    const refused = await refusal(client.schedules.update.mutate({ name: 'round-trip', cron: '0 0 * * 9' }));
    expect(refused.message).toMatch(/^cron: day-of-week/);

    expect(await client.schedules.delete.mutate({ name: 'round-trip' })).toEqual({ name: 'round-trip', deleted: true });
    await expect(client.schedules.get.query({ name: 'round-trip' })).rejects.toMatchObject({ data: { code: 'NOT_FOUND' } });
    await eventually(
      () => client.schedules.list.query(),
      (list) => !list.some((s) => s.name === 'round-trip'),
    );
  });

  it('refuses a second schedule with the same name with 409', async () => {
    await stack.alice.client.schedules.create.mutate(request({ name: 'twice' }));
    const error = await refusal(stack.alice.client.schedules.create.mutate(request({ name: 'twice' })));
    expect(error.data).toMatchObject({ code: 'CONFLICT', httpStatus: 409 });
    expect(error.message).toBe('name: you already have a schedule named "twice"');
    await stack.alice.client.schedules.delete.mutate({ name: 'twice' });
  });

  it('hides a schedule from everyone but its creator (404), and lets two users use one name', async () => {
    await stack.alice.client.schedules.create.mutate(request({ name: 'private' }));
    const bob = stack.bob.client.schedules;
    for (const call of [
      bob.get.query({ name: 'private' }),
      bob.pause.mutate({ name: 'private' }),
      bob.resume.mutate({ name: 'private' }),
      bob.trigger.mutate({ name: 'private' }),
      bob.delete.mutate({ name: 'private' }),
      bob.update.mutate({ name: 'private', cron: '@hourly' }),
    ]) {
      const error = await refusal(call);
      expect(error.data).toMatchObject({ code: 'NOT_FOUND', httpStatus: 404 });
      expect(error.message).toBe('name: no schedule named "private"');
    }
    await eventually(
      () => stack.alice.client.schedules.list.query(),
      (list) => list.some((s) => s.name === 'private'),
    );
    expect((await bob.list.query()).map((s) => s.name)).not.toContain('private');

    const bobs = await bob.create.mutate(request({ name: 'private', cron: '@hourly' }));
    expect(bobs.scheduleId).not.toBe((await stack.alice.client.schedules.get.query({ name: 'private' })).scheduleId);
    expect((await stack.alice.client.schedules.get.query({ name: 'private' })).cron).toBe('0 2 * * *');
    await bob.delete.mutate({ name: 'private' });
    expect((await stack.alice.client.schedules.get.query({ name: 'private' })).name).toBe('private');
    await stack.alice.client.schedules.delete.mutate({ name: 'private' });
  });

  it('hands Temporal only cron forms it runs as written (every accepted form is accepted by the server)', async () => {
    const forms = [
      '*/15 * * * *',
      '5-10/2 * * * *',
      '5/15 * * * *',
      '0 2 * * 0-7',
      '0 2 * * SUNDAY',
      '0 2 * JAN-MAR *',
      '0 0 29 2 *',
      '@hourly',
      '@weekly',
      '@monthly',
      '@yearly',
      '@annually',
      '@midnight',
      '@every 90m',
    ];
    for (const [i, cron] of forms.entries()) {
      const view = await stack.alice.client.schedules.create.mutate(
        request({ name: `form-${i}`, cron, timezone: 'America/Argentina/Buenos_Aires' }),
      );
      expect(view.cron).toBe(cron);
      expect(view.nextRuns.length).toBeGreaterThan(0);
      await stack.alice.client.schedules.delete.mutate({ name: `form-${i}` });
    }
  });

  it('fires a backup when triggered, and retention then deletes exactly the older backups of that schedule', async () => {
    const client = stack.alice.client;
    const store = stack.targets.files.store;
    // An on-demand backup of the same source: retention of the schedule must leave it alone.
    const manual = await client.backups.trigger.mutate({ source: { connection: 'local', database: source }, target: 'files' });
    // A scheduled run is found through Temporal's visibility store, which may lag its start by a moment.
    const waitFor = async (id: string) =>
      (await eventually(
        () =>
          client.backups.get
            .query({ id })
            .catch((e: unknown) => (e instanceof TRPCClientError && e.data?.code === 'NOT_FOUND' ? null : Promise.reject(e))),
        (b) => b !== null && ['succeeded', 'failed', 'cancelled'].includes(b.status),
        120_000,
      ))!;
    expect((await waitFor(manual.id)).status).toBe('succeeded');

    await client.schedules.create.mutate(request({ name: 'keep-two', retention: { keepLast: 2 } }));
    const runs: string[] = [];
    for (let i = 0; i < 3; i++) {
      // Backup keys have one-second resolution: let each run start in its own second.
      await new Promise((r) => setTimeout(r, 1100));
      await client.schedules.trigger.mutate({ name: 'keep-two' });
      const view = await eventually(
        () => client.schedules.get.query({ name: 'keep-two' }),
        (s) => s.recentRuns.length === i + 1,
      );
      const runId = view.recentRuns.at(-1)!.runId;
      const backup = await waitFor(runId);
      expect(backup).toMatchObject({ id: runId, status: 'succeeded', trigger: 'schedule', schedule: 'keep-two', available: true });
      runs.push(runId);
    }
    const [first, second, third] = await Promise.all(runs.map((id) => client.backups.get.query({ id })));
    expect(first!.available).toBe(false);
    expect(second!.available && third!.available).toBe(true);
    const keys = await keysUnder(store, `${source}/`);
    const expected = [second!.key!, manifestKeyFor(second!.key!), third!.key!, manifestKeyFor(third!.key!)];
    const manualKey = (await client.backups.get.query({ id: manual.id })).key!;
    expect(keys.sort()).toEqual([...expected, manualKey, manifestKeyFor(manualKey)].sort());
    expect(keys).not.toContain(first!.key!);
    expect(keys).not.toContain(manifestKeyFor(first!.key!));

    // The backup log shows what exists: the two kept scheduled backups and the manual one.
    const log = await client.backups.list.query({ source: { connection: 'local', database: source }, status: 'succeeded' });
    expect(log.items.map((b) => b.id).sort()).toEqual([manual.id, second!.id, third!.id].sort());
    await client.schedules.delete.mutate({ name: 'keep-two' });
  });
});
