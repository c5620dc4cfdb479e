// Delivering one database out of a restored datadir: a temporary server on the prepared datadir
// (socket only, in the restore's private run directory), mydumper from it into the restore's dump
// directory, then the copy path's own load, schema-object and verify activities take over.
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { ConnectionConfig } from '../../config/schema.ts';
import { startTempServer, stopServerByPidFile, tempServerPaths } from './temp-server.ts';
import { SCHEMA_OBJECTS_FILE } from '../backup/backup-activities.ts';
import type { ActivityDeps } from '../deps.ts';
import { countDumpRows } from '../tools/dump-files.ts';
import { dumpDirectoryFor, MYDUMPER_FLAGS } from '../copy/dumper.ts';
import { databaseCharset } from '../copy/copy-checks.ts';
import { readSchemaObjects } from '../mysql/schema-objects.ts';
import { killOrphan } from '../tools/physical-tools.ts';
import { runTool, withDefaultsFile } from '../tools/tools.ts';

export interface DeliverFromTempServerOutput {
  dumpDir: string;
  tables: Array<{ table: string; rows: number }>;
  charset: string;
  collation: string;
}

/** Stops the temporary server a chain restore started in `runDir`, if one is still running. */
export async function stopChainServer(runDir: string): Promise<boolean> {
  return stopServerByPidFile(tempServerPaths(runDir).pidFile);
}

export function deliverFromTempServer(
  deps: ActivityDeps,
  scratch: (restoreId: string) => { root: string; data: string; run: string },
  /** Throws ScratchMissing or PreparedDirStale unless `data/` holds exactly the finished chain. */
  checkPrepared: (restoreId: string, appliedAll: string[]) => Promise<void>,
) {
  /**
   * Starts a temporary server on the prepared datadir, dumps `database` from it with mydumper
   * (consistent, routines, triggers, events) and stops the server, whatever happens.
   */
  return async function deliverFromTempServer({
    restoreId,
    database,
    threads,
    appliedAll,
  }: {
    restoreId: string;
    database: string;
    threads: number;
    appliedAll: string[];
  }): Promise<DeliverFromTempServerOutput> {
    const ctx = Context.current();
    const paths = scratch(restoreId);
    await checkPrepared(restoreId, appliedAll);
    const dumpDir = dumpDirectoryFor(deps.config.workDir, restoreId);
    const pidFile = `${paths.root}.mydumper.pid`;
    await killOrphan(pidFile, /mydumper/);
    const beat = setInterval(() => ctx.heartbeat(), 1000);
    // The restored server's users are the source's: it runs without privilege tables, reachable
    // only through a socket in the restore's 0700 directory.
    const server = await startTempServer({ datadir: paths.data, runDir: paths.run, port: null, skipGrantTables: true }).catch(
      (error: unknown) => {
        clearInterval(beat);
        throw ApplicationFailure.retryable((error as Error).message, 'TempServerFailed');
      },
    );
    const pool = mysql.createPool({ socketPath: server.socket, user: 'root', password: '', connectionLimit: 2, charset: 'utf8mb4' });
    try {
      const { charset, collation } = await databaseCharset(pool, database).catch(async (error: unknown) => {
        const [rows] = await pool.query<mysql.RowDataPacket[]>(
          "SELECT SCHEMA_NAME AS s FROM information_schema.SCHEMATA WHERE SCHEMA_NAME NOT IN ('mysql','sys','performance_schema','information_schema')",
        );
        throw ApplicationFailure.nonRetryable(
          `the restored server has no database "${database}" (it has: ${rows.map((r) => String(r.s)).join(', ') || 'none'})`,
          'DatabaseNotFound',
          error,
        );
      });
      await rm(dumpDir, { recursive: true, force: true });
      await mkdir(dumpDir, { recursive: true, mode: 0o700 });
      const conn: ConnectionConfig = { socket: server.socket, user: 'root', flavor: 'mariadb', allowWrite: false };
      await withDefaultsFile(deps.config.workDir, `restore-${restoreId.slice(0, 8)}`, conn, (cnf) =>
        runTool({
          command: 'mydumper',
          args: ['--defaults-file', cnf, '--database', database, '--outputdir', dumpDir, '--threads', String(threads), ...MYDUMPER_FLAGS],
          pidFile,
          signal: ctx.cancellationSignal,
        }),
      );
      await writeFile(join(dumpDir, SCHEMA_OBJECTS_FILE), JSON.stringify(await readSchemaObjects(pool, database)));
      const counts = await countDumpRows(dumpDir, database);
      return { dumpDir, tables: [...counts].map(([table, rows]) => ({ table, rows })), charset, collation };
    } finally {
      clearInterval(beat);
      await pool.end().catch(() => undefined);
      await server.stop();
    }
  };
}
