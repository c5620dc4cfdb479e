// The body of the progress subscriptions: a view re-read until its run ends, yielded on change.
import { isFinalStatus, type CopyStatus } from '../workflows/copy/contracts.ts';

/**
 * The body of a `progress` subscription (copies, pulls): polls `get` every 500 ms, yields the view
 * whenever its status, phase or progress changes, and ends after a final status or on abort.
 */
export async function* streamChanges<V extends { status: CopyStatus; phase: string | null; progress: number }>(
  get: () => Promise<V>,
  signal: AbortSignal | undefined,
): AsyncGenerator<V> {
  let last = '';
  while (!signal?.aborted) {
    const view = await get();
    const key = `${view.status}|${view.phase}|${view.progress}`;
    if (key !== last) {
      last = key;
      yield view;
    }
    if (isFinalStatus(view.status)) return;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}
