import { ApplicationFailure, CancellationScope, isCancellation, proxyActivities, setHandler, log } from '@temporalio/workflow';
import { catalogActivity, cleanupActivity, toolActivity } from '../runs/activity-options.ts';
import type { Activities } from '../../activities/index.ts';
import { copyPhaseRange, type CopyState, type CopyStatus, type CopyWorkflowInput } from './contracts.ts';
import { cancelCopySignal, copyProgressSignal, getCopyStatusQuery } from './messages.ts';
import { describeFailure, failureType } from '../runs/failures.ts';
import { sendWebhook } from '../runs/notify.ts';
import { trackRunState } from '../runs/run-state.ts';

const { validateCopy, verifyCopy, recreateSchemaObjects } = proxyActivities<Activities>(catalogActivity);
const { dumpDatabase, loadDump } = proxyActivities<Activities>(toolActivity);
const { removeDumpDirectory, dropCopyDestination } = proxyActivities<Activities>(cleanupActivity);

/**
 * Copies one database into another: validate, dump with mydumper, load with myloader, verify the
 * row counts, and always clean up. A failed or cancelled copy drops what it created.
 */
export async function copyDatabase(input: CopyWorkflowInput): Promise<CopyState> {
  const state: CopyState = {
    id: input.copyId,
    status: 'queued',
    phase: 'queued',
    progress: 0,
    startedAt: null,
    finishedAt: null,
    lastError: null,
    updatedAt: null,
    tables: [],
  };
  const { setPhase, advance } = trackRunState(state);
  const notify = (status: CopyStatus): Promise<void> =>
    sendWebhook(input.callbackUrl, input.copyId, status, {
      id: input.copyId,
      status,
      started_at: state.startedAt,
      finished_at: state.finishedAt,
      error: state.lastError,
    });

  const work = new CancellationScope();
  setHandler(getCopyStatusQuery, () => state);
  setHandler(cancelCopySignal, () => work.cancel());
  setHandler(copyProgressSignal, ({ phase, fraction }) => {
    if (state.phase !== phase) return; // a late report from a finished phase
    advance(copyPhaseRange[phase], fraction);
  });

  let existingDestination: { charset: string; collation: string } | null = null;
  let destinationTouched = false;
  let outcome: CopyStatus = 'failed';
  let cancellation: unknown = null;
  try {
    await work.run(async () => {
      state.status = 'running';
      state.startedAt = new Date().toISOString();
      setPhase('validating');
      await notify('running');
      ({ existingDestination } = await validateCopy(input));

      setPhase('dumping', copyPhaseRange.dumping[0]);
      let dump = await dumpDatabase({ copyId: input.copyId, source: input.source, threads: input.threads });

      setPhase('loading', copyPhaseRange.loading[0]);
      destinationTouched = true;
      const load = () =>
        loadDump({
          copyId: input.copyId,
          sourceDatabase: input.source.database,
          destination: input.destination,
          threads: input.threads,
          dumpDir: dump.dumpDir,
          dropDestinationFirst: existingDestination === null,
          charset: existingDestination?.charset ?? dump.charset,
          collation: existingDestination?.collation ?? dump.collation,
        });
      try {
        await load();
      } catch (error) {
        // The dump lived on a worker that is gone: dump again wherever we are now, then load.
        if (failureType(error) !== 'DumpMissing') throw error;
        log.warn('dump directory missing on this worker; dumping again', { copyId: input.copyId });
        state.phase = 'dumping';
        dump = await dumpDatabase({ copyId: input.copyId, source: input.source, threads: input.threads });
        state.phase = 'loading';
        await load();
      }

      await recreateSchemaObjects({ source: input.source, destination: input.destination });

      setPhase('verifying', copyPhaseRange.verifying[0]);
      state.tables = await verifyCopy({ destination: input.destination, expected: dump.tables });
    });
    outcome = 'succeeded';
  } catch (error) {
    outcome = isCancellation(error) ? 'cancelled' : 'failed';
    if (isCancellation(error)) cancellation = error;
    state.lastError = isCancellation(error) ? 'cancelled by request' : describeFailure(error);
  }

  // Cleanup runs whatever happened and cannot itself be cancelled; the final status is shown only
  // once it is done, so a caller who sees `cancelled` or `failed` knows nothing is left behind.
  await CancellationScope.nonCancellable(async () => {
    setPhase('cleaning-up');
    if (outcome !== 'succeeded' && destinationTouched) {
      await dropCopyDestination({ destination: input.destination, restoreEmpty: existingDestination });
    }
    await removeDumpDirectory({ copyId: input.copyId });
    state.status = outcome;
    if (outcome === 'succeeded') state.progress = 100;
    state.finishedAt = new Date().toISOString();
    setPhase('done');
    await notify(state.status);
  });
  // The Web UI and `temporal workflow list` show the same outcome as the API.
  if (cancellation) throw cancellation;
  if (outcome === 'failed') throw ApplicationFailure.nonRetryable(state.lastError ?? 'copy failed', 'CopyFailed');
  return state;
}
