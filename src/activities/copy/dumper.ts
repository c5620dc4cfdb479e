// The copy's two tool steps: mydumper from the source into the run's dump directory, myloader from
// it into the destination, each reporting progress; and removing the directory afterwards.
import { mkdir, rm, access } from 'node:fs/promises';
import { join } from 'node:path';
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { DatabaseRef } from '../../workflows/copy/contracts.ts';
import { quoteIdentifier } from '../../shared/names.ts';
import { progressReporter } from '../tools/progress.ts';
import type { ActivityDeps } from '../deps.ts';
import { countDumpRows, directoryBytes, readDumpDirectory, type DataFile } from '../tools/dump-files.ts';
import { runMydumper, runMyloader } from '../tools/mydumper.ts';
import { killOrphanedTool } from '../tools/tools.ts';
import { checkDumpSpace } from '../tools/free-space.ts';
import { charsetName, databaseCharset, estimateDatabaseBytes } from '../mysql/databases.ts';

export interface DumpDatabaseInput {
  copyId: string;
  source: DatabaseRef;
  threads: number;
}
export interface DumpDatabaseOutput {
  dumpDir: string;
  bytes: number;
  /** The source database's default character set and collation, for creating the destination. */
  charset: string;
  collation: string;
  /** Rows per base table, counted in the dump files (the consistent snapshot). */
  tables: Array<{ table: string; rows: number }>;
}
export interface LoadDumpInput {
  copyId: string;
  sourceDatabase: string;
  destination: DatabaseRef;
  threads: number;
  dumpDir: string;
  /** Drop the destination database first (recreate, or a retry cleaning up its own half-load). */
  dropDestinationFirst: boolean;
  charset: string;
  collation: string;
  /**
   * Ignored: progress goes to whichever run called, as `runProgress`. Still accepted because the
   * histories of runs started before carry it.
   */
  reportTo?: 'copy' | 'restore';
}

/** Where a run (copy or restore) keeps its dump directory, and its tools their pid files. */
export const dumpDirectoryFor = (workDir: string, runId: string): string => join(workDir, `copy-${runId}`);
const toolPidFile = (workDir: string, runId: string, tool: string): string => join(workDir, `copy-${runId}.${tool}.pid`);

