import type { ActivityDeps } from './deps.ts';
import { createBackupActivities } from './backup.ts';
import { createDumperActivities } from './dumper.ts';
import { createMysqlActivities } from './mysql.ts';
import { createRestoreActivities } from './restore.ts';
import { createPhysicalActivities } from './physical-activities.ts';
import { createRetentionActivities } from './retention.ts';
import { createSchemaObjectActivities } from './schema-objects.ts';
import { createWebhookActivities } from './webhooks.ts';
import { createPullActivities } from './pull.ts';

/** Every activity the worker registers, bound to the worker's long-lived clients. */
export function createActivities(deps: ActivityDeps) {
  return {
    ...createMysqlActivities(deps),
    ...createDumperActivities(deps),
    ...createSchemaObjectActivities(deps),
    ...createBackupActivities(deps),
    ...createRetentionActivities(deps),
    ...createRestoreActivities(deps),
    ...createWebhookActivities(deps),
    ...createPullActivities(deps),
    ...createPhysicalActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
export type { ActivityDeps };
