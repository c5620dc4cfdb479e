// The body of the progress subscriptions: a view re-read until its run ends, yielded on change.
import { isFinalStatus, type CopyStatus } from '../workflows/copy/contracts.ts';
import type { SubscriptionLease } from './limits/subscriptions.ts';

/** How long a new subscription polls fast. */
const FAST_POLL_FOR_MS = 5000;

/** Waits `ms`, or less when one of `signals` aborts first. */
function pause(ms: number, signals: Array<AbortSignal | undefined>): Promise<void> {
  return new Promise((resolve) => {
    const live = signals.filter((s): s is AbortSignal => s !== undefined);
    const done = () => {
      clearTimeout(timer);
      for (const s of live) s.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    for (const s of live) s.addEventListener('abort', done, { once: true });
  });
}

/**
 * The body of a `progress` subscription (copies, pulls): polls `get`, yields the view whenever its
 * status, phase or progress changes, and ends after a final status, on abort, or when `lease` (the
 * caller's place among its open subscriptions) has lasted its maximum duration; the lease is
 * released however it ends. The first seconds are polled every 200 ms, later every 500 ms: a run of
 * a second or two (a small pull) still shows its phases instead of jumping from its first one to
 * done, and a long run costs no more reads.
 */
export async function* streamChanges<V extends { status: CopyStatus; phase: string | null; progress: number }>(
  get: () => Promise<V>,
  signal: AbortSignal | undefined,
  lease?: SubscriptionLease,
): AsyncGenerator<V> {
  let last = '';
  const started = Date.now();
  try {
    while (!signal?.aborted && !lease?.expired.aborted) {
      const view = await get();
      const key = `${view.status}|${view.phase}|${view.progress}`;
      if (key !== last) {
        last = key;
        yield view;
      }
      if (isFinalStatus(view.status)) return;
      await pause(Date.now() - started < FAST_POLL_FOR_MS ? 200 : 500, [signal, lease?.expired]);
    }
  } finally {
    lease?.release();
  }
}
