// The copy of one database into another, as a run of the workflow kit.
import { proxyActivities } from '@temporalio/workflow';
import { catalogActivity, cleanupActivity, toolActivity } from '../runs/activity-options.ts';
import type { Activities } from '../../activities/index.ts';
import { copyPhaseRange, type CopyState, type CopyWorkflowInput } from './contracts.ts';
import { cancelCopySignal, getCopyStatusQuery } from './messages.ts';
import { dumpThenLoad } from '../runs/dump-then-load.ts';
import { newRunState, runJob, startOfRange, withinCurrentPhase } from '../runs/run-job.ts';

const { validateCopy, verifyCopy, recreateSchemaObjects } = proxyActivities<Activities>(catalogActivity);
const { dumpDatabase, loadDump } = proxyActivities<Activities>(toolActivity);
const { removeDumpDirectory, dropCopyDestination } = proxyActivities<Activities>(cleanupActivity);

/**
 * Copies one database into another: validate, dump with mydumper, load with myloader, verify the
 * row counts, and always clean up. A failed or cancelled copy drops what it created.
 */
export async function copyDatabase(input: CopyWorkflowInput): Promise<CopyState> {
  let existingDestination: { charset: string; collation: string } | null = null;
  let destinationTouched = false;
  return runJob<CopyState>({
    state: newRunState<CopyState>(input.copyId, { tables: [] }),
    statusQuery: getCopyStatusQuery,
    cancelSignal: cancelCopySignal,
    failureType: 'CopyFailed',
    callbackUrl: input.callbackUrl,
    authorize: { workflow: 'copyDatabase', requestedBy: input.requestedBy, source: input.source, destination: input.destination },
    firstPhase: 'validating',
    phaseStart: startOfRange(copyPhaseRange),
    progressRange: withinCurrentPhase(copyPhaseRange),

    async work(run) {
      ({ existingDestination } = await validateCopy(input));
      run.enter('dumping');
      const dumped = await dumpThenLoad(
        () => dumpDatabase({ copyId: input.copyId, source: input.source, threads: input.threads }),
        (dump) =>
          loadDump({
            copyId: input.copyId,
            sourceDatabase: input.source.database,
            destination: input.destination,
            threads: input.threads,
            dumpDir: dump.dumpDir,
            dropDestinationFirst: existingDestination === null,
            charset: existingDestination?.charset ?? dump.charset,
            collation: existingDestination?.collation ?? dump.collation,
          }),
        () => {
          run.enter('loading');
          destinationTouched = true;
        },
      );
      await recreateSchemaObjects({ source: input.source, destination: input.destination });
      run.enter('verifying');
      run.state.tables = await verifyCopy({ destination: input.destination, expected: dumped.tables });
    },

    async cleanup(outcome) {
      if (outcome !== 'succeeded' && destinationTouched) {
        await dropCopyDestination({ destination: input.destination, restoreEmpty: existingDestination });
      }
      await removeDumpDirectory({ copyId: input.copyId });
    },
  });
}
