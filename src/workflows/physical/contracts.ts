// Physical backup contracts (mariabackup / xtrabackup) shared by the API, the activities and the
// workflows (zod-free: workflows import it).
import type { BackupCompression, BackupStatus, RetentionPolicy } from '../backup/contracts.ts';
import type { DatabaseRef } from '../copy/contracts.ts';

export type PhysicalKind = 'physical-full' | 'physical-incremental';
export type PhysicalTool = 'mariabackup' | 'xtrabackup';

/** The binary log position a physical backup corresponds to (absent when the server has no binlog). */
export interface BinlogPosition {
  file: string;
  position: number;
  gtid: string | null;
}

/**
 * The manifest of one piece of a physical chain (`<object key>.manifest.json`). A full backup starts
 * a chain (its id is the chain id); an incremental names its parent and covers parent.toLsn → toLsn.
 */
export interface PhysicalBackupManifest {
  manifestVersion: 1;
  id: string;
  kind: PhysicalKind;
  /** The server the backup is of: a physical backup always holds every database. */
  source: { connection: string };
  target: string;
  key: string;
  format: 'xbstream';
  compression: BackupCompression;
  /** Stored (compressed) bytes and their sha256. */
  size: number;
  sha256: string;
  /** Uncompressed xbstream bytes: what a restore needs on disk for this piece, at least. */
  streamBytes: number;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  tool: { name: PhysicalTool; version: string };
  server: { version: string; flavor: 'mariadb' | 'mysql' };
  /** The full backup this chain starts from (its own id for a full). */
  chainId: string;
  /** The piece this incremental applies on top of; null for a full. */
  parentId: string | null;
  /** From xtrabackup_checkpoints; LSNs are decimal strings (they outgrow 2^53). */
  fromLsn: string;
  toLsn: string;
  binlog: BinlogPosition | null;
  scheduleId: string | null;
}

/** The physicalBackup workflow's input: names only, never credentials. */
export interface PhysicalBackupWorkflowInput {
  /** '' means "this run's id" (a Temporal Schedule starts every run with the same arguments). */
  backupId: string;
  connection: string;
  target: string;
  kind: PhysicalKind;
  compression: BackupCompression;
  /** mariabackup --parallel. */
  threads: number;
  /** The incremental's parent; null = the newest physical backup of this connection in the target. */
  parentId: string | null;
  requestedBy: string;
  callbackUrl: string | null;
  scheduleId: string | null;
  retention: RetentionPolicy | null;
}

export type PhysicalBackupPhase =
  'queued' | 'validating' | 'streaming' | 'writing-manifest' | 'applying-retention' | 'cleaning-up' | 'done';

export interface PhysicalBackupState {
  id: string;
  kind: PhysicalKind;
  status: BackupStatus;
  phase: PhysicalBackupPhase;
  progress: number;
  startedAt: string | null;
  finishedAt: string | null;
  lastError: string | null;
  updatedAt: string | null;
  target: string;
  key: string | null;
  size: number | null;
  sha256: string | null;
  chainId: string | null;
  parentId: string | null;
  fromLsn: string | null;
  toLsn: string | null;
  retention: { deleted: string[]; error: string | null } | null;
}

/** One physical backup per server at a time: two would fight over the same redo log and locks. */
export const physicalBackupWorkflowId = (connection: string): string => `physical-backup:${connection}`;

/** `physical-{connection}/{Y-m-d_H-i-s}_{full|incr}_{id8}.xbstream.{gz|zst}`; `-` keeps it apart from database folders. */
export function physicalObjectKey(
  connection: string,
  kind: PhysicalKind,
  id: string,
  timestamp: string,
  compression: BackupCompression,
): string {
  const label = kind === 'physical-full' ? 'full' : 'incr';
  return `physical-${connection}/${timestamp}_${label}_${id.slice(0, 8)}.xbstream${compression === 'gzip' ? '.gz' : '.zst'}`;
}

/** Where a chain restore delivers: a prepared datadir at a path, or one database copied into a connection. */
export type ChainDelivery =
  { kind: 'folder'; path: string } | { kind: 'database'; database: string; destination: DatabaseRef; recreateDestination: boolean };

/** The restoreChain workflow's input. Exactly one of backupId / before picks the last piece. */
export interface RestoreChainWorkflowInput {
  restoreId: string;
  target: string;
  /** Restore up to this piece (a full or an incremental). */
  backupId: string | null;
  /** Or: the newest piece of `connection` started at or before this ISO time. */
  before: string | null;
  connection: string | null;
  deliver: ChainDelivery;
  threads: number;
  requestedBy: string;
  callbackUrl: string | null;
}

export type RestoreChainPhase =
  'queued' | 'resolving' | 'downloading' | 'preparing' | 'applying' | 'delivering' | 'verifying' | 'cleaning-up' | 'done';

export interface RestoreChainStep {
  /** `download:<id>`, `prepare:<id>`, `apply:<id>`, `deliver`. */
  name: string;
  status: 'pending' | 'running' | 'done';
}

export interface RestoreChainState {
  id: string;
  status: BackupStatus;
  phase: RestoreChainPhase;
  progress: number;
  startedAt: string | null;
  finishedAt: string | null;
  lastError: string | null;
  updatedAt: string | null;
  /** The pieces, base first, once resolved. */
  chain: string[];
  steps: RestoreChainStep[];
  /** Where the result went: the folder, or `connection/database`. */
  deliveredTo: string | null;
  tables: Array<{ table: string; sourceRows: number; destinationRows: number }>;
}

/** A database delivery takes the destination's copy lock; a folder delivery locks its path. */
export function restoreChainWorkflowId(deliver: ChainDelivery): string {
  return deliver.kind === 'database'
    ? `copy:${deliver.destination.connection}/${deliver.destination.database}`
    : `restore-chain:folder:${deliver.path}`;
}
