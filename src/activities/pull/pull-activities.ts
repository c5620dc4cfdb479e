// Every activity of a sanitized pull, in one object for the worker: planning, the workspace, the dump and the load.
import type { ActivityDeps } from '../deps.ts';
import { createDumpActivities } from './dump-activities.ts';
import { createLoadActivities } from './load-activities.ts';
import { createPrepareActivities } from './prepare-activities.ts';
import { createPullResources } from './pull-resources.ts';
import { createWorkspaceActivities } from './workspace-activities.ts';

export type { PreparedPull, PreparePullInput } from './prepare-pull.ts';
export type { WorkspaceRef } from './workspace-activities.ts';

/**
 * The pull activities, bound to the only clients pulls use: the config and the MySQL pools.
 * Workflows call them by name and replay saved histories against them: names and shapes are fixed.
 */
export function createPullActivities(deps: Pick<ActivityDeps, 'config' | 'pools'>) {
  const resources = createPullResources(deps);
  return {
    ...createPrepareActivities(resources),
    ...createWorkspaceActivities(resources),
    ...createDumpActivities(resources),
    ...createLoadActivities(resources),
  };
}
