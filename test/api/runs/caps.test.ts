// The run caps' pure parts: which server a connection reaches, which cap a new run would break and
// how the refusal reads (429, the cap's config key, the request field), and the config's limits.
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config/load.ts';
import { ApiError, httpStatusOf } from '../../../src/api/errors.ts';
import { CAP_RETRY_AFTER_SECONDS, capRefusal, oversizedRequest, sourceServerKey, type RunLimits } from '../../../src/api/runs/caps.ts';

const limits: RunLimits = { runsPerUser: 3, runsPerSource: 2, threadsPerSourceServer: 8 };
const alice = { name: 'alice' };
const none = { userRuns: 0, sourceRuns: 0, serverThreads: 0 };

describe('sourceServerKey', () => {
  const config = {
    connections: {
      a: { host: '127.0.0.1', port: 3306 },
      b: { host: 'LOCALHOST' },
      c: { host: '::1', port: 3306 },
      d: { host: '127.0.0.1', port: 3307 },
      e: { host: 'db.internal' },
      f: { socket: '/run/mysqld/mysqld.sock' },
    },
  } as unknown as Parameters<typeof sourceServerKey>[0];

  it('takes the loopback spellings on one port as one server, and keeps other ports, hosts and sockets apart', () => {
    expect(sourceServerKey(config, 'a')).toBe('tcp:loopback:3306');
    expect(sourceServerKey(config, 'b')).toBe('tcp:loopback:3306');
    expect(sourceServerKey(config, 'c')).toBe('tcp:loopback:3306');
    expect(sourceServerKey(config, 'd')).toBe('tcp:loopback:3307');
    expect(sourceServerKey(config, 'e')).toBe('tcp:db.internal:3306');
    expect(sourceServerKey(config, 'f')).toBe('socket:/run/mysqld/mysqld.sock');
    expect(sourceServerKey(config, 'toString')).toBe('connection:toString');
  });
});

describe('capRefusal', () => {
  it('lets a run through while every cap has room, counting its own threads', () => {
    expect(capRefusal(limits, { userRuns: 2, sourceRuns: 1, serverThreads: 4 }, alice, { connection: 'prod', threads: 4 })).toBeNull();
    expect(capRefusal(limits, { userRuns: 2, sourceRuns: 9, serverThreads: 99 }, alice, null)).toBeNull();
  });

  it('refuses the run past the per-user cap with 429 naming the cap, whatever it reads', () => {
    const refusal = capRefusal(limits, { ...none, userRuns: 3 }, alice, null)!;
    expect(refusal).toBeInstanceOf(ApiError);
    expect(httpStatusOf[refusal.code]).toBe(429);
    expect(refusal.field).toBeUndefined();
    expect(refusal.message).toBe('alice already has 3 runs running (limits.runsPerUser is 3); wait for one to finish or cancel it');
    expect(refusal.retryAfterSeconds).toBe(CAP_RETRY_AFTER_SECONDS);
  });

  it('refuses the run past the per-source cap naming the source field (the service says which)', () => {
    const copy = capRefusal(limits, { ...none, sourceRuns: 2 }, alice, { connection: 'prod', threads: 1 })!;
    expect(copy).toMatchObject({ code: 'TOO_MANY_REQUESTS', field: 'source.connection' });
    expect(copy.message).toBe(
      'source.connection: 2 runs are already reading from connection prod (limits.runsPerSource is 2); wait for one to finish or cancel it',
    );
    const pull = capRefusal(limits, { ...none, sourceRuns: 2 }, alice, { connection: 'prod', threads: 1, field: 'profile' })!;
    expect(pull.field).toBe('profile');
  });

  it('refuses threads past the server budget naming `threads`, the budget and what is free', () => {
    const refusal = capRefusal(limits, { ...none, serverThreads: 6 }, alice, { connection: 'prod', threads: 4 })!;
    expect(refusal).toMatchObject({ code: 'TOO_MANY_REQUESTS', field: 'threads' });
    expect(refusal.message).toMatch(/^threads: 4 threads would exceed the threads budget of the server of prod: 6 of 8 are in use/);
    expect(refusal.message).toContain('limits.threadsPerSourceServer');
    expect(refusal.message).toContain('2 free');
    expect(capRefusal(limits, { ...none, serverThreads: 6 }, alice, { connection: 'prod', threads: 2 })).toBeNull();
  });

  it('keeps the REST spelling and the Retry-After through a rename', () => {
    const renamed = capRefusal(limits, { ...none, sourceRuns: 2 }, alice, { connection: 'prod', threads: 1, field: 'connection' })!.renamed(
      {
        connection: 'source',
      },
    );
    expect(renamed).toMatchObject({ field: 'source', retryAfterSeconds: CAP_RETRY_AFTER_SECONDS });
  });
});

describe('oversizedRequest', () => {
  it('answers more threads than the whole budget with 400 (waiting would never help)', () => {
    expect(oversizedRequest(limits, { connection: 'prod', threads: 8 })).toBeNull();
    expect(oversizedRequest(limits, null)).toBeNull();
    const refusal = oversizedRequest(limits, { connection: 'prod', threads: 9 })!;
    expect(refusal).toMatchObject({ code: 'BAD_REQUEST', field: 'threads' });
    expect(refusal.message).toBe('threads: 9 threads exceed the threads budget of a source server (limits.threadsPerSourceServer is 8)');
  });
});

describe('the limits section of the config', () => {
  const base = { connections: { local: { host: '127.0.0.1', user: 'root' } }, control: { connection: 'local' } };

  it('defaults to 10 runs per user, 8 per source connection and 32 threads per source server', () => {
    expect(parseConfig(JSON.stringify(base)).limits).toEqual({ runsPerUser: 10, runsPerSource: 8, threadsPerSourceServer: 32 });
    expect(parseConfig(JSON.stringify({ ...base, limits: { runsPerUser: 3 } })).limits).toEqual({
      runsPerUser: 3,
      runsPerSource: 8,
      threadsPerSourceServer: 32,
    });
  });

  it('refuses a bad value or an unknown key naming the field', () => {
    expect(() => parseConfig(JSON.stringify({ ...base, limits: { runsPerUser: 0 } }))).toThrow(/limits\.runsPerUser/);
    expect(() => parseConfig(JSON.stringify({ ...base, limits: { threadsPerSourceServer: 1.5 } }))).toThrow(
      /limits\.threadsPerSourceServer/,
    );
    expect(() => parseConfig(JSON.stringify({ ...base, limits: { runsPerDay: 1 } }))).toThrow(/limits.*runsPerDay/);
  });
});
