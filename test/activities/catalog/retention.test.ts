// Retention policies: keep-last-N and grandfather-father-son by UTC day, ISO week and calendar month.
import { describe, expect, it } from 'vitest';
import { planRetention, retentionIsActive, selectBackupsToDelete } from '../../../src/activities/catalog/retention.ts';
import type { BackupManifest, RetentionPolicy } from '../../../src/workflows/backup/contracts.ts';

/** A manifest started at `startedAt` (ISO, UTC); the id defaults to the time so failures read well. */
function backup(startedAt: string, id = startedAt): BackupManifest {
  return {
    manifestVersion: 1,
    id,
    kind: 'logical',
    source: { connection: 'prod', database: 'shop' },
    target: 's3',
    key: `prod/shop/${startedAt}.sql.gz`,
    format: 'mysqldump',
    compression: 'gzip',
    size: 1,
    sha256: '0'.repeat(64),
    startedAt,
    finishedAt: startedAt,
    durationMs: 0,
    tool: { name: 'mysqldump', version: '10' },
    server: { version: '11' },
    tables: [],
    scheduleId: 'backup-schedule:1:nightly',
  };
}

const ids = (list: BackupManifest[]) => list.map((m) => m.id);
const deleted = (manifests: BackupManifest[], policy: RetentionPolicy, now: string) =>
  ids(selectBackupsToDelete(manifests, policy, new Date(now)));

/** One backup a day at 02:00 UTC for `days` days ending on `last` (YYYY-MM-DD). */
function daily(last: string, days: number): BackupManifest[] {
  const end = Date.parse(`${last}T02:00:00.000Z`);
  return Array.from({ length: days }, (_, i) => backup(new Date(end - i * 86_400_000).toISOString()));
}

