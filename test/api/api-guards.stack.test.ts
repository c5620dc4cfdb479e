import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TRPCClientError } from '@trpc/client';
import { createDbferryClient } from '../../src/client.ts';
import { createBulkDatabase } from '../harness/bulk.ts';
import { dropDatabases, rootConnection, uniqueDbName } from '../harness/mysql.ts';
import { startTestStack, waitForCopy, type TestStack } from '../harness/stack.ts';

/** Databases whose name contains `hostileprobe`: a hostile request must never create one. */
async function schemasNamed(fragment: string): Promise<string[]> {
  const conn = await rootConnection();
  try {
    const [rows] = await conn.query('SELECT SCHEMA_NAME AS s FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE ?', [`%${fragment}%`]);
    return (rows as Array<{ s: string }>).map((r) => r.s);
  } finally {
    await conn.end();
  }
}

describe('API guards: auth, ownership, validation, locking', () => {
  let stack: TestStack;
  const source = uniqueDbName('guard_src');
  const created: string[] = [source];

  beforeAll(async () => {
    stack = await startTestStack();
    await createBulkDatabase(source, 300_000);
  });
  afterAll(async () => {
    await dropDatabases(...created);
    await stack?.stop();
  });

  const body = (over: Record<string, unknown> = {}) =>
    JSON.stringify({
      source: { connection: 'local', database: source },
      destination: { connection: 'local', database: uniqueDbName('guard_dst') },
      ...over,
    });

  it('answers 401 without a token, with a malformed token and with a wrong token, on REST and tRPC', async () => {
    for (const token of [null, 'garbage', 'dbf_1_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', `${stack.alice.token.slice(0, -2)}xx`]) {
      const res = await stack.http('/api/db-copies', { method: 'POST', token, body: body() });
      expect(res.status).toBe(401);
      const get = await stack.http('/api/db-copies/00000000-0000-0000-0000-000000000000', { token });
      expect(get.status).toBe(401);
    }
    const anonymous = createDbferryClient({ url: stack.api.url, token: 'nope' });
    await expect(anonymous.copies.list.query()).rejects.toMatchObject({ data: { code: 'UNAUTHORIZED', httpStatus: 401 } });
    const trpcNoHeader = await fetch(`${stack.api.url}/trpc/copies.list`);
    expect(trpcNoHeader.status).toBe(401);
  });

  it('hides a copy from everyone but its creator (404 on read and cancel)', async () => {
    const target = uniqueDbName('owned');
    created.push(target);
    const res = await stack.http('/api/db-copies', {
      method: 'POST',
      token: stack.alice.token,
      body: body({ destination: { connection: 'local', database: target } }),
    });
    const { id } = (await res.json()) as { id: string };
    expect((await stack.http(`/api/db-copies/${id}`, { token: stack.bob.token })).status).toBe(404);
    expect((await stack.http(`/api/db-copies/${id}/cancel`, { method: 'POST', token: stack.bob.token })).status).toBe(404);
    await expect(stack.bob.client.copies.get.query({ id })).rejects.toMatchObject({ data: { code: 'NOT_FOUND' } });
    await expect(stack.bob.client.copies.cancel.mutate({ id })).rejects.toMatchObject({ data: { code: 'NOT_FOUND' } });
    expect((await stack.bob.client.copies.list.query()).map((c) => c.id)).not.toContain(id);
    expect((await stack.http(`/api/db-copies/${id}`, { token: stack.alice.token })).status).toBe(200);
    expect((await waitForCopy(stack.alice.client, id)).status).toBe('succeeded');
  });

  const hostile: Array<[string, Record<string, unknown>, string]> = [
    ['a backtick', { source: { connection: 'local', database: 'hostileprobe`x' } }, 'source.database'],
    ['a quote', { destination: { connection: 'local', database: "hostileprobe'; DROP DATABASE mysql; --" } }, 'destination.database'],
    ['a statement', { destination: { connection: 'local', database: 'hostileprobe; DROP TABLE x' } }, 'destination.database'],
    [
      'a name over 64 characters',
      { destination: { connection: 'local', database: `hostileprobe_${'x'.repeat(70)}` } },
      'destination.database',
    ],
    ['an empty name', { source: { connection: 'local', database: '' } }, 'source.database'],
    ['an unknown connection', { destination: { connection: 'nowhere', database: 'hostileprobe_conn' } }, 'destination.connection'],
    ['a hostile connection name', { destination: { connection: '../etc"', database: 'hostileprobe_c' } }, 'destination.connection'],
    ['zero threads', { threads: 0 }, 'threads'],
    ['a non-URL callback', { callback_url: 'not a url' }, 'callback_url'],
    ['a file: callback', { callback_url: 'file:///etc/passwd' }, 'callback_url'],
    ['an unknown field', { dropEverything: true }, 'dropEverything'],
  ];
  it.each(hostile)('refuses %s with 400 naming the field, and runs nothing', async (_label, over, field) => {
    const before = await stack.api.deps.runs.listOwned((await stack.api.deps.tokens.verify(stack.alice.token))!.id, 'copy', 100);
    const res = await stack.http('/api/db-copies', { method: 'POST', token: stack.alice.token, body: body(over) });
    expect(res.status).toBe(400);
    const error = (await res.json()) as { message: string; field: string | null };
    expect(error.message).toContain(field);
    expect(error.field).toBe(field);
    const after = await stack.api.deps.runs.listOwned((await stack.api.deps.tokens.verify(stack.alice.token))!.id, 'copy', 100);
    expect(after.length).toBe(before.length);
    expect(await schemasNamed('hostileprobe')).toEqual([]);
  });

  it('refuses hostile names through tRPC too, naming the field', async () => {
    const error = await stack.alice.client.copies.start
      .mutate({ source: { connection: 'local', database: 'x`; DROP' }, destination: { connection: 'local', database: 'hostileprobe_t' } })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TRPCClientError);
    expect((error as TRPCClientError<never>).message).toMatch(/^source\.database: /);
    expect((error as TRPCClientError<never>).data).toMatchObject({ code: 'BAD_REQUEST', httpStatus: 400 });
  });

  it('refuses a destination without allowWrite and the control schema before anything runs', async () => {
    const readonly = await stack.http('/api/db-copies', {
      method: 'POST',
      token: stack.alice.token,
      body: body({ destination: { connection: 'readonly', database: 'hostileprobe_ro' } }),
    });
    expect(readonly.status).toBe(403);
    expect(((await readonly.json()) as { message: string }).message).toMatch(/^destination\.connection: .*does not allow writes/);
    const control = await stack.http('/api/db-copies', {
      method: 'POST',
      token: stack.alice.token,
      body: body({ destination: { connection: 'local', database: stack.config.control.database } }),
    });
    expect(control.status).toBe(403);
    expect(((await control.json()) as { message: string }).message).toMatch(/^destination\.database: .*control schema/);
    // The control schema is just as protected when reached through another connection to the same server.
    const viaOther = await stack.http('/api/db-copies', {
      method: 'POST',
      token: stack.alice.token,
      body: body({ destination: { connection: 'guarded', database: stack.config.control.database } }),
    });
    expect(viaOther.status).toBe(403);
    expect(await schemasNamed('hostileprobe')).toEqual([]);
  });

  it('refuses a system schema as destination (any case, even with recreateDestination): mysql survives and nothing runs', async () => {
    const owner = (await stack.api.deps.tokens.verify(stack.alice.token))!.id;
    const before = await stack.api.deps.runs.listOwned(owner, 'copy', 100);
    const res = await stack.http('/api/db-copies', {
      method: 'POST',
      token: stack.alice.token,
      body: body({ destination: { connection: 'local', database: 'MySQL' }, recreateDestination: true }),
    });
    expect(res.status).toBe(403);
    const error = (await res.json()) as { message: string; field: string | null };
    expect(error.field).toBe('destination.database');
    expect(error.message).toMatch(/^destination\.database: .*system schema/);
    const asSource = await stack.http('/api/db-copies', {
      method: 'POST',
      token: stack.alice.token,
      body: body({ source: { connection: 'local', database: 'Information_Schema' } }),
    });
    expect(asSource.status).toBe(403);
    expect(((await asSource.json()) as { field: string | null }).field).toBe('source.database');
    expect((await stack.api.deps.runs.listOwned(owner, 'copy', 100)).length).toBe(before.length);
    expect(await schemasNamed('mysql')).toContain('mysql');
    const conn = await rootConnection();
    try {
      const [rows] = await conn.query('SELECT COUNT(*) AS n FROM mysql.user');
      expect(Number((rows as Array<{ n: number }>)[0]!.n)).toBeGreaterThan(0);
    } finally {
      await conn.end();
    }
  });

  it('refuses callback URLs on private networks unless the config allows them', async () => {
    const strict = { ...stack.config, webhooks: { ...stack.config.webhooks, allowPrivateNetworks: false } };
    const { checkCallbackUrl } = await import('../../src/api/callback-url.ts');
    for (const url of ['http://127.0.0.1:9/x', 'http://10.1.2.3/x', 'http://[::1]/x', 'http://192.168.0.10/x', 'http://localhost/x']) {
      await expect(checkCallbackUrl(url, strict.webhooks.allowPrivateNetworks)).rejects.toThrow(/^callback_url: .*private network/);
    }
    await expect(checkCallbackUrl('http://127.0.0.1:9/x', true)).resolves.toBeUndefined();
  });

  it('refuses a second copy into a busy destination with 409, and replays an idempotency key', async () => {
    const target = uniqueDbName('busy');
    created.push(target);
    const request = body({ destination: { connection: 'local', database: target } });
    const first = await stack.http('/api/db-copies', {
      method: 'POST',
      token: stack.alice.token,
      body: request,
      headers: { 'idempotency-key': 'k-1' },
    });
    expect(first.status).toBe(201);
    const { id } = (await first.json()) as { id: string };
    const replay = await stack.http('/api/db-copies', {
      method: 'POST',
      token: stack.alice.token,
      body: request,
      headers: { 'idempotency-key': 'k-1' },
    });
    expect(replay.status).toBe(200);
    expect(((await replay.json()) as { id: string }).id).toBe(id);
    // The same key for another request is refused, not answered with the first copy.
    const reused = await stack.http('/api/db-copies', {
      method: 'POST',
      token: stack.alice.token,
      body: body({ threads: 2, destination: { connection: 'local', database: target } }),
      headers: { 'idempotency-key': 'k-1' },
    });
    expect(reused.status).toBe(422);
    expect(await reused.json()).toMatchObject({ field: 'Idempotency-Key', message: expect.stringMatching(/^Idempotency-Key: /) });

    const second = await stack.http('/api/db-copies', { method: 'POST', token: stack.bob.token, body: request });
    expect(second.status).toBe(409);
    expect(((await second.json()) as { message: string }).message).toMatch(/already running/);
    await expect(stack.bob.client.copies.start.mutate(JSON.parse(request))).rejects.toMatchObject({ data: { code: 'CONFLICT' } });

    expect((await waitForCopy(stack.alice.client, id)).status).toBe('succeeded');
    // Once it is over, the destination is free again (and the same key still means the same copy).
    const again = await stack.http('/api/db-copies', {
      method: 'POST',
      token: stack.alice.token,
      body: request,
      headers: { 'idempotency-key': 'k-1' },
    });
    expect(((await again.json()) as { id: string }).id).toBe(id);
  });

  it('answers /healthz with 200 when Temporal and the control schema answer', async () => {
    const res = await fetch(`${stack.api.url}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true, temporal: 'ok', control: 'ok' });
    const openapi = await fetch(`${stack.api.url}/api/openapi.json`);
    expect(((await openapi.json()) as { paths: object }).paths).toHaveProperty('/api/db-copies/{id}');
  });

  it('answers malformed percent-encoding in a path with 400 naming the parameter', async () => {
    for (const path of ['/api/db-copies/%E0%A4%A', '/api/v1/backups/%ZZ']) {
      const res = await stack.http(path, { token: stack.alice.token });
      expect(res.status, path).toBe(400);
      expect(await res.json(), path).toEqual({ message: 'id: is not valid percent-encoding', field: 'id' });
    }
  });

  it('refuses an oversized body with 413', async () => {
    const res = await stack.http('/api/db-copies', { method: 'POST', token: stack.alice.token, body: body({ pad: 'x'.repeat(70_000) }) });
    expect(res.status).toBe(413);
  });
});
