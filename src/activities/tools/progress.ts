import { Context } from '@temporalio/activity';
import type { SignalDefinition } from '@temporalio/common';

// Each progress signal is a workflow task and a history event: at most one per whole percent and
// one every 2 s, so a short run is not slowed and a long one keeps a small history.
const SIGNAL_INTERVAL_MS = 2000;

/** How often the tools' activities sample their progress (and so heartbeat). */
export const PROGRESS_INTERVAL_MS = 1000;

/**
 * Heartbeats every report and forwards throttled progress to the calling workflow as `signal`,
 * with the phase the workflow uses to place the fraction in its own progress budget.
 */
export function progressReporter<P extends string>(signal: SignalDefinition<[{ phase: P; fraction: number }]>, phase: P) {
  const ctx = Context.current();
  const execution = ctx.info.workflowExecution;
  const handle = execution ? ctx.client.workflow.getHandle(execution.workflowId, execution.runId) : null;
  let lastPercent = -1;
  let lastSignalAt = 0;
  return (fraction: number): void => {
    const clamped = Math.max(0, Math.min(1, fraction));
    ctx.heartbeat({ phase, fraction: clamped });
    const percent = Math.floor(clamped * 100);
    if (percent <= lastPercent || Date.now() - lastSignalAt < SIGNAL_INTERVAL_MS) return;
    lastPercent = percent;
    lastSignalAt = Date.now();
    handle?.signal(signal, { phase, fraction: clamped }).catch(() => undefined);
  };
}
