// Where the kit changed what a run does, behind Temporal patches: a run that started before the
// change replays exactly as it ran, and runs started since get the new behaviour. Each is asked
// once per run, at the one point where the old and new code part ways (a missing marker during
// replay answers false but is not final in the SDK, so callers keep the first answer).
import { patched } from '@temporalio/workflow';

/** A tool's error (EPIPE) after a cancel ends the run cancelled for every job, not only the physical ones. */
export const toolErrorAfterCancelIsCancel = (): boolean => patched('tool-error-after-cancel-is-cancel');

/** A cleanup that fails still publishes the final status (failed, saying what was left) and the webhook. */
export const cleanupFailureIsReported = (): boolean => patched('cleanup-failure-is-reported');

/** A run checks its user's permissions (the authorizeRun activity) before its work starts. */
export const runsAreAuthorized = (): boolean => patched('runs-are-authorized');

/** The chain restore's load is a step with its own progress range, and a step that fails is pending again. */
export const chainStepsRevised = (): boolean => patched('restore-chain-steps-revised');

/** A pull's workspace database carries the whole pull id in its name (12 characters of it before), for the orphan sweep. */
export const pullWorkspaceHasWholeId = (): boolean => patched('pull-workspace-whole-id');
