// The request rate limit's token buckets, the subscription cap and the 503 classification of
// dependency failures, without a server: a fake clock, real mysql2 and gRPC error shapes.
import { describe, expect, it } from 'vitest';
import type { IncomingMessage } from 'node:http';
import mysql from 'mysql2/promise';
import { ApiError } from '../../../src/api/errors.ts';
import { clientKey, RateLimiter, tokenKey } from '../../../src/api/limits/rate-limit.ts';
import { ProgressSubscriptions } from '../../../src/api/limits/subscriptions.ts';
import { failedDependency, unavailableError } from '../../../src/api/limits/unavailable.ts';
import { streamChanges } from '../../../src/api/progress-stream.ts';
import { ServerUnreachableError } from '../../../src/activities/mysql/server-identity.ts';

const clock = (start = 1_000_000) => {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
};

describe('RateLimiter', () => {
  it('lets a burst through at once, then refuses with the seconds until the next request may go', () => {
    const time = clock();
    const limiter = new RateLimiter({ perMinute: 60, burst: 5 }, time.now);
    for (let i = 0; i < 5; i++) expect(limiter.take('token:1')).toBeNull();
    expect(limiter.take('token:1')).toBe(1);
    time.advance(999);
    expect(limiter.take('token:1')).toBe(1);
    time.advance(1);
    expect(limiter.take('token:1')).toBeNull();
    expect(limiter.take('token:1')).toBe(1);
  });

  it('refills at the sustained rate and never beyond the burst', () => {
    const time = clock();
    const limiter = new RateLimiter({ perMinute: 6, burst: 2 }, time.now);
    expect(limiter.take('k')).toBeNull();
    expect(limiter.take('k')).toBeNull();
    // One request per 10 s: the wait is rounded up to whole seconds.
    expect(limiter.take('k')).toBe(10);
    time.advance(4_500);
    expect(limiter.take('k')).toBe(6);
    time.advance(3_600_000);
    expect(limiter.take('k')).toBeNull();
    expect(limiter.take('k')).toBeNull();
    expect(limiter.take('k')).not.toBeNull();
  });

  it('keeps callers apart: one exhausted bucket does not touch another', () => {
    const time = clock();
    const limiter = new RateLimiter({ perMinute: 60, burst: 1 }, time.now);
    expect(limiter.take('token:1')).toBeNull();
    expect(limiter.take('token:1')).not.toBeNull();
    expect(limiter.take('token:2')).toBeNull();
    expect(limiter.take('ip:127.0.0.1')).toBeNull();
  });

  it('throws a 429 with Retry-After from admit', () => {
    const limiter = new RateLimiter({ perMinute: 30, burst: 1 }, clock().now);
    limiter.admit('k');
    const error = (() => {
      try {
        limiter.admit('k');
      } catch (e) {
        return e;
      }
    })() as ApiError;
    expect(error).toBeInstanceOf(ApiError);
    expect(error.code).toBe('TOO_MANY_REQUESTS');
    expect(error.retryAfterSeconds).toBe(2);
    expect(error.message).toMatch(/too many requests/);
  });

  it('forgets buckets that are full again, so memory follows the active callers', () => {
    const time = clock();
    const limiter = new RateLimiter({ perMinute: 60, burst: 10 }, time.now);
    for (let i = 0; i < 1000; i++) limiter.take(`ip:10.0.${i >> 8}.${i & 255}`);
    expect(limiter.size).toBe(1000);
    time.advance(61_000);
    limiter.take('ip:10.9.9.9');
    expect(limiter.size).toBe(1);
  });

  it('keys a verified token by its id and an anonymous request by its address', () => {
    expect(tokenKey('dbf_42_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', 7)).toBe('token:42');
    expect(tokenKey('some-other-shape', 7)).toBe('user:7');
    const req = (remoteAddress: string) => ({ socket: { remoteAddress } }) as unknown as IncomingMessage;
    expect(clientKey(req('::ffff:10.1.2.3'))).toBe('ip:10.1.2.3');
    expect(clientKey(req('::1'))).toBe('ip:::1');
  });
});

