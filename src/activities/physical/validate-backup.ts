// Seed 004's pre-flight for a physical backup: the tool, the server, the credentials, the datadir,
// the target and, for an incremental, the chain it builds on. Every refusal says what to fix.
import { constants } from 'node:fs';
import { access, readdir } from 'node:fs/promises';
import type { RowDataPacket } from 'mysql2/promise';
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { PhysicalBackupManifest, PhysicalKind } from '../../workflows/physical/contracts.ts';
import { searchAttributes } from '../../shared/temporal.ts';
import { listPhysicalManifests } from '../catalog/physical-manifests.ts';
import type { ActivityDeps } from '../deps.ts';
import type { PhysicalDeps } from './index.ts';
import { storageActivityFailure, targetStore } from '../storage/streams.ts';
import { ChainError, resolveChain } from './chain.ts';
import { missingBackupPrivileges } from './privileges.ts';
import { requirePhysicalTools, toolCommandsFor, toolCompatibilityProblem, type Flavor } from './version.ts';

export interface ValidatePhysicalBackupInput {
  connection: string;
  target: string;
  kind: PhysicalKind;
  parentId: string | null;
}
export interface ValidatePhysicalBackupOutput {
  flavor: Flavor;
  /** The datadir to pass to the tool when the config names one. */
  datadir: string | null;
  /** Files in the datadir, for progress (the tool logs each one it copies). */
  fileCount: number;
  parent: { id: string; chainId: string; toLsn: string } | null;
}

export const refuse = (message: string, type: string): ApplicationFailure => ApplicationFailure.nonRetryable(message, type);

/** A configured connection; an unknown name is a refusal (InvalidRequest). */
export function physicalConnection(deps: Pick<ActivityDeps, 'pools'>, name: string) {
  try {
    return deps.pools.connection(name);
  } catch (error) {
    throw refuse((error as Error).message, 'InvalidRequest');
  }
}

/** Files under a directory, counted (not read), for progress. */
async function countFiles(dir: string): Promise<number> {
  let count = 0;
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true }).catch(() => [])) if (entry.isFile()) count++;
  return count;
}

/** The InnoDB log sequence number the server is at now (SHOW ENGINE INNODB STATUS). */
function currentLsn(rows: RowDataPacket[]): bigint | null {
  const m = /Log sequence number\s+(\d+)/.exec(String(rows[0]?.Status ?? ''));
  return m ? BigInt(m[1]!) : null;
}

/**
 * Scheduled runs carry a timestamp in their workflow id, so the id alone does not keep two physical
 * backups of one server apart (a plan's full and incremental firing together): the later one yields.
 */
async function refuseIfAnotherRuns(connection: string): Promise<void> {
  const ctx = Context.current();
  const self = ctx.info.workflowExecution;
  if (!self || !/^[A-Za-z0-9_-]+$/.test(connection)) return;
  const query = `WorkflowType = 'physicalBackup' AND ExecutionStatus = 'Running' AND ${searchAttributes.source.name} = '${connection}'`;
  const mine = await ctx.client.workflow.getHandle(self.workflowId, self.runId).describe();
  for await (const other of ctx.client.workflow.list({ query })) {
    if (other.runId === self.runId || other.startTime >= mine.startTime) continue;
    // Visibility lags; the execution itself says whether it still runs.
    const still = await ctx.client.workflow.getHandle(other.workflowId, other.runId).describe();
    if (still.status.name === 'RUNNING') {
      throw refuse(`another physical backup of ${connection} is running (${other.workflowId}); this one is skipped`, 'BackupRunning');
    }
  }
}

/**
 * The tool is installed and matches the server's release series, the credentials work, the
 * datadir is readable by this worker (it must run on the database host), the target answers, and
 * an incremental has an intact chain to build on.
 */
