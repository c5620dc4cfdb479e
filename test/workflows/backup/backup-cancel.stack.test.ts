// Cancelled backups leave nothing in the target; retention deletes exactly what its policy lets go.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readdir } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CreateMultipartUploadCommand, type S3Client } from '@aws-sdk/client-s3';
import { cancelBackupSignal, getBackupStatusQuery } from '../../../src/workflows/backup/messages.ts';
import { backupObjectKey, manifestKeyFor, type BackupManifest, type BackupState } from '../../../src/workflows/backup/contracts.ts';
import { finish, keysUnder, pendingUploads, rawS3Client, startBackup } from '../../harness/backups.ts';
import { createBulkDatabase } from '../../harness/bulk.ts';
import { dropDatabases, rootConnection, uniqueDbName } from '../../harness/mysql.ts';
import { processCommandLines } from '../../harness/processes.ts';
import { startTestStack, type TestStack } from '../../harness/stack.ts';

describe('cancelling a backup', () => {
  let stack: TestStack;
  let s3: S3Client;
  const source = uniqueDbName('bkc_src');

  beforeAll(async () => {
    stack = await startTestStack();
    s3 = rawS3Client();
    await createBulkDatabase(source, 1_000_000);
  });
  afterAll(async () => {
    s3?.destroy();
    await dropDatabases(source);
    await stack?.stop();
  });

  const ways: Array<[string, 'mysqldump' | 'mydumper', (h: Awaited<ReturnType<typeof startBackup>>) => Promise<void>]> = [
    ['the cancelBackup signal', 'mysqldump', (h) => h.signal(cancelBackupSignal, 'test')],
    ['a Temporal cancel (as from the Web UI or CLI)', 'mydumper', async (h) => void (await h.cancel())],
  ];

  it.each(ways)(
    'through %s (%s) during the upload leaves no object, no manifest and no pending multipart upload',
    async (_way, format, cancel) => {
      const { bucket, prefix, store } = stack.targets.s3;
      const handle = await startBackup(stack, {
        source: { connection: 'local', database: source },
        target: 's3',
        format,
        compression: 'gzip',
      });
      // Cancel once a multipart upload is really under way for this backup.
      const deadline = Date.now() + 60_000;
      while ((await pendingUploads(s3, bucket, `${prefix}/${source}/`)).length === 0) {
        if (Date.now() > deadline) throw new Error('no multipart upload appeared within 60 s');
        await new Promise((r) => setTimeout(r, 25));
      }
      const before = await handle.query(getBackupStatusQuery);
      expect(before.phase).toBe('streaming');
      const cancelledAt = Date.now();
      await cancel(handle);
      const { state } = await finish<BackupState>(handle, getBackupStatusQuery.name);
      expect(state.status).toBe('cancelled');
      expect(Date.now() - cancelledAt).toBeLessThan(15_000);
      await expect(handle.result()).rejects.toThrow();

      expect(await keysUnder(store, `${source}/`)).toEqual([]);
      expect(await pendingUploads(s3, bucket, `${prefix}/${source}/`)).toEqual([]);
      expect(await processCommandLines(/^(mysqldump|mydumper|tar|zstd)\0/)).toEqual([]);
      expect((await readdir(stack.config.workDir)).filter((f) => f.startsWith('backup-'))).toEqual([]);
    },
  );

  it('removes the multipart uploads and partial files a dead worker left behind, and only those of its key', async () => {
    const { bucket, prefix, store } = stack.targets.s3;
    const key = `${source}/2020-01-01_00-00-00.sql.gz`;
    // What a worker killed mid-upload leaves: a pending multipart upload nobody will complete.
    for (const k of [key, `${key}.other`]) await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: `${prefix}/${k}` }));
    expect((await pendingUploads(s3, bucket, `${prefix}/${source}/`)).sort()).toEqual([`${prefix}/${key}`, `${prefix}/${key}.other`]);
    expect(await store.removeIncompleteUploads(key)).toBe(1);
    expect(await pendingUploads(s3, bucket, `${prefix}/${source}/`)).toEqual([`${prefix}/${key}.other`]);
    expect(await store.removeIncompleteUploads(`${key}.other`)).toBe(1);

    const files = stack.targets.files;
    await files.store.putJson(`${source}/keep.json`, {});
    await writeFile(join(files.root, source, '2020-01-01_00-00-00.sql.gz.partial-0123456789abcdef'), 'half');
    expect(await files.store.removeIncompleteUploads(key)).toBe(1);
    expect(await readdir(join(files.root, source))).toEqual(['keep.json']);
  });
});

