// The two ways a logical backup streams into a target, nothing kept locally but mydumper's files:
// mysqldump → row counter → compression → upload, or mydumper, then tar | zstd → upload.
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Context } from '@temporalio/activity';
import type { ActivityDeps } from '../deps.ts';
import { readSchemaObjects } from '../mysql/schema-objects.ts';
import type { BackupStore, UploadResult } from '../storage/store.ts';
import { compressor, rootApplicationFailure, storageActivityFailure, ZSTD_ARGS } from '../storage/streams.ts';
import { countDumpRows, directoryBytes, SCHEMA_OBJECTS_FILE } from '../tools/dump-files.ts';
import { runMydumper } from '../tools/mydumper.ts';
import { progressReporter } from '../tools/progress.ts';
import { checkDumpSpace } from '../tools/free-space.ts';
import { endWhenToolsSucceed, killOrphanedTool, startPipedTools, startTool, withDefaultsFile, type ToolProcess } from '../tools/tools.ts';
import { sqlRowCountingStream } from './sql-row-counter.ts';
import type { StreamBackupInput } from './backup-activities.ts';

// mysqldump flags shared with the benchmark's raw run. --quick streams rows instead of buffering a
// table; --single-transaction is the consistent snapshot without locking InnoDB tables.
export const MYSQLDUMP_FLAGS = [
  '--single-transaction',
  '--quick',
  '--routines',
  '--triggers',
  '--events',
  '--hex-blob',
  '--default-character-set=utf8mb4',
  '--max-allowed-packet=1G',
];
// tar's default record (20 blocks of 512 bytes); it reports every 800 records (~8 MB). A larger
// record size would pad the archive's end with up to a record of zeros, which `tar -x` reading a
// pipe leaves unread: restores of such archives stalled.
const TAR_RECORD = 10_240;
const TAR_CHECKPOINT_RECORDS = 800;

/** What a backup's dump step uses of the worker's clients. */
export type DumpDeps = Pick<ActivityDeps, 'config' | 'pools'>;
export type DumpUpload = UploadResult & { tables: Array<{ table: string; rows: number }> };

/** Where a mydumper backup dumps before archiving, and its pid file beside it. */
export const backupScratchDir = (workDir: string, backupId: string): string => join(workDir, `backup-${backupId}`);
export const backupPidFile = (workDir: string, backupId: string): string => `${backupScratchDir(workDir, backupId)}.mydumper.pid`;

/**
 * Uploads `body` (the end of a tool pipeline) and makes sure no tool outlives the call. When a tool
 * fails, the body errors and the upload aborts; its failure (say, access denied) is reported rather
 * than the aborted upload's.
 */
async function uploadFromTools(
  store: BackupStore,
  key: string,
  body: Readable,
  tools: ToolProcess[],
  flowing: Promise<unknown>,
  local: AbortController,
  sizeHint: number,
): Promise<UploadResult> {
  const ctx = Context.current();
  try {
    const result = await store.upload(key, body, { signal: ctx.cancellationSignal, sizeHint, contentType: 'application/octet-stream' });
    await flowing;
    return result;
  } catch (error) {
    if (ctx.cancellationSignal.aborted) throw error;
    throw rootApplicationFailure(error) ?? storageActivityFailure(error);
  } finally {
    local.abort(new Error('backup finished'));
    await Promise.allSettled(tools.map((t) => t.done));
  }
}

