// The queries and signals of backups and restores (progress arrives as the one `runProgress`, runs/messages.ts).
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { BackupState, RestoreState } from './contracts.ts';

/** The backup's live state; the same object is mirrored into the workflow memo under `state`. */
export const getBackupStatusQuery = defineQuery<BackupState>('getBackupStatus');
/** Asks a running backup to stop: the tools are killed, the upload aborted, nothing is left in the target. */
export const cancelBackupSignal = defineSignal<[reason?: string]>('cancelBackup');

/** The restore's live state; the same object is mirrored into the workflow memo under `state`. */
export const getRestoreStatusQuery = defineQuery<RestoreState>('getRestoreStatus');
/** Asks a running restore to stop: the load is killed and the destination dropped (or put back empty). */
export const cancelRestoreSignal = defineSignal<[reason?: string]>('cancelRestore');