describe('retention after a successful backup', () => {
  let stack: TestStack;
  const source = uniqueDbName('bkr_src');

  beforeAll(async () => {
    stack = await startTestStack();
    const conn = await rootConnection();
    await conn.query(`CREATE DATABASE \`${source}\``);
    await conn.query(`CREATE TABLE \`${source}\`.t (id INT PRIMARY KEY)`);
    await conn.query(`INSERT INTO \`${source}\`.t VALUES (1), (2), (3)`);
    await conn.end();
  });
  afterAll(async () => {
    await dropDatabases(source);
    await stack?.stop();
  });

  it('deletes exactly the backups the policy lets go, with their manifests, and only this schedule’s', async () => {
    const { store } = stack.targets.files;
    // Three older backups of this schedule, one of another schedule, one from another connection.
    const fake = async (daysAgo: number, scheduleId: string | null, connection = 'local'): Promise<string> => {
      const at = new Date(Date.now() - daysAgo * 86_400_000);
      const key = backupObjectKey(source, 'mysqldump', 'gzip', at);
      const body = Buffer.from(`backup from ${daysAgo} days ago`);
      const { sha256, size } = await store.upload(key, Readable.from([body]));
      const manifest: BackupManifest = {
        manifestVersion: 1,
        id: `fake-${daysAgo}`,
        kind: 'logical',
        source: { connection, database: source },
        target: 'files',
        key,
        format: 'mysqldump',
        compression: 'gzip',
        size,
        sha256,
        startedAt: at.toISOString(),
        finishedAt: at.toISOString(),
        durationMs: 0,
        tool: { name: 'mysqldump', version: 'test' },
        server: { version: 'test' },
        tables: [],
        scheduleId,
      };
      await store.putJson(manifestKeyFor(key), manifest);
      return key;
    };
    const oldest = await fake(30, 'nightly');
    const older = await fake(20, 'nightly');
    const recent = await fake(10, 'nightly');
    const otherSchedule = await fake(40, 'weekly');
    const otherConnection = await fake(50, 'nightly', 'guarded');

    const handle = await startBackup(stack, {
      source: { connection: 'local', database: source },
      target: 'files',
      format: 'mysqldump',
      compression: 'gzip',
      scheduleId: 'nightly',
      retention: { keepLast: 2 },
    });
    const { state } = await finish<BackupState>(handle, getBackupStatusQuery.name);
    expect(state.status).toBe('succeeded');
    expect(state.retention).toEqual({ deleted: [oldest, older], error: null });

    const left = await keysUnder(store, `${source}/`);
    expect(left.sort()).toEqual(
      [
        otherSchedule,
        manifestKeyFor(otherSchedule),
        otherConnection,
        manifestKeyFor(otherConnection),
        recent,
        manifestKeyFor(recent),
        state.key!,
        manifestKeyFor(state.key!),
      ].sort(),
    );
  });

  it('gives a backup whose second is already taken (same database name on another connection) its own key, touching the other', async () => {
    const { store } = stack.targets.files;
    // Another connection's backups of a database with this name hold every key of the next 20 s.
    const now = Date.now();
    const taken: string[] = [];
    for (let s = -2; s <= 20; s++) {
      const key = backupObjectKey(source, 'mysqldump', 'gzip', new Date(now + s * 1000));
      await store.upload(key, Readable.from([Buffer.from('another connection’s backup')]));
      await store.putJson(manifestKeyFor(key), { id: `other-${s}` });
      taken.push(key, manifestKeyFor(key));
    }
    const handle = await startBackup(stack, {
      source: { connection: 'local', database: source },
      target: 'files',
      format: 'mysqldump',
      compression: 'gzip',
    });
    const { state } = await finish<BackupState>(handle, getBackupStatusQuery.name);
    expect(state.status).toBe('succeeded');
    const [, stamp] = /^[^/]+\/(\d{4}-\d\d-\d\d_\d\d-\d\d-\d\d)-[0-9a-f]{8}\.sql\.gz$/.exec(state.key!) ?? [];
    expect(stamp, state.key!).toBeTruthy();
    const left = await keysUnder(store, `${source}/`);
    for (const key of taken) expect(left).toContain(key);
    expect(await store.getJson(manifestKeyFor(state.key!))).toMatchObject({ id: state.id, key: state.key, sha256: state.sha256 });
    await store.delete([...taken, state.key!, manifestKeyFor(state.key!)]);
  });
});
