// Reading Temporal failure chains: the activity's own words and the ApplicationFailure type at the root.
import { ActivityFailure, ApplicationFailure, ChildWorkflowFailure, TemporalFailure } from '@temporalio/workflow';

/** The most specific message in a failure chain: the activity's own words, not "Activity task failed". */
export function describeFailure(error: unknown): string {
  let current: unknown = error;
  let message = error instanceof Error ? error.message : String(error);
  while (current instanceof TemporalFailure) {
    if (!(current instanceof ActivityFailure) && !(current instanceof ChildWorkflowFailure)) message = current.message;
    current = current.cause;
  }
  if (current instanceof Error && current.message) message = current.message;
  return message;
}

/** The ApplicationFailure type at the root of a failure chain, if any. */
export function failureType(error: unknown): string | null {
  let current: unknown = error;
  while (current instanceof TemporalFailure) {
    if (current instanceof ApplicationFailure) return current.type ?? null;
    current = current.cause;
  }
  return null;
}
