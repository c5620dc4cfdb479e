import {
  ApplicationFailure,
  CancellationScope,
  CancelledFailure,
  isCancellation,
  log,
  proxyActivities,
  setHandler,
} from '@temporalio/workflow';
import { catalogActivity, cleanupActivity, toolActivity } from '../runs/activity-options.ts';
import type { Activities } from '../../activities/index.ts';
import type { ChainPiece } from '../../activities/physical/restore-chain.ts';
import type { BackupStatus } from '../backup/contracts.ts';
import { cancelRestoreChainSignal, getRestoreChainStatusQuery, physicalProgressSignal } from './messages.ts';
import type { RestoreChainPhase, RestoreChainState, RestoreChainWorkflowInput } from './contracts.ts';
import { describeFailure, failureType } from '../runs/failures.ts';
import { sendWebhook } from '../runs/notify.ts';
import { trackRunState } from '../runs/run-state.ts';

const { resolveRestoreChain, recreateSchemaObjectsFromDump, verifyCopy } = proxyActivities<Activities>(catalogActivity);
// Downloads, prepares and the delivery: long, heartbeating; on cancel the workflow waits until the tools are dead.
const { fetchChainPiece, prepareChainBase, applyChainIncrement, deliverChainToFolder, deliverFromTempServer, loadDump } =
  proxyActivities<Activities>(toolActivity);
const { removeChainScratch, removeDumpDirectory, dropCopyDestination } = proxyActivities<Activities>(cleanupActivity);

/** Progress budget: resolve 0–2, downloads 2–40 (by bytes), prepare and apply 40–80 (by step), delivery 80–99. */
const DOWNLOADS: [number, number] = [2, 40];
const PREPARES: [number, number] = [40, 80];
const DELIVERY: [number, number] = [80, 99];
/** A half-applied datadir or a scratch lost with its worker is prepared again (pieces on this host kept); a few times at most. */
const MAX_REBUILDS = 3;

/**
 * Restores a chain of physical backups: resolve it from the catalog and check its LSN continuity
 * before any download, fetch and verify each piece, prepare the base, apply each incremental in
 * order, then deliver the prepared datadir to a folder, or copy one database out of it (through a
 * temporary server) into a destination connection. Each step is an activity: a worker killed
 * mid-chain costs the step it was in, not the chain. The scratch directory and any temporary server
 * are removed on success, failure and cancel, before the final status is published.
 */
