// What the kit gives every job, not only the copy, on the real dev server with scripted activities:
// a piped tool's EPIPE after a cancel is the cancel, the pull's deadline, retention before cleanup.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApplicationFailure } from '@temporalio/activity';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import type { BackupState, BackupWorkflowInput, RestoreState, RestoreWorkflowInput } from '../../../src/workflows/backup/contracts.ts';
import { cancelBackupSignal, cancelRestoreSignal } from '../../../src/workflows/backup/messages.ts';
import type { PhysicalBackupState, PhysicalBackupWorkflowInput } from '../../../src/workflows/physical/contracts.ts';
import type { PullState, PullWorkflowInput } from '../../../src/workflows/pull/contracts.ts';
import { cancelPullSignal } from '../../../src/workflows/pull/messages.ts';
import { memoState, signalled, startMockedWorker, untilCancelled, type MockedWorker } from './mocked-worker.ts';

const dumpTables = [{ table: 't', rows: 1 }];
const defaults = {
  streamBackupToTarget: async () => ({
    key: 'k',
    size: 10,
    sha256: 'a'.repeat(64),
    tool: { name: 'mysqldump', version: '10' },
    server: { version: '10.11' },
    tables: dumpTables,
    database: { charset: 'utf8mb4', collation: 'utf8mb4_general_ci' },
  }),
  validateRestore: async () => ({
    manifest: {
      id: 'b1',
      format: 'mydumper',
      sha256: 'a'.repeat(64),
      size: 10,
      compression: 'zstd',
      source: { connection: 'local', database: 'src' },
      tables: dumpTables,
    },
    existingDestination: null,
  }),
  extractBackup: async () => ({ dumpDir: '/dump' }),
  verifyCopy: async () => [{ table: 't', sourceRows: 1, destinationRows: 1 }],
  validatePhysicalBackup: async () => ({ parent: null, flavor: 'mariadb', datadir: '/var/lib/mysql', fileCount: 1 }),
  streamPhysicalBackup: async () => ({
    size: 10,
    sha256: 'a'.repeat(64),
    streamBytes: 20,
    fromLsn: '0',
    toLsn: '42',
    tool: { name: 'mariabackup', version: '10.11' },
    server: { version: '10.11', flavor: 'mariadb' },
    binlog: null,
  }),
  applyPhysicalRetention: async () => ({ deleted: ['older'] }),
  preparePull: async () => ({
    plan: { tables: [] },
    deadlineMinutes: 0.01, // 600 ms
    workspaceStrategy: 'database',
    source: { connection: 'local', database: 'src' },
    workspaceConnection: 'local',
    threads: 1,
    foreignKeys: [],
    destination: { connection: 'local', database: 'dst' },
    charset: 'utf8mb4',
    collation: 'utf8mb4_general_ci',
    watermark: null,
  }),
  dumpPullWorkspace: async () => ({ dumpDir: '/dump', rows: {} }),
};
const names = [
  ...Object.keys(defaults),
  ...['validateBackup', 'writeBackupManifest', 'applyRetention', 'discardBackup', 'removeBackupScratch'],
  ...['verifyBackupChecksum', 'loadSqlBackup', 'loadDump', 'recreateSchemaObjectsFromDump', 'removeDumpDirectory', 'dropCopyDestination'],
  ...['writePhysicalManifest', 'discardPhysicalBackup', 'removePhysicalScratch'],
  ...['createTempDatabase', 'copyTablesIntoWorkspace', 'applySanitizationRules', 'checkSanitizationGate', 'loadPullIntoDestination'],
  ...['recordPullWatermarks', 'dropTempDatabase'],
];
const id = (prefix: string): string => `${prefix}-${Math.random().toString(36).slice(2)}`;

const backupInput = (format: 'mysqldump' | 'mydumper'): BackupWorkflowInput => ({
  backupId: id('backup'),
  source: { connection: 'local', database: 'src' },
  target: 's3',
  format,
  compression: 'gzip',
  threads: 1,
  requestedBy: 'test',
  callbackUrl: null,
  scheduleId: null,
  retention: null,
});

/** Waits for the run to close; returns how Temporal closed it, its failure type, and the memo's state. */
async function settle<S>(handle: WorkflowHandle) {
  const error = await handle.result().then(
    () => null,
    (e: unknown) => e,
  );
  const failureType = error instanceof WorkflowFailedError && error.cause instanceof ApplicationFailure ? error.cause.type : null;
  return { closed: (await handle.describe()).status.name, failureType, state: await memoState<S>(handle) };
}

