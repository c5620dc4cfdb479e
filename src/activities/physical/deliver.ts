// Delivering one database out of a restored datadir: a temporary server on the prepared datadir
// (socket only, in the restore's private run directory), mydumper from it into the restore's dump
// directory, then the copy path's own load, schema-object and verify activities take over.
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { ConnectionConfig } from '../../config/schema.ts';
import { startTempServer, stopServerByPidFile, tempServerPaths } from './temp-server.ts';
import { countDumpRows, SCHEMA_OBJECTS_FILE } from '../tools/dump-files.ts';
import { dumpDirectoryFor } from '../copy/dumper.ts';
import { databaseCharset } from '../mysql/databases.ts';
import { readSchemaObjects } from '../mysql/schema-objects.ts';
import { keepHeartbeating } from '../tools/heartbeat.ts';
import { runMydumper } from '../tools/mydumper.ts';
import { killOrphanedTool } from '../tools/tools.ts';
import { chainScratch, checkPrepared } from './chain-scratch.ts';

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

/** Where a chain delivery's mydumper records its pid (beside the scratch directory, which a retry may find gone). */
export const deliveryPidFile = (workDir: string, restoreId: string): string => `${chainScratch(workDir, restoreId).root}.mydumper.pid`;

export interface DeliverFromTempServerInput {
  restoreId: string;
  database: string;
  threads: number;
  appliedAll: string[];
}

/**
 * Starts a temporary server on the prepared datadir, dumps `database` from it with mydumper
 * (consistent, routines, triggers, events) and stops the server, whatever happens.
 */
export async function deliverFromTempServer(
  workDir: string,
  { restoreId, database, threads, appliedAll }: DeliverFromTempServerInput,
): Promise<DeliverFromTempServerOutput> {
  const ctx = Context.current();
  const paths = chainScratch(workDir, restoreId);
  await checkPrepared(workDir, restoreId, appliedAll);
  const dumpDir = dumpDirectoryFor(workDir, restoreId);
  const pidFile = deliveryPidFile(workDir, restoreId);
  await killOrphanedTool(pidFile);
  const beating = keepHeartbeating();
  // The restored server's users are the source's: it runs without privilege tables, reachable
  // only through a socket in the restore's 0700 directory.
  const server = await startTempServer({ datadir: paths.data, runDir: paths.run, port: null, skipGrantTables: true }).catch(
    (error: unknown) => {
      beating.stop();
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
    await runMydumper({
      workDir,
      name: `restore-${restoreId.slice(0, 8)}`,
      conn,
      database,
      outputDir: dumpDir,
      threads,
      pidFile,
      signal: ctx.cancellationSignal,
    });
    await writeFile(join(dumpDir, SCHEMA_OBJECTS_FILE), JSON.stringify(await readSchemaObjects(pool, database)));
    const counts = await countDumpRows(dumpDir, database);
    return { dumpDir, tables: [...counts].map(([table, rows]) => ({ table, rows })), charset, collation };
  } finally {
    beating.stop();
    await pool.end().catch(() => undefined);
    await server.stop();
  }
}
