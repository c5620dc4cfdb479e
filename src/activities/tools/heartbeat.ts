// The one heartbeat helper: long activities prove their worker is alive (and so hear a cancel) every second.
import { Context } from '@temporalio/activity';

/** How often long activities heartbeat (and sample their progress). */
export const HEARTBEAT_INTERVAL_MS = 1000;

/**
 * Heartbeats now and every `intervalMs` until `stop()` is called, so a step that waits on SQL or a
 * tool without progress of its own still proves its worker is alive. `details` is read each beat.
 */
export function keepHeartbeating(details?: () => unknown, intervalMs = HEARTBEAT_INTERVAL_MS): { stop(): void } {
  const ctx = Context.current();
  const beat = (): void => ctx.heartbeat(details?.());
  beat();
  const timer = setInterval(beat, intervalMs);
  return { stop: () => clearInterval(timer) };
}

/** Runs `fn` while heartbeating every `intervalMs`. */
export async function whileHeartbeating<T>(fn: () => Promise<T>, details?: () => unknown, intervalMs = HEARTBEAT_INTERVAL_MS): Promise<T> {
  const beating = keepHeartbeating(details, intervalMs);
  try {
    return await fn();
  } finally {
    beating.stop();
  }
}
