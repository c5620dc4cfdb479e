// The live state of a run, mirrored into its memo, where the API reads it without a worker.
import { upsertMemo } from '@temporalio/workflow';

export type RunStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';
/** How a run ended. */
export type RunOutcome = 'succeeded' | 'failed' | 'cancelled';

/** The fields every job's state has; each job adds its own. */
export interface RunState {
  id: string;
  status: RunStatus;
  phase: string;
  progress: number;
  startedAt: string | null;
  finishedAt: string | null;
  lastError: string | null;
  updatedAt: string | null;
}

/**
 * Every change of a run's state is mirrored into the workflow memo under `state`, and progress
 * only ever grows.
 */
export function trackRunState<S extends Pick<RunState, 'phase' | 'progress' | 'updatedAt'>>(state: S) {
  const publish = (): void => {
    state.updatedAt = new Date().toISOString();
    upsertMemo({ state: { ...state } });
  };
  return {
    publish,
    /** Enters a phase, raising progress to the phase's start when given. */
    setPhase(phase: S['phase'], progress?: number): void {
      state.phase = phase;
      if (progress !== undefined && progress > state.progress) state.progress = progress;
      publish();
    },
    /** Moves progress to `fraction` of a phase's range; a report that would go backwards is ignored. */
    advance([low, high]: readonly [number, number], fraction: number): void {
      const progress = Math.min(high, Math.floor(low + (high - low) * fraction));
      if (progress > state.progress) {
        state.progress = progress;
        publish();
      }
    },
  };
}
