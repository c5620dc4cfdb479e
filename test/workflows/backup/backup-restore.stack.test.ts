// Logical backups and restores end to end (mysqldump and mydumper, S3 and file targets), and what a restore refuses.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { getBackupStatusQuery, getRestoreStatusQuery } from '../../../src/workflows/backup/messages.ts';
import { manifestKeyFor, type BackupState, type RestoreState } from '../../../src/workflows/backup/contracts.ts';
import { parseManifest } from '../../../src/activities/catalog/manifests.ts';
import { finish, hashStoredObject, rawS3Client, startBackup, startRestore } from '../../harness/backups.ts';
import { expectSameDatabase } from '../../harness/compare.ts';
import { createHardSchema } from '../../harness/hard-schema.ts';
import { createBulkDatabase } from '../../harness/bulk.ts';
import { dropDatabases, rootConnection, uniqueDbName } from '../../harness/mysql.ts';
import { processCommandLines } from '../../harness/processes.ts';
import { GUARDED_PASSWORD, startTestStack, WEBHOOK_SECRET, type TestStack } from '../../harness/stack.ts';
import { startWebhookReceiver, verifySignature, type WebhookReceiver } from '../../harness/webhook-receiver.ts';

async function schemaExists(name: string): Promise<boolean> {
  const conn = await rootConnection();
  try {
    const [rows] = await conn.query('SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?', [name]);
    return (rows as unknown[]).length > 0;
  } finally {
    await conn.end();
  }
}

async function rowCounts(db: string, tables: string[]): Promise<Array<{ table: string; rows: number }>> {
  const conn = await rootConnection(db);
  try {
    const counts = [];
    for (const table of tables) {
      const [rows] = await conn.query(`SELECT COUNT(*) AS n FROM \`${table}\``);
      counts.push({ table, rows: Number((rows as Array<{ n: string }>)[0]!.n) });
    }
    return counts;
  } finally {
    await conn.end();
  }
}

/** Every string in a history, with payload bytes decoded as UTF-8: what a reader of the history could see. */
function historyText(value: unknown): string {
  if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
  if (Array.isArray(value)) return value.map(historyText).join('\n');
  if (value && typeof value === 'object') return Object.values(value).map(historyText).join('\n');
  return String(value);
}

const expectMonotonic = (progress: number[]) => {
  progress.forEach((p, i) => {
    expect(p).toBeLessThanOrEqual(100);
    if (i > 0) expect(p).toBeGreaterThanOrEqual(progress[i - 1]!);
  });
  expect(progress.at(-1)).toBe(100);
};

