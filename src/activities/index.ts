import type { ActivityDeps } from './deps.ts';
import { createBackupActivities } from './backup/backup-activities.ts';
import { createDumperActivities } from './copy/dumper.ts';
import { createMysqlActivities } from './copy/copy-checks.ts';
import { createRestoreActivities } from './backup/restore-activities.ts';
import { createPhysicalActivities } from './physical/index.ts';
import { createRetentionActivities } from './backup/retention-activities.ts';
import { createSchemaObjectActivities } from './mysql/schema-objects.ts';
import { createWebhookActivities } from './webhooks/deliver-webhook.ts';
import { createPullActivities } from './pull/pull-activities.ts';

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
