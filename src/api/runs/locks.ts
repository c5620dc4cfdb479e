// The locks runs take: a workflow id per destination (or source, or server) that Temporal refuses
// to open twice, named after what holds it so every job's 409 reads the same way.
import type { Client } from '@temporalio/client';
import { backupWorkflowId } from '../../workflows/backup/contracts.ts';
import { copyWorkflowId, type DatabaseRef } from '../../workflows/copy/contracts.ts';
import { physicalBackupWorkflowId, restoreChainWorkflowId, type ChainDelivery } from '../../workflows/physical/contracts.ts';
import { searchAttributes } from '../../shared/temporal.ts';
import { databaseKey, type ServerIdentities } from '../../activities/mysql/server-identity.ts';
import { ApiError } from '../errors.ts';

export interface RunLock {
  /** The workflow id: a second start with it fails while the first run is open. */
  workflowId: string;
  /** What holds the lock, for the 409: `a backup of prod/shop`. */
  holder: string;
  /** The request field the lock comes from, reported with the 409. */
  field: string;
  /** Runs the workflow id cannot catch (scheduled backups carry a timestamp in theirs). */
  isHeldElsewhere?: (temporal: Client) => Promise<boolean>;
}

const refText = (ref: DatabaseRef): string => `${ref.connection}/${ref.database}`;

/** Copies, restores, pulls and chain restores into one database exclude each other. */
export const destinationLock = (destination: DatabaseRef, field = 'destination'): RunLock => ({
  workflowId: copyWorkflowId(destination),
  holder: `a copy, restore or pull into ${refText(destination)}`,
  field,
});

/**
 * The destination lock by the server's identity rather than the connection's name, so two
 * connections to one server (`localhost` and `127.0.0.1`, a socket, a DNS alias) share it:
 * `copy:<server identity>/<database>` (the database lower-cased where the server ignores case).
 */
export async function serverDestinationLock(servers: ServerIdentities, destination: DatabaseRef, field = 'destination'): Promise<RunLock> {
  const server = await servers.of(destination.connection);
  return { ...destinationLock(destination, field), workflowId: `copy:${server.key}/${databaseKey(server, destination.database)}` };
}

/** One backup of a database at a time, on demand or scheduled. */
export const backupSourceLock = (source: DatabaseRef, field = 'source'): RunLock => ({
  workflowId: backupWorkflowId(source),
  holder: `a backup of ${refText(source)}`,
  field,
  async isHeldElsewhere(temporal) {
    const query = `${searchAttributes.kind.name} = 'backup' AND ${searchAttributes.source.name} = '${refText(source)}' AND ExecutionStatus = 'Running'`;
    return (await temporal.workflow.count(query)).count > 0;
  },
});

/** One physical backup of a server at a time. */
export const physicalServerLock = (connection: string, field = 'connection'): RunLock => ({
  workflowId: physicalBackupWorkflowId(connection),
  holder: `a physical backup of ${connection}`,
  field,
});

/** A chain restore into a database takes that database's lock; into a folder, the folder's. */
export const chainDeliveryLock = (deliver: ChainDelivery, field = 'to'): RunLock =>
  deliver.kind === 'database'
    ? { ...destinationLock(deliver.destination, field), workflowId: restoreChainWorkflowId(deliver) }
    : { workflowId: restoreChainWorkflowId(deliver), holder: `a restore into folder ${deliver.path}`, field };

/** chainDeliveryLock, a database delivery taking the destination's lock by server identity (serverDestinationLock). */
export const serverChainDeliveryLock = async (servers: ServerIdentities, deliver: ChainDelivery, field = 'to'): Promise<RunLock> =>
  deliver.kind === 'database' ? serverDestinationLock(servers, deliver.destination, field) : chainDeliveryLock(deliver, field);

/** The one 409 wording for every job. */
export const lockConflict = (lock: RunLock): ApiError =>
  new ApiError('CONFLICT', `${lock.holder} is already running; wait for it to finish or cancel it`, lock.field);
