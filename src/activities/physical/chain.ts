// Chains of physical backups: which pieces a restore needs, whether they join up, and which ones a
// kept incremental still depends on. Pure: the catalog lists manifests, this decides.
import { planRetention } from '../catalog/retention.ts';
import type { RetentionPolicy } from '../../workflows/backup/contracts.ts';
import type { PhysicalBackupManifest } from '../../workflows/physical/contracts.ts';

/** Why a chain cannot be restored; `type` becomes the non-retryable failure's type. */
export class ChainError extends Error {
  override name = 'ChainError';
  constructor(
    message: string,
    readonly type: 'BackupNotFound' | 'ChainBroken',
  ) {
    super(message);
  }
}

export type ChainPick = { backupId: string } | { connection: string; before: Date };

/** The newest piece (by start time, then id) that `pick` names. */
function pickLast(manifests: readonly PhysicalBackupManifest[], pick: ChainPick): PhysicalBackupManifest {
  if ('backupId' in pick) {
    const found = manifests.find((m) => m.id === pick.backupId);
    if (!found) throw new ChainError(`no physical backup with id ${pick.backupId} in the target`, 'BackupNotFound');
    return found;
  }
  const candidates = manifests
    .filter((m) => m.source.connection === pick.connection && Date.parse(m.startedAt) <= pick.before.getTime())
    .sort((a, b) => Date.parse(b.startedAt) - Date.parse(a.startedAt) || (a.id < b.id ? 1 : -1));
  if (!candidates[0])
    throw new ChainError(`no physical backup of ${pick.connection} started at or before ${pick.before.toISOString()}`, 'BackupNotFound');
  return candidates[0];
}

/**
 * The pieces a restore up to `pick` needs, base first, by following parent ids. A missing piece
 * is refused here, before anything is downloaded.
 */
export function resolveChain(manifests: readonly PhysicalBackupManifest[], pick: ChainPick): PhysicalBackupManifest[] {
  const byId = new Map(manifests.map((m) => [m.id, m]));
  const chain = [pickLast(manifests, pick)];
  while (chain[0]!.parentId !== null) {
    const child = chain[0]!;
    const parent = byId.get(child.parentId!);
    if (!parent) {
      throw new ChainError(
        `chain ${child.chainId} is broken: ${child.id} needs ${child.parentId}, which is not in the target (deleted or never finished)`,
        'ChainBroken',
      );
    }
    if (chain.includes(parent)) throw new ChainError(`chain ${child.chainId} loops at ${parent.id}`, 'ChainBroken');
    chain.unshift(parent);
  }
  const problems = continuityProblems(chain);
  if (problems.length) throw new ChainError(`chain ${chain[0]!.chainId} cannot be restored: ${problems.join('; ')}`, 'ChainBroken');
  return chain;
}

/**
 * Everything that makes a chain unrestorable: a base that is not a full, a piece that names
 * another parent or chain, an LSN gap or overlap (each incremental must start exactly at its
 * parent's to_lsn), pieces of different servers or tools.
 */
export function continuityProblems(chain: readonly PhysicalBackupManifest[]): string[] {
  const problems: string[] = [];
  const [base, ...increments] = chain;
  if (!base) return ['the chain is empty'];
  if (base.kind !== 'physical-full' || base.parentId !== null) problems.push(`${base.id} is the first piece but not a full backup`);
  let previous = base;
  for (const piece of increments) {
    if (piece.kind !== 'physical-incremental') problems.push(`${piece.id} follows ${previous.id} but is not an incremental`);
    if (piece.parentId !== previous.id) problems.push(`${piece.id} names parent ${piece.parentId} but follows ${previous.id}`);
    if (piece.chainId !== base.chainId) problems.push(`${piece.id} belongs to chain ${piece.chainId}, not ${base.chainId}`);
    if (piece.fromLsn !== previous.toLsn)
      problems.push(`LSN gap: ${piece.id} starts at ${piece.fromLsn} but ${previous.id} ends at ${previous.toLsn}`);
    if (BigInt(piece.toLsn) < BigInt(piece.fromLsn))
      problems.push(`${piece.id} ends (LSN ${piece.toLsn}) before it starts (${piece.fromLsn})`);
    if (piece.source.connection !== base.source.connection)
      problems.push(`${piece.id} is of ${piece.source.connection}, the base of ${base.source.connection}`);
    if (piece.tool.name !== base.tool.name) problems.push(`${piece.id} was taken with ${piece.tool.name}, the base with ${base.tool.name}`);
    previous = piece;
  }
  return problems;
}

/** `kept` plus every piece a kept piece is built on (its ancestors up to the full). */
export function withAncestors(manifests: readonly PhysicalBackupManifest[], kept: Iterable<string>): Set<string> {
  const byId = new Map(manifests.map((m) => [m.id, m]));
  const closed = new Set<string>();
  for (let id of kept) {
    while (!closed.has(id)) {
      closed.add(id);
      const parent = byId.get(id)?.parentId;
      if (!parent) break;
      id = parent;
    }
  }
  return closed;
}

/**
 * The pieces a retention policy lets go, oldest first: the policy picks pieces by date as for
 * logical backups, then every ancestor of a kept piece is kept too, so no kept incremental loses
 * the full or the incrementals it applies on.
 */
export function selectPhysicalBackupsToDelete(
  manifests: PhysicalBackupManifest[],
  policy: RetentionPolicy,
  now: Date,
  alwaysKeep: string[] = [],
): PhysicalBackupManifest[] {
  const plan = planRetention(manifests, policy, now);
  const kept = withAncestors(manifests, [...plan.keep.map((k) => k.manifest.id), ...alwaysKeep]);
  return plan.delete.filter((m) => !kept.has(m.id));
}
