// Before a chain restore downloads anything: the destination or folder may be written, the chain
// joins up (no missing piece, no LSN gap), its tools are installed and workDir has room for it.
import { access, mkdir, statfs } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import type { PhysicalBackupManifest } from '../../workflows/physical/contracts.ts';
import { findDestinationProblem, findSameServerProblem } from '../../shared/copy-rules.ts';
import { listPhysicalManifests } from '../catalog/physical-manifests.ts';
import { emptyDestinationCharset } from '../mysql/databases.ts';
import { storageActivityFailure, targetStore } from '../storage/streams.ts';
import { toolVersion } from '../tools/tools.ts';
import { ChainError, resolveChain } from './chain.ts';
import { isEmptyOrMissing, refuse } from './chain-scratch.ts';
import { Datadirs, findRestoreFolderProblem } from '../../shared/restore-folder.ts';
import type { ResolveRestoreChainInput, ResolveRestoreChainOutput } from './restore-chain.ts';
import type { PhysicalDeps } from './index.ts';
import { requirePhysicalTools, toolCommandsFor } from './version.ts';

/** The chain up to the asked piece, base first, checked to join up; every problem is a refusal. */
async function chainFor(deps: PhysicalDeps, input: ResolveRestoreChainInput): Promise<PhysicalBackupManifest[]> {
  let manifests: PhysicalBackupManifest[];
  try {
    const target = targetStore(deps.stores, input.target);
    ({ manifests } = await listPhysicalManifests(target, input.connection ? `physical-${input.connection}/` : 'physical-'));
  } catch (error) {
    throw storageActivityFailure(error);
  }
  try {
    return input.backupId
      ? resolveChain(manifests, { backupId: input.backupId })
      : resolveChain(manifests, { connection: input.connection ?? '', before: new Date(input.before ?? Date.now()) });
  } catch (error) {
    if (error instanceof ChainError) throw refuse(error.message, error.type);
    throw error;
  }
}

/**
 * Refuses a folder that is relative, outside the restoreRoots (or a datadir, workDir, a system
 * directory: the API's check, again on the worker's filesystem), not empty, or has no parent to be created in.
 */
async function checkFolder(deps: PhysicalDeps, folder: string): Promise<void> {
  if (!isAbsolute(folder) || resolve(folder) !== folder)
    throw refuse(`folder ${JSON.stringify(folder)} must be an absolute, normalized path`, 'InvalidRequest');
  const { restoreRoots, workDir, connections } = deps.config;
  const datadirs = await new Datadirs(connections, (name) => deps.pools.get(name)).all();
  const problem = await findRestoreFolderProblem(folder, { restoreRoots, workDir, datadirs });
  if (problem) throw refuse(`folder ${folder} ${problem.message}`, 'FolderForbidden');
  if (!(await isEmptyOrMissing(folder))) throw refuse(`folder ${folder} is not empty; a restore never writes over files`, 'FolderNotEmpty');
  await access(dirname(folder)).catch(() => {
    throw refuse(`the parent of folder ${folder} does not exist`, 'InvalidRequest');
  });
}

/** Refuses a restore whose pieces, datadir and largest extracted incremental would not fit in workDir (with 10% to spare). */
async function checkFreeSpace(workDir: string, chain: PhysicalBackupManifest[]): Promise<void> {
  const needed = chain.reduce((a, m) => a + m.size, 0) + chain[0]!.streamBytes + Math.max(0, ...chain.slice(1).map((m) => m.streamBytes));
  await mkdir(workDir, { recursive: true, mode: 0o700 });
  const fs = await statfs(workDir);
  const free = fs.bavail * fs.bsize;
  if (free < needed * 1.1) {
    throw refuse(
      `not enough free space in workDir ${workDir}: the chain needs about ${Math.ceil((needed * 1.1) / 1048576)} MiB, ${Math.floor(free / 1048576)} MiB are free`,
      'InsufficientSpace',
    );
  }
}

/**
 * Reads the target's physical manifests, resolves the chain up to the asked piece and checks
 * that it joins up (a missing middle piece, an LSN gap, a foreign piece are refused here, before
 * any download), checks the destination and the free space in workDir.
 */
export async function resolveRestoreChain(deps: PhysicalDeps, input: ResolveRestoreChainInput): Promise<ResolveRestoreChainOutput> {
  let existingDestination: ResolveRestoreChainOutput['existingDestination'] = null;
  if (input.destination) {
    const servers = deps.pools.servers;
    const problem =
      findDestinationProblem(deps.config, input.destination) ??
      (await findSameServerProblem(deps.config, (a, b) => servers.same(a, b), { destination: input.destination }));
    if (problem)
      throw refuse(`${problem.field}: ${problem.message}`, problem.kind === 'forbidden' ? 'DestinationForbidden' : 'InvalidRequest');
    const pool = deps.pools.get(input.destination.connection);
    existingDestination = await emptyDestinationCharset(pool, input.destination.database, input.recreateDestination);
  }
  if (input.folder !== null) await checkFolder(deps, input.folder);
  const chain = await chainFor(deps, input);
  // The tools the steps will need, on this worker, before anything is fetched.
  const tools = toolCommandsFor(chain[0]!.tool.name === 'mariabackup' ? 'mariadb' : 'mysql');
  await requirePhysicalTools(tools);
  await toolVersion(chain[0]!.compression === 'zstd' ? 'zstd' : 'gzip', chain[0]!.compression);
  if (input.destination)
    await toolVersion(
      tools.tool === 'mariabackup' ? 'mariadbd' : 'mysqld',
      'the database server package (a temporary server reads the restored database)',
    );
  await checkFreeSpace(deps.config.workDir, chain);
  return {
    pieces: chain.map((m) => ({
      id: m.id,
      key: m.key,
      sha256: m.sha256,
      size: m.size,
      streamBytes: m.streamBytes,
      compression: m.compression,
      tool: m.tool.name,
      fromLsn: m.fromLsn,
      toLsn: m.toLsn,
    })),
    existingDestination,
  };
}
