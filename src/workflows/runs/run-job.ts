// The one run life-cycle every job follows (queued → running → succeeded | failed | cancelled),
// written once so that each workflow file keeps only what its job does.
import {
  ApplicationFailure,
  CancellationScope,
  proxyActivities,
  CancelledFailure,
  defineSignal,
  isCancellation,
  setHandler,
  sleep,
  type QueryDefinition,
  type SignalDefinition,
} from '@temporalio/workflow';
import { describeFailure } from './failures.ts';
import { legacyProgressSignalNames, runProgressSignal, type ProgressReport } from './messages.ts';
import { sendWebhook } from './notify.ts';
import { cleanupFailureIsReported, runsAreAuthorized, toolErrorAfterCancelIsCancel } from './patches.ts';
import { catalogActivity } from './activity-options.ts';
import type { Activities } from '../../activities/index.ts';
import type { AuthorizeRunInput } from '../../activities/access/authorize-run.ts';
import { trackRunState, type RunState, type RunOutcome, type RunStatus } from './run-state.ts';

const { authorizeRun } = proxyActivities<Activities>(catalogActivity);

export type Range = readonly [number, number];

/** What a job's own code may do to its run. */
export interface Run<S extends RunState> {
  readonly state: S;
  /** Enters a phase (published), raising progress to `progress`, or else to where the job says the phase starts. */
  enter(phase: S['phase'], progress?: number): void;
  /** Moves progress to `fraction` of `range`; never backwards. */
  advance(range: Range, fraction: number): void;
  /** A durable deadline: when it passes the work is cancelled, and the run fails with `message`. */
  cancelAfter(ms: number, message: string): void;
}

/** The fields every webhook carries, in the order receivers have always seen them. */
export interface WebhookBase {
  id: string;
  status: RunStatus;
  started_at: string | null;
  finished_at: string | null;
  error: string | null;
}

export interface Job<S extends RunState> {
  state: S;
  statusQuery: QueryDefinition<S>;
  cancelSignal: SignalDefinition<[reason?: string]>;
  /** The ApplicationFailure type of a failed run, which the API maps to its error codes. */
  failureType: 'CopyFailed' | 'BackupFailed' | 'RestoreFailed' | 'PullFailed';
  /** The phase the run enters when it starts running (and the `running` webhook is sent). */
  firstPhase: S['phase'];
  /** Where progress stands when a phase starts, for the phases that have a start. */
  phaseStart?: (phase: S['phase']) => number | undefined;
  /** The range a tool's progress report moves the bar in; undefined when the report no longer counts. */
  progressRange?: (reportPhase: string, state: S) => Range | undefined;
  /**
   * Runs of physicalBackup and restoreChain have always read a tool's error after a cancel as the
   * cancel; the other jobs do so from the kit on, behind a patch, so their closed runs replay as they ran.
   */
  toolErrorAfterCancelWasAlwaysCancel?: boolean;
  callbackUrl: string | null;
  /** The run's user and the resources its input names: checked by the worker before the work starts. */
  authorize?: AuthorizeRunInput;
  /** The webhook body: the base fields and the job's own. */
  webhookPayload?: (base: WebhookBase, state: S) => Record<string, unknown>;
  work(run: Run<S>): Promise<void>;
  /**
   * The retention policy, applied after a success and before cleanup (not cancellable). Its result,
   * or why it could not run, goes into `state.retention`; the run stands either way.
   */
  applyRetention?: S extends RetainedState ? () => Promise<{ deleted: string[] }> : never;
  /** Removes what the run made; runs whatever happened and cannot be cancelled. */
  cleanup(outcome: RunOutcome, run: Run<S>): Promise<void>;
  /** Adds to the message of a failed or cancelled run (what the destination may now hold). */
  explainFailure?(lastError: string): string;
}

/** The state of a job that applies a retention policy after each success. */
export type RetainedState = RunState & { retention: { deleted: string[]; error: string | null } | null };

/** A new run's state: queued, nothing done yet, with the job's own fields. */
export function newRunState<S extends RunState>(id: string, own: Omit<S, keyof RunState>): S {
  const base: RunState = {
    id,
    status: 'queued',
    phase: 'queued',
    progress: 0,
    startedAt: null,
    finishedAt: null,
    lastError: null,
    updatedAt: null,
  };
  return { ...base, ...own } as S;
}

/** Each phase starts at the bottom of its range. */
export const startOfRange =
  (ranges: Partial<Record<string, Range>>) =>
  (phase: string): number | undefined =>
    ranges[phase]?.[0];

/** Progress reports count inside the phase they name only, within that phase's range. */
export const withinCurrentPhase =
  (ranges: Partial<Record<string, Range>>) =>
  (phase: string, state: RunState): Range | undefined =>
    phase === state.phase ? ranges[phase] : undefined;