/** mysqldump → row counter → compression → upload, all streaming: nothing is written locally. */
export async function mysqldumpToStore(
  deps: DumpDeps,
  input: StreamBackupInput,
  target: BackupStore,
  estimate: number,
): Promise<DumpUpload> {
  const ctx = Context.current();
  const local = new AbortController();
  const signal = AbortSignal.any([ctx.cancellationSignal, local.signal]);
  return withDefaultsFile(deps.config.workDir, input.source.connection, deps.pools.connection(input.source.connection), async (cnf) => {
    const dump = startTool('mysqldump', [`--defaults-file=${cnf}`, ...MYSQLDUMP_FLAGS, input.source.database], { signal });
    const rows = sqlRowCountingStream();
    const compress = compressor(input.compression, signal);
    const tools = [dump, ...compress.tools];
    const gate = endWhenToolsSucceed(tools);
    const flowing = pipeline(dump.stdout!, rows, compress.stream, gate);
    flowing.catch(() => undefined);
    const report = progressReporter('streaming');
    report(0);
    const uploaded = await report.whileSampling(
      () => uploadFromTools(target, input.key, gate, tools, flowing, local, estimate),
      () => Math.min(0.99, rows.counter.bytes / estimate),
    );
    return { ...uploaded, tables: rows.counter.tables() };
  });
}

/** mydumper into a scratch directory (parallel, consistent), then tar → compression → upload. */
export async function mydumperToStore(
  deps: DumpDeps,
  input: StreamBackupInput,
  target: BackupStore,
  estimate: number,
): Promise<DumpUpload> {
  const ctx = Context.current();
  const dir = backupScratchDir(deps.config.workDir, input.backupId);
  const pidFile = backupPidFile(deps.config.workDir, input.backupId);
  await killOrphanedTool(pidFile);
  await rm(dir, { recursive: true, force: true });
  await checkDumpSpace(deps.config.workDir, estimate, `${input.source.connection}/${input.source.database}`);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  // Routines, triggers and events are read while mydumper dumps (information_schema queries can take
  // a while on a server with many databases); they go into the archive beside its files.
  const objects = readSchemaObjects(deps.pools.get(input.source.connection), input.source.database);
  objects.catch(() => undefined);
  try {
    const dumping = progressReporter('dumping');
    dumping(0);
    await dumping.whileSampling(
      () =>
        runMydumper({
          workDir: deps.config.workDir,
          name: input.source.connection,
          conn: deps.pools.connection(input.source.connection),
          database: input.source.database,
          outputDir: dir,
          threads: input.threads,
          pidFile,
          signal: ctx.cancellationSignal,
        }),
      async () => Math.min(0.99, (await directoryBytes(dir)) / estimate),
    );
    await writeFile(join(dir, SCHEMA_OBJECTS_FILE), JSON.stringify(await objects));
    const total = Math.max(1, await directoryBytes(dir));
    // Counted while the archive streams: grep reads the files tar is reading, from the page cache.
    const counting = countDumpRows(dir, input.source.database);
    counting.catch(() => undefined);

    const local = new AbortController();
    const signal = AbortSignal.any([ctx.cancellationSignal, local.signal]);
    // tar → zstd run as a kernel pipe: the archive never passes through the worker, which sees
    // only the compressed bytes (hashing and uploading them). tar says how far it is every ~8 MB.
    let archived = 0;
    const tar = {
      command: 'tar',
      args: ['-C', dir, `--checkpoint=${TAR_CHECKPOINT_RECORDS}`, '--checkpoint-action=echo=%u', '-cf', '-', '.'],
      onStderrLine: (line: string) => {
        const checkpoint = /^tar: (\d+)$/.exec(line);
        if (checkpoint) archived = Number(checkpoint[1]) * TAR_RECORD;
        return !checkpoint;
      },
    };
    const piped =
      input.compression === 'zstd'
        ? startPipedTools([tar, { command: 'zstd', args: ZSTD_ARGS }], { signal })
        : startPipedTools([tar], { signal });
    const compress = input.compression === 'zstd' ? null : compressor(input.compression, signal);
    const tools = piped.tools;
    const gate = endWhenToolsSucceed(tools);
    const flowing = compress ? pipeline(piped.stdout, compress.stream, gate) : pipeline(piped.stdout, gate);
    flowing.catch(() => undefined);
    const streaming = progressReporter('streaming');
    streaming(0);
    const uploaded = await streaming.whileSampling(
      () => uploadFromTools(target, input.key, gate, tools, flowing, local, total),
      () => Math.min(0.99, archived / total),
    );
    return { ...uploaded, tables: [...(await counting)].map(([table, rows]) => ({ table, rows })) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
