// Hostile input against the real API (issue 11, items 6, 7 and 9): malformed encoding, bodies that
// are not objects, unknown fields, a reused idempotency key, folder restores outside the restore
// roots, oversized bodies and batches, the rate limit, the subscription cap, and the control schema
// or Temporal going away. Every refusal is asserted with its status and the field it names, and
// that nothing ran: no run recorded, no workflow started on the stack's task queue, no database.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';
import { mkdir, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import type { Connection as MysqlConnection } from 'mysql2/promise';
import { TRPCClientError } from '@trpc/client';
import { startApi, type ApiHandle } from '../../src/api/server.ts';
import { createDbferryClient } from '../../src/client.ts';
import { rootConnection, uniqueDbName } from '../harness/mysql.ts';
import { startTestStack, type TestStack } from '../harness/stack.ts';

/** A TCP forwarder to a real server that a test can cut (every socket destroyed, the port closed) and bring back. */
class CuttableProxy {
  #server: Server | null = null;
  readonly #sockets = new Set<Socket>();
  port = 0;
  constructor(
    private readonly host: string,
    private readonly targetPort: number,
  ) {}

  async start(): Promise<this> {
    const server = createServer((client) => {
      const upstream = connect(this.targetPort, this.host);
      for (const s of [client, upstream]) {
        this.#sockets.add(s);
        s.on('close', () => this.#sockets.delete(s));
        s.on('error', () => undefined);
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    this.port = (server.address() as AddressInfo).port;
    this.#server = server;
    return this;
  }

  async cut(): Promise<void> {
    const server = this.#server;
    this.#server = null;
    for (const s of this.#sockets) s.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

type Refusal = { message: string; field: string | null };
const trpcError = async (promise: Promise<unknown>): Promise<TRPCClientError<never>> => {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TRPCClientError);
  return error as TRPCClientError<never>;
};

describe('hostile input: every refusal names its field, and nothing runs', () => {
  let stack: TestStack;
  let db: MysqlConnection;
  const extraApis: ApiHandle[] = [];
  const proxies: CuttableProxy[] = [];

  beforeAll(async () => {
    stack = await startTestStack({ worker: false });
    db = await rootConnection();
    await symlink('/etc', join(stack.restoreRoot, 'to-etc'));
    await mkdir(join(tmpdir(), 'dbferry-hostile-outside'), { recursive: true });
    await symlink(join(tmpdir(), 'dbferry-hostile-outside'), join(stack.restoreRoot, 'to-outside'));
  });
  afterAll(async () => {
    for (const api of extraApis) await api.close().catch(() => undefined);
    for (const proxy of proxies) await proxy.cut();
    if (stack) {
      // Nothing polls the stack's task queue: end what the accepted requests queued.
      for await (const wf of stack.temporal.workflow.list({
        query: `TaskQueue = "${stack.config.taskQueue}" AND ExecutionStatus = "Running"`,
      })) {
        await stack.temporal.workflow.getHandle(wf.workflowId, wf.runId).terminate('test over');
      }
    }
    await db?.end();
    await stack?.stop();
  });

  /** What a hostile request must leave as it found it. */
  const snapshot = async () => {
    const [runs] = await db.query(`SELECT COUNT(*) AS n FROM \`${stack.config.control.database}\`.runs`);
    const [schemas] = await db.query("SELECT SCHEMA_NAME AS s FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE '%hostileprobe%'");
    const { count } = await stack.temporal.workflow.count(`TaskQueue = "${stack.config.taskQueue}"`);
    return { runs: Number((runs as Array<{ n: number }>)[0]!.n), workflows: count, databases: (schemas as unknown[]).length };
  };
  /** Waits until Temporal's visibility shows `n` workflows on the stack's queue (after an accepted start). */
  const settle = async (n: number) => {
    for (const deadline = Date.now() + 15_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 200))) {
      if ((await stack.temporal.workflow.count(`TaskQueue = "${stack.config.taskQueue}"`)).count >= n) return;
    }
    throw new Error(`${n} workflows never showed`);
  };
  const probe = (suffix: string) => ({ connection: 'local', database: `hostileprobe_${suffix}` });
  const copyBody = (over: Record<string, unknown> = {}) => ({ source: probe('src'), destination: probe('dst'), ...over });
  const json = (value: unknown) => JSON.stringify(value);
  const post = (path: string, body: string | Buffer, headers: Record<string, string> = {}) =>
    stack.http(path, { method: 'POST', token: stack.alice.token, body, headers: { 'content-type': 'application/json', ...headers } });
  const get = (path: string) => stack.http(path, { token: stack.alice.token });
  const chain = (to: unknown, over: Record<string, unknown> = {}) => json({ chain: { backupId: 'b1' }, target: 'files', to, ...over });

  /** A REST request, the status it must get, the field it must name (null: the request as a whole), and a word of its message. */
  type RestCase = [string, () => Promise<Response>, number, string | null, RegExp?];
  const restCases: RestCase[] = [
    // Malformed percent-encoding in paths and queries.
    ['a truncated UTF-8 sequence in a copy id', () => get('/api/db-copies/%E0%A4%A'), 400, 'id', /percent-encoding/],
    ['a non-hex escape in a backup id', () => get('/api/v1/backups/%ZZ'), 400, 'id', /percent-encoding/],
    ['a bad escape in a copy cancel', () => post('/api/db-copies/%ZZ/cancel', ''), 400, 'id', /percent-encoding/],
    ['a bad escape in a pull id', () => get('/api/v1/pulls/%E0%A4%A'), 400, 'id', /percent-encoding/],
    ['a bad escape in a backup trigger source', () => post('/api/v1/backups/trigger/local/%ZZ', ''), 400, 'source', /percent-encoding/],
    [
      'a bad escape in a physical backup connection',
      () => post('/api/v1/backups/physical/%E0%A4%A', json({ target: 'files' })),
      400,
      'connection',
    ],
    ['a bad escape in a chain restore id', () => get('/api/v1/backups/chain-restores/%ZZ'), 400, 'id', /percent-encoding/],
    ['a bad escape in a query value', () => get('/api/v1/backups?source=%ZZ'), 400, 'source', /percent-encoding/],
    ['an overlong UTF-8 escape in a query value', () => get('/api/v1/pulls?before=%C0%AF'), 400, 'before', /percent-encoding/],
    ['a lone % in a query value', () => get('/api/v1/pulls?limit=%'), 400, 'limit', /percent-encoding/],
    ['an encoded ../ in a backup id', () => get('/api/v1/backups/..%2F..%2Fetc%2Fpasswd'), 400, 'id', /must be a backup id/],
    // Bodies that are not JSON objects.
    ['a body that is an array', () => post('/api/db-copies', '[]'), 400, null, /must be a JSON object, not an array/],
    ['a body that is a string', () => post('/api/db-copies', '"local/shop"'), 400, null, /must be a JSON object, not a string/],
    ['a body that is a number', () => post('/api/db-copies', '42'), 400, null, /must be a JSON object, not a number/],
    ['a body that is null', () => post('/api/db-copies', 'null'), 400, null, /must be a JSON object, not null/],
    ['a pull body that is an array', () => post('/api/v1/pulls', json([{ profile: 'x' }])), 400, null, /not an array/],
    ['a chain restore body that is a string', () => post('/api/v1/backups/chain-restores', '"x"'), 400, null, /not a string/],
    ['a backup trigger body that is true', () => post('/api/v1/backups/trigger/local/hostileprobe_b', 'true'), 400, null, /not a boolean/],
    ['a body that is not JSON', () => post('/api/db-copies', '{"source":'), 400, null, /not valid JSON/],
    ['a body that is not UTF-8', () => post('/api/db-copies', Buffer.from([0x7b, 0xc3, 0x28, 0x7d])), 400, null, /not valid UTF-8/],
    // Unknown fields, named.
    ['an unknown top-level field', () => post('/api/db-copies', json(copyBody({ dropEverything: true }))), 400, 'dropEverything'],
    [
      'an unknown nested field',
      () => post('/api/db-copies', json(copyBody({ source: { ...probe('s'), host: 'evil' } }))),
      400,
      'source.host',
    ],
    ['a __proto__ key', () => post('/api/db-copies', json(copyBody()).replace(/^\{/, '{"__proto__":{"admin":true},')), 400, '__proto__'],
    [
      'the tRPC spelling callbackUrl over REST',
      () => post('/api/db-copies', json(copyBody({ callbackUrl: 'http://x.example/' }))),
      400,
      'callbackUrl',
    ],
    [
      'an unknown backup trigger field',
      () => post('/api/v1/backups/trigger/local/hostileprobe_b', json({ retention: { keepLast: 1 } })),
      400,
      'retention',
    ],
    [
      'the tRPC spelling parentId in a physical backup',
      () => post('/api/v1/backups/physical/local', json({ target: 'files', parentId: 'p' })),
      400,
      'parentId',
    ],
    [
      'an unknown field inside a chain restore destination',
      () => post('/api/v1/backups/chain-restores', chain({ folder: `/x/y`, path: '/etc' })),
      400,
      'to.path',
    ],
    ['an unknown pull field', () => post('/api/v1/pulls', json({ profile: 'app', sanitize: false })), 400, 'sanitize'],
    // Wrong types name the field too.
    ['threads as a string', () => post('/api/db-copies', json(copyBody({ threads: 'many' }))), 400, 'threads'],
    [
      'recreateDestination as a string',
      () => post('/api/db-copies', json(copyBody({ recreateDestination: 'yes' }))),
      400,
      'recreateDestination',
    ],
    ['a source given as a string', () => post('/api/db-copies', json(copyBody({ source: 'local/shop' }))), 400, 'source'],
    [
      'a database name with a NUL',
      () => post('/api/db-copies', json(copyBody({ destination: probe('a\u0000b') }))),
      400,
      'destination.database',
    ],
    [
      'an idempotency key with a space',
      () => post('/api/db-copies', json(copyBody()), { 'idempotency-key': 'a b' }),
      400,
      'Idempotency-Key',
    ],
    // Folder restores outside the restore roots, refused before anything starts.
    ['a folder restore into /', () => post('/api/v1/backups/chain-restores', chain({ folder: '/' })), 400, 'to.folder'],
    [
      'a folder restore into /etc',
      () => post('/api/v1/backups/chain-restores', chain({ folder: '/etc' })),
      403,
      'to.folder',
      /system directory \/etc/,
    ],
    [
      'a folder restore below /etc',
      () => post('/api/v1/backups/chain-restores', chain({ folder: '/etc/cron.d/x' })),
      403,
      'to.folder',
      /\/etc/,
    ],
    [
      'a folder restore into the MariaDB datadir',
      () => post('/api/v1/backups/chain-restores', chain({ folder: '/var/lib/mysql/mysql' })),
      403,
      'to.folder',
      /\/var\/lib\/mysql/,
    ],
    [
      'a folder restore into workDir',
      () => post('/api/v1/backups/chain-restores', chain({ folder: stack.config.workDir })),
      403,
      'to.folder',
      /restoreRoots/,
    ],
    [
      'a folder restore outside the roots',
      () => post('/api/v1/backups/chain-restores', chain({ folder: '/tmp/hostileprobe' })),
      403,
      'to.folder',
      /restoreRoots/,
    ],
    [
      'a folder restore into the root itself',
      () => post('/api/v1/backups/chain-restores', chain({ folder: stack.restoreRoot })),
      403,
      'to.folder',
      /restoreRoots/,
    ],
    [
      'a folder restore next to the root (a prefix)',
      () => post('/api/v1/backups/chain-restores', chain({ folder: `${stack.restoreRoot}-x/y` })),
      403,
      'to.folder',
    ],
    [
      'a folder restore through a symlink to /etc',
      () => post('/api/v1/backups/chain-restores', chain({ folder: join(stack.restoreRoot, 'to-etc', 'x') })),
      403,
      'to.folder',
      /\/etc/,
    ],
    [
      'a folder restore through a symlink out of the roots',
      () => post('/api/v1/backups/chain-restores', chain({ folder: join(stack.restoreRoot, 'to-outside', 'x') })),
      403,
      'to.folder',
      /symbolic link/,
    ],
    [
      'a folder restore with ..',
      () => post('/api/v1/backups/chain-restores', chain({ folder: `${stack.restoreRoot}/../../etc` })),
      400,
      'to.folder',
    ],
    [
      'a folder restore with //',
      () => post('/api/v1/backups/chain-restores', chain({ folder: `${stack.restoreRoot}//x` })),
      400,
      'to.folder',
      /normalized/,
    ],
    [
      'a folder restore with a trailing /',
      () => post('/api/v1/backups/chain-restores', chain({ folder: `${stack.restoreRoot}/x/` })),
      400,
      'to.folder',
      /normalized/,
    ],
    // Sizes.
    ['a REST body over 64 KiB', () => post('/api/db-copies', json(copyBody({ pad: 'x'.repeat(70_000) }))), 413, null, /exceeds/],
  ];

  it.each(restCases)('REST: refuses %s', async (_label, send, status, field, message) => {
    const before = await snapshot();
    const res = await send();
    expect(res.status).toBe(status);
    const body = (await res.json()) as Refusal;
    expect(body.field).toBe(field);
    if (field) expect(body.message.startsWith(`${field}: `), body.message).toBe(true);
    if (message) expect(body.message).toMatch(message);
    expect(await snapshot()).toEqual(before);
  });

  /** A tRPC call, the code it must get, and the field it must name. */
  type TrpcCase = [string, () => Promise<unknown>, string, string];
  const trpcCases: TrpcCase[] = [
    [
      'an unknown field in copies.start',
      () => stack.alice.client.copies.start.mutate({ ...copyBody(), drop: true } as never),
      'BAD_REQUEST',
      'drop',
    ],
    [
      'an unknown nested field in copies.start',
      () => stack.alice.client.copies.start.mutate(copyBody({ destination: { ...probe('d'), socket: '/x' } }) as never),
      'BAD_REQUEST',
      'destination.socket',
    ],
    ['an unknown field in copies.list', () => stack.alice.client.copies.list.query({ limit: 5, all: true } as never), 'BAD_REQUEST', 'all'],
    [
      'an unknown field in copies.get',
      () => stack.alice.client.copies.get.query({ id: '00000000-0000-4000-8000-000000000000', owner: 'bob' } as never),
      'BAD_REQUEST',
      'owner',
    ],
    [
      'an unknown field in pulls.start',
      () => stack.alice.client.pulls.start.mutate({ profile: 'app', sql: 'DROP DATABASE x' } as never),
      'BAD_REQUEST',
      'sql',
    ],
    [
      'an unknown field in pulls.list',
      () => stack.alice.client.pulls.list.query({ limit: 1, user: 'bob' } as never),
      'BAD_REQUEST',
      'user',
    ],
    [
      'an unknown field in backups.trigger',
      () => stack.alice.client.backups.trigger.mutate({ source: probe('b'), target: 'files', overwrite: true } as never),
      'BAD_REQUEST',
      'overwrite',
    ],
    [
      'an unknown field in a physical backups.trigger',
      () =>
        stack.alice.client.backups.trigger.mutate({ kind: 'physical-full', connection: 'local', target: 'files', datadir: '/' } as never),
      'BAD_REQUEST',
      'datadir',
    ],
    [
      'an unknown field in a chain restore',
      () =>
        stack.alice.client.restores.start.mutate({
          chain: { backupId: 'b1' },
          target: 'files',
          to: { folder: '/x/y' },
          force: true,
        } as never),
      'BAD_REQUEST',
      'force',
    ],
    [
      'an unknown field in schedules.create',
      () =>
        stack.alice.client.schedules.create.mutate({
          name: 'hostileprobe',
          source: probe('s'),
          target: 'files',
          cron: '0 * * * *',
          command: 'rm',
        } as never),
      'BAD_REQUEST',
      'command',
    ],
    ['a non-object input to copies.start', () => stack.alice.client.copies.start.mutate(['local'] as never), 'BAD_REQUEST', '(input)'],
    [
      'a folder restore into /etc',
      () => stack.alice.client.restores.start.mutate({ chain: { backupId: 'b1' }, target: 'files', to: { folder: '/etc' } }),
      'FORBIDDEN',
      'to.folder',
    ],
    [
      'a folder restore through a symlink to /etc',
      () =>
        stack.alice.client.restores.start.mutate({
          chain: { backupId: 'b1' },
          target: 'files',
          to: { folder: join(stack.restoreRoot, 'to-etc', 'passwd.d') },
        }),
      'FORBIDDEN',
      'to.folder',
    ],
  ];

  it.each(trpcCases)('tRPC: refuses %s', async (_label, call, code, field) => {
    const before = await snapshot();
    const error = await trpcError(call());
    expect(error.data).toMatchObject({ code });
    expect(error.message.startsWith(`${field}: `), error.message).toBe(true);
    if (code === 'BAD_REQUEST' && field !== '(input)') expect((error.data as unknown as { fields?: string[] }).fields).toContain(field);
    expect(await snapshot()).toEqual(before);
  });

  it('answers malformed input in a tRPC request with 400, not 500', async () => {
    const before = await snapshot();
    const auth = { authorization: `Bearer ${stack.alice.token}` };
    for (const path of ['/trpc/copies.get?input=%ZZ', '/trpc/copies.get?input=%7B%22id', '/trpc/copies.get?input=%E0%A4%A']) {
      const res = await fetch(`${stack.api.url}${path}`, { headers: auth });
      expect(res.status, path).toBe(400);
    }
    const res = await fetch(`${stack.api.url}/trpc/copies.start`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: '{"source":',
    });
    expect(res.status).toBe(400);
    expect(await snapshot()).toEqual(before);
  });

  it('refuses a tRPC batch of 300 calls, and a tRPC body over maxBodySize, before any call runs', async () => {
    const before = await snapshot();
    const calls = Array.from({ length: 300 }, (_, i) => copyBody({ destination: probe(`batch_${i}`) }));
    const res = await fetch(`${stack.api.url}/trpc/${Array(300).fill('copies.start').join(',')}?batch=1`, {
      method: 'POST',
      headers: { authorization: `Bearer ${stack.alice.token}`, 'content-type': 'application/json' },
      body: json(Object.fromEntries(calls.map((c, i) => [i, c]))),
    });
    expect(res.status).toBe(400);
    expect(JSON.stringify(await res.json())).toMatch(/Batch call exceeds maximum size/);
    // The limit is api.maxBatchSize (50): a batch of 50 is served.
    const ok = await fetch(
      `${stack.api.url}/trpc/${Array(50).fill('copies.list').join(',')}?batch=1&input=${encodeURIComponent(json({}))}`,
      {
        headers: { authorization: `Bearer ${stack.alice.token}` },
      },
    );
    expect(ok.status).toBe(200);
    const big = await fetch(`${stack.api.url}/trpc/copies.start`, {
      method: 'POST',
      headers: { authorization: `Bearer ${stack.alice.token}`, 'content-type': 'application/json' },
      body: json(copyBody({ pad: 'x'.repeat(1_100_000) })),
    });
    expect(big.status).toBe(413);
    expect(await snapshot()).toEqual(before);
  });

  it('refuses an idempotency key reused with another body with 422 naming the key, on REST and tRPC, and starts nothing more', async () => {
    const destination = { connection: 'local', database: uniqueDbName('hi_key') };
    const start = await snapshot();
    const first = await post(
      '/api/db-copies',
      json(copyBody({ source: { connection: 'local', database: 'mysql_not_used' }, destination })),
      {
        'idempotency-key': 'hostile-k1',
      },
    );
    expect(first.status).toBe(201);
    await settle(start.workflows + 1);
    const before = await snapshot();
    expect(before.runs).toBe(start.runs + 1);
    const reused = await post('/api/db-copies', json(copyBody({ source: { connection: 'local', database: 'other' }, destination })), {
      'idempotency-key': 'hostile-k1',
    });
    expect(reused.status).toBe(422);
    expect(await reused.json()).toMatchObject({
      field: 'Idempotency-Key',
      message: expect.stringMatching(/^Idempotency-Key: was used for another copy request/),
    });
    const viaTrpc = await trpcError(
      stack.alice.client.copies.start.mutate({
        source: { connection: 'local', database: 'third' },
        destination,
        idempotencyKey: 'hostile-k1',
      }),
    );
    expect(viaTrpc.data).toMatchObject({ code: 'UNPROCESSABLE_CONTENT', httpStatus: 422 });
    expect(viaTrpc.message).toMatch(/^idempotencyKey: /);
    expect(await snapshot()).toEqual(before);
  });

  it('lets a folder restore strictly inside a restore root through (the checks refuse only what they must)', async () => {
    const start = await snapshot();
    const res = await post('/api/v1/backups/chain-restores', chain({ folder: join(stack.restoreRoot, 'hostile-ok', 'datadir') }));
    expect(res.status).toBe(202);
    await settle(start.workflows + 1);
  });

  it('refuses every folder restore when no restoreRoots are configured, and guards workDir and datadirs inside a root', async () => {
    const none = await startApi({ ...stack.config, restoreRoots: [] }, stack.env, { host: '127.0.0.1', port: 0 });
    extraApis.push(none);
    const before = await snapshot();
    const res = await fetch(`${none.url}/api/v1/backups/chain-restores`, {
      method: 'POST',
      headers: { authorization: `Bearer ${stack.alice.token}`, 'content-type': 'application/json' },
      body: chain({ folder: join(stack.restoreRoot, 'x') }),
    });
    expect(res.status).toBe(403);
    expect(await res.json()).toEqual({
      field: 'to.folder',
      message: expect.stringMatching(/^to\.folder: folder restores are off: the config names no restoreRoots/),
    });

    const guarded = await startApi(
      {
        ...stack.config,
        workDir: join(stack.restoreRoot, 'work'),
        connections: {
          ...stack.config.connections,
          data: { ...stack.config.connections.local!, datadir: join(stack.restoreRoot, 'mariadb') },
        },
      },
      stack.env,
      { host: '127.0.0.1', port: 0 },
    );
    extraApis.push(guarded);
    for (const [folder, what] of [
      [join(stack.restoreRoot, 'work'), /workDir/],
      [join(stack.restoreRoot, 'work', 'x'), /workDir/],
      [join(stack.restoreRoot, 'mariadb', 'x'), /datadir/],
    ] as const) {
      const refused = await fetch(`${guarded.url}/api/v1/backups/chain-restores`, {
        method: 'POST',
        headers: { authorization: `Bearer ${stack.alice.token}`, 'content-type': 'application/json' },
        body: chain({ folder }),
      });
      expect(refused.status, folder).toBe(403);
      expect(((await refused.json()) as Refusal).message).toMatch(what);
    }
    expect(await snapshot()).toEqual(before);
  });

  it('answers 429 with Retry-After over the rate limit, per token and per client address, on REST and tRPC', async () => {
    const limited = await startApi({ ...stack.config, api: { ...stack.config.api, rateLimit: { perMinute: 6, burst: 3 } } }, stack.env, {
      host: '127.0.0.1',
      port: 0,
    });
    extraApis.push(limited);
    const before = await snapshot();
    const as = (token: string | null, path = '/api/db-copies', init: RequestInit = {}) =>
      fetch(`${limited.url}${path}`, { ...init, headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...init.headers } });
    for (let i = 0; i < 3; i++) expect((await as(stack.alice.token)).status).toBe(200);
    const over = await as(stack.alice.token, '/api/db-copies', {
      method: 'POST',
      body: json(copyBody()),
      headers: { 'content-type': 'application/json' },
    });
    expect(over.status).toBe(429);
    // One request every 10 s once the burst is spent.
    const wait = Number(over.headers.get('retry-after'));
    expect(wait).toBeGreaterThanOrEqual(8);
    expect(wait).toBeLessThanOrEqual(10);
    expect(await over.json()).toEqual({ message: `too many requests: try again in ${wait} s`, field: null });
    const client = createDbferryClient({ url: limited.url, token: stack.alice.token });
    const viaTrpc = await trpcError(client.copies.list.query());
    expect(viaTrpc.data).toMatchObject({ code: 'TOO_MANY_REQUESTS', httpStatus: 429 });
    const raw = await as(stack.alice.token, '/trpc/copies.list');
    expect(raw.status).toBe(429);
    expect(Number(raw.headers.get('retry-after'))).toBeGreaterThanOrEqual(8);
    // Another token has its own bucket.
    expect((await as(stack.bob.token)).status).toBe(200);
    // Without a valid token the client address is the key: wrong tokens use it up too.
    for (let i = 0; i < 3; i++) expect((await as('dbf_1_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA')).status).toBe(401);
    const anonymous = await as(null, '/healthz');
    expect(anonymous.status).toBe(429);
    expect(Number(anonymous.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(await snapshot()).toEqual(before);
  });

  it('caps the live progress subscriptions per user and ends each after its maximum duration', async () => {
    const capped = await startApi(
      { ...stack.config, api: { ...stack.config.api, subscriptions: { perUser: 1, maxDurationSeconds: 2 } } },
      stack.env,
      { host: '127.0.0.1', port: 0 },
    );
    extraApis.push(capped);
    const start = await snapshot();
    // A copy that stays queued (no worker polls the queue): its progress never ends by itself.
    const { id } = await stack.alice.client.copies.start.mutate({
      source: { connection: 'local', database: 'queued_src' },
      destination: { connection: 'local', database: uniqueDbName('hi_sub') },
    });
    await settle(start.workflows + 1);
    const client = createDbferryClient({ url: capped.url, token: stack.alice.token });
    const follow = () => {
      const seen: string[] = [];
      let subscription: { unsubscribe(): void } | undefined;
      const ended = new Promise<{ how: 'complete' } | { how: 'error'; error: TRPCClientError<never> }>((resolve) => {
        subscription = client.copies.progress.subscribe(
          { id },
          {
            onData: (view) => seen.push(view.status),
            onComplete: () => resolve({ how: 'complete' }),
            onError: (error) => resolve({ how: 'error', error: error as TRPCClientError<never> }),
          },
        );
      });
      return { seen, ended, stop: () => subscription?.unsubscribe() };
    };
    const first = follow();
    for (const deadline = Date.now() + 5000; !first.seen.length && Date.now() < deadline;) await new Promise((r) => setTimeout(r, 50));
    expect(first.seen).toEqual(['queued']);
    const started = Date.now();
    const second = follow();
    const refused = await second.ended;
    second.stop();
    expect(refused.how).toBe('error');
    expect(refused.how === 'error' && refused.error.data).toMatchObject({ code: 'TOO_MANY_REQUESTS' });
    // The first ends by itself at its maximum duration, which frees its place.
    expect(await first.ended).toEqual({ how: 'complete' });
    expect(Date.now() - started).toBeLessThan(4000);
    const third = follow();
    for (const deadline = Date.now() + 5000; !third.seen.length && Date.now() < deadline;) await new Promise((r) => setTimeout(r, 50));
    expect(third.seen).toEqual(['queued']);
    third.stop();
  });

  it('answers 503 with Retry-After and a plain message when Temporal goes away, and /healthz names it', async () => {
    const [host = '127.0.0.1', port = '7233'] = stack.env.TEMPORAL_ADDRESS.split(':');
    const proxy = await new CuttableProxy(host, Number(port)).start();
    proxies.push(proxy);
    const api = await startApi(stack.config, { ...stack.env, TEMPORAL_ADDRESS: `127.0.0.1:${proxy.port}` }, { host: '127.0.0.1', port: 0 });
    extraApis.push(api);
    expect(await (await fetch(`${api.url}/healthz`)).json()).toEqual({ ok: true, temporal: 'ok', control: 'ok' });
    await proxy.cut();
    const before = await snapshot();

    const health = await fetch(`${api.url}/healthz`);
    expect(health.status).toBe(503);
    expect(health.headers.get('retry-after')).toBe('5');
    expect(await health.json()).toEqual({ ok: false, temporal: 'unavailable', control: 'ok' });
    const auth = { authorization: `Bearer ${stack.alice.token}` };
    const startCopy = await fetch(`${api.url}/api/db-copies`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: json(copyBody()),
    });
    expect(startCopy.status).toBe(503);
    expect(startCopy.headers.get('retry-after')).toBe('5');
    expect(await startCopy.json()).toEqual({ message: 'Temporal does not answer; try again later', field: null });
    // alice has runs (the tests above): listing them needs Temporal.
    const list = await fetch(`${api.url}/api/db-copies`, { headers: auth });
    expect(list.status).toBe(503);
    const text = await list.text();
    expect(text).not.toMatch(/ECONNREFUSED|UNAVAILABLE|127\.0\.0\.1|grpc/i);
    const client = createDbferryClient({ url: api.url, token: stack.alice.token });
    const viaTrpc = await trpcError(client.copies.start.mutate(copyBody()));
    expect(viaTrpc.data).toMatchObject({ code: 'SERVICE_UNAVAILABLE', httpStatus: 503 });
    expect(viaTrpc.message).toBe('Temporal does not answer; try again later');
    const raw = await fetch(`${api.url}/trpc/copies.list`, { headers: auth });
    expect(raw.status).toBe(503);
    expect(raw.headers.get('retry-after')).toBe('5');
    // Nothing was left behind by the refused starts.
    expect(await snapshot()).toEqual(before);
  });

  it('answers 503 when the control schema goes away (authenticated requests, tRPC and REST), /healthz names it, and recovers', async () => {
    const proxy = await new CuttableProxy('127.0.0.1', 3306).start();
    proxies.push(proxy);
    const config = {
      ...stack.config,
      connections: { ...stack.config.connections, ctl: { ...stack.config.connections.local!, port: proxy.port } },
      control: { ...stack.config.control, connection: 'ctl' },
    };
    const api = await startApi(config, stack.env, { host: '127.0.0.1', port: 0 });
    extraApis.push(api);
    const auth = { authorization: `Bearer ${stack.alice.token}` };
    expect((await fetch(`${api.url}/api/v1/pulls`, { headers: auth })).status).toBe(200);
    await proxy.cut();
    const before = await snapshot();

    const health = await fetch(`${api.url}/healthz`);
    expect(health.status).toBe(503);
    expect(await health.json()).toEqual({ ok: false, temporal: 'ok', control: 'unavailable' });
    for (const [path, init] of [
      ['/api/v1/pulls', {}],
      ['/api/db-copies', { method: 'POST', body: json(copyBody()), headers: { 'content-type': 'application/json' } }],
    ] as const) {
      const res = await fetch(`${api.url}${path}`, { ...init, headers: { ...auth, ...init.headers } });
      expect(res.status, path).toBe(503);
      expect(res.headers.get('retry-after')).toBe('5');
      const body = await res.text();
      expect(JSON.parse(body)).toEqual({ message: 'the control schema (MySQL) does not answer; try again later', field: null });
      expect(body).not.toMatch(/ECONNREFUSED|PROTOCOL|3306|root/);
    }
    const viaTrpc = await trpcError(createDbferryClient({ url: api.url, token: stack.alice.token }).copies.list.query());
    expect(viaTrpc.data).toMatchObject({ code: 'SERVICE_UNAVAILABLE', httpStatus: 503 });
    // Without a token there is nothing to look up: still a plain 401.
    expect((await fetch(`${api.url}/api/v1/pulls`)).status).toBe(401);

    // Back up on the same port: the API answers again without a restart.
    await proxy.start();
    expect((await fetch(`${api.url}/api/v1/pulls`, { headers: auth })).status).toBe(200);
    expect((await fetch(`${api.url}/healthz`)).status).toBe(200);
    expect(await snapshot()).toEqual(before);
  });
});
