import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { RowDataPacket } from 'mysql2/promise';
import { pipeline } from 'node:stream/promises';
import { ApplicationFailure, Context } from '@temporalio/activity';
import { backupProgressSignal } from '../../workflows/backup/messages.ts';
import { manifestKeyFor, type BackupCompression, type BackupFormat, type BackupManifest } from '../../workflows/backup/contracts.ts';
import type { DatabaseRef } from '../../workflows/copy/contracts.ts';
import type { BackupStore } from '../storage/store.ts';
import { compressor, rootApplicationFailure, storageActivityFailure, ZSTD_ARGS } from '../storage/streams.ts';
import type { ActivityDeps } from '../deps.ts';
import { countDumpRows, directoryBytes } from '../tools/dump-files.ts';
import { MYDUMPER_FLAGS } from '../copy/dumper.ts';
import { databaseCharset, estimateDatabaseBytes } from '../copy/copy-checks.ts';
import { PROGRESS_INTERVAL_MS, progressReporter } from '../tools/progress.ts';
import { readSchemaObjects } from '../mysql/schema-objects.ts';
import { sqlRowCountingStream } from './sql-row-counter.ts';
import { endWhenToolsSucceed, startPipedTools, startTool, toolVersion, type ToolProcess } from '../tools/tool-process.ts';
import { killOrphanedTool, runTool, withDefaultsFile } from '../tools/tools.ts';

export interface StreamBackupInput {
  backupId: string;
  source: DatabaseRef;
  target: string;
  /** Object key inside the target, chosen by the workflow so every attempt writes the same one. */
  key: string;
  format: BackupFormat;
  compression: BackupCompression;
  threads: number;
}
/** Everything the manifest needs that only the dump knows. */
export interface StreamBackupOutput {
  key: string;
  size: number;
  sha256: string;
  tool: { name: string; version: string };
  server: { version: string };
  tables: Array<{ table: string; rows: number }>;
  database: { charset: string; collation: string };
}

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
/** Written beside mydumper's files: routines, triggers and events with their sql_mode, for restores. */
export const SCHEMA_OBJECTS_FILE = 'dbferry-schema-objects.json';

