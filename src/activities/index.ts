// Every activity the worker registers, each job's factory handed only the clients it uses.
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
import { createAccessActivities } from './access/authorize-run.ts';
import { createGrantActivities } from './grants/expire-grants.ts';

/** Every activity the worker registers, bound to the worker's long-lived clients. */
export function createActivities(deps: ActivityDeps) {
  const { config, pools, stores, webhookSecret } = deps;
  return {
    ...createMysqlActivities({ config, pools }),
    ...createDumperActivities({ config, pools }),
    ...createSchemaObjectActivities({ pools }),
    ...createBackupActivities({ config, pools, stores }),
    ...createRetentionActivities({ stores }),
    ...createRestoreActivities({ config, pools, stores }),
    ...createWebhookActivities({ config, webhookSecret }),
    // Its own signature (src/activities/pull/): it still takes every client.
    ...createPullActivities(deps),
    ...createPhysicalActivities({ config, pools, stores }),
    ...createAccessActivities({ config, pools, stores }),
    ...createGrantActivities({ config, pools }),
  };
}

export type Activities = ReturnType<typeof createActivities>;
export type { ActivityDeps };
