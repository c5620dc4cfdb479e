// Downloading one piece of a chain into the scratch directory, sha256 verified on the way; a piece
// an earlier attempt already fetched and verified is kept, not fetched again.
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Context } from '@temporalio/activity';
import type { BackupStores } from '../storage/stores.ts';
import { hashingTap, storageActivityFailure, targetStore } from '../storage/streams.ts';
import { progressReporter } from '../tools/progress.ts';
import { chainScratch, refuse } from './chain-scratch.ts';
import type { ChainPiece } from './restore-chain.ts';

export interface FetchChainPieceInput {
  restoreId: string;
  target: string;
  piece: ChainPiece;
  index: number;
}

/** Fetches `piece`; a checksum or size that differs from the manifest is refused (the file is not kept). */
export async function fetchChainPiece(
  { workDir, stores }: { workDir: string; stores: BackupStores },
  { restoreId, target, piece, index }: FetchChainPieceInput,
): Promise<{ bytes: number; reused: boolean }> {
  const ctx = Context.current();
  const file = chainScratch(workDir, restoreId).piece(index, piece.id);
  const done = `${file}.sha256`;
  if ((await readFile(done, 'utf8').catch(() => '')) === piece.sha256 && (await stat(file).catch(() => null))?.size === piece.size)
    return { bytes: piece.size, reused: true };
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  const partial = `${file}.partial`;
  const tap = hashingTap();
  const report = progressReporter(`download:${piece.id}`);
  report(0);
  try {
    await report.whileSampling(
      async () => {
        const body = await targetStore(stores, target).download(piece.key, { signal: ctx.cancellationSignal });
        await pipeline(body, tap, createWriteStream(partial, { mode: 0o600 }));
      },
      () => tap.bytes / Math.max(1, piece.size),
    );
  } catch (error) {
    await rm(partial, { force: true });
    if (ctx.cancellationSignal.aborted) throw ctx.cancellationSignal.reason;
    throw storageActivityFailure(error);
  }
  const sha256 = tap.digest();
  if (sha256 !== piece.sha256 || tap.bytes !== piece.size) {
    await rm(partial, { force: true });
    throw refuse(
      `checksum mismatch: ${targetStore(stores, target).url}/${piece.key} has sha256 ${sha256} (${tap.bytes} bytes) but its manifest says ${piece.sha256} (${piece.size} bytes); the backup is damaged`,
      'ChecksumMismatch',
    );
  }
  await rename(partial, file);
  await writeFile(done, piece.sha256);
  report(1);
  return { bytes: tap.bytes, reused: false };
}
