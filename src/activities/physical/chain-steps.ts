// The steps that rebuild a datadir from a fetched chain: extract the full backup and prepare it,
// apply each incremental, move the result to a folder. Plain functions the activities wrap, each
// leaving its record in the scratch directory.
import { open, mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Context } from '@temporalio/activity';
import { killOrphanedTool, runTool, startPipedTools } from '../tools/tools.ts';
import {
  chainScratch,
  exists,
  isEmptyOrMissing,
  isFinished,
  partialFolder,
  readRecord,
  refuse,
  scratchMissing,
  writeRecord,
} from './chain-scratch.ts';
import { extractArgs, prepareArgs } from './commands.ts';
import type { ChainPiece } from './restore-chain.ts';
import { toolCommandsFor } from './version.ts';

const toolsOf = (piece: ChainPiece) => toolCommandsFor(piece.tool === 'mariabackup' ? 'mariadb' : 'mysql');

/**
 * `zstd -dc FILE | mbstream -x -C DIR` with the two tools joined by a kernel pipe and the file
 * opened for the first one: the bytes never pass through Node (the restore reads gigabytes this
 * way). The extractor's pid goes to the pid file (the decompressor dies with its pipe).
 */
async function extractPiece(workDir: string, restoreId: string, file: string, piece: ChainPiece, dir: string): Promise<void> {
  const signal = Context.current().cancellationSignal;
  const tools = toolsOf(piece);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const input = await open(file, 'r').catch(() => {
    throw scratchMissing(restoreId, `piece ${piece.id}`);
  });
  let piped: ReturnType<typeof startPipedTools>;
  try {
    piped = startPipedTools(
      [
        { command: piece.compression === 'zstd' ? 'zstd' : 'gzip', args: ['-q', '-d', '-c'] },
        { command: tools.extract, args: extractArgs(dir), pidFile: chainScratch(workDir, restoreId).pidFile },
      ],
      { signal, stdin: input.fd },
    );
  } finally {
    // The decompressor holds its own copy: close ours, so only the tools have the file open.
    await input.close();
  }
  piped.stdout.resume();
  const [decompress, extract] = await Promise.allSettled(piped.tools.map((t) => t.done));
  if (signal.aborted) throw signal.reason;
  if (decompress?.status === 'rejected') throw decompress.reason;
  if (extract?.status === 'rejected') throw extract.reason;
}

/** `--prepare` one step of the chain on `data/`. */
async function prepare(workDir: string, restoreId: string, piece: ChainPiece, incrementalDir: string | null, last: boolean): Promise<void> {
  const tools = toolsOf(piece);
  const paths = chainScratch(workDir, restoreId);
  await runTool({
    command: tools.backup,
    args: prepareArgs(tools, { baseDir: paths.data, incrementalDir, last }),
    signal: Context.current().cancellationSignal,
    pidFile: paths.pidFile,
  });
}

/** Extracts the full backup into `data/` and prepares it (again from the fetched file on a retry: idempotent). */
export async function prepareBase(workDir: string, { restoreId, piece, last }: { restoreId: string; piece: ChainPiece; last: boolean }) {
  const paths = chainScratch(workDir, restoreId);
  await killOrphanedTool(paths.pidFile);
  await writeRecord(workDir, restoreId, { applied: [], applying: piece.id }).catch(() => {
    throw scratchMissing(restoreId, 'the scratch directory');
  });
  await extractPiece(workDir, restoreId, paths.piece(0, piece.id), piece, paths.data);
  await prepare(workDir, restoreId, piece, null, last);
  await writeRecord(workDir, restoreId, { applied: [piece.id], applying: null });
}

/**
 * Applies one incremental to the prepared base. Already applied (a retry after the step
 * finished): nothing to do. Interrupted halfway by a dead worker: `data/` cannot be trusted, and
 * the failure `PreparedDirStale` tells the workflow to prepare again from the fetched pieces.
 */
export async function applyIncrement(
  workDir: string,
  input: { restoreId: string; piece: ChainPiece; index: number; appliedBefore: string[]; last: boolean },
): Promise<void> {
  const { restoreId, piece, index, appliedBefore, last } = input;
  const paths = chainScratch(workDir, restoreId);
  await killOrphanedTool(paths.pidFile);
  const record = await readRecord(workDir, restoreId);
  if (!record) throw scratchMissing(restoreId, 'the prepared datadir');
  if (record.applying === null && record.applied.includes(piece.id)) return;
  if (!isFinished(record, appliedBefore)) {
    throw refuse(
      `the prepared datadir of restore ${restoreId} was left half-updated by an interrupted step; preparing it again`,
      'PreparedDirStale',
    );
  }
  await writeRecord(workDir, restoreId, { applied: record.applied, applying: piece.id });
  await extractPiece(workDir, restoreId, paths.piece(index, piece.id), piece, paths.inc);
  await prepare(workDir, restoreId, piece, paths.inc, last);
  await rm(paths.inc, { recursive: true, force: true });
  await writeRecord(workDir, restoreId, { applied: [...record.applied, piece.id], applying: null });
}

/**
 * Moves the prepared datadir to `folder` (a rename on the same filesystem, else a copy beside
 * it renamed at the end), so the folder is either absent or complete.
 */
export async function deliverToFolder(
  workDir: string,
  { restoreId, folder, appliedAll }: { restoreId: string; folder: string; appliedAll: string[] },
): Promise<{ path: string }> {
  const paths = chainScratch(workDir, restoreId);
  const record = await readRecord(workDir, restoreId);
  if (!(await exists(paths.data))) {
    // A retry after the rename: the datadir is already at the folder.
    if (await exists(join(folder, 'xtrabackup_checkpoints'))) return { path: folder };
    throw scratchMissing(restoreId, 'the prepared datadir');
  }
  if (!isFinished(record, appliedAll)) {
    throw refuse(`the prepared datadir of restore ${restoreId} is not the finished chain; preparing it again`, 'PreparedDirStale');
  }
  if (!(await isEmptyOrMissing(folder))) throw refuse(`folder ${folder} is not empty; a restore never writes over files`, 'FolderNotEmpty');
  await rm(folder, { recursive: true, force: true }); // an empty directory
  try {
    await rename(paths.data, folder);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EXDEV') throw error;
    const partial = partialFolder(folder, restoreId);
    await rm(partial, { recursive: true, force: true });
    await runTool({ command: 'cp', args: ['-a', paths.data, partial], signal: Context.current().cancellationSignal });
    await rename(partial, folder);
    await rm(paths.data, { recursive: true, force: true });
  }
  return { path: folder };
}
