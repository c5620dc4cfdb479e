import { ApplicationFailure, CancellationScope, isCancellation, proxyActivities, setHandler, sleep } from '@temporalio/workflow';
import type { Activities } from '../../activities/index.ts';
import type { PreparedPull } from '../../activities/pull/pull-activities.ts';
import type { DryRunRow, PullPhase, PullState, PullStatus, PullWorkflowInput } from './contracts.ts';
import { pullPhaseProgress, workspaceName } from './contracts.ts';
import { cancelPullSignal, getPullStatusQuery } from './messages.ts';
import { cleanupActivity, toolActivity } from '../runs/activity-options.ts';
import { describeFailure, failureType } from '../runs/failures.ts';
import { sendWebhook } from '../runs/notify.ts';
import { trackRunState } from '../runs/run-state.ts';

// Planning reads the catalogue: quick, retried a few times, never for a refused request.
const { preparePull, dryRunPull, recordPullWatermarks, dropOrphanPullWorkspaces } = proxyActivities<Activities>({
  startToCloseTimeout: '1 hour',
  heartbeatTimeout: '1 minute',
  retry: { initialInterval: '2 seconds', maximumInterval: '30 seconds', maximumAttempts: 5 },
});
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
 * A sanitized pull (seed 002): plan against the source's catalogue, build a temp workspace on the
 * source's server with the FK-aware subset, sanitize it in SQL, prove nothing original is left,
 * dump it, load it into the destination, record the watermark, and always drop the workspace:
 * on success, failure, cancel, and when the durable deadline passes.
 */
