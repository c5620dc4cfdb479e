// The planning activities: preparePull plans a pull, dryRunPull also counts what it would bring. Both only read.
import type { DryRunRow } from '../../workflows/pull/contracts.ts';
import { whileHeartbeating } from '../tools/heartbeat.ts';
import { countDryRunRows, preparePullPlan, type PreparedPull, type PreparePullInput } from './prepare-pull.ts';
import type { PullResources } from './pull-resources.ts';

/** preparePull and dryRunPull; catalogue reads and counts can be slow on big schemas, so both heartbeat. */
export function createPrepareActivities(r: PullResources) {
  return {
    /** Validates the profile and request against the source's catalogue and plans every table. */
    preparePull: (input: PreparePullInput): Promise<PreparedPull> => whileHeartbeating(() => preparePullPlan(r, input)),

    /** The seed's `--dry-run`: rows each table would bring, and how; reads only. */
    dryRunPull: (input: PreparePullInput): Promise<DryRunRow[]> =>
      whileHeartbeating(async () => {
        const prepared = await preparePullPlan(r, input);
        return countDryRunRows(r.pool(prepared.source.connection), prepared);
      }),
  };
}
