// The query and signal of sanitized pulls (a pull reports no tool progress: its phases move the bar).
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { PullState } from './contracts.ts';

/** The pull's live state; the same object is mirrored into the workflow memo under `state`. */
export const getPullStatusQuery = defineQuery<PullState>('getPullStatus');

/** Asks a running pull to stop: tools are killed, the workspace dropped, it ends `cancelled`. */
export const cancelPullSignal = defineSignal<[reason?: string]>('cancelPull');