export function createDumperActivities(deps: Pick<ActivityDeps, 'config' | 'pools'>) {
  const copyDir = (copyId: string): string => dumpDirectoryFor(deps.config.workDir, copyId);
  const pidFile = (copyId: string, tool: string): string => toolPidFile(deps.config.workDir, copyId, tool);

  return {
    /** Dumps the source database with mydumper (consistent snapshot, routines, triggers, events, views). */
    async dumpDatabase({ copyId, source, threads }: DumpDatabaseInput): Promise<DumpDatabaseOutput> {
      const ctx = Context.current();
      const dir = copyDir(copyId);
      await killOrphanedTool(pidFile(copyId, 'mydumper'));
      await rm(dir, { recursive: true, force: true });
      const sourcePool = deps.pools.get(source.connection);
      const expectedBytes = Math.max(1, await estimateDatabaseBytes(sourcePool, source.database));
      await checkDumpSpace(deps.config.workDir, expectedBytes, `${source.connection}/${source.database}`);
      await mkdir(dir, { recursive: true, mode: 0o700 });
      const { charset, collation } = await databaseCharset(sourcePool, source.database);
      const report = progressReporter('dumping');
      report(0);
      await report.whileSampling(
        () =>
          runMydumper({
            workDir: deps.config.workDir,
            name: source.connection,
            conn: deps.pools.connection(source.connection),
            database: source.database,
            outputDir: dir,
            threads,
            pidFile: pidFile(copyId, 'mydumper'),
            signal: ctx.cancellationSignal,
          }),
        // The dump is text and usually a little smaller than the InnoDB pages it came from.
        async () => Math.min(0.99, (await directoryBytes(dir)) / (expectedBytes * 0.8)),
      );
      const counts = await countDumpRows(dir, source.database);
      report(1);
      return {
        dumpDir: dir,
        bytes: await directoryBytes(dir),
        charset,
        collation,
        tables: [...counts].map(([table, rows]) => ({ table, rows })),
      };
    },

    /** Loads a dump into the destination with myloader, reporting progress per data file to the run that called. */
    async loadDump(input: LoadDumpInput): Promise<void> {
      const ctx = Context.current();
      const { copyId, destination, dumpDir } = input;
      try {
        await access(join(dumpDir, 'metadata'));
      } catch {
        throw ApplicationFailure.nonRetryable(`dump directory ${dumpDir} is missing or incomplete`, 'DumpMissing');
      }
      await killOrphanedTool(pidFile(copyId, 'myloader'));
      const pool = deps.pools.get(destination.connection);
      // A retry starts from an empty destination: the previous attempt's half-load is ours to drop.
      const retrying = ctx.info.attempt > 1;
      if (input.dropDestinationFirst || retrying) {
        await pool.query(`DROP DATABASE IF EXISTS ${quoteIdentifier(destination.database)}`);
      }
      // myloader 0.10 creates a missing database with the server default; keep the source's instead.
      await pool.query(
        `CREATE DATABASE IF NOT EXISTS ${quoteIdentifier(destination.database)} CHARACTER SET ${charsetName(input.charset)} COLLATE ${charsetName(input.collation)}`,
      );
      const { data } = await readDumpDirectory(dumpDir, input.sourceDatabase);
      const tracker = loadTracker(data);
      const report = progressReporter('loading');
      report(0);
      const tail = await report.whileSampling(
        () =>
          runMyloader({
            workDir: deps.config.workDir,
            name: destination.connection,
            conn: deps.pools.connection(destination.connection),
            database: destination.database,
            directory: dumpDir,
            threads: input.threads,
            pidFile: pidFile(copyId, 'myloader'),
            signal: ctx.cancellationSignal,
            onLine: tracker.onLine,
          }),
        tracker.fraction,
      );
      // myloader 0.10 logs some failed statements and still exits 0: treat them as failures.
      const errors = tail.filter((l) => /CRITICAL|\bError\b/.test(l) && !/already exists/.test(l));
      if (errors.length) throw ApplicationFailure.retryable(`myloader reported errors: ${errors.slice(-3).join(' | ')}`, 'LoadFailed');
      report(1);
    },

    /** Removes a copy's dump directory (and any tool still writing into it). */
    async removeDumpDirectory({ copyId }: { copyId: string }): Promise<void> {
      await killOrphanedTool(pidFile(copyId, 'mydumper'));
      await killOrphanedTool(pidFile(copyId, 'myloader'));
      await rm(copyDir(copyId), { recursive: true, force: true });
    },
  };
}

/**
 * Follows myloader's "Thread N restoring `db`.`table` part K" lines: a thread's previous file is
 * done when it starts the next one, which gives byte-weighted progress at file granularity.
 */
export function loadTracker(files: DataFile[]) {
  const total = Math.max(
    1,
    files.reduce((a, f) => a + f.bytes, 0),
  );
  const sizeOf = new Map(files.map((f) => [`${f.table}#${f.part}`, f.bytes]));
  const current = new Map<string, number>();
  let done = 0;
  return {
    onLine(line: string): void {
      const m = /Thread (\d+) restoring `[^`]+`\.`([^`]+)` part (\d+)/.exec(line);
      if (m) {
        done += current.get(m[1]!) ?? 0;
        current.set(m[1]!, sizeOf.get(`${m[2]}#${Number(m[3])}`) ?? 0);
      } else if (/Thread (\d+) shutting down/.test(line)) {
        const t = /Thread (\d+)/.exec(line)![1]!;
        done += current.get(t) ?? 0;
        current.delete(t);
      }
    },
    /** In-flight files count as half done. */
    fraction(): number {
      const inFlight = [...current.values()].reduce((a, b) => a + b, 0);
      return Math.min(0.99, (done + inFlight / 2) / total);
    },
  };
}
