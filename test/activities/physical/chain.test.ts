// Chains of physical backups: resolving, continuity problems, and retention that keeps what a kept piece needs.
import { describe, expect, it } from 'vitest';
import {
  ChainError,
  continuityProblems,
  resolveChain,
  selectPhysicalBackupsToDelete,
  withAncestors,
} from '../../../src/activities/physical/chain.ts';
import type { PhysicalBackupManifest } from '../../../src/workflows/physical/contracts.ts';

function piece(
  id: string,
  parent: PhysicalBackupManifest | null,
  fromLsn: string,
  toLsn: string,
  startedAt: string,
  extra: Partial<PhysicalBackupManifest> = {},
): PhysicalBackupManifest {
  return {
    manifestVersion: 1,
    id,
    kind: parent ? 'physical-incremental' : 'physical-full',
    source: { connection: 'db1' },
    target: 's3',
    key: `physical-db1/${id}.xbstream.zst`,
    format: 'xbstream',
    compression: 'zstd',
    size: 10,
    sha256: 'a'.repeat(64),
    streamBytes: 20,
    startedAt,
    finishedAt: startedAt,
    durationMs: 1,
    tool: { name: 'mariabackup', version: 'x' },
    server: { version: '10.11.19-MariaDB', flavor: 'mariadb' },
    chainId: parent ? parent.chainId : id,
    parentId: parent?.id ?? null,
    fromLsn,
    toLsn,
    binlog: null,
    scheduleId: null,
    ...extra,
  };
}

const full = piece('full1', null, '0', '1000', '2026-01-01T00:00:00Z');
const inc1 = piece('inc1', full, '1000', '2000', '2026-01-02T00:00:00Z');
const inc2 = piece('inc2', inc1, '2000', '3000', '2026-01-03T00:00:00Z');
const full2 = piece('full2', null, '0', '3500', '2026-01-04T00:00:00Z');
const inc3 = piece('inc3', full2, '3500', '4000', '2026-01-05T00:00:00Z');
const all = [inc2, full, full2, inc1, inc3];

describe('resolving a restore chain', () => {
  it('follows parents from the asked piece back to its full, base first', () => {
    expect(resolveChain(all, { backupId: 'inc2' }).map((m) => m.id)).toEqual(['full1', 'inc1', 'inc2']);
    expect(resolveChain(all, { backupId: 'full2' }).map((m) => m.id)).toEqual(['full2']);
  });

  it('picks the newest piece of the connection started at or before a time', () => {
    expect(resolveChain(all, { connection: 'db1', before: new Date('2026-01-03T12:00:00Z') }).map((m) => m.id)).toEqual([
      'full1',
      'inc1',
      'inc2',
    ]);
    expect(resolveChain(all, { connection: 'db1', before: new Date('2026-01-09T00:00:00Z') }).map((m) => m.id)).toEqual(['full2', 'inc3']);
  });

  it('refuses an unknown id and a time before any backup', () => {
    expect(() => resolveChain(all, { backupId: 'nope' })).toThrow(ChainError);
    expect(() => resolveChain(all, { connection: 'db1', before: new Date('2025-01-01T00:00:00Z') })).toThrow(
      /no physical backup of db1 started at or before/,
    );
  });

  it('refuses a chain with a missing middle incremental, naming the missing piece', () => {
    try {
      resolveChain([full, inc2], { backupId: 'inc2' });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ChainError);
      expect((error as ChainError).type).toBe('ChainBroken');
      expect((error as Error).message).toContain('inc2 needs inc1, which is not in the target');
    }
  });

  it('refuses an LSN gap between a piece and its parent', () => {
    const gap = piece('gap', inc1, '2500', '3000', '2026-01-03T00:00:00Z');
    expect(() => resolveChain([full, inc1, gap], { backupId: 'gap' })).toThrow(/LSN gap: gap starts at 2500 but inc1 ends at 2000/);
  });

  it('accepts an incremental whose LSNs did not move (an idle server)', () => {
    const idle = piece('idle', inc2, '3000', '3000', '2026-01-03T01:00:00Z');
    expect(continuityProblems([full, inc1, inc2, idle])).toEqual([]);
  });

  it('reports every other reason a chain cannot join up', () => {
    const foreign = piece('foreign', inc1, '2000', '2100', '2026-01-03T00:00:00Z', {
      chainId: 'other',
      source: { connection: 'db2' },
      tool: { name: 'xtrabackup', version: 'y' },
    });
    const problems = continuityProblems([full, inc1, foreign]);
    expect(problems.join('\n')).toMatch(/belongs to chain other/);
    expect(problems.join('\n')).toMatch(/is of db2/);
    expect(problems.join('\n')).toMatch(/taken with xtrabackup/);
    expect(continuityProblems([inc1, inc2])[0]).toMatch(/not a full backup/);
    expect(continuityProblems([full, piece('back', full, '1000', '900', '2026-01-02T00:00:00Z')]).join()).toMatch(
      /ends \(LSN 900\) before it starts/,
    );
  });

  it('compares LSNs beyond 2^53 exactly', () => {
    const big = piece('big', null, '0', '18446744073709551000', '2026-01-01T00:00:00Z');
    const next = piece('next', big, '18446744073709551000', '18446744073709551615', '2026-01-02T00:00:00Z');
    expect(continuityProblems([big, next])).toEqual([]);
    expect(continuityProblems([big, { ...next, fromLsn: '18446744073709551001' }])).toHaveLength(1);
  });
});

describe('retention of physical chains', () => {
  it('keeps every ancestor of a kept piece', () => {
    expect([...withAncestors(all, ['inc2'])].sort()).toEqual(['full1', 'inc1', 'inc2']);
  });

  it('never deletes the full or incrementals a kept incremental depends on', () => {
    // keepLast 1 keeps inc3 only by date; its full stays with it, the first chain goes.
    const doomed = selectPhysicalBackupsToDelete(all, { keepLast: 1 }, new Date('2026-01-06T00:00:00Z'));
    expect(doomed.map((m) => m.id)).toEqual(['full1', 'inc1', 'inc2']);
    // keepLast 3 by date keeps inc3, full2 and inc2: inc2 then needs inc1 and full1, so nothing goes.
    expect(selectPhysicalBackupsToDelete(all, { keepLast: 3 }, new Date('2026-01-06T00:00:00Z'))).toEqual([]);
  });

  it('keeps what the caller pins (another schedule depends on it)', () => {
    expect(selectPhysicalBackupsToDelete(all, { keepLast: 1 }, new Date('2026-01-06T00:00:00Z'), ['inc1']).map((m) => m.id)).toEqual([
      'inc2',
    ]);
  });
});
