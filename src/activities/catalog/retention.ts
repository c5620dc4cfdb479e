// Which backups a retention policy lets go: keep-last-N plus grandfather-father-son (daily, weekly,
// monthly) buckets in UTC. Pure: the caller lists the manifests (only succeeded backups have one)
// and deletes what this returns, backup object and manifest together.
import type { BackupManifest, RetentionPolicy } from '../../workflows/backup/contracts.ts';

/** Why a backup stays: the rules that keep it (a backup kept by any rule stays). */
export type RetentionReason = 'last' | 'daily' | 'weekly' | 'monthly' | 'newest' | 'undated';

/** What retention needs of a backup: its id and when it started (logical and physical manifests both have them). */
export interface DatedBackup {
  id: string;
  startedAt: string;
}

export interface RetentionPlan<M extends DatedBackup = BackupManifest> {
  keep: Array<{ manifest: M; reasons: RetentionReason[] }>;
  delete: M[];
}

const DAY_MS = 86_400_000;

/** Days since 1970-01-01 UTC. */
const dayIndex = (t: number): number => Math.floor(t / DAY_MS);
/** ISO weeks (Monday to Sunday, UTC) since the week holding 1970-01-01, a Thursday. */
const weekIndex = (t: number): number => Math.floor((dayIndex(t) + 3) / 7);
/** Calendar months (UTC) since January 1970. */
const monthIndex = (t: number): number => {
  const d = new Date(t);
  return d.getUTCFullYear() * 12 + d.getUTCMonth();
};

const BUCKETS: Array<{ rule: 'keepDaily' | 'keepWeekly' | 'keepMonthly'; reason: RetentionReason; index: (t: number) => number }> = [
  { rule: 'keepDaily', reason: 'daily', index: dayIndex },
  { rule: 'keepWeekly', reason: 'weekly', index: weekIndex },
  { rule: 'keepMonthly', reason: 'monthly', index: monthIndex },
];

/** A rule's count, or 0 when it is absent or not a positive whole number (the rule is off). */
const countOf = (n: number | undefined): number => (n !== undefined && Number.isInteger(n) && n > 0 ? n : 0);

/** True when the policy keeps fewer than everything, i.e. at least one rule is on. */
export function retentionIsActive(policy: RetentionPolicy | null | undefined): boolean {
  return !!policy && [policy.keepLast, policy.keepDaily, policy.keepWeekly, policy.keepMonthly].some((n) => countOf(n) > 0);
}

// A backup is dated by when it started: that is the moment its snapshot shows.
const timeOf = (m: DatedBackup): number => Date.parse(m.startedAt);

/**
 * Sorts newest first, ties broken by id, so the plan does not depend on the order the bucket
 * listed the manifests in.
 */
function newestFirst(a: DatedBackup, b: DatedBackup): number {
  return timeOf(b) - timeOf(a) || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);
}

/**
 * Decides, for each backup, whether the policy keeps it and why.
 *
 * - `keepLast: N` keeps the N newest backups.
 * - `keepDaily/keepWeekly/keepMonthly: N` keep the newest backup of each of the last N UTC days,
 *   ISO weeks (Monday first) or calendar months, counting back from the period holding `now`
 *   (a period without backups still counts: keepDaily 7 covers the 7 days ending today).
 * - A backup kept by any rule stays. With no rule on, everything stays.
 * - The newest backup always stays, and a backup whose start time cannot be read is never deleted.
 * - Backups dated after `now` (clock skew between workers) fall in the current period.
 */
export function planRetention<M extends DatedBackup = BackupManifest>(
  manifests: readonly M[],
  policy: RetentionPolicy,
  now: Date,
): RetentionPlan<M> {
  // The same id listed twice (a manifest copied by hand) is one backup.
  const unique = [...new Map(manifests.map((m) => [m.id, m])).values()];
  const undated = unique.filter((m) => Number.isNaN(timeOf(m)));
  const dated = unique.filter((m) => !Number.isNaN(timeOf(m))).sort(newestFirst);
  const reasons = new Map<string, RetentionReason[]>(unique.map((m) => [m.id, []]));
  const keepFor = (m: M, reason: RetentionReason) => reasons.get(m.id)!.push(reason);

  for (const m of undated) keepFor(m, 'undated');
  if (retentionIsActive(policy)) {
    dated.slice(0, countOf(policy.keepLast)).forEach((m) => keepFor(m, 'last'));
    for (const { rule, reason, index } of BUCKETS) {
      const count = countOf(policy[rule]);
      if (count === 0) continue;
      const current = index(now.getTime());
      const seen = new Set<number>();
      // Newest first: the first backup met in a period is that period's newest.
      for (const m of dated) {
        const period = Math.min(index(timeOf(m)), current);
        if (current - period >= count || seen.has(period)) continue;
        seen.add(period);
        keepFor(m, reason);
      }
    }
    if (dated[0] && reasons.get(dated[0].id)!.length === 0) keepFor(dated[0], 'newest');
  } else {
    for (const m of dated) keepFor(m, 'last');
  }

  const ordered = [...undated, ...dated.slice().reverse()];
  return {
    keep: ordered.filter((m) => reasons.get(m.id)!.length > 0).map((manifest) => ({ manifest, reasons: reasons.get(manifest.id)! })),
    // Oldest first, so a deletion interrupted halfway has removed the least valuable backups.
    delete: dated.filter((m) => reasons.get(m.id)!.length === 0).reverse(),
  };
}

/** The backups `policy` no longer keeps, oldest first; never all of them, never an undated one. */
export function selectBackupsToDelete(manifests: BackupManifest[], policy: RetentionPolicy, now: Date): BackupManifest[] {
  return planRetention(manifests, policy, now).delete;
}