const versions = new Map<string, Promise<string>>();
const versionOf = (tool: string): Promise<string> => {
  if (!versions.has(tool)) versions.set(tool, toolVersion(tool));
  return versions.get(tool)!;
};

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
) {
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

export function createBackupActivities(deps: ActivityDeps) {
  const scratchDir = (backupId: string): string => join(deps.config.workDir, `backup-${backupId}`);
  const store = (target: string): BackupStore => {
    try {
      return deps.stores.get(target);
    } catch (error) {
      throw storageActivityFailure(error);
    }
  };

  /** mysqldump → row counter → compression → upload, all streaming: nothing is written locally. */
  async function mysqldumpToStore(input: StreamBackupInput, target: BackupStore, estimate: number) {
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
      const report = progressReporter(backupProgressSignal, 'streaming');
      report(0);
      const timer = setInterval(() => report(Math.min(0.99, rows.counter.bytes / estimate)), PROGRESS_INTERVAL_MS);
      try {
        const uploaded = await uploadFromTools(target, input.key, gate, tools, flowing, local, estimate);
        return { ...uploaded, tables: rows.counter.tables() };
      } finally {
        clearInterval(timer);
      }
    });
  }

  /** mydumper into a scratch directory (parallel, consistent), then tar → compression → upload. */
  async function mydumperToStore(input: StreamBackupInput, target: BackupStore, estimate: number) {
    const ctx = Context.current();
    const dir = scratchDir(input.backupId);
    const pidFile = `${dir}.mydumper.pid`;
    await killOrphanedTool(pidFile);
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true, mode: 0o700 });
    // Routines, triggers and events are read while mydumper dumps (information_schema queries can take
    // a while on a server with many databases); they go into the archive beside its files.
    const objects = readSchemaObjects(deps.pools.get(input.source.connection), input.source.database);
    objects.catch(() => undefined);
    try {
      const dumping = progressReporter(backupProgressSignal, 'dumping');
      dumping(0);
      const timer = setInterval(() => {
        directoryBytes(dir).then(
          (b) => dumping(Math.min(0.99, b / estimate)),
          () => undefined,
        );
      }, PROGRESS_INTERVAL_MS);
      try {
        await withDefaultsFile(deps.config.workDir, input.source.connection, deps.pools.connection(input.source.connection), (cnf) =>
          runTool({
            command: 'mydumper',
            args: [
              '--defaults-file',
              cnf,
              '--database',
              input.source.database,
              '--outputdir',
              dir,
              '--threads',
              String(input.threads),
              ...MYDUMPER_FLAGS,
            ],
            pidFile,
            signal: ctx.cancellationSignal,
          }),
        );
      } finally {
        clearInterval(timer);
      }
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
      const streaming = progressReporter(backupProgressSignal, 'streaming');
      streaming(0);
      const uploadTimer = setInterval(() => streaming(Math.min(0.99, archived / total)), PROGRESS_INTERVAL_MS);
      try {
        const uploaded = await uploadFromTools(target, input.key, gate, tools, flowing, local, total);
        return { ...uploaded, tables: [...(await counting)].map(([table, rows]) => ({ table, rows })) };
      } finally {
        clearInterval(uploadTimer);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  return {
    /** Refuses a backup that cannot run (unknown source or target, missing database) before any tool starts. */
    async validateBackup({ source, target }: { source: DatabaseRef; target: string }): Promise<void> {
      const pool = (() => {
        try {
          return deps.pools.get(source.connection);
        } catch (error) {
          throw ApplicationFailure.nonRetryable((error as Error).message, 'InvalidRequest');
        }
      })();
      await databaseCharset(pool, source.database); // DatabaseNotFound when it is missing
      // Reaching the target now fails a missing bucket or bad credentials before the dump starts.
      try {
        for await (const _ of store(target).list(`${source.database}/`)) break;
      } catch (error) {
        throw storageActivityFailure(error);
      }
    },

    /**
     * Dumps the source and streams it, compressed, into the target under `key`. The upload is
     * atomic: a failed or cancelled run leaves no object and no pending multipart upload.
     */
    async streamBackupToTarget(input: StreamBackupInput): Promise<StreamBackupOutput> {
      const ctx = Context.current();
      const target = store(input.target);
      // Two backups of one database in the same second would share a key; never overwrite one.
      // A retry may find its own earlier attempt's object (committed just before a crash): that one is ours.
      try {
        if (ctx.info.attempt === 1) {
          const taken = await Promise.all([target.head(input.key), target.head(manifestKeyFor(input.key))]);
          if (taken.some(Boolean))
            throw ApplicationFailure.nonRetryable(
              `${target.url}/${input.key} already exists; not overwriting another backup`,
              'BackupKeyTaken',
            );
        } else {
          // An earlier attempt's worker may have died mid-upload, leaving its parts behind.
          await target.removeIncompleteUploads(input.key);
        }
      } catch (error) {
        throw storageActivityFailure(error);
      }
      const pool = deps.pools.get(input.source.connection);
      const [database, estimate, [versionRows]] = await Promise.all([
        databaseCharset(pool, input.source.database),
        estimateDatabaseBytes(pool, input.source.database),
        pool.query<RowDataPacket[]>('SELECT VERSION() AS v'),
      ]);
      const uploaded =
        input.format === 'mysqldump'
          ? await mysqldumpToStore(input, target, Math.max(1, estimate))
          : await mydumperToStore(input, target, Math.max(1, estimate));
      return {
        key: input.key,
        size: uploaded.size,
        sha256: uploaded.sha256,
        tool: { name: input.format, version: await versionOf(input.format) },
        server: { version: String(versionRows[0]?.v ?? 'unknown') },
        tables: uploaded.tables,
        database,
      };
    },

    /** Writes the manifest beside a stored backup: the last step, which makes the object a backup. */
    async writeBackupManifest({ manifest }: { manifest: BackupManifest }): Promise<void> {
      const target = store(manifest.target);
      try {
        const stored = await target.head(manifest.key);
        if (stored?.size !== manifest.size) {
          throw ApplicationFailure.nonRetryable(
            `${target.url}/${manifest.key} holds ${stored?.size ?? 'no'} bytes, expected ${manifest.size}`,
            'BackupMissing',
          );
        }
        await target.putJson(manifestKeyFor(manifest.key), manifest);
      } catch (error) {
        throw storageActivityFailure(error);
      }
    },

    /**
     * Removes what a failed or cancelled backup may have stored (its object and manifest, parts of
     * an unfinished upload), unless the manifest there belongs to another backup.
     */
    async discardBackup({ target, key, backupId }: { target: string; key: string; backupId: string }): Promise<{ deleted: boolean }> {
      const where = store(target);
      try {
        if (await where.head(manifestKeyFor(key))) {
          const owner = (await where.getJson(manifestKeyFor(key)).catch(() => null)) as { id?: unknown } | null;
          if (owner?.id !== backupId) return { deleted: false };
        }
        await where.delete([manifestKeyFor(key), key]);
        await where.removeIncompleteUploads(key); // left by a worker that died mid-upload
        return { deleted: true };
      } catch (error) {
        throw storageActivityFailure(error);
      }
    },

    /** Removes a backup's scratch directory (mydumper), killing a mydumper an earlier attempt left running. */
    async removeBackupScratch({ backupId }: { backupId: string }): Promise<void> {
      await killOrphanedTool(`${scratchDir(backupId)}.mydumper.pid`);
      await rm(scratchDir(backupId), { recursive: true, force: true });
    },
  };
}
