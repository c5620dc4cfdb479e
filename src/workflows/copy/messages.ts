// The query and signal of copies (progress arrives as the one `runProgress`, runs/messages.ts).
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { CopyState } from './contracts.ts';

/** The copy's live state; the same object is mirrored into the workflow memo under `state`. */
export const getCopyStatusQuery = defineQuery<CopyState>('getCopyStatus');

/** Asks a running copy to stop: tools are killed, what it created is dropped, it ends `cancelled`. */
export const cancelCopySignal = defineSignal<[reason?: string]>('cancelCopy');
