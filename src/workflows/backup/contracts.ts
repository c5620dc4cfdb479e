// Backup contracts shared by the API, the activities and the workflows (zod-free: workflows import it).
import type { DatabaseRef } from '../copy/contracts.ts';

export type BackupFormat = 'mydumper' | 'mysqldump';
export type BackupCompression = 'gzip' | 'zstd';
export type BackupStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';

/** Which backups to keep after each successful one; a backup kept by any rule stays. */
export interface RetentionPolicy {
  keepLast?: number;
  keepDaily?: number;
  keepWeekly?: number;
  keepMonthly?: number;
}

/** The backupDatabase workflow's input: names only, never credentials. */
export interface BackupWorkflowInput {
  /** The backup's id; '' means "this run's id" (a Temporal Schedule starts every run with the same arguments). */
  backupId: string;
  source: DatabaseRef;
  /** A target name from the config file. */
  target: string;
  format: BackupFormat;
  compression: BackupCompression;
  threads: number;
  requestedBy: string;
  callbackUrl: string | null;
  /** Set when a Temporal Schedule started it; retention then applies to that schedule's backups. */
  scheduleId: string | null;
  retention: RetentionPolicy | null;
}

/** The JSON document stored beside every backup (`<object key>.manifest.json`): the catalog's source of truth. */
export interface BackupManifest {
  manifestVersion: 1;
  id: string;
  kind: 'logical';
  source: DatabaseRef;
  target: string;
  /** Object key of the backup, relative to the target. */
  key: string;
  format: BackupFormat;
  compression: BackupCompression;
  size: number;
  sha256: string;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  tool: { name: string; version: string };
  server: { version: string };
  /** Rows per base table, counted in the dump itself (the consistent snapshot); restores verify against them. */
  tables: Array<{ table: string; rows: number }>;
  scheduleId: string | null;
  /** The source database's default character set and collation, so a restore creates the same database. */
  database?: { charset: string; collation: string };
}

export const MANIFEST_SUFFIX = '.manifest.json';

/** The workflow id is the source: one backup of a database at a time. */
export const backupWorkflowId = (source: DatabaseRef): string => `backup:${source.connection}/${source.database}`;

/** Where a backup run is; `streaming` is the dump, compression and upload, which run together. */
export type BackupPhase =
  'queued' | 'validating' | 'dumping' | 'streaming' | 'writing-manifest' | 'applying-retention' | 'cleaning-up' | 'done';

/** The live state of a backup: kept in the workflow, exposed by query and mirrored in its memo under `state`. */
export interface BackupState {
  id: string;
  status: BackupStatus;
  phase: BackupPhase;
  progress: number;
  startedAt: string | null;
  finishedAt: string | null;
  lastError: string | null;
  updatedAt: string | null;
  target: string;
  /** Object key of the backup inside the target, known once the run has started. */
  key: string | null;
  size: number | null;
  sha256: string | null;
  /** What retention deleted after this backup (object keys), or why it could not run; the backup stands either way. */
  retention: { deleted: string[]; error: string | null } | null;
}

/** Progress budget of a backup's phases: mydumper dumps (1–50) then uploads (50–97); mysqldump does both at once (1–97). */
export function backupProgressRange(format: BackupFormat, phase: 'dumping' | 'streaming'): [number, number] {
  if (format === 'mysqldump') return [1, 97];
  return phase === 'dumping' ? [1, 50] : [50, 97];
}

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

/** `Y-m-d_H-i-s` in UTC, as seed 001 names its backup files. */
export function backupTimestamp(at: Date): string {
  return `${at.getUTCFullYear()}-${pad(at.getUTCMonth() + 1)}-${pad(at.getUTCDate())}_${pad(at.getUTCHours())}-${pad(at.getUTCMinutes())}-${pad(at.getUTCSeconds())}`;
}

/** The file name extension of a backup: `.sql.gz` (seed 001), `.sql.zst`, `.mydumper.tar.zst`, `.mydumper.tar.gz`. */
export function backupExtension(format: BackupFormat, compression: BackupCompression): string {
  return `${format === 'mysqldump' ? '.sql' : '.mydumper.tar'}${compression === 'gzip' ? '.gz' : '.zst'}`;
}

/**
 * `{database}/{Y-m-d_H-i-s}{extension}`, relative to the target's prefix (seed 001's naming). A
 * `suffix` (`{database}/{Y-m-d_H-i-s}-{suffix}{extension}`) is for a second backup in the same second.
 */
export function backupObjectKey(database: string, format: BackupFormat, compression: BackupCompression, at: Date, suffix?: string): string {
  return `${database}/${backupTimestamp(at)}${suffix ? `-${suffix}` : ''}${backupExtension(format, compression)}`;
}

/** The manifest's key beside a backup object. */
export const manifestKeyFor = (key: string): string => `${key}${MANIFEST_SUFFIX}`;

/** The restoreBackup workflow's input: names only, never credentials. Its workflow id is `copyWorkflowId(destination)`. */
export interface RestoreWorkflowInput {
  restoreId: string;
  /** A target name from the config file. */
  target: string;
  /** Object key of the backup inside the target (the manifest is `<key>.manifest.json`). */
  key: string;
  destination: DatabaseRef;
  /** A destination that already has tables is refused unless this is set; it is then dropped and recreated. */
  recreateDestination: boolean;
  /** myloader threads, for mydumper backups. */
  threads: number;
  requestedBy: string;
  callbackUrl: string | null;
}

export type RestorePhase = 'queued' | 'validating' | 'verifying-checksum' | 'loading' | 'verifying' | 'cleaning-up' | 'done';

/** The live state of a restore: kept in the workflow, exposed by query and mirrored in its memo under `state`. */
export interface RestoreState {
  id: string;
  status: BackupStatus;
  phase: RestorePhase;
  progress: number;
  startedAt: string | null;
  finishedAt: string | null;
  lastError: string | null;
  updatedAt: string | null;
  /** The backup being restored, once its manifest has been read. */
  backupId: string | null;
  tables: Array<{ table: string; sourceRows: number; destinationRows: number }>;
}

/** Progress budget per phase of a restore: checksum pass 1–20, load 20–95, verify 95–99. */
export const restorePhaseRange: Record<'verifying-checksum' | 'loading' | 'verifying', [number, number]> = {
  'verifying-checksum': [1, 20],
  loading: [20, 95],
  verifying: [95, 99],
};
