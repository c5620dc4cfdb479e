// The manifest that makes a stored object a backup, built from the run and what the tool reported.
import type { Activities } from '../../activities/index.ts';
import type { BackupManifest, BackupWorkflowInput } from './contracts.ts';

export type StoredBackup = Awaited<ReturnType<Activities['streamBackupToTarget']>>;

/** The manifest of a finished logical backup (durations measured from `started` to now). */
export function backupManifest(id: string, input: BackupWorkflowInput, key: string, stored: StoredBackup, started: Date): BackupManifest {
  const finished = new Date();
  return {
    manifestVersion: 1,
    id,
    kind: 'logical',
    source: input.source,
    target: input.target,
    key,
    format: input.format,
    compression: input.compression,
    size: stored.size,
    sha256: stored.sha256,
    startedAt: started.toISOString(),
    finishedAt: finished.toISOString(),
    durationMs: finished.getTime() - started.getTime(),
    tool: stored.tool,
    server: stored.server,
    tables: stored.tables,
    scheduleId: input.scheduleId,
    database: stored.database,
  };
}
