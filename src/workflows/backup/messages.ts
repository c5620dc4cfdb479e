import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { BackupState, RestoreState } from './contracts.ts';

/** What the tool activities report as they advance: the phase they are in and a fraction 0–1 of it. */
export interface ProgressReport {
  phase: string;
  fraction: number;
}

/** The backup's live state; the same object is mirrored into the workflow memo under `state`. */
export const getBackupStatusQuery = defineQuery<BackupState>('getBackupStatus');
/** Asks a running backup to stop: the tools are killed, the upload aborted, nothing is left in the target. */
export const cancelBackupSignal = defineSignal<[reason?: string]>('cancelBackup');
/** Sent by the dump and upload activity as it advances. */
export const backupProgressSignal = defineSignal<[report: ProgressReport]>('backupProgress');

/** The restore's live state; the same object is mirrored into the workflow memo under `state`. */
export const getRestoreStatusQuery = defineQuery<RestoreState>('getRestoreStatus');
/** Asks a running restore to stop: the load is killed and the destination dropped (or put back empty). */
export const cancelRestoreSignal = defineSignal<[reason?: string]>('cancelRestore');
/** Sent by the checksum and load activities as they advance. */
export const restoreProgressSignal = defineSignal<[report: ProgressReport]>('restoreProgress');