/**
 * Runs a job: answers its status query and cancel signal (and Temporal's cancel), places every
 * progress report, runs the work, then the cleanup that cannot be cancelled, and only then
 * publishes the final status and sends the final webhook. A failed run throws
 * `ApplicationFailure.nonRetryable(lastError, job.failureType)`; a cancelled one rethrows the cancel.
 */
export async function runJob<S extends RunState>(job: Job<S>): Promise<S> {
  const { state } = job;
  const tracked = trackRunState(state);
  const enter = (phase: S['phase'], progress = job.phaseStart?.(phase)): void => tracked.setPhase(phase, progress);
  const notify = (status: RunStatus): Promise<void> => {
    const base: WebhookBase = { id: state.id, status, started_at: state.startedAt, finished_at: state.finishedAt, error: state.lastError };
    return sendWebhook(job.callbackUrl, state.id, status, job.webhookPayload?.(base, state) ?? { ...base });
  };

  const work = new CancellationScope();
  // Made here, not inside the work, so that cancelling the work leaves the timer to the cleanup.
  const deadline = new CancellationScope();
  const deadlinePassed: { message: string | null } = { message: null };
  const run: Run<S> = {
    state,
    enter,
    advance: tracked.advance,
    cancelAfter(ms, message) {
      deadline
        .run(() => sleep(ms))
        .then(
          () => {
            deadlinePassed.message = message;
            work.cancel();
          },
          () => undefined,
        );
    },
  };

  setHandler(job.statusQuery, () => state);
  setHandler(job.cancelSignal, () => work.cancel());
  const onProgress = ({ phase, fraction }: ProgressReport): void => {
    const range = job.progressRange?.(phase, state);
    if (range) tracked.advance(range, fraction);
  };
  // Runs started before the one progress signal, and old workers during a deploy, send the old names.
  setHandler(runProgressSignal, onProgress);
  for (const name of legacyProgressSignalNames) setHandler(defineSignal<[ProgressReport]>(name), onProgress);

  let outcome: RunOutcome = 'failed';
  let cancellation: unknown = null;
  try {
    await work.run(async () => {
      state.status = 'running';
      state.startedAt = new Date().toISOString();
      enter(job.firstPhase);
      await notify('running');
      if (job.authorize && runsAreAuthorized()) await authorizeRun(job.authorize);
      await job.work(run);
    });
    outcome = 'succeeded';
  } catch (error) {
    // A step that a cancel interrupted may report how its tool died (EPIPE) rather than the cancel.
    const cancelWins =
      isCancellation(error) || (work.consideredCancelled && (job.toolErrorAfterCancelWasAlwaysCancel || toolErrorAfterCancelIsCancel()));
    outcome = cancelWins && deadlinePassed.message === null ? 'cancelled' : 'failed';
    if (outcome === 'cancelled') cancellation = isCancellation(error) ? error : new CancelledFailure('cancelled by request');
    state.lastError = deadlinePassed.message ?? (outcome === 'cancelled' ? 'cancelled by request' : describeFailure(error));
    if (job.explainFailure) state.lastError = job.explainFailure(state.lastError);
  }

  // The final status is shown only once cleanup is done, so a caller who sees `cancelled` or
  // `failed` knows nothing is left behind (or, when cleanup itself failed, what was).
  await CancellationScope.nonCancellable(async () => {
    deadline.cancel();
    if (outcome === 'succeeded' && job.applyRetention) await retain(run as unknown as Run<RetainedState>, job.applyRetention);
    enter('cleaning-up' as S['phase']);
    try {
      await job.cleanup(outcome, run);
    } catch (error) {
      if (!cleanupFailureIsReported()) throw error;
      const said = `cleaning up failed: ${describeFailure(error)}`;
      state.lastError = state.lastError ? `${state.lastError}; and ${said}` : said;
      outcome = 'failed';
      cancellation = null;
    }
    state.status = outcome;
    if (outcome === 'succeeded') state.progress = 100;
    state.finishedAt = new Date().toISOString();
    tracked.setPhase('done' as S['phase']);
    await notify(outcome);
  });
  if (cancellation) throw cancellation;
  if (outcome === 'failed') throw ApplicationFailure.nonRetryable(state.lastError ?? 'the run failed', job.failureType);
  return state;
}

/** Applies retention after a success; a policy that cannot run now is applied again after the next success. */
async function retain({ state, enter }: Run<RetainedState>, apply: () => Promise<{ deleted: string[] }>): Promise<void> {
  enter('applying-retention');
  try {
    const { deleted } = await apply();
    state.retention = { deleted, error: null };
  } catch (error) {
    state.retention = { deleted: [], error: describeFailure(error) };
  }
}
