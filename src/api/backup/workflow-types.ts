// The signatures of workflows the API starts by type name, so starts are type-checked against the
// contracts without importing workflow code (the worker bundles and registers it).
import type { BackupState, BackupWorkflowInput, RestoreState, RestoreWorkflowInput } from '../../workflows/backup/contracts.ts';

export type BackupDatabaseWorkflow = (input: BackupWorkflowInput) => Promise<BackupState>;
export type RestoreBackupWorkflow = (input: RestoreWorkflowInput) => Promise<RestoreState>;
