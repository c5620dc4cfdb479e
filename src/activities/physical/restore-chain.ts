// Chain restores: resolve the chain from the catalog and check it joins up before anything is
// downloaded, fetch each piece (sha256 verified), prepare the base, apply each incremental, and
// deliver the prepared datadir to a folder or, through a temporary server, one database into a
// connection. Every step is its own activity and leaves a record in the scratch directory, so a
// retried step on the same host knows what the dead attempt finished.
import { createWriteStream } from 'node:fs';
import { access, mkdir, readdir, readFile, rename, rm, stat, statfs, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { ApplicationFailure, Context } from '@temporalio/activity';
import { physicalProgressSignal } from '../../workflows/physical/messages.ts';
import type { PhysicalBackupManifest, PhysicalTool } from '../../workflows/physical/contracts.ts';
import type { DatabaseRef } from '../../workflows/copy/contracts.ts';
import { findDestinationProblem } from '../../shared/copy-rules.ts';
import { ChainError, resolveChain } from './chain.ts';
import { extractArgs, prepareArgs } from './commands.ts';
import { listPhysicalManifests } from '../catalog/physical-manifests.ts';
import { toolCommandsFor } from './version.ts';
import type { BackupStore } from '../storage/store.ts';
import { hashingTap, storageActivityFailure } from '../storage/streams.ts';
import type { ActivityDeps } from '../deps.ts';
import { databaseExists, databaseCharset, objectCount } from '../copy/copy-checks.ts';
import { extractCompressedFile, killOrphan, requireTool, runPhysicalTool } from '../tools/physical-tools.ts';
import { PROGRESS_INTERVAL_MS, progressReporter } from '../tools/progress.ts';
import { deliverFromTempServer, stopChainServer } from './deliver.ts';

/** What a step needs of one piece (no credentials, nothing from the manifest it does not use). */
export interface ChainPiece {
  id: string;
  key: string;
  sha256: string;
  size: number;
  streamBytes: number;
  compression: PhysicalBackupManifest['compression'];
  tool: PhysicalTool;
  fromLsn: string;
  toLsn: string;
}

export interface ResolveRestoreChainInput {
  restoreId: string;
  target: string;
  backupId: string | null;
  before: string | null;
  connection: string | null;
  folder: string | null;
  destination: DatabaseRef | null;
  recreateDestination: boolean;
}
export interface ResolveRestoreChainOutput {
  pieces: ChainPiece[];
  /** The destination's character set when it already existed (empty), so cleanup can put it back. */
  existingDestination: { charset: string; collation: string } | null;
}

/** What the scratch directory says has been done to `data/`: the pieces applied, and the one being applied now. */
interface PreparedRecord {
  applied: string[];
  applying: string | null;
}

const refuse = (message: string, type: string): ApplicationFailure => ApplicationFailure.nonRetryable(message, type);
const ORPHAN = /mariabackup|mariadb-backup|xtrabackup|mbstream|xbstream|zstd/;

/** The scratch directory of a chain restore and what lives in it. */
export function chainScratch(workDir: string, restoreId: string) {
  const root = join(workDir, `chain-${restoreId}`);
  return {
    root,
    piece: (index: number, id: string) => join(root, 'pieces', `${String(index).padStart(3, '0')}-${id}.xbstream`),
    data: join(root, 'data'),
    inc: join(root, 'inc'),
    record: join(root, 'prepared.json'),
    run: join(root, 'run'),
    pidFile: join(root, 'tool.pid'),
  };
}

/** A folder delivery's path while it is copied across filesystems. */
export const partialFolder = (path: string, restoreId: string): string => `${path}.dbferry-partial-${restoreId}`;

async function isEmptyOrMissing(path: string): Promise<boolean> {
  try {
    return (await readdir(path)).length === 0;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return true;
    throw error;
  }
}

/** Runs `fn` heartbeating every second, so a dead worker is noticed and a cancel reaches the tools. */
async function heartbeating<T>(fn: () => Promise<T>): Promise<T> {
  const ctx = Context.current();
  ctx.heartbeat();
  const beat = setInterval(() => ctx.heartbeat(), PROGRESS_INTERVAL_MS);
  try {
    return await fn();
  } finally {
    clearInterval(beat);
  }
}

export function createPhysicalRestoreActivities(deps: ActivityDeps) {
  const scratch = (restoreId: string) => chainScratch(deps.config.workDir, restoreId);
  const store = (target: string): BackupStore => {
    try {
      return deps.stores.get(target);
    } catch (error) {
      throw storageActivityFailure(error);
    }
  };
  const scratchMissing = (restoreId: string, what: string) =>
    refuse(`${what} of restore ${restoreId} is not on this worker (the step that made it ran on another host)`, 'ScratchMissing');

  const readRecord = async (restoreId: string): Promise<PreparedRecord | null> =>
    JSON.parse(await readFile(scratch(restoreId).record, 'utf8').catch(() => 'null')) as PreparedRecord | null;
  const writeRecord = (restoreId: string, record: PreparedRecord) => writeFile(scratch(restoreId).record, JSON.stringify(record));

  /** Decompresses a fetched piece into `dir` through mbstream/xbstream. */
  async function extractPiece(restoreId: string, file: string, piece: ChainPiece, dir: string, signal: AbortSignal) {
    const tools = toolCommandsFor(piece.tool === 'mariabackup' ? 'mariadb' : 'mysql');
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await access(file).catch(() => {
      throw scratchMissing(restoreId, `piece ${piece.id}`);
    });
    await extractCompressedFile({
      file,
      compression: piece.compression,
      command: tools.extract,
      args: extractArgs(dir),
      signal,
      pidFile: scratch(restoreId).pidFile,
    });
  }

  /** `--prepare` one step, heartbeating while the tool works. */
  async function prepare(restoreId: string, piece: ChainPiece, incrementalDir: string | null, last: boolean) {
    const tools = toolCommandsFor(piece.tool === 'mariabackup' ? 'mariadb' : 'mysql');
    await runPhysicalTool(tools.backup, prepareArgs(tools, { baseDir: scratch(restoreId).data, incrementalDir, last }), {
      signal: Context.current().cancellationSignal,
      pidFile: scratch(restoreId).pidFile,
    });
  }

  /** Extracts the full backup into `data/` and prepares it (again from the fetched file on a retry: idempotent). */
  async function prepareBase({ restoreId, piece, last }: { restoreId: string; piece: ChainPiece; last: boolean }): Promise<void> {
    const ctx = Context.current();
    const paths = scratch(restoreId);
    await killOrphan(paths.pidFile, ORPHAN);
    await writeRecord(restoreId, { applied: [], applying: piece.id }).catch(() => {
      throw scratchMissing(restoreId, 'the scratch directory');
    });
    await extractPiece(restoreId, paths.piece(0, piece.id), piece, paths.data, ctx.cancellationSignal);
    await prepare(restoreId, piece, null, last);
    await writeRecord(restoreId, { applied: [piece.id], applying: null });
  }

  /**
   * Applies one incremental to the prepared base. Already applied (a retry after the step
   * finished): nothing to do. Interrupted halfway by a dead worker: `data/` cannot be trusted, and
   * the failure `PreparedDirStale` tells the workflow to prepare again from the fetched pieces.
   */
  async function applyIncrement({
    restoreId,
    piece,
    index,
    appliedBefore,
    last,
  }: {
    restoreId: string;
    piece: ChainPiece;
    index: number;
    appliedBefore: string[];
    last: boolean;
  }): Promise<void> {
    const ctx = Context.current();
    const paths = scratch(restoreId);
    await killOrphan(paths.pidFile, ORPHAN);
    const record = await readRecord(restoreId);
    if (!record) throw scratchMissing(restoreId, 'the prepared datadir');
    if (record.applying === null && record.applied.includes(piece.id)) return;
    if (record.applying !== null || record.applied.join(',') !== appliedBefore.join(',')) {
      throw refuse(
        `the prepared datadir of restore ${restoreId} was left half-updated by an interrupted step; preparing it again`,
        'PreparedDirStale',
      );
    }
    await writeRecord(restoreId, { applied: record.applied, applying: piece.id });
    await extractPiece(restoreId, paths.piece(index, piece.id), piece, paths.inc, ctx.cancellationSignal);
    await prepare(restoreId, piece, paths.inc, last);
    await rm(paths.inc, { recursive: true, force: true });
    await writeRecord(restoreId, { applied: [...record.applied, piece.id], applying: null });
  }

  /**
   * Moves the prepared datadir to `folder` (a rename on the same filesystem, else a copy beside
   * it renamed at the end), so the folder is either absent or complete.
   */
  /** Refuses a datadir that is gone (ScratchMissing) or not exactly the finished chain (PreparedDirStale). */
  async function checkPrepared(restoreId: string, appliedAll: string[]): Promise<void> {
    const record = await readRecord(restoreId);
    if (
      !record ||
      !(await access(scratch(restoreId).data).then(
        () => true,
        () => false,
      ))
    )
      throw scratchMissing(restoreId, 'the prepared datadir');
    if (record.applying !== null || record.applied.join(',') !== appliedAll.join(',')) {
      throw refuse(`the prepared datadir of restore ${restoreId} is not the finished chain; preparing it again`, 'PreparedDirStale');
    }
  }

  async function deliverToFolder({
    restoreId,
    folder,
    appliedAll,
  }: {
    restoreId: string;
    folder: string;
    appliedAll: string[];
  }): Promise<{ path: string }> {
    const paths = scratch(restoreId);
    const record = await readRecord(restoreId);
    const dataThere = await access(paths.data).then(
      () => true,
      () => false,
    );
    if (!dataThere) {
      // A retry after the rename: the datadir is already at the folder.
      if (
        await access(join(folder, 'xtrabackup_checkpoints')).then(
          () => true,
          () => false,
        )
      )
        return { path: folder };
      throw scratchMissing(restoreId, 'the prepared datadir');
    }
    if (!record || record.applying !== null || record.applied.join(',') !== appliedAll.join(',')) {
      throw refuse(`the prepared datadir of restore ${restoreId} is not the finished chain; preparing it again`, 'PreparedDirStale');
    }
    if (!(await isEmptyOrMissing(folder)))
      throw refuse(`folder ${folder} is not empty; a restore never writes over files`, 'FolderNotEmpty');
    await rm(folder, { recursive: true, force: true }); // an empty directory
    try {
      await rename(paths.data, folder);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EXDEV') throw error;
      const partial = partialFolder(folder, restoreId);
      await rm(partial, { recursive: true, force: true });
      await runPhysicalTool('cp', ['-a', paths.data, partial], { signal: Context.current().cancellationSignal });
      await rename(partial, folder);
      await rm(paths.data, { recursive: true, force: true });
    }
    return { path: folder };
  }

  return {
    /**
     * Reads the target's physical manifests, resolves the chain up to the asked piece and checks
     * that it joins up (a missing middle piece, an LSN gap, a foreign piece are refused here, before
     * any download), checks the destination and the free space in workDir.
     */
    async resolveRestoreChain(input: ResolveRestoreChainInput): Promise<ResolveRestoreChainOutput> {
      let existingDestination: ResolveRestoreChainOutput['existingDestination'] = null;
      if (input.destination) {
        const problem = findDestinationProblem(deps.config, input.destination);
        if (problem)
          throw refuse(`${problem.field}: ${problem.message}`, problem.kind === 'forbidden' ? 'DestinationForbidden' : 'InvalidRequest');
        const pool = deps.pools.get(input.destination.connection);
        if ((await databaseExists(pool, input.destination.database)) && !input.recreateDestination) {
          if ((await objectCount(pool, input.destination.database)) > 0) {
            throw refuse(
              `destination database "${input.destination.database}" already has tables; pass recreateDestination: true to drop and recreate it`,
              'DestinationNotEmpty',
            );
          }
          existingDestination = await databaseCharset(pool, input.destination.database);
        }
      }
      if (input.folder !== null) {
        if (!isAbsolute(input.folder) || resolve(input.folder) !== input.folder)
          throw refuse(`folder ${JSON.stringify(input.folder)} must be an absolute, normalized path`, 'InvalidRequest');
        if (!(await isEmptyOrMissing(input.folder)))
          throw refuse(`folder ${input.folder} is not empty; a restore never writes over files`, 'FolderNotEmpty');
        await access(dirname(input.folder)).catch(() => {
          throw refuse(`the parent of folder ${input.folder} does not exist`, 'InvalidRequest');
        });
      }
      const target = store(input.target);
      let manifests: PhysicalBackupManifest[];
      try {
        ({ manifests } = await listPhysicalManifests(target, input.connection ? `physical-${input.connection}/` : 'physical-'));
      } catch (error) {
        throw storageActivityFailure(error);
      }
      let chain: PhysicalBackupManifest[];
      try {
        chain = input.backupId
          ? resolveChain(manifests, { backupId: input.backupId })
          : resolveChain(manifests, { connection: input.connection ?? '', before: new Date(input.before ?? Date.now()) });
      } catch (error) {
        if (error instanceof ChainError) throw refuse(error.message, error.type);
        throw error;
      }
      // The tools the steps will need, on this worker, before anything is fetched.
      const tools = toolCommandsFor(chain[0]!.tool.name === 'mariabackup' ? 'mariadb' : 'mysql');
      const pkg = tools.tool === 'mariabackup' ? 'the mariadb-backup package' : 'Percona XtraBackup';
      await requireTool(tools.backup, pkg);
      await requireTool(tools.extract, pkg);
      await requireTool(chain[0]!.compression === 'zstd' ? 'zstd' : 'gzip', chain[0]!.compression);
      if (input.destination)
        await requireTool(
          tools.tool === 'mariabackup' ? 'mariadbd' : 'mysqld',
          'the database server package (a temporary server reads the restored database)',
        );
      // Pieces on disk compressed, the datadir, and the largest incremental extracted beside it.
      const needed =
        chain.reduce((a, m) => a + m.size, 0) + chain[0]!.streamBytes + Math.max(0, ...chain.slice(1).map((m) => m.streamBytes));
      await mkdir(deps.config.workDir, { recursive: true, mode: 0o700 });
      const fs = await statfs(deps.config.workDir);
      const free = fs.bavail * fs.bsize;
      if (free < needed * 1.1) {
        throw refuse(
          `not enough free space in workDir ${deps.config.workDir}: the chain needs about ${Math.ceil((needed * 1.1) / 1048576)} MiB, ${Math.floor(free / 1048576)} MiB are free`,
          'InsufficientSpace',
        );
      }
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
    },

    /**
     * Downloads one piece into the scratch directory, hashing on the way; a checksum or size that
     * differs from the manifest is refused (the file is not kept). A piece already fetched by an
     * earlier attempt is not fetched again.
     */
    async fetchChainPiece({
      restoreId,
      target,
      piece,
      index,
    }: {
      restoreId: string;
      target: string;
      piece: ChainPiece;
      index: number;
    }): Promise<{ bytes: number; reused: boolean }> {
      const ctx = Context.current();
      const file = scratch(restoreId).piece(index, piece.id);
      const done = `${file}.sha256`;
      if ((await readFile(done, 'utf8').catch(() => '')) === piece.sha256 && (await stat(file).catch(() => null))?.size === piece.size)
        return { bytes: piece.size, reused: true };
      await mkdir(dirname(file), { recursive: true, mode: 0o700 });
      const partial = `${file}.partial`;
      const tap = hashingTap();
      const report = progressReporter(physicalProgressSignal, `download:${piece.id}`);
      report(0);
      const timer = setInterval(() => report(tap.bytes / Math.max(1, piece.size)), PROGRESS_INTERVAL_MS);
      try {
        const from = store(target);
        const body = await from.download(piece.key, { signal: ctx.cancellationSignal });
        await pipeline(body, tap, createWriteStream(partial, { mode: 0o600 }));
      } catch (error) {
        await rm(partial, { force: true });
        if (ctx.cancellationSignal.aborted) throw ctx.cancellationSignal.reason;
        throw storageActivityFailure(error);
      } finally {
        clearInterval(timer);
      }
      const sha256 = tap.digest();
      if (sha256 !== piece.sha256 || tap.bytes !== piece.size) {
        await rm(partial, { force: true });
        throw refuse(
          `checksum mismatch: ${store(target).url}/${piece.key} has sha256 ${sha256} (${tap.bytes} bytes) but its manifest says ${piece.sha256} (${piece.size} bytes); the backup is damaged`,
          'ChecksumMismatch',
        );
      }
      await rename(partial, file);
      await writeFile(done, piece.sha256);
      report(1);
      return { bytes: tap.bytes, reused: false };
    },

    /** Extracts the full backup into `data/` and prepares it (again from the fetched file on a retry: idempotent). */
    async prepareChainBase(input: { restoreId: string; piece: ChainPiece; last: boolean }): Promise<void> {
      return heartbeating(() => prepareBase(input));
    },

    async applyChainIncrement(input: {
      restoreId: string;
      piece: ChainPiece;
      index: number;
      appliedBefore: string[];
      last: boolean;
    }): Promise<void> {
      return heartbeating(() => applyIncrement(input));
    },

    async deliverChainToFolder(input: { restoreId: string; folder: string; appliedAll: string[] }): Promise<{ path: string }> {
      return heartbeating(() => deliverToFolder(input));
    },
    deliverFromTempServer: deliverFromTempServer(deps, scratch, checkPrepared),

    /**
     * Removes everything a chain restore left on this worker, whatever happened: stops its temporary
     * server, kills an orphaned tool, removes the scratch directory and a half-copied folder.
     */
    async removeChainScratch({ restoreId, folder }: { restoreId: string; folder: string | null }): Promise<void> {
      const paths = scratch(restoreId);
      await stopChainServer(paths.run);
      await killOrphan(paths.pidFile, ORPHAN);
      await killOrphan(`${paths.root}.mydumper.pid`, /mydumper/);
      await rm(paths.root, { recursive: true, force: true });
      if (folder) await rm(partialFolder(folder, restoreId), { recursive: true, force: true });
    },
  };
}
