// The steps of a chain restore, each with its share of the progress bar, and how one step runs.
import type { Activities } from '../../activities/index.ts';
import type { RestoreChainPhase, RestoreChainState, RestoreChainStep } from './contracts.ts';
import type { Range, Run } from '../runs/run-job.ts';

export type ChainPiece = Awaited<ReturnType<Activities['resolveRestoreChain']>>['pieces'][number];

/** Progress budget: resolve 0–2, downloads 2–40 (by bytes), prepare and apply 40–80 (by step), delivery 80–99. */
const DOWNLOADS: Range = [2, 40];
const PREPARES: Range = [40, 80];
const DELIVERY: Range = [80, 99];

/**
 * How the chain is delivered: the prepared datadir moved to a folder, or one database dumped from a
 * temporary server on it, loaded into the destination and verified. `revised` plans (runs started
 * since the workflow kit) make the load a step of its own, and put a step that fails back to
 * pending, so that a closed run never shows a running step and a late report of it moves nothing;
 * runs started before keep the plan they ran with.
 */
export interface ChainPlan {
  delivery: 'folder' | 'database';
  revised: boolean;
}

export interface ChainSteps {
  /** Runs one named step: marks it running, enters its phase at its range's start, and moves progress to its end. */
  run<T>(name: string, phase: RestoreChainPhase, fn: () => Promise<T>): Promise<T>;
  /** The range a progress report moves the bar in: the running step it names (the load reports as `loading`). */
  rangeOf(reportPhase: string): Range | undefined;
  /** Every step pending again, for a chain prepared again from scratch. */
  restart(): void;
}

/** Plans the steps of a chain and their share of the progress bar, and lists them in the run's state. */
export function planChainSteps(run: Run<RestoreChainState>, pieces: ChainPiece[], { delivery, revised }: ChainPlan): ChainSteps {
  const ranges = new Map<string, Range>();
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
  if (delivery === 'folder') ranges.set('deliver', DELIVERY);
  else if (revised) ranges.set('deliver', [DELIVERY[0], 87]).set('load', [87, 95]).set('verify', [95, DELIVERY[1]]);
  else ranges.set('deliver', [DELIVERY[0], 95]).set('verify', [95, DELIVERY[1]]);
  const steps: RestoreChainStep[] = [...ranges.keys()].map((name) => ({ name, status: 'pending' }));
  run.state.steps = steps;

  return {
    async run<T>(name: string, phase: RestoreChainPhase, fn: () => Promise<T>): Promise<T> {
      const entry = steps.find((s) => s.name === name);
      const range = ranges.get(name);
      if (entry) entry.status = 'running';
      run.enter(phase, range?.[0]);
      let result: T;
      try {
        result = await fn();
      } catch (error) {
        if (entry && revised) entry.status = 'pending';
        throw error;
      }
      if (entry) entry.status = 'done';
      if (range) run.advance(range, 1);
      return result;
    },
    rangeOf(reportPhase) {
      const name = reportPhase === 'loading' && ranges.has('load') ? 'load' : reportPhase;
      return steps.find((s) => s.name === name)?.status === 'running' ? ranges.get(name) : undefined;
    },
    restart() {
      for (const s of steps) s.status = 'pending';
    },
  };
}
