// The REST dispatcher on hostile input and refusals that pass, with fake services: malformed query
// encoding, bodies that are not JSON objects, the rate limit's 429 and a dependency's 503.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ApiServices } from '../../../src/api/context.ts';
import { createRestDispatcher } from '../../../src/api/rest/dispatcher.ts';
import { clientKey, RateLimiter } from '../../../src/api/limits/rate-limit.ts';
import { restRoutes } from '../../../src/api/routes.ts';
import { alice, fakeServices, type FakeServices } from '../fake-services.ts';

const TOKEN = 'good-token';
const ref = (database: string) => ({ connection: 'local', database });

describe('the REST dispatcher on hostile input', () => {
  let server: Server;
  let base: string;
  let services: FakeServices;
  // Two requests at once for an anonymous caller, then one a second.
  const anonymous = new RateLimiter({ perMinute: 60, burst: 2 });
  let tokenRequests = 0;

  beforeAll(async () => {
    services = fakeServices();
    const dispatch = createRestDispatcher(restRoutes, {
      services: services as unknown as ApiServices,
      authenticate: async (req) => {
        if (req.headers.authorization === 'Bearer limited') {
          const limiter = new RateLimiter({ perMinute: 30, burst: 1 });
          limiter.admit('t');
          limiter.admit('t');
        }
        if (req.headers.authorization === `Bearer ${TOKEN}`) tokenRequests++;
        return req.headers.authorization === `Bearer ${TOKEN}` ? alice : null;
      },
      admitPublic: (req) => anonymous.admit(clientKey(req)),
    });
    server = createServer((req, res) => void dispatch(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const send = (path: string, init: RequestInit & { token?: string | null } = {}) => {
    const { token = TOKEN, ...rest } = init;
    return fetch(`${base}${path}`, {
      ...rest,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(rest.headers as Record<string, string>) },
    });
  };
  const refusal = async (res: Response) => (await res.json()) as { message: string; field: string | null };

  it.each([
    ['/api/v1/backups?source=%ZZ', 'source'],
    ['/api/v1/backups?source=%E0%A4%A', 'source'],
    ['/api/v1/backups?status=%', 'status'],
    ['/api/v1/pulls?before=%C0%AF', 'before'],
    ['/api/v1/pulls?%ZZ=1', '(query)'],
  ])('answers malformed percent-encoding in the query %s with 400 naming the parameter', async (path, field) => {
    const res = await send(path);
    expect(res.status).toBe(400);
    expect(await refusal(res)).toMatchObject({ field, message: expect.stringMatching(/percent-encoding/) });
    expect(services.backups.list).not.toHaveBeenCalled();
    expect(services.pulls.list).not.toHaveBeenCalled();
  });

  it.each([
    ['an array', '[]'],
    ['a string', '"source"'],
    ['a number', '42'],
    ['null', 'null'],
    ['true', 'true'],
  ])('refuses a body that is %s with 400, before any service', async (kind, body) => {
    const res = await send('/api/db-copies', { method: 'POST', body, headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(400);
    expect(await refusal(res)).toEqual({
      message: `the request body must be a JSON object, not ${kind === 'true' ? 'a boolean' : kind}`,
      field: null,
    });
    expect(services.copies.start).not.toHaveBeenCalled();
  });

  it('refuses a body that is not UTF-8, and names every unknown field, nested ones too', async () => {
    const bad = await send('/api/db-copies', { method: 'POST', body: Buffer.from([0x7b, 0xff, 0x7d]) });
    expect(await refusal(bad)).toEqual({ message: 'the request body is not valid UTF-8', field: null });
    const nested = await send('/api/db-copies', {
      method: 'POST',
      body: JSON.stringify({ source: { ...ref('a'), host: 'evil' }, destination: ref('b') }),
    });
    expect(await refusal(nested)).toEqual({ message: 'source.host: is not a known field', field: 'source.host' });
    const proto = await send('/api/db-copies', {
      method: 'POST',
      body: '{"source":{"connection":"local","database":"a"},"destination":{"connection":"local","database":"b"},"__proto__":{"x":1}}',
    });
    expect(await refusal(proto)).toEqual({ message: '__proto__: is not a known field', field: '__proto__' });
    expect(services.copies.start).not.toHaveBeenCalled();
  });

  it('answers 429 with Retry-After when the caller is over its rate, before parsing anything', async () => {
    const res = await send('/api/db-copies', { method: 'POST', token: 'limited', body: '[' });
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('2');
    expect(await refusal(res)).toEqual({ message: 'too many requests: try again in 2 s', field: null });
    for (let i = 0; i < 2; i++) expect((await send('/healthz', { token: null })).status).not.toBe(429);
    const third = await send('/healthz', { token: null });
    expect(third.status).toBe(429);
    expect(Number(third.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  });

  it('answers 503 with Retry-After and a plain message when the control schema or Temporal does not answer', async () => {
    const mysqlDown = Object.assign(new Error('connect ECONNREFUSED 10.9.8.7:3306'), { code: 'ECONNREFUSED', fatal: true });
    services.copies.list.mockRejectedValueOnce(mysqlDown);
    const control = await send('/api/db-copies');
    expect(control.status).toBe(503);
    expect(control.headers.get('retry-after')).toBe('5');
    expect(await refusal(control)).toEqual({ message: 'the control schema (MySQL) does not answer; try again later', field: null });
    const grpc = Object.assign(new Error('14 UNAVAILABLE: No connection established. Last error: connect ECONNREFUSED 10.9.8.7:7233'), {
      code: 14,
      metadata: {},
    });
    services.pulls.list.mockRejectedValueOnce(Object.assign(new Error('Failed to query'), { name: 'ServiceError', cause: grpc }));
    const temporal = await send('/api/v1/pulls');
    expect(temporal.status).toBe(503);
    const body = await refusal(temporal);
    expect(body).toEqual({ message: 'Temporal does not answer; try again later', field: null });
    expect(JSON.stringify(body)).not.toMatch(/10\.9\.8\.7|ECONNREFUSED/);
    expect(tokenRequests).toBeGreaterThan(0);
  });
});
