// The body of the progress subscriptions: a view re-read until its run ends, yielded on change.
import { isFinalStatus, type CopyStatus } from '../workflows/copy/contracts.ts';

/** How long a new subscription polls fast. */
const FAST_POLL_FOR_MS = 5000;

/**
 * The body of a `progress` subscription (copies, pulls): polls `get`, yields the view whenever its
 * status, phase or progress changes, and ends after a final status or on abort. The first seconds
 * are polled every 200 ms, later every 500 ms: a run of a second or two (a small pull) still shows
 * its phases instead of jumping from its first one to done, and a long run costs no more reads.
 */
export async function* streamChanges<V extends { status: CopyStatus; phase: string | null; progress: number }>(
  get: () => Promise<V>,
  signal: AbortSignal | undefined,
): AsyncGenerator<V> {
  let last = '';
  const started = Date.now();
  while (!signal?.aborted) {
    const view = await get();
    const key = `${view.status}|${view.phase}|${view.progress}`;
    if (key !== last) {
      last = key;
      yield view;
    }
    if (isFinalStatus(view.status)) return;
    await new Promise((resolve) => setTimeout(resolve, Date.now() - started < FAST_POLL_FOR_MS ? 200 : 500));
  }
}