describe('ProgressSubscriptions', () => {
  it('caps the open subscriptions per user and frees a place when one ends', () => {
    const subscriptions = new ProgressSubscriptions({ perUser: 2, maxDurationSeconds: 60 });
    const a = subscriptions.open(1);
    subscriptions.open(1);
    expect(() => subscriptions.open(1)).toThrow(expect.objectContaining({ code: 'TOO_MANY_REQUESTS', retryAfterSeconds: 5 }));
    expect(subscriptions.open(2)).toBeDefined();
    a.release();
    a.release(); // once only
    expect(subscriptions.openFor(1)).toBe(1);
    expect(subscriptions.open(1)).toBeDefined();
    expect(subscriptions.openFor(1)).toBe(2);
  });

  it('frees the place when the request goes away, and marks a lease expired after its maximum duration', async () => {
    const subscriptions = new ProgressSubscriptions({ perUser: 1, maxDurationSeconds: 1 });
    const gone = new AbortController();
    subscriptions.open(1, gone.signal);
    gone.abort();
    expect(subscriptions.openFor(1)).toBe(0);
    const lease = subscriptions.open(1);
    expect(lease.expired.aborted).toBe(false);
    await new Promise((r) => setTimeout(r, 1100));
    expect(lease.expired.aborted).toBe(true);
    lease.release();
  });

  it('ends a progress stream at its maximum duration and releases its place', async () => {
    const subscriptions = new ProgressSubscriptions({ perUser: 1, maxDurationSeconds: 1 });
    const lease = subscriptions.open(9);
    let progress = 0;
    const views: number[] = [];
    const started = Date.now();
    for await (const view of streamChanges(
      async () => ({ status: 'running' as const, phase: 'load', progress: ++progress }),
      undefined,
      lease,
    )) {
      views.push(view.progress);
    }
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(Date.now() - started).toBeLessThan(2500);
    expect(views.length).toBeGreaterThan(2);
    expect(subscriptions.openFor(9)).toBe(0);
  });
});

describe('dependency failures', () => {
  it('tells a MySQL server that does not answer from a failing statement', async () => {
    const pool = mysql.createPool({ host: '127.0.0.1', port: 1, user: 'x', connectTimeout: 2000 });
    const refused = await pool.query('SELECT 1').catch((e: unknown) => e);
    await pool.end();
    expect(failedDependency(refused)).toBe('control');
    const sqlError = Object.assign(new Error("Table 'x.y' doesn't exist"), { code: 'ER_NO_SUCH_TABLE', errno: 1146, sqlState: '42S02' });
    expect(failedDependency(sqlError)).toBeNull();
    expect(failedDependency(new Error('connect ECONNREFUSED'))).toBeNull();
  });

  it('sees a Temporal that does not answer through the client’s ServiceError cause', () => {
    const grpc = Object.assign(new Error('14 UNAVAILABLE: No connection established'), { code: 14 /* UNAVAILABLE */, metadata: {} });
    const wrapped = Object.assign(new Error('Failed to start Workflow'), { name: 'ServiceError', cause: grpc });
    expect(failedDependency(wrapped)).toBe('temporal');
    const notFound = Object.assign(new Error('5 NOT_FOUND'), { code: 5 /* NOT_FOUND */, metadata: {} });
    expect(failedDependency(notFound)).toBeNull();
  });

  it('answers 503 with Retry-After and a plain message, never the driver’s words', () => {
    const grpc = Object.assign(new Error('14 UNAVAILABLE: connect ECONNREFUSED 10.0.0.5:7233'), { code: 14, metadata: {} });
    const error = unavailableError(grpc)!;
    expect(error).toMatchObject({
      code: 'SERVICE_UNAVAILABLE',
      retryAfterSeconds: 5,
      message: 'Temporal does not answer; try again later',
    });
    expect(error.message).not.toMatch(/10\.0\.0\.5|ECONNREFUSED/);
    const server = new ServerUnreachableError(
      'prod',
      Object.assign(new Error('connect ECONNREFUSED 10.0.0.6:3306'), { code: 'ECONNREFUSED', fatal: true }),
    );
    expect(unavailableError(server)!.message).toBe(
      'could not reach the server of connection "prod" to identify it (ECONNREFUSED); try again later',
    );
    expect(unavailableError(new ApiError('NOT_FOUND', 'no copy'))).toBeNull();
    expect(unavailableError(new Error('a bug'))).toBeNull();
  });
});
