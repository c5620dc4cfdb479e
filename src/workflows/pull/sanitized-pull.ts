// The sanitized pull (seed 002) as a run of the workflow kit.
import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../../activities/index.ts';
import type { PullState, PullWorkflowInput } from './contracts.ts';
import { pullPhaseProgress, workspaceName } from './contracts.ts';
import { cancelPullSignal, getPullStatusQuery } from './messages.ts';
import { cleanupActivity, planningActivity, toolActivity } from '../runs/activity-options.ts';
import { dumpThenLoad } from '../runs/dump-then-load.ts';
import { newRunState, runJob } from '../runs/run-job.ts';
import { pullWorkspaceHasWholeId } from '../runs/patches.ts';

const { preparePull, recordPullWatermarks } = proxyActivities<Activities>(planningActivity);
// Set-based SQL and the tools: long, heartbeating every second, killed on cancel.
const {
  createTempDatabase,
  copyTablesIntoWorkspace,
  applySanitizationRules,
  checkSanitizationGate,
  dumpPullWorkspace,
  loadPullIntoDestination,
} = proxyActivities<Activities>(toolActivity);
const { dropTempDatabase } = proxyActivities<Activities>(cleanupActivity);

/**
 * A sanitized pull: plan against the source's catalogue, build a temp workspace on the source's
 * server with the FK-aware subset, sanitize it in SQL, prove nothing original is left, dump it,
 * load it into the destination, record the watermark, and always drop the workspace: on success,
 * failure, cancel, and when the durable deadline passes.
 */
export async function sanitizedPull(input: PullWorkflowInput): Promise<PullState> {
  const { pullId, profile } = input;
  let dropWorkspace: (() => Promise<void>) | null = null;
  let loadStarted = false;
  return runJob<PullState>({
    state: newRunState<PullState>(pullId, { profile, mode: null, workspace: null, tables: [], rows: 0 }),
    statusQuery: getPullStatusQuery,
    cancelSignal: cancelPullSignal,
    failureType: 'PullFailed',
    callbackUrl: input.callbackUrl,
    authorize: { workflow: 'sanitizedPull', requestedBy: input.requestedBy, profile: input.profile },
    webhookPayload: (base, s) => ({ ...base, profile, mode: s.mode, tables: s.tables.map((t) => t.table), rows_synced: s.rows }),
    firstPhase: 'validating',
    phaseStart: (phase) => pullPhaseProgress[phase],
    explainFailure: (error) => (loadStarted ? `${error}; the destination may hold a partial load: pull again with --full` : error),

    async work({ state, enter, cancelAfter }) {
      const plan = await preparePull({ pullId, profile, full: input.full, tables: input.tables });
      const { threads, source } = plan;
      const tables = plan.plan.tables;
      state.mode = tables.every((t) => t.mode === 'full') ? 'full' : 'delta';
      // A durable timer: even a pull stuck for hours is cancelled, and so its workspace dropped.
      const minutes = plan.deadlineMinutes;
      cancelAfter(minutes * 60_000, `the pull did not finish within ${minutes} minutes (the profile's deadlineMinutes) and was stopped`);

      // Prefixed tables keep the name short, leaving table names more room within 64 characters; a
      // workspace database carries the whole pull id, which the orphan sweep asks Temporal about.
      const inDatabase = plan.workspaceStrategy === 'tables' ? source.database : null;
      const idLength = inDatabase ? 8 : pullWorkspaceHasWholeId() ? 32 : 12;
      const workspace = workspaceName(Date.now() / 1000, pullId.replace(/-/g, '').slice(0, idLength));
      const ref = { pullId, workspaceConnection: plan.workspaceConnection, workspace, inDatabase };
      dropWorkspace = () => dropTempDatabase(ref);
      state.workspace = inDatabase ? `${inDatabase}.${workspace}_*` : workspace;
      enter('copying');
      // Direct tables (whole, no rules) are dumped from the source later: no copy of theirs is made.
      const copied = tables.filter((t) => !t.direct).map((t) => t.table);
      const inPlace = tables.filter((t) => t.sanitizeInPlace).map((t) => t.table);
      await createTempDatabase({ ...ref, source: source.database, tables: copied, inPlace });
      await copyTablesIntoWorkspace({ ...ref, source: source.database, tables, foreignKeys: plan.foreignKeys, threads, profile });

      enter('sanitizing');
      await applySanitizationRules({ ...ref, profile, tables });
      enter('gating');
      await checkSanitizationGate({ ...ref, source: source.database, tables });

      enter('dumping');
      const names = tables.map((t) => t.table);
      const deltaTables = tables.filter((t) => t.mode === 'delta').map((t) => t.table);
      const direct = tables.filter((t) => t.direct).map((t) => t.table);
      const dumped = await dumpThenLoad(
        () => dumpPullWorkspace({ ...ref, threads, deltaTables, tables: names, source: source.database, direct }),
        ({ dumpDir }) => {
          const { destination, charset, collation } = plan;
          return loadPullIntoDestination({ pullId, destination, workspace, dumpDir, threads, charset, collation });
        },
        () => {
          enter('loading');
          loadStarted = true;
        },
      );

      enter('recording');
      await recordPullWatermarks({ pullId, profile, destination: plan.destination, watermark: plan.watermark, tables: names });
      state.tables = tables.map((t) => ({
        table: t.table,
        mode: t.mode,
        rows: dumped.rows[t.table] ?? 0,
        sanitized: t.sanitize.length > 0,
        limited: t.limit !== null,
      }));
      state.rows = state.tables.reduce((a, t) => a + t.rows, 0);
    },

    async cleanup() {
      await dropWorkspace?.();
    },
  });
}
