// The free-space check before a dump: what a dump needs, the refusal naming the work dir, and the
// copy's dump step refusing before mydumper starts when the source is larger than the disk can take.
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkDumpSpace, dumpSpaceNeeded, freeBytes, DUMP_RESERVE_BYTES } from '../../../src/activities/tools/free-space.ts';
import { createDumperActivities } from '../../../src/activities/copy/dumper.ts';
import type { ActivityDeps } from '../../../src/activities/deps.ts';

const MiB = 1024 * 1024;

describe('room for a dump in workDir', () => {
  let workDir: string;
  beforeAll(async () => {
    workDir = await mkdtemp(join(tmpdir(), 'dbferry-space-'));
  });
  afterAll(async () => {
    await rm(workDir, { recursive: true, force: true });
  });

  it('needs the data with a 20% margin and 64 MiB to spare', () => {
    expect(dumpSpaceNeeded(0)).toBe(DUMP_RESERVE_BYTES);
    expect(dumpSpaceNeeded(1000 * MiB)).toBe(1200 * MiB + 64 * MiB);
  });

  it('passes when it fits and refuses, non-retryable, naming the work dir and both sizes, when it does not', async () => {
    await checkDumpSpace(workDir, 100 * MiB, 'prod/shop', 200 * MiB);
    const refusal = await checkDumpSpace(workDir, 1000 * MiB, 'prod/shop', 500 * MiB).catch((e: unknown) => e);
    expect(refusal).toBeInstanceOf(ApplicationFailure);
    expect((refusal as ApplicationFailure).nonRetryable).toBe(true);
    expect((refusal as ApplicationFailure).type).toBe('InsufficientSpace');
    expect((refusal as Error).message).toBe(
      `not enough free space in workDir ${workDir} to dump prod/shop: it needs about 1264 MiB (1000 MiB of data, 20% margin and 64 MiB to spare), 500 MiB are free; free some space or point workDir at a larger disk`,
    );
  });

  it('reads the free space of the real filesystem', async () => {
    const free = await freeBytes(join(workDir, 'not-yet'));
    expect(free).toBeGreaterThan(0);
    await checkDumpSpace(workDir, 0, 'x');
    await expect(checkDumpSpace(workDir, free * 10, 'x')).rejects.toThrow(/not enough free space in workDir/);
  });

  it('refuses a copy whose source would not fit before mydumper starts, leaving no dump directory', async () => {
    // The source says it holds a petabyte: information_schema.TABLES is the only thing asked.
    const asked: string[] = [];
    const pool = {
      query: async (sql: string) => {
        asked.push(sql);
        return [[{ bytes: String(2 ** 50) }]];
      },
    };
    const deps = {
      config: { workDir },
      pools: {
        get: () => pool,
        connection: () => {
          throw new Error('no tool may start');
        },
      },
    } as unknown as Pick<ActivityDeps, 'config' | 'pools'>;
    const { dumpDatabase } = createDumperActivities(deps);
    const env = new MockActivityEnvironment();
    const refusal = await env
      .run(() => dumpDatabase({ copyId: 'c1', source: { connection: 'prod', database: 'shop' }, threads: 2 }))
      .catch((e: unknown) => e);
    expect((refusal as ApplicationFailure).type).toBe('InsufficientSpace');
    expect((refusal as Error).message).toContain(`workDir ${workDir} to dump prod/shop`);
    expect(asked).toHaveLength(1);
    expect(asked[0]).toMatch(/information_schema\.TABLES/);
    expect(await readdir(workDir)).not.toContain('copy-c1');
  });
});
