import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { CopyState } from './contracts.ts';

/** The copy's live state; the same object is mirrored into the workflow memo under `state`. */
export const getCopyStatusQuery = defineQuery<CopyState>('getCopyStatus');

/** Asks a running copy to stop: tools are killed, what it created is dropped, it ends `cancelled`. */
export const cancelCopySignal = defineSignal<[reason?: string]>('cancelCopy');

/** Sent by the dump and load activities as they advance (fraction 0–1 of the current phase). */
export const copyProgressSignal = defineSignal<[report: { phase: 'dumping' | 'loading'; fraction: number }]>('copyProgress');
