// Removing the object a failed or cancelled backup (logical or physical) stored in its target.
import { describeFailure } from '../runs/failures.ts';
import type { RunOutcome, RunState } from '../runs/run-state.ts';

/**
 * Discards a stored backup object; a removal that fails is said in the final state rather than
 * leaving the run stuck in cleanup. The state then no longer names a size or checksum.
 */
export async function discardStoredBackup(
  state: RunState & { size: number | null; sha256: string | null },
  outcome: RunOutcome,
  key: string,
  discard: () => Promise<unknown>,
): Promise<void> {
  try {
    await discard();
  } catch (error) {
    state.lastError = `${state.lastError ?? outcome}; and removing ${key} from the target failed: ${describeFailure(error)}`;
  }
  state.size = state.sha256 = null;
}
