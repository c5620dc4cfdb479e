// The restore of a chain of physical backups, to a folder or into a database, as a run of the workflow kit.
import { proxyActivities } from '@temporalio/workflow';
import { catalogActivity, cleanupActivity, toolActivity } from '../runs/activity-options.ts';
import type { Activities } from '../../activities/index.ts';
import { cancelRestoreChainSignal, getRestoreChainStatusQuery } from './messages.ts';
import type { RestoreChainState, RestoreChainWorkflowInput } from './contracts.ts';
import { buildChain } from './chain-build.ts';
import { planChainSteps, type ChainSteps } from './chain-steps.ts';
import { dumpThenLoad } from '../runs/dump-then-load.ts';
import { chainStepsRevised } from '../runs/patches.ts';
import { newRunState, runJob } from '../runs/run-job.ts';

const { resolveRestoreChain, recreateSchemaObjectsFromDump, verifyCopy } = proxyActivities<Activities>(catalogActivity);
// The deliveries: long, heartbeating; on cancel the workflow waits until the tools are dead.
const { deliverChainToFolder, deliverFromTempServer, loadDump } = proxyActivities<Activities>(toolActivity);
const { removeChainScratch, removeDumpDirectory, dropCopyDestination } = proxyActivities<Activities>(cleanupActivity);

/**
 * Restores a chain of physical backups: resolve it from the catalog and check its LSN continuity
 * before any download, fetch and verify each piece, prepare the base, apply each incremental in
 * order, then deliver the prepared datadir to a folder, or dump one database out of it (through a
 * temporary server) and load it into a destination connection. Each step is an activity: a worker
 * killed mid-chain costs the step it was in, not the chain. The scratch directory and any temporary
 * server are removed on success, failure and cancel, before the final status is published.
 */
export async function restoreChain(input: RestoreChainWorkflowInput): Promise<RestoreChainState> {
  const { deliver, restoreId, target, threads } = input;
  const folder = deliver.kind === 'folder' ? deliver.path : null;
  const destination = deliver.kind === 'database' ? deliver.destination : null;
  let existingDestination: { charset: string; collation: string } | null = null;
  let destinationTouched = false;
  let steps: ChainSteps | null = null;
  return runJob<RestoreChainState>({
    state: newRunState<RestoreChainState>(restoreId, { chain: [], steps: [], deliveredTo: null, tables: [] }),
    statusQuery: getRestoreChainStatusQuery,
    cancelSignal: cancelRestoreChainSignal,
    failureType: 'RestoreFailed',
    toolErrorAfterCancelWasAlwaysCancel: true,
    callbackUrl: input.callbackUrl,
    authorize: {
      workflow: 'restoreChain',
      requestedBy: input.requestedBy,
      target: input.target,
      backupId: input.backupId,
      connection: input.connection,
      destination: input.deliver.kind === 'database' ? input.deliver.destination : null,
    },
    webhookPayload: (base, s) => ({ ...base, chain: s.chain, delivered_to: s.deliveredTo }),
    firstPhase: 'resolving',
    progressRange: (phase) => steps?.rangeOf(phase),

    async work(run) {
      const { backupId, before, connection } = input;
      const recreateDestination = deliver.kind === 'database' && deliver.recreateDestination;
      const resolved = await resolveRestoreChain({
        restoreId,
        target,
        backupId,
        before,
        connection,
        folder,
        destination,
        recreateDestination,
      });
      existingDestination = resolved.existingDestination;
      const { pieces } = resolved;
      run.state.chain = pieces.map((p) => p.id);
      // Runs started before the revised steps replay with the steps they ran.
      const revised = chainStepsRevised();
      const plan = planChainSteps(run, pieces, { delivery: deliver.kind, revised });
      steps = plan;
      const chain = { restoreId, target, pieces };
      if (deliver.kind === 'folder') {
        const { path } = await buildChain(chain, plan, (appliedAll) =>
          deliverChainToFolder({ restoreId, folder: deliver.path, appliedAll }),
        );
        run.state.deliveredTo = path;
        return;
      }

      const into = deliver.destination;
      const dumped = await dumpThenLoad(
        () =>
          buildChain(chain, plan, (appliedAll) => deliverFromTempServer({ restoreId, database: deliver.database, threads, appliedAll })),
        (dump) => {
          const load = () =>
            loadDump({
              copyId: restoreId,
              sourceDatabase: deliver.database,
              destination: into,
              threads,
              dumpDir: dump.dumpDir,
              dropDestinationFirst: existingDestination === null,
              charset: existingDestination?.charset ?? dump.charset,
              collation: existingDestination?.collation ?? dump.collation,
            });
          return revised ? plan.run('load', 'delivering', load) : load();
        },
        () => (destinationTouched = true),
      );
      await recreateSchemaObjectsFromDump({ destination: into, dumpDir: dumped.dumpDir });
      run.state.tables = await plan.run('verify', 'verifying', () => verifyCopy({ destination: into, expected: dumped.tables }));
      run.state.deliveredTo = `${into.connection}/${into.database}`;
    },

    async cleanup(outcome) {
      if (outcome !== 'succeeded' && destinationTouched && destination) {
        await dropCopyDestination({ destination, restoreEmpty: existingDestination });
      }
      await removeChainScratch({ restoreId, folder });
      await removeDumpDirectory({ copyId: restoreId });
    },
  });
}
