// The queries and signals of physical backups and chain restores (progress arrives as the one `runProgress`, runs/messages.ts).
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { PhysicalBackupState, RestoreChainState } from './contracts.ts';

/** The physical backup's live state; mirrored into the workflow memo under `state`. */
export const getPhysicalBackupStatusQuery = defineQuery<PhysicalBackupState>('getPhysicalBackupStatus');
/** Asks a running physical backup to stop: the tool is killed, the upload aborted, nothing is left in the target. */
export const cancelPhysicalBackupSignal = defineSignal<[reason?: string]>('cancelPhysicalBackup');

/** The chain restore's live state; mirrored into the workflow memo under `state`. */
export const getRestoreChainStatusQuery = defineQuery<RestoreChainState>('getRestoreChainStatus');
/** Asks a running chain restore to stop: tools and any temporary server are stopped, the scratch removed. */
export const cancelRestoreChainSignal = defineSignal<[reason?: string]>('cancelRestoreChain');
