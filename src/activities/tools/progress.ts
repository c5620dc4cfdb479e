// A tool's progress inside one phase of a run: a heartbeat with every report, and throttled
// `runProgress` signals to the run that called the activity.
import { Context } from '@temporalio/activity';
import { runProgressSignal, type ProgressReport } from '../../workflows/runs/messages.ts';
import { whileHeartbeating } from './heartbeat.ts';

// Each progress signal is a workflow task and a history event: at most one per whole percent and
// one every 2 s, so a short run is not slowed and a long one keeps a small history.
const SIGNAL_INTERVAL_MS = 2000;

export interface ProgressReporter {
  /** Reports `fraction` of the phase done (clamped to 0…1). */
  (fraction: number): void;
  /**
   * Runs `fn` while sampling `fraction` every heartbeat; a sample that is a promise (a directory
   * size) is reported at the beat after it resolves.
   */
  whileSampling<T>(fn: () => Promise<T>, fraction: () => number | Promise<number>): Promise<T>;
}

/**
 * Heartbeats every report and forwards throttled progress to the calling workflow as
 * `runProgress`, with the phase the workflow uses to place the fraction in its own progress budget.
 */
export function progressReporter(phase: string): ProgressReporter {
  const ctx = Context.current();
  const execution = ctx.info.workflowExecution;
  const handle = execution ? ctx.client.workflow.getHandle(execution.workflowId, execution.runId) : null;
  let lastPercent = -1;
  let lastSignalAt = 0;
  let current = 0;
  const clamp = (fraction: number): number => Math.max(0, Math.min(1, fraction));
  // Records the fraction and signals it when due; returns the heartbeat's details.
  const note = (fraction: number): ProgressReport => {
    current = clamp(fraction);
    const percent = Math.floor(current * 100);
    if (percent > lastPercent && Date.now() - lastSignalAt >= SIGNAL_INTERVAL_MS) {
      lastPercent = percent;
      lastSignalAt = Date.now();
      handle?.signal(runProgressSignal, { phase, fraction: current }).catch(() => undefined);
    }
    return { phase, fraction: current };
  };
  const report = ((fraction: number) => ctx.heartbeat(note(fraction))) as ProgressReporter;
  report.whileSampling = (fn, fraction) =>
    whileHeartbeating(fn, () => {
      const sample = fraction();
      if (typeof sample === 'number') return note(sample);
      void sample.then(
        (f) => (current = clamp(f)),
        () => undefined,
      );
      return note(current);
    });
  return report;
}
