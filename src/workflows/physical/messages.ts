import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { ProgressReport } from '../backup/messages.ts';
import type { PhysicalBackupState, RestoreChainState } from './contracts.ts';

/** The physical backup's live state; mirrored into the workflow memo under `state`. */
export const getPhysicalBackupStatusQuery = defineQuery<PhysicalBackupState>('getPhysicalBackupStatus');
export const cancelPhysicalBackupSignal = defineSignal<[reason?: string]>('cancelPhysicalBackup');
/** Sent by the physical backup and chain restore activities as they advance. */
export const physicalProgressSignal = defineSignal<[report: ProgressReport]>('physicalProgress');

/** The chain restore's live state; mirrored into the workflow memo under `state`. */
export const getRestoreChainStatusQuery = defineQuery<RestoreChainState>('getRestoreChainStatus');
export const cancelRestoreChainSignal = defineSignal<[reason?: string]>('cancelRestoreChain');
