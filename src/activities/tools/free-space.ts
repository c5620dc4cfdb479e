// Room for a dump in workDir, checked before the dump starts: a dump that fills the disk halfway
// fails late, after hours, and takes every other run on the worker down with it.
import { mkdir, statfs } from 'node:fs/promises';
import { ApplicationFailure } from '@temporalio/activity';
import type { Pool, RowDataPacket } from 'mysql2/promise';

/** A dump may come out this much larger than information_schema's DATA_LENGTH (text of binary columns)… */
export const DUMP_SIZE_MARGIN = 1.2;
/** …and leaves this much for everything else on the disk (option files, pid files, other small runs). */
export const DUMP_RESERVE_BYTES = 64 * 1024 * 1024;

const mib = (bytes: number): number => Math.ceil(bytes / 1048576);

/** Bytes free to this process in the filesystem holding `dir` (created first, as the dump would). */
export async function freeBytes(dir: string): Promise<number> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const fs = await statfs(dir);
  return fs.bavail * fs.bsize;
}

/** What a dump of `dataBytes` (information_schema's DATA_LENGTH) needs free in workDir. */
export const dumpSpaceNeeded = (dataBytes: number): number => Math.ceil(dataBytes * DUMP_SIZE_MARGIN) + DUMP_RESERVE_BYTES;

/**
 * Refuses (non-retryable `InsufficientSpace`) a dump of `what` whose data (`dataBytes`, from
 * information_schema.TABLES) would not fit in workDir with the margin; the message names the work
 * dir and both sizes.
 */
export async function checkDumpSpace(workDir: string, dataBytes: number, what: string, free?: number): Promise<void> {
  const needed = dumpSpaceNeeded(dataBytes);
  const available = free ?? (await freeBytes(workDir));
  if (available >= needed) return;
  throw ApplicationFailure.nonRetryable(
    `not enough free space in workDir ${workDir} to dump ${what}: it needs about ${mib(needed)} MiB ` +
      `(${mib(dataBytes)} MiB of data, ${Math.round((DUMP_SIZE_MARGIN - 1) * 100)}% margin and ${mib(DUMP_RESERVE_BYTES)} MiB to spare), ` +
      `${Math.floor(available / 1048576)} MiB are free; free some space or point workDir at a larger disk`,
    'InsufficientSpace',
  );
}

/** DATA_LENGTH of the named tables of a database (every table when `tables` is null). */
export async function tablesDataBytes(pool: Pick<Pool, 'query'>, database: string, tables: string[] | null): Promise<number> {
  if (tables !== null && tables.length === 0) return 0;
  const [rows] = await pool.query<RowDataPacket[]>(
    `SELECT COALESCE(SUM(DATA_LENGTH), 0) AS bytes FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?${tables ? ' AND TABLE_NAME IN (?)' : ''}`,
    tables ? [database, tables] : [database],
  );
  return Number(rows[0]?.bytes ?? 0);
}
