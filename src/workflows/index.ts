// The workflow bundle: every workflow the worker runs.
export { copyDatabase } from './copy-database.ts';
export { backupDatabase } from './backup-database.ts';
export { restoreBackup } from './restore-backup.ts';
export { physicalBackup } from './physical-backup.ts';
export { restoreChain } from './restore-chain.ts';
export { deliverWebhookWorkflow } from './deliver-webhook.ts';
export { sanitizedPull, sanitizedPullDryRun, cleanupPullWorkspaces } from './sanitized-pull.ts';