export async function restoreChain(input: RestoreChainWorkflowInput): Promise<RestoreChainState> {
  const state: RestoreChainState = {
    id: input.restoreId,
    status: 'queued',
    phase: 'queued',
    progress: 0,
    startedAt: null,
    finishedAt: null,
    lastError: null,
    updatedAt: null,
    chain: [],
    steps: [],
    deliveredTo: null,
    tables: [],
  };
  const { setPhase, advance } = trackRunState(state);
  const notify = (status: BackupStatus): Promise<void> =>
    sendWebhook(input.callbackUrl, input.restoreId, status, {
      id: input.restoreId,
      status,
      started_at: state.startedAt,
      finished_at: state.finishedAt,
      error: state.lastError,
      chain: state.chain,
      delivered_to: state.deliveredTo,
    });
  const ranges = new Map<string, [number, number]>();
  const work = new CancellationScope();
  setHandler(getRestoreChainStatusQuery, () => state);
  setHandler(cancelRestoreChainSignal, () => work.cancel());
  setHandler(physicalProgressSignal, ({ phase, fraction }) => {
    const step = state.steps.find((s) => s.name === phase);
    const range = ranges.get(phase);
    if (step?.status === 'running' && range) advance(range, fraction);
  });

  /** Runs one named step, marking it running then done, and moving progress to its range's end. */
  const step = async <T>(name: string, phase: RestoreChainPhase, run: () => Promise<T>): Promise<T> => {
    const entry = state.steps.find((s) => s.name === name);
    const range = ranges.get(name);
    if (entry) entry.status = 'running';
    setPhase(phase, range?.[0]);
    const result = await run();
    if (entry) entry.status = 'done';
    if (range) advance(range, 1);
    return result;
  };

  const deliver = input.deliver;
  const folder = deliver.kind === 'folder' ? deliver.path : null;
  const destination = deliver.kind === 'database' ? deliver.destination : null;
  let existingDestination: { charset: string; collation: string } | null = null;
  let destinationTouched = false;
  let outcome: BackupStatus = 'failed';
  let cancellation: unknown = null;
  try {
    await work.run(async () => {
      state.status = 'running';
      state.startedAt = new Date().toISOString();
      setPhase('resolving');
      await notify('running');
      const resolved = await resolveRestoreChain({
        restoreId: input.restoreId,
        target: input.target,
        backupId: input.backupId,
        before: input.before,
        connection: input.connection,
        folder,
        destination,
        recreateDestination: deliver.kind === 'database' && deliver.recreateDestination,
      });
      existingDestination = resolved.existingDestination;
      const pieces: ChainPiece[] = resolved.pieces;
      state.chain = pieces.map((p) => p.id);
      planSteps(state, ranges, pieces, deliver.kind === 'database');
      const ids = pieces.map((p) => p.id);

      // Downloads, prepare and apply, then the delivery that reads the prepared datadir. A step that
      // finds the scratch gone (it moved to another host) or half-updated starts the chain again:
      // pieces still on this host are kept, the rest fetched again.
      const fromScratch = async <T>(deliverStep: () => Promise<T>): Promise<T> => {
        for (let rebuild = 0; ; rebuild++) {
          try {
            for (const [index, piece] of pieces.entries()) {
              await step(`download:${piece.id}`, 'downloading', () =>
                fetchChainPiece({ restoreId: input.restoreId, target: input.target, piece, index }),
              );
            }
            await prepareAll(pieces, ids, step, input.restoreId);
            return await step('deliver', 'delivering', deliverStep);
          } catch (error) {
            const type = failureType(error);
            if ((type !== 'ScratchMissing' && type !== 'PreparedDirStale') || rebuild >= MAX_REBUILDS) throw error;
            log.warn('chain scratch missing or stale on this worker; preparing the chain again', { restoreId: input.restoreId, type });
            for (const s of state.steps) s.status = 'pending';
          }
        }
      };
      if (deliver.kind === 'folder') {
        state.deliveredTo = await fromScratch(
          async () => (await deliverChainToFolder({ restoreId: input.restoreId, folder: deliver.path, appliedAll: ids })).path,
        );
        return;
      }
      if (destination === null) return;
      const dumpFromChain = () =>
        fromScratch(() =>
          deliverFromTempServer({ restoreId: input.restoreId, database: deliver.database, threads: input.threads, appliedAll: ids }),
        );
      let dumped = await dumpFromChain();
      destinationTouched = true;
      const database = existingDestination ?? { charset: dumped.charset, collation: dumped.collation };
      const load = () =>
        loadDump({
          copyId: input.restoreId,
          sourceDatabase: deliver.database,
          destination,
          threads: input.threads,
          dumpDir: dumped.dumpDir,
          dropDestinationFirst: existingDestination === null,
          charset: database.charset,
          collation: database.collation,
          reportTo: 'restore',
        });
      try {
        await load();
      } catch (error) {
        // The dump lived on a worker that is gone: dump again wherever we are now.
        if (failureType(error) !== 'DumpMissing') throw error;
        log.warn('restored dump missing on this worker; dumping again', { restoreId: input.restoreId });
        dumped = await dumpFromChain();
        await load();
      }
      await recreateSchemaObjectsFromDump({ destination, dumpDir: dumped.dumpDir });
      state.tables = await step('verify', 'verifying', () => verifyCopy({ destination, expected: dumped.tables }));
      state.deliveredTo = `${destination.connection}/${destination.database}`;
    });
    outcome = 'succeeded';
  } catch (error) {
    // A step that a cancel interrupted may report how its tool died (EPIPE) rather than the cancel.
    const cancelled = isCancellation(error) || work.consideredCancelled;
    outcome = cancelled ? 'cancelled' : 'failed';
    if (cancelled) cancellation = isCancellation(error) ? error : new CancelledFailure('cancelled by request');
    state.lastError = cancelled ? 'cancelled by request' : describeFailure(error);
  }

  await CancellationScope.nonCancellable(async () => {
    setPhase('cleaning-up');
    if (outcome !== 'succeeded' && destinationTouched && destination)
      await dropCopyDestination({ destination, restoreEmpty: existingDestination });
    await removeChainScratch({ restoreId: input.restoreId, folder });
    await removeDumpDirectory({ copyId: input.restoreId });
    state.status = outcome;
    if (outcome === 'succeeded') state.progress = 100;
    state.finishedAt = new Date().toISOString();
    setPhase('done');
    await notify(state.status);
  });
  if (cancellation) throw cancellation;
  if (outcome === 'failed') throw ApplicationFailure.nonRetryable(state.lastError ?? 'chain restore failed', 'RestoreFailed');
  return state;
}

type Step = <T>(name: string, phase: RestoreChainPhase, run: () => Promise<T>) => Promise<T>;

/** Prepares the base and applies each incremental, in order. */
async function prepareAll(pieces: ChainPiece[], ids: string[], step: Step, restoreId: string): Promise<void> {
  const [base, ...increments] = pieces;
  await step(`prepare:${base!.id}`, 'preparing', () => prepareChainBase({ restoreId, piece: base!, last: increments.length === 0 }));
  for (const [i, piece] of increments.entries()) {
    await step(`apply:${piece.id}`, 'applying', () =>
      applyChainIncrement({ restoreId, piece, index: i + 1, appliedBefore: ids.slice(0, i + 1), last: i === increments.length - 1 }),
    );
  }
}

/** The steps of a chain and their share of the progress bar. */
function planSteps(state: RestoreChainState, ranges: Map<string, [number, number]>, pieces: ChainPiece[], verify: boolean): void {
  const total = Math.max(
    1,
    pieces.reduce((a, p) => a + p.size, 0),
  );
  let at = DOWNLOADS[0];
  for (const piece of pieces) {
    const next = at + ((DOWNLOADS[1] - DOWNLOADS[0]) * piece.size) / total;
    ranges.set(`download:${piece.id}`, [Math.floor(at), Math.floor(next)]);
    at = next;
  }
  const share = (PREPARES[1] - PREPARES[0]) / pieces.length;
  pieces.forEach((piece, i) =>
    ranges.set(`${i === 0 ? 'prepare' : 'apply'}:${piece.id}`, [
      Math.floor(PREPARES[0] + share * i),
      Math.floor(PREPARES[0] + share * (i + 1)),
    ]),
  );
  ranges.set('deliver', verify ? [DELIVERY[0], 95] : DELIVERY);
  if (verify) ranges.set('verify', [95, DELIVERY[1]]);
  state.steps = [...ranges.keys()].map((name) => ({ name, status: 'pending' as const }));
}
