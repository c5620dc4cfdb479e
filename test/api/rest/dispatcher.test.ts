// The REST dispatcher over the real route tables with fake services, on a loopback HTTP server:
// routing (404, 405), auth, the one 400 shape, percent-encoding, and the service calls.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import type { ApiServices } from '../../../src/api/context.ts';
import { ApiError } from '../../../src/api/errors.ts';
import { createRestDispatcher } from '../../../src/api/rest/dispatcher.ts';
import { restRoutes } from '../../../src/api/routes.ts';
import { alice, fakeServices, type FakeServices } from '../fake-services.ts';

const TOKEN = 'good-token';
const id = '2f1c8d4e-8b7a-4c3d-9e2f-1a2b3c4d5e6f';
const ref = (database: string) => ({ connection: 'local', database });

describe('the REST dispatcher', () => {
  let server: Server;
  let base: string;
  let services: FakeServices;

  beforeAll(async () => {
    services = fakeServices();
    const dispatch = createRestDispatcher(restRoutes, {
      services: services as unknown as ApiServices,
      authenticate: async (req) => (req.headers.authorization === `Bearer ${TOKEN}` ? alice : null),
    });
    server = createServer((req, res) => void dispatch(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const send = (path: string, init: RequestInit & { token?: string | null; json?: unknown } = {}) => {
    const { token = TOKEN, json, ...rest } = init;
    return fetch(`${base}${path}`, {
      ...rest,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(rest.headers as Record<string, string>) },
      ...(json === undefined ? {} : { body: JSON.stringify(json) }),
    });
  };
  const refusal = async (res: Response) => (await res.json()) as { message: string; field: string | null };

  it('answers 401 under /api/ without a token, known path or not, and 404 elsewhere', async () => {
    for (const path of ['/api/db-copies', '/api/nowhere', `/api/v1/pulls/${id}`]) {
      const res = await send(path, { token: null });
      expect(res.status, path).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer');
      expect(await refusal(res)).toEqual({ message: 'Unauthenticated.', field: null });
    }
    expect((await send('/nowhere', { token: null })).status).toBe(404);
  });

  it('answers 404 for an unknown path and 405 with Allow for a known path and another method', async () => {
    const missing = await send('/api/v1/nothing-here');
    expect(missing.status).toBe(404);
    expect(await refusal(missing)).toEqual({ message: 'not found', field: null });
    const wrongMethod = await send(`/api/db-copies/${id}`, { method: 'DELETE' });
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get('allow')).toBe('GET');
    expect((await refusal(wrongMethod)).field).toBeNull();
  });

  it('serves the health check and the OpenAPI document without a token', async () => {
    services.health.check.mockResolvedValueOnce({ ok: false, temporal: 'ok', control: 'unavailable' });
    const health = await send('/healthz', { token: null });
    expect(health.status).toBe(503);
    expect(health.headers.get('retry-after')).toBe('5');
    expect(await health.json()).toEqual({ ok: false, temporal: 'ok', control: 'unavailable' });
    const doc = await send('/api/openapi.json', { token: null });
    expect(doc.status).toBe(200);
    expect(((await doc.json()) as { openapi: string }).openapi).toBe('3.1.0');
  });

  it('answers every 400 as {message, field}, field the dotted path of the first bad field', async () => {
    const copy = await send('/api/db-copies', { method: 'POST', json: { source: ref('a`b'), destination: ref('b') } });
    expect(copy.status).toBe(400);
    expect(await refusal(copy)).toEqual({
      message: expect.stringMatching(/^source\.database: may contain only/),
      field: 'source.database',
    });
    const unknownField = await refusal(
      await send('/api/db-copies', { method: 'POST', json: { source: ref('a'), destination: ref('b'), x: 1 } }),
    );
    expect(unknownField).toEqual({ message: 'x: is not a known field', field: 'x' });
    const key = await send('/api/db-copies', { method: 'POST', json: {}, headers: { 'idempotency-key': 'has space' } });
    expect((await refusal(key)).field).toBe('Idempotency-Key');
    const query = await refusal(await send('/api/v1/backups?source=..%2Fx'));
    expect(query.field).toBe('source.connection');
    const json = await send('/api/v1/pulls', { method: 'POST', body: '{not json' });
    expect(json.status).toBe(400);
    expect(await refusal(json)).toEqual({ message: 'the request body is not valid JSON', field: null });
    expect((await send('/api/v1/pulls', { method: 'POST', json: { profile: 'app', pad: 'x'.repeat(70_000) } })).status).toBe(413);
    expect(services.copies.start).not.toHaveBeenCalled();
  });

  it('answers 400 naming the parameter for malformed percent-encoding in a path', async () => {
    for (const [path, field] of [
      ['/api/db-copies/%E0%A4%A', 'id'],
      ['/api/v1/backups/%ZZ', 'id'],
      ['/api/v1/pulls/%E0%A4%A/cancel', 'id'],
      ['/api/v1/backups/trigger/local/%ZZ', 'source'],
    ] as const) {
      const res = await send(path, { method: path.includes('cancel') || path.includes('trigger') ? 'POST' : 'GET' });
      expect(res.status, path).toBe(400);
      expect(await refusal(res), path).toEqual({ message: `${field}: is not valid percent-encoding`, field });
    }
  });

  it('answers 404 for a copy or pull id that is not a UUID, and 400 for a bad backup id', async () => {
    expect(await refusal(await send('/api/db-copies/not-a-uuid'))).toEqual({ message: 'id: no copy with id not-a-uuid', field: 'id' });
    expect((await send('/api/v1/pulls/not-a-uuid/cancel', { method: 'POST' })).status).toBe(404);
    expect(await refusal(await send('/api/v1/backups/..%2Fetc'))).toMatchObject({
      field: 'id',
      message: expect.stringMatching(/^id: must be/),
    });
  });

  it('starts a copy with the parsed body, answering seed 000’s 201 and a replay’s 200', async () => {
    services.copies.start.mockResolvedValueOnce({ id, status: 'queued', created: true });
    const res = await send('/api/db-copies', {
      method: 'POST',
      json: { source: ref('a'), destination: ref('b'), callback_url: 'https://example.com/hook' },
      headers: { 'idempotency-key': 'k-1' },
    });
    expect(res.status).toBe(201);
    expect(await res.json()).toEqual({ id, status: 'queued' });
    expect(services.copies.start).toHaveBeenLastCalledWith(alice, {
      source: ref('a'),
      destination: ref('b'),
      threads: 4,
      recreateDestination: false,
      callbackUrl: 'https://example.com/hook',
      idempotencyKey: 'k-1',
    });
    services.copies.start.mockResolvedValueOnce({ id, status: 'running', created: false });
    const replay = await send('/api/db-copies', { method: 'POST', json: { source: ref('a'), destination: ref('b') } });
    expect(replay.status).toBe(200);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
  });

  it('renames the services’ fields to the REST spelling in refusals', async () => {
    services.copies.start.mockRejectedValueOnce(new ApiError('BAD_REQUEST', 'must use http or https', 'callbackUrl'));
    const res = await send('/api/db-copies', { method: 'POST', json: { source: ref('a'), destination: ref('b') } });
    expect(await refusal(res)).toEqual({ message: 'callback_url: must use http or https', field: 'callback_url' });
    services.pulls.start.mockRejectedValueOnce(
      new ApiError('UNPROCESSABLE_CONTENT', 'was used for another pull request', 'idempotencyKey'),
    );
    const conflict = await send('/api/v1/pulls', { method: 'POST', json: { profile: 'app' } });
    expect(conflict.status).toBe(422);
    expect((await refusal(conflict)).field).toBe('Idempotency-Key');
  });

  it('takes the trigger route’s source as one %2F-encoded segment or as two', async () => {
    services.backups.trigger.mockResolvedValue({ id: 'b1', status: 'queued', created: true, target: 'files' });
    for (const path of ['/api/v1/backups/trigger/local%2Fshop', '/api/v1/backups/trigger/local/shop']) {
      const res = await send(path, { method: 'POST' });
      expect(res.status, path).toBe(202);
      expect(res.headers.get('location')).toBe('/api/v1/backups/b1');
      expect(await res.json()).toEqual({ id: 'b1', status: 'queued', source: 'local/shop', target: 'files' });
    }
    expect(services.backups.trigger).toHaveBeenLastCalledWith(alice, {
      source: ref('shop'),
      format: 'mysqldump',
      compression: 'gzip',
      threads: 4,
      callbackUrl: null,
      idempotencyKey: undefined,
    });
    const bad = await refusal(await send('/api/v1/backups/trigger/local', { method: 'POST' }));
    expect(bad).toMatchObject({ field: 'source', message: expect.stringMatching(/^source: must be CONNECTION\/DATABASE/) });
  });

  it('answers seed 004’s 202 Accepted for a physical backup, and streams a file download', async () => {
    services.physical.trigger.mockResolvedValueOnce({ id, status: 'queued', created: true });
    const res = await send('/api/v1/backups/physical/local', { method: 'POST', json: { target: 'files', parent_id: 'p0' } });
    expect(await refusal(res)).toEqual({ message: 'parent_id: only an incremental has a parent', field: 'parent_id' });
    const ok = await send('/api/v1/backups/physical/local', { method: 'POST', json: { target: 'files' } });
    expect(ok.status).toBe(202);
    expect(await ok.json()).toEqual({ code: 202, status: 'Accepted', id, state: 'queued' });
    expect(services.physical.trigger).toHaveBeenLastCalledWith(
      alice,
      expect.objectContaining({ kind: 'physical-full', connection: 'local' }),
    );

    const view = { key: 'shop/2026.sql.gz', size: 5, sha256: '00'.repeat(32) };
    services.backups.open.mockResolvedValueOnce({ view, redirect: null, body: Readable.from([Buffer.from('bytes')]) });
    const download = await send('/api/v1/backups/b1/download');
    expect(download.status).toBe(200);
    expect(download.headers.get('content-disposition')).toBe('attachment; filename="2026.sql.gz"');
    expect(await download.text()).toBe('bytes');
  });

  it('answers 500 without detail when a service fails unexpectedly', async () => {
    services.pulls.list.mockRejectedValueOnce(new Error('connection reset'));
    const res = await send('/api/v1/pulls');
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({ message: 'internal error', field: null });
  });
});