describe('every job, through the kit (scripted activities)', () => {
  let w: MockedWorker;
  beforeAll(async () => {
    w = await startMockedWorker(names, defaults);
  });
  afterAll(async () => {
    await w?.stop();
  });

  const backupCancels: Array<['mysqldump' | 'mydumper', string, (h: WorkflowHandle) => Promise<unknown>, string]> = [
    ['mysqldump', 'the cancelBackup signal', (h) => h.signal(cancelBackupSignal, 'test'), 'FAILED'],
    ['mydumper', 'a Temporal cancel', (h) => h.cancel(), 'CANCELLED'],
  ];
  for (const [format, way, cancel, closedAs] of backupCancels) {
    it(`a backup (${format}) cancelled through ${way} whose tools die of EPIPE ends cancelled and removes its object`, async () => {
      const streaming = signalled();
      w.script({ streamBackupToTarget: untilCancelled('epipe', streaming.resolve) });
      const handle = await w.start('backupDatabase', backupInput(format));
      await streaming.promise;
      await cancel(handle);
      const { closed, failureType, state } = await settle<BackupState>(handle);
      expect(closed).toBe(closedAs);
      expect(failureType).toBeNull();
      expect(state).toMatchObject({ status: 'cancelled', lastError: 'cancelled by request', size: null, sha256: null });
      expect(w.calls).toEqual([
        'validateBackup',
        'streamBackupToTarget',
        'discardBackup',
        ...(format === 'mydumper' ? ['removeBackupScratch'] : []),
      ]);
    });
  }

  it('a restore cancelled while myloader runs, which dies of EPIPE, ends cancelled and drops the destination', async () => {
    const loading = signalled();
    w.script({ loadDump: untilCancelled('epipe', loading.resolve) });
    const input: RestoreWorkflowInput = {
      restoreId: id('restore'),
      target: 's3',
      key: 'src/2020-01-01_00-00-00.mydumper.tar.zst',
      destination: { connection: 'local', database: 'dst' },
      recreateDestination: false,
      threads: 1,
      requestedBy: 'test',
      callbackUrl: null,
    };
    const handle = await w.start('restoreBackup', input);
    await loading.promise;
    await handle.signal(cancelRestoreSignal);
    const { failureType, state } = await settle<RestoreState>(handle);
    expect(failureType).toBeNull();
    expect(state).toMatchObject({ status: 'cancelled', backupId: 'b1' });
    expect(w.calls.slice(-2)).toEqual(['dropCopyDestination', 'removeDumpDirectory']);
  });

  const pullInput = (): PullWorkflowInput => ({
    pullId: id('pull'),
    profile: 'people',
    full: false,
    tables: null,
    callbackUrl: null,
    requestedBy: 'test',
  });

  it('a pull stuck past its deadline is stopped, fails with PullFailed and the deadline message, and drops its workspace', async () => {
    w.script({ copyTablesIntoWorkspace: untilCancelled('epipe') });
    const { closed, failureType, state } = await settle<PullState>(await w.start('sanitizedPull', pullInput()));
    expect(closed).toBe('FAILED');
    expect(failureType).toBe('PullFailed');
    expect(state.status).toBe('failed');
    expect(state.lastError).toBe("the pull did not finish within 0.01 minutes (the profile's deadlineMinutes) and was stopped");
    expect(w.calls).toEqual(['preparePull', 'createTempDatabase', 'copyTablesIntoWorkspace', 'dropTempDatabase']);
  });

  it('a pull cancelled while loading whose tool dies of EPIPE ends cancelled, saying the destination may hold a partial load', async () => {
    const loading = signalled();
    w.script({
      preparePull: async () => ({ ...(await defaults.preparePull()), deadlineMinutes: 60 }),
      loadPullIntoDestination: untilCancelled('epipe', loading.resolve),
    });
    const handle = await w.start('sanitizedPull', pullInput());
    await loading.promise;
    await handle.signal(cancelPullSignal);
    const { failureType, state } = await settle<PullState>(handle);
    expect(failureType).toBeNull();
    expect(state.status).toBe('cancelled');
    expect(state.lastError).toBe('cancelled by request; the destination may hold a partial load: pull again with --full');
    expect(w.calls.at(-1)).toBe('dropTempDatabase');
  });

  const physicalInput = (): PhysicalBackupWorkflowInput => ({
    backupId: id('physical'),
    connection: `c-${Math.random().toString(36).slice(2)}`,
    target: 's3',
    kind: 'physical-full',
    compression: 'zstd',
    threads: 1,
    parentId: null,
    requestedBy: 'test',
    callbackUrl: null,
    scheduleId: 'plan-1',
    retention: { keepLast: 1 },
  });

  it('a physical backup applies retention after its manifest and before its cleanup; a retention that fails leaves it succeeded', async () => {
    w.script();
    const ok = await settle<PhysicalBackupState>(await w.start('physicalBackup', physicalInput()));
    expect(ok.state).toMatchObject({
      status: 'succeeded',
      progress: 100,
      chainId: ok.state.id,
      retention: { deleted: ['older'], error: null },
    });
    expect(w.calls).toEqual([
      'validatePhysicalBackup',
      'streamPhysicalBackup',
      'writePhysicalManifest',
      'applyPhysicalRetention',
      'removePhysicalScratch',
    ]);

    w.script({ applyPhysicalRetention: async () => Promise.reject(ApplicationFailure.nonRetryable('catalog unreadable', 'X')) });
    const kept = await settle<PhysicalBackupState>(await w.start('physicalBackup', physicalInput()));
    expect(kept.closed).toBe('COMPLETED');
    expect(kept.state).toMatchObject({ status: 'succeeded', lastError: null, retention: { deleted: [], error: 'catalog unreadable' } });
  });
});