describe('backing up and restoring a database', () => {
  let stack: TestStack;
  let receiver: WebhookReceiver;
  let s3: S3Client;
  const source = uniqueDbName('bk_src');
  const created: string[] = [source];
  let tables: string[];

  beforeAll(async () => {
    [stack, receiver] = await Promise.all([startTestStack(), startWebhookReceiver()]);
    s3 = rawS3Client();
    ({ tables } = await createHardSchema(source));
  });
  afterAll(async () => {
    s3?.destroy();
    await dropDatabases(...created);
    await receiver?.close();
    await stack?.stop();
  });

  it('backs up with mysqldump and gzip to S3 and restores an identical database, never showing the password', async () => {
    // Through the `guarded` connection, whose MySQL user has a real password.
    const backup = await startBackup(stack, {
      source: { connection: 'guarded', database: source },
      target: 's3',
      format: 'mysqldump',
      compression: 'gzip',
      callbackUrl: `${receiver.url}/backup`,
    });
    const { state, progress } = await finish<BackupState>(backup, getBackupStatusQuery.name);
    expect(state.lastError).toBeNull();
    expect(state.status).toBe('succeeded');
    expectMonotonic(progress);
    // Seed 001's naming: {database}/{Y-m-d_H-i-s}.sql.gz, UTC.
    expect(state.key).toMatch(new RegExp(`^${source}/\\d{4}-\\d{2}-\\d{2}_\\d{2}-\\d{2}-\\d{2}\\.sql\\.gz$`));

    const { store } = stack.targets.s3;
    const manifest = parseManifest(await store.getJson(manifestKeyFor(state.key!)), 'manifest');
    expect(await hashStoredObject(store, state.key!)).toEqual({ sha256: manifest.sha256, size: manifest.size });
    expect(manifest).toMatchObject({
      id: state.id,
      kind: 'logical',
      source: { connection: 'guarded', database: source },
      target: 's3',
      key: state.key,
      format: 'mysqldump',
      compression: 'gzip',
      sha256: state.sha256,
      size: state.size,
      scheduleId: null,
      tool: { name: 'mysqldump', version: expect.stringMatching(/^mysqldump .*Ver/) },
      server: { version: expect.stringMatching(/MariaDB/) },
      database: { charset: 'utf8mb4', collation: 'utf8mb4_unicode_ci' },
    });
    expect(manifest.durationMs).toBe(Date.parse(manifest.finishedAt) - Date.parse(manifest.startedAt));
    // Exact row counts, read from the dump stream itself.
    expect(manifest.tables).toEqual(await rowCounts(source, tables));

    const destination = uniqueDbName('bk_dst_sql');
    created.push(destination);
    const restore = await startRestore(stack, {
      target: 's3',
      key: state.key!,
      destination: { connection: 'guarded', database: destination },
      callbackUrl: `${receiver.url}/restore`,
    });
    const restored = await finish<RestoreState>(restore, getRestoreStatusQuery.name);
    expect(restored.state.lastError).toBeNull();
    expect(restored.state.status).toBe('succeeded');
    expect(restored.state.backupId).toBe(state.id);
    expectMonotonic(restored.progress);
    for (const t of restored.state.tables) expect(t.destinationRows).toBe(t.sourceRows);
    await expectSameDatabase(source, destination);

    // Signed webhooks for every status change of both runs.
    for (const id of [state.id, restored.state.id]) {
      for (const status of ['running', 'succeeded']) {
        const delivery = await receiver.waitFor((d) => d.headers['x-dbferry-delivery'] === `${id}:${status}`, 10_000);
        expect(verifySignature(delivery.rawBody, String(delivery.headers['x-signature']), WEBHOOK_SECRET)).toBe(true);
        expect(delivery.json).toMatchObject({ id, status });
      }
    }

    // The password never appears in a history or a webhook (the process list: see the next test).
    const histories = [await backup.fetchHistory(), await restore.fetchHistory()];
    const text = histories.map(historyText).join('\n');
    expect(text).toContain(source);
    expect(text).not.toContain(GUARDED_PASSWORD);
    expect(text).not.toContain(Buffer.from(GUARDED_PASSWORD).toString('base64'));
    for (const d of receiver.deliveries) expect(d.rawBody).not.toContain(GUARDED_PASSWORD);
    expect(await readdir(join(stack.config.workDir, '.secrets'))).toEqual([]);
  });

  it('never shows the password on the command lines of mysqldump and mysql', async () => {
    // A database big enough that the tools run long enough to be seen in /proc.
    const bulk = uniqueDbName('bk_bulk');
    const restoredBulk = uniqueDbName('bk_bulk_dst');
    created.push(bulk, restoredBulk);
    await createBulkDatabase(bulk, 400_000);
    const seen: string[] = [];
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        seen.push(...(await processCommandLines(/^(mysqldump|mysql|mariadb)\0/)));
        await new Promise((r) => setTimeout(r, 10));
      }
    })();
    try {
      const backup = await startBackup(stack, {
        source: { connection: 'guarded', database: bulk },
        target: 's3',
        format: 'mysqldump',
        compression: 'gzip',
      });
      const { state } = await finish<BackupState>(backup, getBackupStatusQuery.name);
      expect(state.status).toBe('succeeded');
      const restore = await startRestore(stack, {
        target: 's3',
        key: state.key!,
        destination: { connection: 'guarded', database: restoredBulk },
      });
      expect((await finish<RestoreState>(restore, getRestoreStatusQuery.name)).state.status).toBe('succeeded');
    } finally {
      watching = false;
      await watcher;
    }
    expect(seen.some((c) => c.startsWith('mysqldump '))).toBe(true);
    expect(seen.some((c) => /^(mysql|mariadb) /.test(c))).toBe(true);
    for (const cmd of seen) {
      expect(cmd).not.toContain(GUARDED_PASSWORD);
      expect(cmd).toMatch(/--defaults-file=/);
    }
  });

  it('backs up with mydumper and zstd to a file target and restores an identical database', async () => {
    const backup = await startBackup(stack, {
      source: { connection: 'local', database: source },
      target: 'files',
      format: 'mydumper',
      compression: 'zstd',
    });
    const { state, progress } = await finish<BackupState>(backup, getBackupStatusQuery.name);
    expect(state.lastError).toBeNull();
    expect(state.status).toBe('succeeded');
    expectMonotonic(progress);
    expect(state.key).toMatch(new RegExp(`^${source}/\\d{4}-\\d{2}-\\d{2}_\\d{2}-\\d{2}-\\d{2}\\.mydumper\\.tar\\.zst$`));
    const { store } = stack.targets.files;
    const manifest = parseManifest(await store.getJson(manifestKeyFor(state.key!)), 'manifest');
    expect(await hashStoredObject(store, state.key!)).toEqual({ sha256: manifest.sha256, size: manifest.size });
    expect(manifest.tool.version).toMatch(/^mydumper 0\./);
    expect([...manifest.tables].sort((a, b) => a.table.localeCompare(b.table))).toEqual(await rowCounts(source, tables));
    // The scratch directory is gone.
    expect((await readdir(stack.config.workDir)).filter((f) => f.startsWith('backup-'))).toEqual([]);

    const destination = uniqueDbName('bk_dst_md');
    created.push(destination);
    const restore = await startRestore(stack, {
      target: 'files',
      key: state.key!,
      destination: { connection: 'local', database: destination },
    });
    const restored = await finish<RestoreState>(restore, getRestoreStatusQuery.name);
    expect(restored.state.lastError).toBeNull();
    expect(restored.state.status).toBe('succeeded');
    expectMonotonic(restored.progress);
    await expectSameDatabase(source, destination);
    expect((await readdir(stack.config.workDir)).filter((f) => f.startsWith('copy-'))).toEqual([]);
  });

  it('refuses a corrupted backup with a checksum error and does not touch the destination', async () => {
    const backup = await startBackup(stack, {
      source: { connection: 'local', database: source },
      target: 's3',
      format: 'mysqldump',
      compression: 'zstd',
    });
    const { state } = await finish<BackupState>(backup, getBackupStatusQuery.name);
    expect(state.status).toBe('succeeded');
    expect(state.key).toMatch(/\.sql\.zst$/);

    // One byte flipped in the middle of the stored object, behind dbferry's back.
    const { bucket, prefix } = stack.targets.s3;
    const objectKey = `${prefix}/${state.key}`;
    const original = Buffer.from(
      await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: objectKey }))).Body!.transformToByteArray(),
    );
    const damaged = Buffer.from(original);
    damaged[Math.floor(damaged.length / 2)]! ^= 0x01;
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: objectKey, Body: damaged }));

    const destination = uniqueDbName('bk_dst_bad');
    created.push(destination);
    const restore = await startRestore(stack, {
      target: 's3',
      key: state.key!,
      destination: { connection: 'local', database: destination },
    });
    const { state: restored } = await finish<RestoreState>(restore, getRestoreStatusQuery.name);
    expect(restored.status).toBe('failed');
    expect(restored.lastError).toMatch(/checksum mismatch/);
    expect(await schemaExists(destination)).toBe(false);
    await expect(restore.result()).rejects.toThrow();
  });

  it('refuses a read-only destination, the control schema and a non-empty destination, before touching anything', async () => {
    const backup = await startBackup(stack, {
      source: { connection: 'local', database: source },
      target: 'files',
      format: 'mysqldump',
      compression: 'gzip',
    });
    const { state } = await finish<BackupState>(backup, getBackupStatusQuery.name);
    expect(state.status).toBe('succeeded');

    const attempts: Array<[{ connection: string; database: string }, RegExp]> = [
      [{ connection: 'readonly', database: uniqueDbName('bk_never') }, /does not allow writes/],
      [{ connection: 'local', database: stack.config.control.database }, /control schema/],
      [{ connection: 'local', database: source }, /already has tables; pass recreateDestination/],
    ];
    for (const [destination, message] of attempts) {
      const { state: refused } = await finish<RestoreState>(
        await startRestore(stack, { target: 'files', key: state.key!, destination }),
        getRestoreStatusQuery.name,
      );
      expect(refused.status).toBe('failed');
      expect(refused.lastError).toMatch(message);
    }
    const missing = await finish<RestoreState>(
      await startRestore(stack, {
        target: 'files',
        key: `${source}/2001-01-01_00-00-00.sql.gz`,
        destination: { connection: 'local', database: uniqueDbName('bk_never') },
      }),
      getRestoreStatusQuery.name,
    );
    expect(missing.state.lastError).toMatch(/no backup at/);
    // The source is untouched by the refused restore into it.
    expect(await rowCounts(source, tables)).toEqual(
      ((await stack.targets.files.store.getJson(manifestKeyFor(state.key!))) as { tables: unknown }).tables,
    );
  });
});
