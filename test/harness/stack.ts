// A full dbferry stack for one test file: its own control schema, task queue, worker and API on real services.
import type { ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import { Client, Connection } from '@temporalio/client';
import { loadConfig } from '../../src/config/load.ts';
import type { DbferryEnv } from '../../src/config/env.ts';
import { startWorker, type WorkerHandle } from '../../src/worker.ts';
import { startApi, type ApiHandle } from '../../src/api/server.ts';
import { createDbferryClient, type DbferryClient } from '../../src/client.ts';
import { createStore, type BackupStore } from '../../src/activities/storage/store.ts';
import { rootConnection } from './mysql.ts';
import { spawnWorkerProcess as spawnWorker } from '../../src/dev/worker-process.ts';

export const WEBHOOK_SECRET = 'test-webhook-secret-0123456789';
/** The password of the `guarded` connection's MySQL user: it must never leak anywhere. */
export const GUARDED_PASSWORD = `pw-${randomBytes(12).toString('hex')}-never-leak`;
export const GUARDED_USER = 'dbferry_t_guarded';

/** An operator's permissions on everything the config declares. */
export const EVERYTHING = {
  role: 'operator',
  connections: { '*': ['read', 'write', 'physical'] },
  targets: { '*': ['backup', 'restore'] },
};

export interface TestUser {
  name: string;
  token: string;
  client: DbferryClient;
}

/** The backup targets every test config declares: `s3` (the test S3 server) and `files` (a temp dir). */
export interface TestTargets {
  s3: { name: 's3'; bucket: string; prefix: string; store: BackupStore };
  files: { name: 'files'; root: string; store: BackupStore };
}

export interface TestStack {
  configPath: string;
  /** The config's one restore root: folder restores must write below it. */
  restoreRoot: string;
  targets: TestTargets;
  config: ReturnType<typeof loadConfig>;
  env: DbferryEnv;
  api: ApiHandle;
  worker: WorkerHandle | null;
  temporal: Client;
  /** Operators holding every permission on every connection and target (from the config file's `access`). */
  alice: TestUser;
  bob: TestUser;
  /** An admin. */
  admin: TestUser;
  /** fetch against the API with an optional bearer token. */
  http(path: string, init?: RequestInit & { token?: string | null }): Promise<Response>;
  stop(): Promise<void>;
}

/** A MySQL user with a real password, so tests can prove the password never leaks. */
async function ensureGuardedUser(): Promise<void> {
  const conn = await rootConnection();
  try {
    for (const host of ['127.0.0.1', 'localhost']) {
      await conn.query(`CREATE USER IF NOT EXISTS '${GUARDED_USER}'@'${host}' IDENTIFIED BY '${GUARDED_PASSWORD}'`);
      await conn.query(`ALTER USER '${GUARDED_USER}'@'${host}' IDENTIFIED BY '${GUARDED_PASSWORD}'`);
      await conn.query(`GRANT ALL PRIVILEGES ON *.* TO '${GUARDED_USER}'@'${host}'`);
    }
  } finally {
    await conn.end();
  }
}

/**
 * Writes a config file for this test file (own control schema, task queue and work dir) and
 * starts the real API and, unless `worker: false`, a real worker, against the shared Temporal.
 */
export async function startTestStack(
  opts: {
    worker?: boolean;
    taskQueue?: string;
    extraTargets?: Record<string, unknown>;
    extraConnections?: Record<string, unknown>;
    /** More users for the config file's `access.users`. */
    extraUsers?: Record<string, unknown>;
    /** More top-level config keys (limits, api settings). */
    extraConfig?: Record<string, unknown>;
  } = {},
): Promise<TestStack> {
  await ensureGuardedUser();
  const dir = await mkdtemp(join(tmpdir(), 'dbferry-test-'));
  const suffix = randomBytes(4).toString('hex');
  // Credentials reach the worker through the environment variables the target names, as in production.
  const s3 = inject('s3');
  process.env.DBFERRY_T_S3_KEY = s3.accessKeyId;
  process.env.DBFERRY_T_S3_SECRET = s3.secretAccessKey;
  const bucket = `dbferry-t-${suffix}`;
  const targets = {
    s3: {
      url: `s3://${bucket}/backups/t`,
      endpoint: s3.endpoint,
      region: s3.region,
      accessKeyIdEnv: 'DBFERRY_T_S3_KEY',
      secretAccessKeyEnv: 'DBFERRY_T_S3_SECRET',
    },
    files: { url: `file://${join(dir, 'file-target')}` },
    ...opts.extraTargets,
  };
  const config = {
    connections: {
      local: { host: '127.0.0.1', port: 3306, user: 'root', flavor: 'mariadb', allowWrite: true },
      readonly: { host: '127.0.0.1', port: 3306, user: 'root', flavor: 'mariadb' },
      guarded: {
        host: '127.0.0.1',
        port: 3306,
        user: GUARDED_USER,
        passwordEnv: 'DBFERRY_T_GUARDED_PASSWORD',
        flavor: 'mariadb',
        allowWrite: true,
      },
      ...opts.extraConnections,
    },
    control: { connection: 'local', database: `t_control_${suffix}` },
    workDir: join(dir, 'work'),
    taskQueue: opts.taskQueue ?? `dbferry-test-${suffix}`,
    api: { host: '127.0.0.1', port: 0 },
    webhooks: { allowPrivateNetworks: true },
    targets,
    // Folder restores write only in here.
    restoreRoots: [join(dir, 'restores')],
    access: {
      users: {
        alice: EVERYTHING,
        bob: EVERYTHING,
        admin: { role: 'admin' },
        // Harness helpers (backups.ts, physical.ts) start runs straight on Temporal as this user.
        test: { role: 'admin' },
        ...opts.extraUsers,
      },
    },
    ...opts.extraConfig,
  };
  await mkdir(join(dir, 'restores'));
  const configPath = join(dir, 'dbferry.json');
  await writeFile(configPath, JSON.stringify(config, null, 2));
  process.env.DBFERRY_T_GUARDED_PASSWORD = GUARDED_PASSWORD;
  const loaded = loadConfig(configPath);
  const env: DbferryEnv = {
    TEMPORAL_ADDRESS: inject('temporalAddress'),
    TEMPORAL_NAMESPACE: 'default',
    DBFERRY_WEBHOOK_SECRET: WEBHOOK_SECRET,
  };
  const api = await startApi(loaded, env);
  const worker = opts.worker === false ? null : await startWorker(loaded, env);
  const connection = await Connection.connect({ address: env.TEMPORAL_ADDRESS });
  const temporal = new Client({ connection });
  const user = async (name: string): Promise<TestUser> => {
    const { token } = await api.deps.tokens.create(name, { ensureUser: 'operator' });
    return { name, token, client: createDbferryClient({ url: api.url, token }) };
  };
  const alice = await user('alice');
  const bob = await user('bob');
  const admin = await user('admin');
  const testTargets: TestTargets = {
    s3: { name: 's3', bucket, prefix: 'backups/t', store: createStore(loaded.targets.s3!, process.env) },
    files: { name: 'files', root: join(dir, 'file-target'), store: createStore(loaded.targets.files!, process.env) },
  };
  await Promise.all([testTargets.s3.store.ensureBucket(), testTargets.files.store.ensureBucket()]);
  return {
    configPath,
    restoreRoot: join(dir, 'restores'),
    config: loaded,
    env,
    api,
    worker,
    temporal,
    alice,
    bob,
    admin,
    targets: testTargets,
    http(path, init = {}) {
      const { token, ...rest } = init;
      const headers = new Headers(rest.headers);
      if (token) headers.set('authorization', `Bearer ${token}`);
      if (rest.body && !headers.has('content-type')) headers.set('content-type', 'application/json');
      return fetch(`${api.url}${path}`, { ...rest, headers });
    },
    async stop() {
      await worker?.stop();
      testTargets.s3.store.close();
      testTargets.files.store.close();
      await api.close();
      await connection.close();
      const conn = await rootConnection();
      await conn.query(`DROP DATABASE IF EXISTS \`${config.control.database}\``).finally(() => conn.end());
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Polls a copy through the typed client until it reaches a final status. */
export async function waitForCopy(client: DbferryClient, id: string, timeoutMs = 150_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const view = await client.copies.get.query({ id });
    if (['succeeded', 'failed', 'cancelled'].includes(view.status)) return view;
    if (Date.now() > deadline) throw new Error(`copy ${id} still ${view.status}/${view.phase} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Polls until `predicate` holds for the copy (e.g. it reached the load phase). */
export async function waitForPhase(client: DbferryClient, id: string, phase: string, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const view = await client.copies.get.query({ id });
    if (view.phase === phase) return view;
    if (['succeeded', 'failed', 'cancelled'].includes(view.status))
      throw new Error(`copy ${id} ended ${view.status} before phase ${phase}: ${view.lastError}`);
    if (Date.now() > deadline) throw new Error(`copy ${id} did not reach phase ${phase} (now ${view.phase})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Starts `dbferry worker` as its own process on the stack's config (what a test kills with SIGKILL)
 * and resolves once it polls its task queue.
 */
export function spawnWorkerProcess(stack: TestStack): Promise<ChildProcess> {
  return spawnWorker(stack.configPath, { TEMPORAL_ADDRESS: stack.env.TEMPORAL_ADDRESS, DBFERRY_WEBHOOK_SECRET: WEBHOOK_SECRET });
}
