// The chain restore's steps on their own (real files, a real file target, the activity context of
// @temporalio/testing): what a retried step does with what a dead attempt left behind.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Client, Connection } from '@temporalio/client';
import { createHash } from 'node:crypto';
import { access, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { MockActivityEnvironment } from '@temporalio/testing';
import { ApplicationFailure } from '@temporalio/common';
import { parseConfig } from '../../../src/config/load.ts';
import { MysqlPools } from '../../../src/activities/mysql/pools.ts';
import { BackupStores } from '../../../src/activities/storage/stores.ts';
import { chainScratch, createPhysicalRestoreActivities, type ChainPiece } from '../../../src/activities/physical/restore-chain.ts';

describe('chain restore steps retried after a dead attempt', () => {
  let dir: string;
  let pools: MysqlPools;
  let stores: BackupStores;
  let activities: ReturnType<typeof createPhysicalRestoreActivities>;
  let workDir: string;
  let env: MockActivityEnvironment;
  let connection: Connection;
  const bytes = Buffer.from('not really an xbstream, but bytes with a checksum');
  const piece: ChainPiece = {
    id: 'piece-a',
    key: 'physical-local/a.xbstream.zst',
    sha256: createHash('sha256').update(bytes).digest('hex'),
    size: bytes.length,
    streamBytes: bytes.length,
    compression: 'zstd',
    tool: 'mariabackup',
    fromLsn: '0',
    toLsn: '100',
  };

  beforeAll(async () => {
    // Progress reports signal the (here absent) workflow through a real client; they are dropped.
    connection = await Connection.connect({ address: inject('temporalAddress') });
    env = new MockActivityEnvironment({ attempt: 2 }, { client: new Client({ connection }) });
    dir = await mkdtemp(join(tmpdir(), 'dbferry-steps-'));
    workDir = join(dir, 'work');
    const config = parseConfig(
      JSON.stringify({
        connections: { local: { host: '127.0.0.1', port: 3306, user: 'root' } },
        control: { connection: 'local' },
        workDir,
        targets: { files: { url: `file://${join(dir, 'target')}` } },
      }),
      'test config',
    );
    pools = new MysqlPools(config);
    stores = new BackupStores(config);
    await stores.get('files').ensureBucket();
    await stores.get('files').upload(piece.key, Readable.from([bytes]));
    activities = createPhysicalRestoreActivities({ config, pools, stores });
  });
  afterAll(async () => {
    stores?.close();
    await pools?.close();
    await connection?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('fetches a piece once: a retry keeps what the earlier attempt verified, without downloading again', async () => {
    expect(await env.run(activities.fetchChainPiece, { restoreId: 'r1', target: 'files', piece, index: 0 })).toEqual({
      bytes: bytes.length,
      reused: false,
    });
    await stores.get('files').delete([piece.key]);
    expect(await env.run(activities.fetchChainPiece, { restoreId: 'r1', target: 'files', piece, index: 0 })).toEqual({
      bytes: bytes.length,
      reused: true,
    });
    await stores.get('files').upload(piece.key, Readable.from([bytes]));
  });

  it('refuses a piece whose bytes differ from its manifest, keeping no partial file', async () => {
    const wrong = { ...piece, sha256: 'f'.repeat(64) };
    await expect(env.run(activities.fetchChainPiece, { restoreId: 'r2', target: 'files', piece: wrong, index: 0 })).rejects.toMatchObject({
      type: 'ChecksumMismatch',
      nonRetryable: true,
    });
    expect(await readdir(join(chainScratch(workDir, 'r2').root, 'pieces'))).toEqual([]);
  });

  it('knows an incremental it already applied, and refuses a datadir an interrupted apply left half-updated', async () => {
    const paths = chainScratch(workDir, 'r3');
    await mkdir(paths.data, { recursive: true });
    const next = { ...piece, id: 'piece-b', fromLsn: '100', toLsn: '200' };
    await writeFile(paths.record, JSON.stringify({ applied: ['piece-a', 'piece-b'], applying: null }));
    await env.run(activities.applyChainIncrement, { restoreId: 'r3', piece: next, index: 1, appliedBefore: ['piece-a'], last: true });
    await writeFile(paths.record, JSON.stringify({ applied: ['piece-a'], applying: 'piece-b' }));
    const failure = await env
      .run(activities.applyChainIncrement, { restoreId: 'r3', piece: next, index: 1, appliedBefore: ['piece-a'], last: true })
      .catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(ApplicationFailure);
    expect(failure).toMatchObject({ type: 'PreparedDirStale', nonRetryable: true });
  });

  it('says the scratch is missing when the step lands on a worker without it', async () => {
    await expect(
      env.run(activities.applyChainIncrement, { restoreId: 'elsewhere', piece, index: 1, appliedBefore: [], last: true }),
    ).rejects.toMatchObject({ type: 'ScratchMissing' });
  });

  it('finishes a folder delivery that a dead attempt had already moved into place', async () => {
    const folder = join(dir, 'delivered');
    await mkdir(folder);
    await writeFile(join(folder, 'xtrabackup_checkpoints'), 'backup_type = log-applied\n');
    await mkdir(chainScratch(workDir, 'r4').root, { recursive: true });
    expect(await env.run(activities.deliverChainToFolder, { restoreId: 'r4', folder, appliedAll: ['piece-a'] })).toEqual({ path: folder });
    await env.run(activities.removeChainScratch, { restoreId: 'r4', folder });
    await expect(access(chainScratch(workDir, 'r4').root)).rejects.toThrow();
    await access(join(folder, 'xtrabackup_checkpoints'));
  });
});
