import { upsertMemo } from '@temporalio/workflow';

interface RunStateFields {
  phase: string;
  progress: number;
  updatedAt: string | null;
}

/**
 * The live state of a run (copy, backup, restore): every change is mirrored into the workflow memo
 * under `state`, where the API reads it without a worker, and progress only ever grows.
 */
export function trackRunState<S extends RunStateFields>(state: S) {
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
