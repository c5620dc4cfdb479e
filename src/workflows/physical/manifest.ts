// The manifest of one piece of a physical chain, built from the run and what the tool reported.
import type { Activities } from '../../activities/index.ts';
import type { PhysicalBackupManifest, PhysicalBackupState, PhysicalBackupWorkflowInput } from './contracts.ts';

export type StoredPhysicalBackup = Awaited<ReturnType<Activities['streamPhysicalBackup']>>;

/** The manifest of a finished physical backup, with the LSNs that tie it into its chain. */
export function physicalManifest(
  state: PhysicalBackupState,
  input: PhysicalBackupWorkflowInput,
  key: string,
  stored: StoredPhysicalBackup,
  started: Date,
): PhysicalBackupManifest {
  const finished = new Date();
  return {
    manifestVersion: 1,
    id: state.id,
    kind: input.kind,
    source: { connection: input.connection },
    target: input.target,
    key,
    format: 'xbstream',
    compression: input.compression,
    size: stored.size,
    sha256: stored.sha256,
    streamBytes: stored.streamBytes,
    startedAt: started.toISOString(),
    finishedAt: finished.toISOString(),
    durationMs: finished.getTime() - started.getTime(),
    tool: stored.tool,
    server: stored.server,
    chainId: state.chainId ?? state.id,
    parentId: state.parentId,
    fromLsn: stored.fromLsn,
    toLsn: stored.toLsn,
    binlog: stored.binlog,
    scheduleId: input.scheduleId,
  };
}
