// Building a chain in the restore's scratch: download every piece, prepare the base, apply each
// incremental, then the delivery that reads the prepared datadir; built again when the scratch is lost.
import { log, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../../activities/index.ts';
import { toolActivity } from '../runs/activity-options.ts';
import { failureType } from '../runs/failures.ts';
import type { ChainPiece, ChainSteps } from './chain-steps.ts';

const { fetchChainPiece, prepareChainBase, applyChainIncrement } = proxyActivities<Activities>(toolActivity);

/** A half-applied datadir or a scratch lost with its worker is prepared again (pieces on this host kept); a few times at most. */
const MAX_REBUILDS = 3;

/**
 * Runs the chain's steps up to and including `deliver`. A step that finds the scratch gone (it
 * moved to another host) or half-updated starts the chain again: pieces still on this host are
 * kept, the rest fetched again.
 */
export async function buildChain<T>(
  chain: { restoreId: string; target: string; pieces: ChainPiece[] },
  steps: ChainSteps,
  deliver: (appliedAll: string[]) => Promise<T>,
): Promise<T> {
  const { restoreId, target, pieces } = chain;
  const ids = pieces.map((p) => p.id);
  const [base, ...increments] = pieces;
  for (let rebuild = 0; ; rebuild++) {
    try {
      for (const [index, piece] of pieces.entries()) {
        await steps.run(`download:${piece.id}`, 'downloading', () => fetchChainPiece({ restoreId, target, piece, index }));
      }
      await steps.run(`prepare:${base!.id}`, 'preparing', () =>
        prepareChainBase({ restoreId, piece: base!, last: increments.length === 0 }),
      );
      for (const [i, piece] of increments.entries()) {
        const last = i === increments.length - 1;
        await steps.run(`apply:${piece.id}`, 'applying', () =>
          applyChainIncrement({ restoreId, piece, index: i + 1, appliedBefore: ids.slice(0, i + 1), last }),
        );
      }
      return await steps.run('deliver', 'delivering', () => deliver(ids));
    } catch (error) {
      const type = failureType(error);
      if ((type !== 'ScratchMissing' && type !== 'PreparedDirStale') || rebuild >= MAX_REBUILDS) throw error;
      log.warn('chain scratch missing or stale on this worker; preparing the chain again', { restoreId, type });
      steps.restart();
    }
  }
}
