// Physical backups (mariabackup) and chain restores end to end: to a folder, into a database, and what is refused.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { defaultPayloadConverter } from '@temporalio/common';
import { manifestKeyFor } from '../../../src/workflows/backup/contracts.ts';
import type { PhysicalBackupManifest, PhysicalBackupState, RestoreChainState } from '../../../src/workflows/physical/contracts.ts';
import { startTempServer, type TempServer } from '../../../src/activities/physical/temp-server.ts';
import { parsePhysicalManifest } from '../../../src/activities/catalog/physical-manifests.ts';
import { dropDatabases, rootConnection, uniqueDbName } from '../../harness/mysql.ts';
import { freePort, leftoversIn, startPhysicalBackup, startRestoreChain, tableChecksums } from '../../harness/physical.ts';
import { processCommandLines } from '../../harness/processes.ts';
import { keysUnder, pendingUploads, rawS3Client } from '../../harness/backups.ts';
import { cancelPhysicalBackupSignal, getPhysicalBackupStatusQuery } from '../../../src/workflows/physical/messages.ts';
import { startTestStack, type TestStack } from '../../harness/stack.ts';

/** Waits for a run to close; returns its final state from the memo, as the API reads it. */
async function settle<S>(handle: { result(): Promise<unknown>; describe(): Promise<{ memo?: Record<string, unknown> }> }): Promise<S> {
  await handle.result().catch(() => undefined);
  return (await handle.describe()).memo?.state as S;
}

