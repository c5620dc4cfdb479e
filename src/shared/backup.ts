// Backup contracts shared by the API, the activities and the workflows (zod-free: workflows import it).
import type { DatabaseRef } from './copy.ts';

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
  tables: Array<{ table: string; rows: number }>;
  scheduleId: string | null;
}

export const MANIFEST_SUFFIX = '.manifest.json';

/** The workflow id is the source: one backup of a database at a time. */
export const backupWorkflowId = (source: DatabaseRef): string => `backup:${source.connection}/${source.database}`;
