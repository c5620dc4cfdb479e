// The one progress signal of every job, and the per-job names it replaced (still handled).
import { defineSignal } from '@temporalio/workflow';

/** A tool's progress inside one phase (or named step) of a run: `fraction` of it is done. */
export interface ProgressReport {
  phase: string;
  fraction: number;
}

/** The one progress signal every job's activities send to the run that called them. */
export const runProgressSignal = defineSignal<[report: ProgressReport]>('runProgress');

/**
 * The per-job progress signals that workers before the one-signal change sent. Runs started then
 * have them in their histories, and an old worker may still send them during a rolling deploy:
 * workflows handle them exactly like `runProgress`.
 */
export const legacyProgressSignalNames = ['copyProgress', 'backupProgress', 'restoreProgress', 'physicalProgress'] as const;
