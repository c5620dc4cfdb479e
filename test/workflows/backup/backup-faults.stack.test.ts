// Backups that meet trouble mid-upload: the S3 server goes away, or the worker is killed. Either
// way the run must end as a real backup (object + manifest whose sha256 matches, restorable) or a
// clean failure, with no pending multipart upload, no half object and no orphaned tool.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { startS3Server, type S3Server } from '../../../src/dev/s3-server.ts';
import { getBackupStatusQuery, getRestoreStatusQuery } from '../../../src/workflows/backup/messages.ts';
import { manifestKeyFor, type BackupManifest, type BackupState, type RestoreState } from '../../../src/workflows/backup/contracts.ts';
import { createStore } from '../../../src/activities/storage/store.ts';
import { finish, hashStoredObject, keysUnder, pendingUploads, rawS3Client, startBackup, startRestore } from '../../harness/backups.ts';
import { createBulkDatabase } from '../../harness/bulk.ts';
import { expectSameDatabase } from '../../harness/compare.ts';
import { dropDatabases, uniqueDbName } from '../../harness/mysql.ts';
import { processCommandLines } from '../../harness/processes.ts';
import { startTestStack, type TestStack, spawnWorkerProcess } from '../../harness/stack.ts';

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('the S3 server stopped during a backup upload', () => {
  let stack: TestStack;
  let s3: S3Server;
  let dataDir: string;
  const source = uniqueDbName('bkf_src');
  const restored = uniqueDbName('bkf_dst');
  const bucket = 'flaky';

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'dbferry-s3-flaky-'));
    s3 = await startS3Server({ dataDir });
    process.env.DBFERRY_T_FLAKY_KEY = s3.accessKeyId;
    process.env.DBFERRY_T_FLAKY_SECRET = s3.secretAccessKey;
    stack = await startTestStack({
      extraTargets: {
        flaky: {
          url: `s3://${bucket}/b`,
          endpoint: s3.endpoint,
          region: s3.region,
          accessKeyIdEnv: 'DBFERRY_T_FLAKY_KEY',
          secretAccessKeyEnv: 'DBFERRY_T_FLAKY_SECRET',
        },
      },
    });
    await createStore(stack.config.targets.flaky!, process.env).ensureBucket();
    await createBulkDatabase(source, 1_000_000);
  });
  afterAll(async () => {
    await dropDatabases(source, restored);
    await stack?.stop();
    await s3?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('is retried once the server is back and ends a verified, restorable backup with no pending upload left', async () => {
    const port = Number(new URL(s3.endpoint).port);
    const raw = () => new S3Client({ endpoint: s3.endpoint, region: s3.region, forcePathStyle: true, credentials: s3 });
    const handle = await startBackup(stack, {
      source: { connection: 'local', database: source },
      target: 'flaky',
      format: 'mysqldump',
      compression: 'gzip',
    });
    const client = raw();
    await waitFor('a multipart upload under way', async () => (await pendingUploads(client, bucket, `b/${source}/`)).length > 0);
    client.destroy();

    // The server goes away mid-upload for 4 s, then comes back on the same port with the same data.
    await s3.stop();
    await new Promise((r) => setTimeout(r, 4000));
    s3 = await startS3Server({ dataDir, port, credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey } });

    const { state } = await finish<BackupState>(handle, getBackupStatusQuery.name);
    expect(state.lastError).toBeNull();
    expect(state.status).toBe('succeeded');
    // Retried either inside the S3 client (a short outage) or as a new attempt of the activity.
    const attempts = (await handle.fetchHistory()).events!.map((e) => e.activityTaskStartedEventAttributes?.attempt ?? 0);
    console.log(`S3 outage: highest activity attempt ${Math.max(...attempts)}`);

    const store = createStore(stack.config.targets.flaky!, process.env);
    try {
      const manifest = (await store.getJson(manifestKeyFor(state.key!))) as BackupManifest;
      expect(await hashStoredObject(store, state.key!)).toEqual({ sha256: manifest.sha256, size: manifest.size });
      expect((await keysUnder(store, `${source}/`)).sort()).toEqual([state.key!, manifestKeyFor(state.key!)].sort());
    } finally {
      store.close();
    }
    const after = raw();
    expect(await pendingUploads(after, bucket, `b/${source}/`)).toEqual([]);
    after.destroy();

    const restore = await startRestore(stack, {
      target: 'flaky',
      key: state.key!,
      destination: { connection: 'local', database: restored },
    });
    const { state: restoreState } = await finish<RestoreState>(restore, getRestoreStatusQuery.name);
    expect(restoreState.lastError).toBeNull();
    await expectSameDatabase(source, restored);
  });
});

describe('a worker killed in the middle of a backup upload', () => {
  let stack: TestStack;
  const workers: ChildProcess[] = [];
  const source = uniqueDbName('bkk_src');
  const restored = uniqueDbName('bkk_dst');

  beforeAll(async () => {
    stack = await startTestStack({ worker: false });
    await createBulkDatabase(source, 1_000_000);
  });
  afterAll(async () => {
    for (const w of workers) w.kill('SIGKILL');
    await dropDatabases(source, restored);
    await stack?.stop();
  });

  it('is taken again by a new worker: a verified backup, the dead attempt’s parts and scratch gone, no orphaned tool', async () => {
    const { bucket, prefix, store } = stack.targets.s3;
    const s3 = rawS3Client();
    try {
      workers.push(await spawnWorkerProcess(stack));
      const handle = await startBackup(stack, {
        source: { connection: 'local', database: source },
        target: 's3',
        format: 'mydumper',
        compression: 'zstd',
      });
      await waitFor(
        'a multipart upload under way',
        async () => (await pendingUploads(s3, bucket, `${prefix}/${source}/`)).length > 0,
        90_000,
      );
      workers[0]!.kill('SIGKILL');
      await new Promise((r) => setTimeout(r, 1000));
      workers.push(await spawnWorkerProcess(stack));

      const { state } = await finish<BackupState>(handle, getBackupStatusQuery.name);
      expect(state.lastError).toBeNull();
      expect(state.status).toBe('succeeded');
      const manifest = (await store.getJson(manifestKeyFor(state.key!))) as BackupManifest;
      expect(await hashStoredObject(store, state.key!)).toEqual({ sha256: manifest.sha256, size: manifest.size });
      expect(manifest.tables.find((t) => t.table === 'children')?.rows).toBe(1_000_000);
      expect((await keysUnder(store, `${source}/`)).sort()).toEqual([state.key!, manifestKeyFor(state.key!)].sort());
      expect(await pendingUploads(s3, bucket, `${prefix}/${source}/`)).toEqual([]);
      expect((await readdir(stack.config.workDir)).filter((f) => f.startsWith('backup-'))).toEqual([]);
      expect(await processCommandLines(new RegExp(`backup-${state.id}|${source}`))).toEqual([]);

      const restore = await startRestore(stack, {
        target: 's3',
        key: state.key!,
        destination: { connection: 'local', database: restored },
      });
      const { state: restoreState } = await finish<RestoreState>(restore, getRestoreStatusQuery.name);
      expect(restoreState.lastError).toBeNull();
      await expectSameDatabase(source, restored);
    } finally {
      s3.destroy();
    }
  });
});
