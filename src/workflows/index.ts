// The workflow bundle: every workflow the worker runs.
export { copyDatabase } from './copy/copy-database.ts';
export { backupDatabase } from './backup/backup-database.ts';
export { restoreBackup } from './backup/restore-backup.ts';
export { physicalBackup } from './physical/physical-backup.ts';
export { restoreChain } from './physical/restore-chain.ts';
export { deliverWebhookWorkflow } from './runs/deliver-webhook.ts';
export { sanitizedPull } from './pull/sanitized-pull.ts';
export { sanitizedPullDryRun, cleanupPullWorkspaces } from './pull/pull-workspaces.ts';
export { expireGrants } from './grants/expire-grants.ts';