export async function validatePhysicalBackup(
  deps: PhysicalDeps,
  input: ValidatePhysicalBackupInput,
): Promise<ValidatePhysicalBackupOutput> {
  const conn = physicalConnection(deps, input.connection);
  await refuseIfAnotherRuns(input.connection);
  const tools = toolCommandsFor(conn.flavor);
  const toolVersion = await requirePhysicalTools(tools);
  const pool = deps.pools.get(input.connection);
  let version: string;
  let serverDatadir: string;
  try {
    const [rows] = await pool.query<RowDataPacket[]>('SELECT VERSION() AS v, @@datadir AS d');
    version = String(rows[0]?.v);
    serverDatadir = String(rows[0]?.d);
  } catch (error) {
    const code = (error as { code?: string }).code ?? '';
    if (/ACCESS_DENIED/.test(code))
      throw refuse(
        `connection ${input.connection}: the server refused the credentials (${(error as Error).message})`,
        'AuthenticationFailed',
      );
    throw error; // unreachable server: worth retrying
  }
  const problem = toolCompatibilityProblem(conn.flavor, toolVersion, version);
  if (problem) throw refuse(`connection ${input.connection}: ${problem}`, 'ToolIncompatible');
  const [grants] = await pool.query<RowDataPacket[]>('SHOW GRANTS FOR CURRENT_USER()');
  const missing = missingBackupPrivileges(
    grants.map((row) => String(Object.values(row)[0])),
    conn.flavor,
  );
  if (missing?.length) {
    throw refuse(
      `connection ${input.connection}: the user lacks ${missing.join(', ')} on *.*, which ${tools.backup} needs (GRANT ${missing.join(', ')} ON *.* TO …)`,
      'PermissionDenied',
    );
  }

  const datadir = conn.datadir ?? serverDatadir;
  try {
    await access(datadir, constants.R_OK | constants.X_OK);
    await readdir(datadir);
  } catch (error) {
    throw refuse(
      `connection ${input.connection}: the datadir ${datadir} is not readable by this worker (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); physical backups need the worker on the database host, as a user that can read the datadir (set connections.${input.connection}.datadir if the path differs)`,
      'DatadirUnreadable',
    );
  }

  const target = targetStore(deps.stores, input.target);
  let manifests: PhysicalBackupManifest[];
  try {
    ({ manifests } = await listPhysicalManifests(target, `physical-${input.connection}/`));
  } catch (error) {
    throw storageActivityFailure(error);
  }
  const parent = input.kind === 'physical-incremental' ? await incrementalParent(pool, manifests, input) : null;
  return { flavor: conn.flavor, datadir: conn.datadir ?? null, fileCount: Math.max(1, await countFiles(datadir)), parent };
}

/** The piece an incremental builds on: the asked one or the newest, on an intact chain, not ahead of the server. */
async function incrementalParent(
  pool: ReturnType<PhysicalDeps['pools']['get']>,
  manifests: PhysicalBackupManifest[],
  input: ValidatePhysicalBackupInput,
): Promise<ValidatePhysicalBackupOutput['parent']> {
  const mine = manifests.filter((m) => m.source.connection === input.connection);
  const chosen = input.parentId
    ? mine.find((m) => m.id === input.parentId)
    : mine.sort((a, b) => Date.parse(b.startedAt) - Date.parse(a.startedAt) || (a.id < b.id ? 1 : -1))[0];
  if (!chosen) {
    throw refuse(
      input.parentId
        ? `no physical backup ${input.parentId} of ${input.connection} in target ${input.target} to build an incremental on`
        : `no physical backup of ${input.connection} in target ${input.target} yet: take a full backup first`,
      'NoParentBackup',
    );
  }
  try {
    resolveChain(manifests, { backupId: chosen.id });
  } catch (error) {
    if (error instanceof ChainError) throw refuse(`${error.message}; take a new full backup`, 'ChainBroken');
    throw error;
  }
  const [status] = await pool.query<RowDataPacket[]>('SHOW ENGINE INNODB STATUS');
  const lsn = currentLsn(status);
  if (lsn !== null && lsn < BigInt(chosen.toLsn)) {
    throw refuse(
      `the server's LSN ${lsn} is behind ${chosen.id}'s to_lsn ${chosen.toLsn}: the server was rebuilt or restored since; take a new full backup`,
      'ServerChanged',
    );
  }
  return { id: chosen.id, chainId: chosen.chainId, toLsn: chosen.toLsn };
}
