import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import type { TRPCClientError } from '@trpc/client';
import { createDbferryClient, type DbferryClient } from '../../../src/client.ts';
import { manifestKeyFor } from '../../../src/workflows/backup/contracts.ts';
import { hashStoredObject, keysUnder } from '../../harness/backups.ts';
import { createBulkDatabase } from '../../harness/bulk.ts';
import { expectSameDatabase } from '../../harness/compare.ts';
import { createHardSchema } from '../../harness/hard-schema.ts';
import { dropDatabases, uniqueDbName } from '../../harness/mysql.ts';
import { startTestStack, type TestStack } from '../../harness/stack.ts';

const run = promisify(execFile);
const FINAL = ['succeeded', 'failed', 'cancelled'];
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

async function until<T>(fn: () => Promise<T>, check: (v: T) => boolean, timeoutMs = 120_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (check(value)) return value;
    if (Date.now() > deadline) throw new Error(`not reached within ${timeoutMs} ms: ${JSON.stringify(value).slice(0, 400)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const waitForBackup = (client: DbferryClient, id: string) =>
  until(
    () => client.backups.get.query({ id }),
    (b) => FINAL.includes(b.status),
  );

describe('on-demand backups, the backup log and downloads through the API', () => {
  let stack: TestStack;
  const source = uniqueDbName('bapi_src');
  const big = uniqueDbName('bapi_big');
  const restored = uniqueDbName('bapi_rst');
  let fileBackup: string; // id of a succeeded backup in the `files` target
  let s3Backup: string; // id of a succeeded backup in the `s3` target

  beforeAll(async () => {
    stack = await startTestStack();
    await createHardSchema(source, { rows: 40 });
    await createBulkDatabase(big, 300_000);
  });
  afterAll(async () => {
    await dropDatabases(source, big, restored);
    await stack?.stop();
  });

  it('answers 401 without a valid token, on REST and tRPC', async () => {
    for (const token of [null, 'garbage']) {
      expect((await stack.http(`/api/v1/backups/trigger/local%2F${source}`, { method: 'POST', token })).status).toBe(401);
      expect((await stack.http('/api/v1/backups', { token })).status).toBe(401);
      expect((await stack.http('/api/v1/backups/00000000-0000-0000-0000-000000000000/download', { token })).status).toBe(401);
    }
    expect((await fetch(`${stack.api.url}/trpc/backups.list`)).status).toBe(401);
    await expect(createDbferryClient({ url: stack.api.url, token: 'nope' }).backups.list.query()).rejects.toMatchObject({
      data: { code: 'UNAUTHORIZED' },
    });
  });

  it('takes a backup through seed 001’s POST /api/v1/backups/trigger/{source}, then lists and downloads it', async () => {
    const res = await stack.http(`/api/v1/backups/trigger/local%2F${source}`, {
      method: 'POST',
      token: stack.alice.token,
      body: JSON.stringify({ target: 'files' }),
    });
    expect(res.status).toBe(202);
    const body = (await res.json()) as { id: string; status: string };
    expect(body).toEqual({ id: expect.stringMatching(/^[0-9a-f-]{36}$/), status: 'queued', source: `local/${source}`, target: 'files' });
    expect(res.headers.get('location')).toBe(`/api/v1/backups/${body.id}`);
    fileBackup = body.id;

    const done = await until(
      async () => (await stack.http(`/api/v1/backups/${body.id}`, { token: stack.alice.token })).json() as Promise<Record<string, unknown>>,
      (b) => FINAL.includes(b.status as string),
    );
    expect(done).toMatchObject({
      id: body.id,
      status: 'succeeded',
      source_connection: 'local',
      source_db: source,
      target: 'files',
      format: 'mysqldump',
      compression: 'gzip',
      file_path: expect.stringMatching(new RegExp(`^${source}/\\d{4}-\\d{2}-\\d{2}_\\d{2}-\\d{2}-\\d{2}\\.sql\\.gz$`)),
      error_message: null,
      trigger: 'manual',
      available: true,
    });
    expect(done.file_size).toBeGreaterThan(0);
    expect((done.tables as unknown[]).length).toBeGreaterThan(0);

    const list = (await (await stack.http(`/api/v1/backups?source=local/${source}`, { token: stack.alice.token })).json()) as {
      data: Array<{ id: string }>;
    };
    expect(list.data.map((b) => b.id)).toContain(body.id);

    // A file target is streamed by the API itself, with its sha256 in Repr-Digest.
    const download = await stack.http(`/api/v1/backups/${body.id}/download`, { token: stack.alice.token });
    expect(download.status).toBe(200);
    const bytes = new Uint8Array(await download.arrayBuffer());
    expect(sha256(bytes)).toBe(done.sha256);
    expect(bytes.length).toBe(done.file_size);
    expect(download.headers.get('repr-digest')).toBe(`sha-256=:${Buffer.from(done.sha256 as string, 'hex').toString('base64')}:`);
    expect(download.headers.get('content-disposition')).toMatch(/^attachment; filename=".+\.sql\.gz"$/);
    expect(await stack.alice.client.backups.download.query({ id: body.id })).toMatchObject({
      kind: 'api',
      url: `/api/v1/backups/${body.id}/download`,
      sha256: done.sha256,
    });
  });

  it('hands out a presigned URL for an S3 target (and the REST route redirects to it)', async () => {
    const started = await stack.alice.client.backups.trigger.mutate({
      source: { connection: 'local', database: source },
      target: 's3',
      format: 'mydumper',
      compression: 'zstd',
    });
    const done = await waitForBackup(stack.alice.client, started.id);
    expect(done).toMatchObject({ status: 'succeeded', target: 's3', format: 'mydumper', compression: 'zstd', available: true });
    s3Backup = started.id;
    const link = await stack.alice.client.backups.download.query({ id: started.id });
    expect(link).toMatchObject({ kind: 'presigned', sha256: done.sha256, size: done.size });
    const bytes = new Uint8Array(await (await fetch(link.url)).arrayBuffer());
    expect(sha256(bytes)).toBe(done.sha256);
    expect(await hashStoredObject(stack.targets.s3.store, done.key!)).toEqual({ sha256: done.sha256, size: done.size });

    const redirect = await stack.http(`/api/v1/backups/${started.id}/download`, { token: stack.alice.token, redirect: 'manual' });
    expect(redirect.status).toBe(302);
    expect(redirect.headers.get('location')).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/dbferry-t-.*X-Amz-Signature=/);
  });

  it('refuses a second backup of a source while one runs with 409', async () => {
    const first = await stack.alice.client.backups.trigger.mutate({ source: { connection: 'local', database: big }, target: 'files' });
    const second = await stack.http(`/api/v1/backups/trigger/local/${big}`, {
      method: 'POST',
      token: stack.bob.token,
      body: JSON.stringify({ target: 's3' }),
    });
    expect(second.status).toBe(409);
    expect((await second.json()) as { message: string; field: string }).toMatchObject({
      field: 'source',
      message: expect.stringMatching(/already running/),
    });
    const error = await stack.alice.client.backups.trigger
      .mutate({ source: { connection: 'local', database: big }, target: 'files' })
      .catch((e: unknown) => e);
    expect((error as TRPCClientError<never>).data).toMatchObject({ code: 'CONFLICT', httpStatus: 409 });

    // While it runs, the log shows it as running (from Temporal), not from the bucket.
    const running = await stack.alice.client.backups.list.query({ source: { connection: 'local', database: big } });
    expect(running.items.find((b) => b.id === first.id)?.status).toMatch(/^(queued|running)$/);
    expect((await waitForBackup(stack.alice.client, first.id)).status).toBe('succeeded');
  });

  it('replays an Idempotency-Key with the same backup', async () => {
    const send = () =>
      stack.http(`/api/v1/backups/trigger/local%2F${source}`, {
        method: 'POST',
        token: stack.alice.token,
        body: JSON.stringify({ target: 'files' }),
        headers: { 'idempotency-key': 'bk-1' },
      });
    const first = await send();
    expect(first.status).toBe(202);
    const { id } = (await first.json()) as { id: string };
    const again = await send();
    expect(again.status).toBe(200);
    expect(((await again.json()) as { id: string }).id).toBe(id);
    expect((await waitForBackup(stack.alice.client, id)).status).toBe('succeeded');
  });

  it('hides a backup from everyone but its owner (404), on REST and tRPC', async () => {
    expect((await stack.http(`/api/v1/backups/${fileBackup}`, { token: stack.bob.token })).status).toBe(404);
    expect((await stack.http(`/api/v1/backups/${fileBackup}/download`, { token: stack.bob.token })).status).toBe(404);
    await expect(stack.bob.client.backups.get.query({ id: fileBackup })).rejects.toMatchObject({ data: { code: 'NOT_FOUND' } });
    await expect(stack.bob.client.backups.download.query({ id: s3Backup })).rejects.toMatchObject({ data: { code: 'NOT_FOUND' } });
    await expect(
      stack.bob.client.restores.start.mutate({ backupId: fileBackup, destination: { connection: 'local', database: restored } }),
    ).rejects.toMatchObject({ data: { code: 'NOT_FOUND' } });
    const ids = (await stack.bob.client.backups.list.query()).items.map((b) => b.id);
    expect(ids).not.toContain(fileBackup);
    expect(ids).not.toContain(s3Backup);
  });

  it('filters the log by source, target, status and date, and pages through it with a cursor', async () => {
    const client = stack.alice.client;
    const all = await client.backups.list.query({ source: { connection: 'local', database: source } });
    expect(all.items.length).toBeGreaterThanOrEqual(3);
    expect(all.items.every((b) => b.source.database === source)).toBe(true);
    const starts = all.items.map((b) => Date.parse(b.startedAt!));
    expect(starts).toEqual([...starts].sort((a, b) => b - a));

    expect((await client.backups.list.query({ target: 's3' })).items.map((b) => b.id)).toEqual([s3Backup]);
    expect((await client.backups.list.query({ status: 'failed' })).items).toEqual([]);
    expect((await client.backups.list.query({ source: { connection: 'local' }, to: '2000-01-01T00:00:00Z' })).items).toEqual([]);
    const since = await client.backups.list.query({ from: all.items[0]!.startedAt! });
    expect(since.items.map((b) => b.id)).toEqual([all.items[0]!.id]);

    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await client.backups.list.query({ source: { connection: 'local', database: source }, limit: 1, cursor });
      expect(page.items.length).toBeLessThanOrEqual(1);
      seen.push(...page.items.map((b) => b.id));
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    expect(seen).toEqual(all.items.map((b) => b.id));
  });

  const hostile: Array<[string, string, RequestInit, number, RegExp]> = [
    [
      'a ../ target',
      `/api/v1/backups/trigger/local%2F${'x'}`,
      { body: JSON.stringify({ target: '../etc' }) },
      400,
      /^target: may contain only/,
    ],
    [
      'an absolute target',
      '/api/v1/backups/trigger/local%2Fx',
      { body: JSON.stringify({ target: '/etc/passwd' }) },
      400,
      /^target: may contain only/,
    ],
    [
      'a 1000-character target',
      '/api/v1/backups/trigger/local%2Fx',
      { body: JSON.stringify({ target: 't'.repeat(1000) }) },
      400,
      /^target: must be at most 64/,
    ],
    [
      'an unknown target',
      '/api/v1/backups/trigger/local%2Fx',
      { body: JSON.stringify({ target: 'nowhere' }) },
      400,
      /^target: no target named "nowhere"/,
    ],
    [
      'no target with two configured',
      '/api/v1/backups/trigger/local%2Fx',
      {},
      400,
      /^target: is required when the config declares several targets \(s3, files\)/,
    ],
    ['a ../ source', '/api/v1/backups/trigger/..%2F..%2Fetc', {}, 400, /^source\.connection: may contain only/],
    ['a source without database', '/api/v1/backups/trigger/local', {}, 400, /^source: must be CONNECTION\/DATABASE/],
    [
      'a hostile database',
      '/api/v1/backups/trigger/local%2Fx%60%3B%20DROP',
      { body: JSON.stringify({ target: 'files' }) },
      400,
      /^source\.database: may contain only/,
    ],
    [
      'a 1000-character database',
      `/api/v1/backups/trigger/local%2F${'d'.repeat(1000)}`,
      { body: JSON.stringify({ target: 'files' }) },
      400,
      /^source\.database: must be at most 64/,
    ],
    [
      'an unknown connection',
      '/api/v1/backups/trigger/nowhere%2Fx',
      { body: JSON.stringify({ target: 'files' }) },
      400,
      /^source\.connection: no connection named "nowhere"/,
    ],
    [
      'an unknown field',
      '/api/v1/backups/trigger/local%2Fx',
      { body: JSON.stringify({ target: 'files', key: '../../x' }) },
      400,
      /^key: is not a known field/,
    ],
    [
      'a private-network-free callback',
      '/api/v1/backups/trigger/local%2Fx',
      { body: JSON.stringify({ target: 'files', callback_url: 'file:///etc/passwd' }) },
      400,
      /^callback_url: /,
    ],
  ];
  it.each(hostile)('refuses %s on the trigger route, naming the field', async (_label, path, init, status, message) => {
    const res = await stack.http(path, { method: 'POST', token: stack.alice.token, ...init });
    expect(res.status).toBe(status);
    expect(((await res.json()) as { message: string }).message).toMatch(message);
  });

  it('refuses hostile ids and filters on the log routes, naming the field', async () => {
    for (const [path, message] of [
      ['/api/v1/backups/..%2F..%2Fetc%2Fpasswd', /^id: must be a backup id/],
      ['/api/v1/backups/%2Fetc%2Fpasswd/download', /^id: must be a backup id/],
      [`/api/v1/backups/${'a'.repeat(1000)}`, /^id: must be at most 128 characters/],
      ['/api/v1/backups?target=..%2Fx', /^target: may contain only/],
      ['/api/v1/backups?source=..%2Fx', /^source\.connection: may contain only/],
      ['/api/v1/backups?from=yesterday', /^from: must be an ISO 8601 date-time/],
      ['/api/v1/backups?status=lost', /^status: /],
      ['/api/v1/backups?limit=100000', /^limit: /],
      ['/api/v1/backups?cursor=not%20a%20cursor', /^cursor: must be a cursor/],
      ['/api/v1/backups?cursor=AAAA', /^cursor: must be a cursor/],
    ] as const) {
      const res = await stack.http(path, { token: stack.alice.token });
      expect(res.status, path).toBe(400);
      expect(((await res.json()) as { message: string }).message, path).toMatch(message);
    }
    const error = await stack.alice.client.backups.get.query({ id: '../../etc' }).catch((e: unknown) => e);
    expect((error as TRPCClientError<never>).message).toMatch(/^id: must be a backup id/);
  });

  it('restores a backup through restores.start into a new database', async () => {
    const started = await stack.alice.client.restores.start.mutate({
      backupId: fileBackup,
      destination: { connection: 'local', database: restored },
    });
    const done = await until(
      () => stack.alice.client.restores.get.query({ id: started.id }),
      (r) => FINAL.includes(r.status),
    );
    expect(done).toMatchObject({ status: 'succeeded', backupId: fileBackup, destination: { connection: 'local', database: restored } });
    await expectSameDatabase(source, restored);
    await expect(stack.bob.client.restores.get.query({ id: started.id })).rejects.toMatchObject({ data: { code: 'NOT_FOUND' } });
    const readonly = await stack.alice.client.restores.start
      .mutate({ backupId: fileBackup, destination: { connection: 'readonly', database: restored } })
      .catch((e: unknown) => e);
    expect((readonly as TRPCClientError<never>).data).toMatchObject({ code: 'FORBIDDEN' });
    expect((readonly as TRPCClientError<never>).message).toMatch(/^destination\.connection: .*does not allow writes/);
  });

  it('lists a target from the bucket alone with the CLI: no API, no control schema', async () => {
    // A config whose control schema is unreachable: the listing must not need it.
    const config = JSON.parse(await readFile(stack.configPath, 'utf8')) as {
      connections: Record<string, unknown>;
      control: { connection: string };
    };
    config.connections.unreachable = { host: '127.0.0.1', port: 1, user: 'nobody' };
    config.control.connection = 'unreachable';
    const offline = stack.configPath.replace(/\.json$/, '.offline.json');
    await writeFile(offline, JSON.stringify(config));
    const env = { ...process.env, DBFERRY_CONFIG: offline, DBFERRY_URL: 'http://127.0.0.1:1', DBFERRY_TOKEN: '' };
    const { stdout } = await run(
      process.execPath,
      ['bin/dbferry.js', 'backups', 'list', '--target', 'files', '--source', `local/${source}`, '--json'],
      { env },
    );
    const listed = JSON.parse(stdout) as { manifests: Array<{ id: string; key: string }>; problems: unknown[] };
    const fromApi = (await stack.alice.client.backups.list.query({ target: 'files', source: { connection: 'local', database: source } }))
      .items;
    expect(listed.manifests.map((m) => m.id).sort()).toEqual(fromApi.map((b) => b.id).sort());
    expect(listed.problems).toEqual([]);
    const keys = await keysUnder(stack.targets.files.store, `${source}/`);
    for (const m of listed.manifests) expect(keys).toContain(manifestKeyFor(m.key));

    const text = await run(process.execPath, ['bin/dbferry.js', 'backups', 'list', '--target', 'files'], { env });
    expect(text.stdout).toContain(fileBackup);
  });

  it('backs up, schedules and restores with the CLI, with clear errors for bad input', async () => {
    const token = stack.alice.token;
    const env = { ...process.env, DBFERRY_CONFIG: stack.configPath, DBFERRY_URL: stack.api.url, DBFERRY_TOKEN: token };
    const dbferry = (args: string[]) =>
      run(process.execPath, ['bin/dbferry.js', ...args], { env }).then(
        (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
        (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
      );
    const backup = await dbferry(['backup', '--from', `local/${source}`, '--target', 'files', '--follow']);
    expect(backup.stderr).toBe('');
    expect(backup.code).toBe(0);
    const lines = backup.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^backup [0-9a-f-]{36} queued$/);
    expect(lines.at(-1)).toMatch(/ succeeded done 100%$/);

    const bad = await dbferry([
      'schedule',
      'create',
      'cli-nightly',
      '--from',
      `local/${source}`,
      '--target',
      'files',
      '--cron',
      '61 * * * *',
    ]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toBe('dbferry: cron: minute (1st field): 61 is out of range 0-59\n');
    const created = await dbferry([
      'schedule',
      'create',
      'cli-nightly',
      '--from',
      `local/${source}`,
      '--target',
      'files',
      '--cron',
      '@daily',
      '--keep-last',
      '3',
      '--paused',
      '--json',
    ]);
    expect(created.code).toBe(0);
    expect(JSON.parse(created.stdout)).toMatchObject({ name: 'cli-nightly', cron: '@daily', paused: true, retention: { keepLast: 3 } });
    expect((await dbferry(['schedule', 'resume', 'cli-nightly'])).stdout).toMatch(/^cli-nightly {2}active {2}"@daily" UTC/);
    expect((await dbferry(['schedule', 'delete', 'cli-nightly'])).code).toBe(0);
    expect((await dbferry(['schedule', 'get', 'cli-nightly'])).stderr).toBe('dbferry: name: no schedule named "cli-nightly"\n');

    const id = lines[0]!.split(' ')[1]!;
    const target = uniqueDbName('bapi_cli');
    try {
      const restore = await dbferry(['restore', id, '--to', `local/${target}`, '--follow']);
      expect(restore.code).toBe(0);
      expect(restore.stdout.trim().split('\n').at(-1)).toMatch(/ succeeded done 100%$/);
      await expectSameDatabase(source, target);
      const again = await dbferry(['restore', id, '--to', `local/${target}`, '--follow']);
      expect(again.code).toBe(1); // the destination now has tables and --force was not given
      expect((await dbferry(['restore', id, '--to', `local/${target}`, '--force', '--follow'])).code).toBe(0);
    } finally {
      await dropDatabases(target);
    }
  });
});