export async function sanitizedPull(input: PullWorkflowInput): Promise<PullState> {
  const state: PullState = {
    id: input.pullId,
    profile: input.profile,
    status: 'queued',
    phase: 'queued',
    progress: 0,
    mode: null,
    startedAt: null,
    finishedAt: null,
    lastError: null,
    updatedAt: null,
    workspace: null,
    tables: [],
    rows: 0,
  };
  const { setPhase } = trackRunState(state);
  const enter = (phase: PullPhase): void => setPhase(phase, pullPhaseProgress[phase]);
  const notify = (status: PullStatus): Promise<void> =>
    sendWebhook(input.callbackUrl, input.pullId, status, {
      id: input.pullId,
      status,
      started_at: state.startedAt,
      finished_at: state.finishedAt,
      error: state.lastError,
      profile: input.profile,
      mode: state.mode,
      tables: state.tables.map((t) => t.table),
      rows_synced: state.rows,
    });

  const work = new CancellationScope();
  const deadline = new CancellationScope();
  setHandler(getPullStatusQuery, () => state);
  setHandler(cancelPullSignal, () => work.cancel());

  // Written inside the work scope, read by cleanup.
  const made: { prepared: PreparedPull | null; workspace: string | null; inDatabase: string | null } = {
    prepared: null,
    workspace: null,
    inDatabase: null,
  };
  let loadStarted = false;
  let timedOut = false;
  let outcome: PullStatus = 'failed';
  let cancellation: unknown = null;
  try {
    await work.run(async () => {
      state.status = 'running';
      state.startedAt = new Date().toISOString();
      enter('validating');
      await notify('running');
      const plan = (made.prepared = await preparePull({
        pullId: input.pullId,
        profile: input.profile,
        full: input.full,
        tables: input.tables,
      }));
      state.mode = plan.plan.tables.every((t) => t.mode === 'full') ? 'full' : 'delta';
      const minutes = plan.deadlineMinutes;
      // A durable timer: even a pull stuck for hours is cancelled, and so its workspace dropped.
      deadline
        .run(() => sleep(minutes * 60_000))
        .then(
          () => {
            timedOut = true;
            work.cancel();
          },
          () => undefined,
        );

      // Prefixed tables keep the name short, leaving table names more room within 64 characters.
      const inDatabase = plan.workspaceStrategy === 'tables' ? plan.source.database : null;
      const ws = (made.workspace = workspaceName(Date.now() / 1000, input.pullId.replace(/-/g, '').slice(0, inDatabase ? 8 : 12)));
      made.inDatabase = inDatabase;
      state.workspace = inDatabase ? `${inDatabase}.${ws}_*` : ws;
      const ref = { pullId: input.pullId, workspaceConnection: plan.workspaceConnection, workspace: ws, inDatabase };
      const tables = plan.plan.tables;
      enter('copying');
      // Direct tables (whole, no rules) are dumped from the source later: no copy of theirs is made.
      await createTempDatabase({
        ...ref,
        source: plan.source.database,
        tables: tables.filter((t) => !t.direct).map((t) => t.table),
        inPlace: tables.filter((t) => t.sanitizeInPlace).map((t) => t.table),
      });
      await copyTablesIntoWorkspace({
        ...ref,
        source: plan.source.database,
        tables,
        foreignKeys: plan.foreignKeys,
        threads: plan.threads,
        profile: input.profile,
      });

      enter('sanitizing');
      await applySanitizationRules({ ...ref, profile: input.profile, tables });
      enter('gating');
      await checkSanitizationGate({ ...ref, source: plan.source.database, tables });

      enter('dumping');
      const deltaTables = tables.filter((t) => t.mode === 'delta').map((t) => t.table);
      const dump = () =>
        dumpPullWorkspace({
          ...ref,
          threads: plan.threads,
          deltaTables,
          tables: tables.map((t) => t.table),
          source: plan.source.database,
          direct: tables.filter((t) => t.direct).map((t) => t.table),
        });
      let dumped = await dump();
      enter('loading');
      loadStarted = true;
      const load = () =>
        loadPullIntoDestination({
          pullId: input.pullId,
          destination: plan.destination,
          workspace: ws,
          dumpDir: dumped.dumpDir,
          threads: plan.threads,
          charset: plan.charset,
          collation: plan.collation,
        });
      try {
        await load();
      } catch (error) {
        // The dump lived on a worker that is gone: dump again here, then load.
        if (failureType(error) !== 'DumpMissing') throw error;
        dumped = await dump();
        await load();
      }

      enter('recording');
      await recordPullWatermarks({
        pullId: input.pullId,
        profile: input.profile,
        destination: plan.destination,
        watermark: plan.watermark,
        tables: tables.map((t) => t.table),
      });
      state.tables = tables.map((t) => ({
        table: t.table,
        mode: t.mode,
        rows: dumped.rows[t.table] ?? 0,
        sanitized: t.sanitize.length > 0,
        limited: t.limit !== null,
      }));
      state.rows = state.tables.reduce((a, t) => a + t.rows, 0);
    });
    outcome = 'succeeded';
  } catch (error) {
    if (isCancellation(error) && !timedOut) {
      outcome = 'cancelled';
      cancellation = error;
      state.lastError = 'cancelled by request';
    } else {
      outcome = 'failed';
      state.lastError = timedOut
        ? `the pull did not finish within ${made.prepared?.deadlineMinutes ?? '?'} minutes (the profile's deadlineMinutes) and was stopped`
        : describeFailure(error);
    }
    if (loadStarted) state.lastError += '; the destination may hold a partial load: pull again with --full';
  }

  // Cleanup runs whatever happened and cannot itself be cancelled.
  await CancellationScope.nonCancellable(async () => {
    deadline.cancel();
    enter('cleaning-up');
    if (made.workspace && made.prepared) {
      await dropTempDatabase({
        pullId: input.pullId,
        workspaceConnection: made.prepared.workspaceConnection,
        workspace: made.workspace,
        inDatabase: made.inDatabase,
      });
    }
    state.status = outcome;
    if (outcome === 'succeeded') state.progress = 100;
    state.finishedAt = new Date().toISOString();
    setPhase('done');
    await notify(state.status);
  });
  if (cancellation) throw cancellation;
  if (outcome === 'failed') throw ApplicationFailure.nonRetryable(state.lastError ?? 'pull failed', 'PullFailed');
  return state;
}

/** The seed's `--dry-run`: what a pull would do, touching nothing. */
export async function sanitizedPullDryRun(input: { profile: string; full: boolean; tables: string[] | null }): Promise<DryRunRow[]> {
  return dryRunPull({ pullId: 'dry-run', ...input });
}

/** The orphan sweep (hourly schedule and `dbferry cleanup`): drops workspaces older than maxAgeMinutes. */
export async function cleanupPullWorkspaces(input: { maxAgeMinutes: number; dryRun?: boolean }) {
  return dropOrphanPullWorkspaces({ maxAgeMinutes: input.maxAgeMinutes, dryRun: input.dryRun ?? false });
}