describe('selectBackupsToDelete', () => {
  it('keeps everything when no rule is on, or the list is empty', () => {
    const all = daily('2026-03-10', 5);
    expect(deleted(all, {}, '2026-03-10T12:00:00Z')).toEqual([]);
    expect(deleted(all, { keepLast: 0, keepDaily: 0 }, '2026-03-10T12:00:00Z')).toEqual([]);
    expect(deleted([], { keepLast: 1 }, '2026-03-10T12:00:00Z')).toEqual([]);
    expect(retentionIsActive({})).toBe(false);
    expect(retentionIsActive(null)).toBe(false);
    expect(retentionIsActive({ keepWeekly: 2 })).toBe(true);
  });

  it('keeps the N newest with keepLast and deletes the rest, oldest first', () => {
    const all = daily('2026-03-10', 5);
    expect(deleted(all, { keepLast: 2 }, '2026-03-10T12:00:00Z')).toEqual([
      '2026-03-06T02:00:00.000Z',
      '2026-03-07T02:00:00.000Z',
      '2026-03-08T02:00:00.000Z',
    ]);
    expect(deleted(all, { keepLast: 10 }, '2026-03-10T12:00:00Z')).toEqual([]);
  });

  it('gives the same answer whatever order the manifests come in', () => {
    const all = [
      ...daily('2026-03-10', 20),
      backup('2026-03-10T02:00:00.000Z', 'same-time-b'),
      backup('2026-03-10T02:00:00.000Z', 'same-time-a'),
    ];
    const policy = { keepLast: 1, keepWeekly: 2 };
    const expected = deleted(all, policy, '2026-03-10T12:00:00Z');
    for (const shuffled of [all.slice().reverse(), [...all.slice(7), ...all.slice(0, 7)]]) {
      expect(deleted(shuffled, policy, '2026-03-10T12:00:00Z')).toEqual(expected);
    }
    // Equal start times are ordered by id: the larger id counts as the newer.
    expect(expected).toContain('same-time-a');
    expect(expected).not.toContain('same-time-b');
  });

  it('keeps the newest backup of each of the last N UTC days, counting days without backups', () => {
    const all = [
      backup('2026-03-10T23:30:00.000Z'),
      backup('2026-03-10T01:00:00.000Z'), // today: newest is 23:30
      backup('2026-03-09T12:00:00.000Z'),
      // 2026-03-08: nothing
      backup('2026-03-07T05:00:00.000Z'),
      backup('2026-03-07T04:00:00.000Z'),
      backup('2026-03-06T05:00:00.000Z'),
    ];
    // 4 days ending 2026-03-10: the 10th, 9th, (8th empty) and 7th.
    expect(deleted(all, { keepDaily: 4 }, '2026-03-10T23:59:59Z')).toEqual([
      '2026-03-06T05:00:00.000Z',
      '2026-03-07T04:00:00.000Z',
      '2026-03-10T01:00:00.000Z',
    ]);
  });

  it('puts day boundaries at midnight UTC, whatever the local time zone', () => {
    const all = [backup('2026-03-10T00:00:00.000Z'), backup('2026-03-09T23:59:59.999Z'), backup('2026-03-09T00:00:00.000Z')];
    expect(deleted(all, { keepDaily: 2 }, '2026-03-10T00:00:01Z')).toEqual(['2026-03-09T00:00:00.000Z']);
  });

  it('uses ISO weeks (Monday to Sunday) for keepWeekly, also across a year boundary', () => {
    // 2025-12-29 (Mon) .. 2026-01-04 (Sun) is ISO week 2026-W01; 2025-12-28 (Sun) ends 2025-W52.
    const all = [
      backup('2026-01-05T01:00:00.000Z'), // Mon, W02 (current week)
      backup('2026-01-04T22:00:00.000Z'), // Sun, W01: newest of W01
      backup('2025-12-29T01:00:00.000Z'), // Mon, W01
      backup('2025-12-28T22:00:00.000Z'), // Sun, W52: newest of W52
      backup('2025-12-22T01:00:00.000Z'), // Mon, W52
      backup('2025-12-21T01:00:00.000Z'), // Sun, W51: outside 3 weeks
    ];
    expect(deleted(all, { keepWeekly: 3 }, '2026-01-06T12:00:00Z')).toEqual([
      '2025-12-21T01:00:00.000Z',
      '2025-12-22T01:00:00.000Z',
      '2025-12-29T01:00:00.000Z',
    ]);
  });

  it('uses calendar months for keepMonthly, including February and a leap day', () => {
    const all = [
      backup('2024-03-01T00:00:00.000Z'),
      backup('2024-02-29T23:59:00.000Z'),
      backup('2024-02-01T00:00:00.000Z'),
      backup('2024-01-31T23:59:59.000Z'),
      backup('2023-12-31T00:00:00.000Z'),
    ];
    expect(deleted(all, { keepMonthly: 3 }, '2024-03-15T00:00:00Z')).toEqual(['2023-12-31T00:00:00.000Z', '2024-02-01T00:00:00.000Z']);
  });

  it('keeps a backup kept by any rule (the union), with every reason recorded', () => {
    const all = daily('2026-03-31', 90); // 2026-01-01 .. 2026-03-31, one a day
    const plan = planRetention(all, { keepLast: 3, keepDaily: 7, keepWeekly: 4, keepMonthly: 3 }, new Date('2026-03-31T12:00:00Z'));
    const kept = new Map(plan.keep.map((k) => [k.manifest.id, k.reasons]));
    expect(kept.get('2026-03-31T02:00:00.000Z')).toEqual(['last', 'daily', 'weekly', 'monthly']);
    expect(kept.get('2026-03-25T02:00:00.000Z')).toEqual(['daily']);
    // Sundays end ISO weeks: 2026-03-29, -22, -15 (-31 is the current week's newest).
    expect(kept.get('2026-03-29T02:00:00.000Z')).toEqual(['last', 'daily', 'weekly']);
    expect(kept.get('2026-03-22T02:00:00.000Z')).toEqual(['weekly']);
    expect(kept.get('2026-03-15T02:00:00.000Z')).toEqual(['weekly']);
    expect(kept.get('2026-02-28T02:00:00.000Z')).toEqual(['monthly']);
    expect(kept.get('2026-01-31T02:00:00.000Z')).toEqual(['monthly']);
    expect(plan.keep).toHaveLength(7 + 2 + 2); // 7 days, 2 more weeks, 2 more months
    expect(plan.delete).toHaveLength(90 - plan.keep.length);
    expect(plan.delete.every((m) => !kept.has(m.id))).toBe(true);
  });

  it('never deletes the newest backup, even when no rule would keep it', () => {
    const old = [backup('2025-01-02T00:00:00.000Z'), backup('2025-01-01T00:00:00.000Z')];
    expect(deleted(old, { keepDaily: 3 }, '2026-03-10T00:00:00Z')).toEqual(['2025-01-01T00:00:00.000Z']);
    const plan = planRetention(old, { keepDaily: 3 }, new Date('2026-03-10T00:00:00Z'));
    expect(plan.keep.map((k) => k.reasons)).toEqual([['newest']]);
    expect(deleted([backup('2025-01-01T00:00:00.000Z')], { keepMonthly: 1 }, '2030-01-01T00:00:00Z')).toEqual([]);
  });

  it('counts a backup dated after now (clock skew) in the current period', () => {
    const all = [backup('2026-03-11T00:00:05.000Z'), backup('2026-03-10T20:00:00.000Z'), backup('2026-03-09T20:00:00.000Z')];
    expect(deleted(all, { keepDaily: 1 }, '2026-03-10T23:59:59Z')).toEqual(['2026-03-09T20:00:00.000Z', '2026-03-10T20:00:00.000Z']);
  });

  it('never deletes a backup whose start time cannot be read, and counts the same id once', () => {
    const broken = backup('not a date', 'broken');
    const all = [broken, ...daily('2026-03-10', 3), backup('2026-03-10T02:00:00.000Z')];
    expect(deleted(all, { keepLast: 1 }, '2026-03-10T12:00:00Z')).toEqual(['2026-03-08T02:00:00.000Z', '2026-03-09T02:00:00.000Z']);
    expect(
      planRetention(all, { keepLast: 1 }, new Date('2026-03-10T12:00:00Z')).keep.find((k) => k.manifest.id === 'broken')?.reasons,
    ).toEqual(['undated']);
  });

  it('ignores rules that are not positive whole numbers instead of deleting more', () => {
    const all = daily('2026-03-10', 4);
    expect(deleted(all, { keepLast: -1 }, '2026-03-10T12:00:00Z')).toEqual([]);
    expect(deleted(all, { keepLast: 1.5, keepDaily: 2 }, '2026-03-10T12:00:00Z')).toEqual([
      '2026-03-07T02:00:00.000Z',
      '2026-03-08T02:00:00.000Z',
    ]);
  });

  it('does not modify the list it is given', () => {
    const all = daily('2026-03-10', 5);
    const before = ids(all);
    selectBackupsToDelete(all, { keepLast: 1 }, new Date('2026-03-10T12:00:00Z'));
    expect(ids(all)).toEqual(before);
  });
});