describe('physical backups and chain restores (mariabackup)', () => {
  let stack: TestStack;
  let scratch: string;
  const source = uniqueDbName('phys_src');
  const restored = uniqueDbName('phys_dst');
  const created = [source, restored];
  const chain: PhysicalBackupManifest[] = [];
  let expected: Record<string, string>;

  async function backup(kind: 'physical-full' | 'physical-incremental'): Promise<PhysicalBackupManifest> {
    const state = await settle<PhysicalBackupState>(await startPhysicalBackup(stack, { kind, target: 's3' }));
    expect(state.lastError).toBeNull();
    expect(state.status).toBe('succeeded');
    const manifest = parsePhysicalManifest(await stack.targets.s3.store.getJson(manifestKeyFor(state.key!)), state.key!);
    chain.push(manifest);
    return manifest;
  }

  beforeAll(async () => {
    stack = await startTestStack();
    scratch = await mkdtemp(join(stack.restoreRoot, 'phys-'));
    const conn = await rootConnection();
    try {
      await conn.query(`CREATE DATABASE \`${source}\`; USE \`${source}\`;
        CREATE TABLE orders (id INT PRIMARY KEY AUTO_INCREMENT, customer VARCHAR(64) NOT NULL, total DECIMAL(12,2), note TEXT) ENGINE=InnoDB;
        CREATE TABLE items (id INT PRIMARY KEY, order_id INT NOT NULL, sku CHAR(12), FOREIGN KEY (order_id) REFERENCES orders (id)) ENGINE=InnoDB;
        CREATE TABLE flags (name VARCHAR(32) PRIMARY KEY, value TINYINT) ENGINE=Aria;
        INSERT INTO orders (customer, total, note) SELECT CONCAT('c', seq), seq * 1.5, REPEAT('x', seq MOD 200) FROM seq_1_to_20000;
        INSERT INTO items SELECT seq, 1 + seq MOD 20000, LPAD(seq, 12, '0') FROM seq_1_to_30000;
        INSERT INTO flags VALUES ('a', 1);`);
    } finally {
      await conn.end();
    }
  });
  afterAll(async () => {
    await dropDatabases(...created);
    await stack?.stop();
    await rm(scratch, { recursive: true, force: true });
  });

  it('takes a full, then two incrementals whose LSNs join up, each with a complete manifest', async () => {
    const full = await backup('physical-full');
    expect(full).toMatchObject({
      kind: 'physical-full',
      parentId: null,
      chainId: full.id,
      fromLsn: '0',
      format: 'xbstream',
      compression: 'zstd',
      tool: { name: 'mariabackup' },
    });
    expect(full.server.version).toMatch(/^10\.11\./);
    expect(full.size).toBeGreaterThan(0);

    const conn = await rootConnection(source);
    try {
      await conn.query(
        "UPDATE orders SET total = total + 1 WHERE id % 7 = 0; INSERT INTO items SELECT seq, 1 + seq MOD 100, 'second' FROM seq_30001_to_31000; UPDATE flags SET value = 2;",
      );
      const first = await backup('physical-incremental');
      expect(first).toMatchObject({ kind: 'physical-incremental', parentId: full.id, chainId: full.id, fromLsn: full.toLsn });
      await conn.query(
        "DELETE FROM items WHERE id % 11 = 0; INSERT INTO orders (customer, total) VALUES ('late', 9.99); CREATE TABLE added (id INT PRIMARY KEY) ENGINE=InnoDB; INSERT INTO added SELECT seq FROM seq_1_to_500;",
      );
      const second = await backup('physical-incremental');
      expect(second).toMatchObject({ parentId: first.id, chainId: full.id, fromLsn: first.toLsn });
      expect(BigInt(second.toLsn)).toBeGreaterThanOrEqual(BigInt(first.toLsn));
      expected = await tableChecksums(conn, source);
    } finally {
      await conn.end();
    }
    expect(Object.keys(expected)).toEqual(['added', 'flags', 'items', 'orders']);
    expect(await leftoversIn(stack.config.workDir)).toEqual([]);
  });

  it('restores the chain to a folder that a mariadbd starts on, with every table as it was at the last incremental', async () => {
    const folder = join(scratch, 'datadir');
    const handle = await startRestoreChain(stack, { target: 's3', backupId: chain[2]!.id, deliver: { kind: 'folder', path: folder } });
    const state = await settle<RestoreChainState>(handle);
    expect(state.lastError).toBeNull();
    expect(state.status).toBe('succeeded');
    expect(state.chain).toEqual(chain.map((m) => m.id));
    expect(state.steps.map((s) => s.name)).toEqual([
      ...chain.map((m) => `download:${m.id}`),
      `prepare:${chain[0]!.id}`,
      `apply:${chain[1]!.id}`,
      `apply:${chain[2]!.id}`,
      'deliver',
    ]);
    expect(state.steps.every((s) => s.status === 'done')).toBe(true);
    expect(state.progress).toBe(100);
    expect(state.deliveredTo).toBe(folder);
    expect(await leftoversIn(stack.config.workDir)).toEqual([]);

    let server: TempServer | null = null;
    try {
      const port = await freePort();
      server = await startTempServer({ datadir: folder, runDir: join(scratch, 'run'), port, skipGrantTables: false });
      const conn = await mysql.createConnection({ host: '127.0.0.1', port, user: 'root', password: '' });
      try {
        expect(await tableChecksums(conn, source)).toEqual(expected);
      } finally {
        await conn.end();
      }
    } finally {
      await server?.stop();
    }
    expect(await processCommandLines(new RegExp(folder))).toEqual([]);
  });

  it('restores one database of the chain into a connection through a temporary server, and stops it', async () => {
    const handle = await startRestoreChain(stack, {
      target: 's3',
      connection: 'local',
      before: new Date().toISOString(),
      deliver: { kind: 'database', database: source, destination: { connection: 'local', database: restored }, recreateDestination: false },
    });
    const state = await settle<RestoreChainState>(handle);
    expect(state.lastError).toBeNull();
    expect(state.status).toBe('succeeded');
    expect(state.chain).toEqual(chain.map((m) => m.id));
    expect(state.tables.map((t) => t.table).sort()).toEqual(['added', 'flags', 'items', 'orders']);
    const conn = await rootConnection();
    try {
      expect(await tableChecksums(conn, restored)).toEqual(expected);
    } finally {
      await conn.end();
    }
    expect(await leftoversIn(stack.config.workDir)).toEqual([]);
    expect(await processCommandLines(/mariadbd.*\/chain-/)).toEqual([]);

    // The dump from the temporary server and the load are steps of their own, and the load's
    // progress reports (phase `loading`) move the bar while it runs: every state the run published
    // is in its history.
    expect(state.steps.map((s) => s.name).slice(-3)).toEqual(['deliver', 'load', 'verify']);
    const events = (await handle.fetchHistory()).events ?? [];
    const published = events.flatMap((e) => {
      const memo = e.workflowPropertiesModifiedEventAttributes?.upsertedMemo?.fields?.state;
      return memo ? [defaultPayloadConverter.fromPayload<RestoreChainState>(memo)] : [];
    });
    // The reports that reached the run while the load ran: between the load's scheduling and its completion.
    const loadScheduled = events.findLast((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'loadDump')!;
    const loadCompleted = events.find(
      (e) => Number(e.activityTaskCompletedEventAttributes?.scheduledEventId) === Number(loadScheduled.eventId),
    )!;
    const reports = events
      .filter((e) => Number(e.eventId) > Number(loadScheduled.eventId) && Number(e.eventId) < Number(loadCompleted.eventId))
      .flatMap((e) => {
        const payload = e.workflowExecutionSignaledEventAttributes?.input?.payloads?.[0];
        return payload ? [defaultPayloadConverter.fromPayload<{ phase: string; fraction: number }>(payload)] : [];
      });
    const progress = published.map((s) => s.progress);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
    const loadIs = (status: string) => published.filter((s) => s.steps.find((step) => step.name === 'load')?.status === status);
    const deliveryStart = published.find((s) => s.phase === 'delivering')!.progress;
    const [loadStart, loadEnd] = [loadIs('running')[0]!.progress, loadIs('done')[0]!.progress];
    expect(deliveryStart).toBeLessThan(loadStart);
    expect(loadStart).toBeLessThan(loadEnd);
    const loadReports = reports.filter((r) => r.phase === 'loading').map((r) => r.fraction);
    expect(loadReports.length).toBeGreaterThan(0);
    const highestWhileLoading = Math.max(...loadIs('running').map((s) => s.progress));
    expect(highestWhileLoading).toBeGreaterThanOrEqual(Math.floor(loadStart + (loadEnd - loadStart) * Math.max(...loadReports)));
  });

  it('refuses a chain whose piece was damaged in the target by its checksum, and leaves nothing behind', async () => {
    const last = chain[2]!;
    const chunks: Buffer[] = [];
    for await (const chunk of (await stack.targets.s3.store.download(last.key)) as AsyncIterable<Buffer>) chunks.push(chunk);
    const bytes = Buffer.concat(chunks);
    const s3 = rawS3Client();
    try {
      const damaged = Buffer.from(bytes);
      damaged[Math.floor(damaged.length / 2)]! ^= 0xff;
      await s3.send(
        new PutObjectCommand({ Bucket: stack.targets.s3.bucket, Key: `${stack.targets.s3.prefix}/${last.key}`, Body: damaged }),
      );
      const folder = join(scratch, 'damaged');
      const state = await settle<RestoreChainState>(
        await startRestoreChain(stack, { target: 's3', backupId: last.id, deliver: { kind: 'folder', path: folder } }),
      );
      expect(state.status).toBe('failed');
      expect(state.lastError).toMatch(/checksum mismatch: .* the backup is damaged/);
      expect(await leftoversIn(stack.config.workDir)).toEqual([]);
      expect(await readdir(scratch)).not.toContain('damaged');
    } finally {
      await s3.send(new PutObjectCommand({ Bucket: stack.targets.s3.bucket, Key: `${stack.targets.s3.prefix}/${last.key}`, Body: bytes }));
      s3.destroy();
    }
  });

  it('refuses a chain with a missing middle incremental before downloading anything', async () => {
    const middle = chain[1]!;
    const saved = await stack.targets.s3.store.getJson(manifestKeyFor(middle.key));
    await stack.targets.s3.store.delete([manifestKeyFor(middle.key)]);
    try {
      const handle = await startRestoreChain(stack, {
        target: 's3',
        backupId: chain[2]!.id,
        deliver: { kind: 'folder', path: join(scratch, 'broken') },
      });
      const state = await settle<RestoreChainState>(handle);
      expect(state.status).toBe('failed');
      expect(state.lastError).toContain(`needs ${middle.id}, which is not in the target`);
      const { events } = await handle.fetchHistory();
      const activities = (events ?? []).map((e) => e.activityTaskScheduledEventAttributes?.activityType?.name).filter(Boolean);
      expect(activities).toContain('resolveRestoreChain');
      expect(activities).not.toContain('fetchChainPiece');
      expect(await leftoversIn(stack.config.workDir)).toEqual([]);
    } finally {
      await stack.targets.s3.store.putJson(manifestKeyFor(middle.key), saved);
    }
  });

  it('cancelled while mariabackup streams: ends cancelled, with no object, no pending upload and no scratch left', async () => {
    const before = await keysUnder(stack.targets.s3.store, 'physical-local/');
    const handle = await startPhysicalBackup(stack, { kind: 'physical-full', target: 's3' });
    for (let i = 0; i < 600; i++) {
      const state = await handle.query(getPhysicalBackupStatusQuery).catch(() => null);
      if (state?.phase === 'streaming' && (await processCommandLines(/mariabackup.--defaults-file/)).length > 0) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    await handle.signal(cancelPhysicalBackupSignal);
    const state = await settle<PhysicalBackupState>(handle);
    expect(state.status).toBe('cancelled');
    expect(await keysUnder(stack.targets.s3.store, 'physical-local/')).toEqual(before);
    const s3 = rawS3Client();
    try {
      expect(await pendingUploads(s3, stack.targets.s3.bucket, `${stack.targets.s3.prefix}/physical-local/`)).toEqual([]);
    } finally {
      s3.destroy();
    }
    expect(await leftoversIn(stack.config.workDir)).toEqual([]);
    expect(await processCommandLines(new RegExp(`mariabackup.*${stack.config.workDir}`))).toEqual([]);
  });

  it('refuses an incremental when the target holds no full backup of the server to build on', async () => {
    const state = await settle<PhysicalBackupState>(await startPhysicalBackup(stack, { kind: 'physical-incremental', target: 'files' }));
    expect(state.status).toBe('failed');
    expect(state.lastError).toMatch(/no physical backup of local in target files yet: take a full backup first/);
  });
});
