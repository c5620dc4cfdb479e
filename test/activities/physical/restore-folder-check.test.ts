// The worker's own check of a folder restore: a restoreChain started straight on Temporal (past the
// API) is refused by its first activity, before any piece is read, when the folder is outside the
// restore roots, and lets a folder inside them through to the chain.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { parseConfig } from '../../../src/config/load.ts';
import { resolveRestoreChain } from '../../../src/activities/physical/resolve-chain.ts';
import type { PhysicalDeps } from '../../../src/activities/physical/index.ts';

describe('resolveRestoreChain refuses folders outside the restore roots', () => {
  let base: string;
  let deps: PhysicalDeps;
  let storesRead = 0;

  beforeAll(async () => {
    base = await mkdtemp(join(tmpdir(), 'dbferry-folder-activity-'));
    await mkdir(join(base, 'restores'));
    const config = parseConfig(
      JSON.stringify({
        connections: { local: { host: '127.0.0.1', port: 3306, user: 'root', datadir: '/var/lib/mysql' } },
        control: { connection: 'local' },
        workDir: join(base, 'work'),
        restoreRoots: [join(base, 'restores')],
        targets: { files: { url: `file://${join(base, 'target')}` } },
      }),
    );
    deps = {
      config,
      pools: { get: () => ({ query: async () => [[{ d: '/var/lib/mysql' }], []] }) } as unknown as PhysicalDeps['pools'],
      stores: {
        get: () => {
          storesRead++;
          throw new Error('the chain was read');
        },
      } as unknown as PhysicalDeps['stores'],
    };
  });
  afterAll(() => rm(base, { recursive: true, force: true }));

  const input = (folder: string) => ({
    restoreId: 'r1',
    target: 'files',
    backupId: 'b1',
    before: null,
    connection: null,
    folder,
    destination: null,
    recreateDestination: false,
  });

  it.each(['/etc', '/etc/x', '/var/lib/mysql/x', '/tmp/dbferry-elsewhere'])(
    'refuses %s as a non-retryable FolderForbidden',
    async (folder) => {
      const failure = await resolveRestoreChain(deps, input(folder)).catch((e: unknown) => e);
      expect(failure).toBeInstanceOf(ApplicationFailure);
      expect(failure).toMatchObject({ type: 'FolderForbidden', nonRetryable: true });
      expect(storesRead).toBe(0);
    },
  );

  it('goes on to the chain for a folder inside a root', async () => {
    const failure = await resolveRestoreChain(deps, input(join(base, 'restores', 'datadir'))).catch((e: unknown) => e);
    expect(failure).not.toMatchObject({ type: 'FolderForbidden' });
    expect(storesRead).toBe(1);
  });
});
